;; Writes its argv buffer, then its environ buffer, to stdout as the host laid them out: each
;; string NUL-terminated. Any failing call exits with its errno.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func $check (param $errno i32)
    (if (local.get $errno) (then (call $proc_exit (local.get $errno)))))
  ;; Layout: count at 0, buffer size at 4, iovec at 8, pointers at 64, strings at 1024.
  (func $dump (param $sizes i32) (param $buf_len i32)
    (i32.store (i32.const 8) (i32.const 1024))
    (i32.store (i32.const 12) (local.get $buf_len))
    (call $check (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16))))
  (func (export "_start")
    (call $check (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (call $check (call $args_get (i32.const 64) (i32.const 1024)))
    (call $dump (i32.const 0) (i32.load (i32.const 4)))
    (call $check (call $environ_sizes_get (i32.const 0) (i32.const 4)))
    (call $check (call $environ_get (i32.const 64) (i32.const 1024)))
    (call $dump (i32.const 0) (i32.load (i32.const 4)))))
