;; Calls fd_write with an iovec whose buffer runs past the end of memory, and exits with the
;; errno it gets (EFAULT, 21, expected); 0 would mean the bad write was accepted.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\f0\ff\00\00\20\00\00\00")  ;; iovec { buf = 65520, len = 32 }: 16 bytes too far
  (func (export "_start")
    (call $proc_exit (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
