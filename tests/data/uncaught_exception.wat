;; A WASI command whose `_start` throws an exception nobody catches (exception handling).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (tag $e (param i32))
  (func $inner (throw $e (i32.const 42)))
  (func (export "_start") (call $inner)))
