;; One module, two assertions that hold and two that do not (lines 9 and 10): `3 passed, 2 failed`.
(module
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))

(assert_return (invoke "add" (i32.const 2) (i32.const 2)) (i32.const 4))
(assert_trap (module (func $f unreachable) (start $f)) "unreachable")

(assert_return (invoke "add" (i32.const 2) (i32.const 2)) (i32.const 5))
(assert_trap (invoke "add" (i32.const 1) (i32.const 1)) "integer divide by zero")
