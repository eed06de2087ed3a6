;; Loads at `addr` through a caller: one page of memory, so 65533 is the last valid `i32.load`.
(module
  (memory 1)
  (func $load (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "peek") (param i32) (result i32) (call $load (local.get 0))))
