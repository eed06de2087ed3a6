;; Parses, but does not validate: the body leaves an i64 where the signature promises an i32.
(module
  (func (export "wrong") (result i32)
    i64.const 1))
