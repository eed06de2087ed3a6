;; Prints "hello, world\n" with one fd_write to stdout; a failing write exits with its errno.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\10\00\00\00\0d\00\00\00")  ;; iovec { buf = 16, len = 13 }
  (data (i32.const 16) "hello, world\n")
  (func (export "_start")
    (local $errno i32)
    (local.set $errno (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (local.get $errno) (then (call $proc_exit (local.get $errno))))))
