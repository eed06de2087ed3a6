;; Divides through a named helper, so a divide-by-zero trap has a two-frame backtrace.
(module
  (func $div (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1)))
  (func (export "quotient") (param i32 i32) (result i32)
    (call $div (local.get 0) (local.get 1))))
