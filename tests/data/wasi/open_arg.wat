;; Opens argv[1] for reading relative to preopen 3 (following symlinks), copies up to 64 bytes of
;; it to stdout and exits 0. If the open or any other call fails, exits with its errno, having
;; read nothing.
(module
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func $check (param $errno i32)
    (if (local.get $errno) (then (call $proc_exit (local.get $errno)))))
  ;; Layout: fd at 0, byte count at 4, iovec at 8, argv pointers at 64, strings at 1024, file
  ;; contents at 4096.
  (func (export "_start")
    (local $path i32) (local $len i32)
    (call $check (call $args_get (i32.const 64) (i32.const 1024)))
    (local.set $path (i32.load (i32.const 68)))
    (block $done
      (loop $scan
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $path) (local.get $len)))))
        (local.set $len (i32.add (local.get $len) (i32.const 1)))
        (br $scan)))
    ;; lookupflags SYMLINK_FOLLOW, no oflags, rights FD_READ.
    (call $check (call $path_open (i32.const 3) (i32.const 1) (local.get $path) (local.get $len)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0)))
    (i32.store (i32.const 8) (i32.const 4096))
    (i32.store (i32.const 12) (i32.const 64))
    (call $check (call $fd_read (i32.load (i32.const 0)) (i32.const 8) (i32.const 1) (i32.const 4)))
    (i32.store (i32.const 12) (i32.load (i32.const 4)))
    (call $check (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 4)))))
