;; Creates (or truncates) `out.txt` in preopen 3 and writes one line to it. Any failing call exits
;; with its errno.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\40\00\00\00\10\00\00\00")  ;; iovec { buf = 64, len = 16 }
  (data (i32.const 32) "out.txt")
  (data (i32.const 64) "written by wasm\n")
  (func $check (param $errno i32)
    (if (local.get $errno) (then (call $proc_exit (local.get $errno)))))
  (func (export "_start")
    ;; oflags CREAT | TRUNC, rights FD_WRITE; the new descriptor lands at 0.
    (call $check (call $path_open (i32.const 3) (i32.const 0) (i32.const 32) (i32.const 7)
      (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 0)))
    (call $check (call $fd_write (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 8)))
    (call $check (call $fd_close (i32.load (i32.const 0))))))
