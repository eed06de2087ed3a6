;; Unbounded recursion: must end in `call stack exhausted`, never in a host stack overflow.
(module
  (func $down (export "down") (param i32) (result i32)
    (call $down (i32.add (local.get 0) (i32.const 1)))))
