;; The guest side of the symlink race test (tests/wasi.rs): 20,000 times, under preopen 3 and
;; following symlinks, it opens `d/f` (creating it if missing) for reading and writing, reads it
;; and appends one byte; creates `d/new`; and sets the times of `d/f` to now. Meanwhile the host
;; swaps the directory `d` for a symlink to a directory outside the preopen and back.
;;
;; One byte per call goes to stdout at the end: `o` done, `p` EPERM (refused: the path led
;; outside), `c` ENOTCAPABLE, `n` ENOENT (`d` missing mid-swap), `l` ELOOP, `t` ENOTDIR, `e`
;; anything else. If a read ever returns the outside file's `SECRET`, it exits 99 at once.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_set_times"
    (func $set_times (param i32 i32 i32 i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; Layout: opened fd at 0, byte count at 4, iovec at 8, `d/f` at 64, `d/new` at 80, `x` at 96,
  ;; `SECRET` at 112, read buffer at 128, the report from 1024 on (3 bytes per round).
  (memory (export "memory") 2)
  (data (i32.const 64) "d/f")
  (data (i32.const 80) "d/new")
  (data (i32.const 96) "x")
  (data (i32.const 112) "SECRET")
  (global $out (mut i32) (i32.const 1024))

  (func $char (param $errno i32) (result i32)
    (if (i32.eqz (local.get $errno)) (then (return (i32.const 0x6f))))          ;; o
    (if (i32.eq (local.get $errno) (i32.const 63)) (then (return (i32.const 0x70)))) ;; p
    (if (i32.eq (local.get $errno) (i32.const 76)) (then (return (i32.const 0x63)))) ;; c
    (if (i32.eq (local.get $errno) (i32.const 44)) (then (return (i32.const 0x6e)))) ;; n
    (if (i32.eq (local.get $errno) (i32.const 32)) (then (return (i32.const 0x6c)))) ;; l
    (if (i32.eq (local.get $errno) (i32.const 54)) (then (return (i32.const 0x74)))) ;; t
    (i32.const 0x65))                                                         ;; e

  (func $emit (param $errno i32)
    (i32.store8 (global.get $out) (call $char (local.get $errno)))
    (global.set $out (i32.add (global.get $out) (i32.const 1))))

  (func $iovec (param $buf i32) (param $len i32)
    (i32.store (i32.const 8) (local.get $buf))
    (i32.store (i32.const 12) (local.get $len)))

  ;; Reads the opened file; exits 99 if it is the outside file. Then appends `x` and closes it.
  (func $use (param $fd i32)
    (call $iovec (i32.const 128) (i32.const 64))
    (drop (call $fd_read (local.get $fd) (i32.const 8) (i32.const 1) (i32.const 4)))
    (if (i32.and
          (i32.ge_u (i32.load (i32.const 4)) (i32.const 6))
          (i32.and
            (i32.eq (i32.load (i32.const 128)) (i32.load (i32.const 112)))
            (i32.eq (i32.load16_u (i32.const 132)) (i32.load16_u (i32.const 116)))))
      (then (call $proc_exit (i32.const 99))))
    (call $iovec (i32.const 96) (i32.const 1))
    (drop (call $fd_write (local.get $fd) (i32.const 8) (i32.const 1) (i32.const 4)))
    (drop (call $fd_close (local.get $fd))))

  ;; path_open(3, SYMLINK_FOLLOW, path, CREAT, rights FD_READ | FD_WRITE); uses the file if opened.
  (func $open (param $path i32) (param $len i32) (param $read i32)
    (local $errno i32)
    (local.set $errno (call $path_open (i32.const 3) (i32.const 1) (local.get $path) (local.get $len)
      (i32.const 1) (i64.const 0x42) (i64.const 0) (i32.const 0) (i32.const 0)))
    (call $emit (local.get $errno))
    (if (i32.eqz (local.get $errno))
      (then (if (local.get $read)
        (then (call $use (i32.load (i32.const 0))))
        (else (drop (call $fd_close (i32.load (i32.const 0)))))))))

  (func (export "_start")
    (local $round i32)
    (loop $rounds
      (call $open (i32.const 64) (i32.const 3) (i32.const 1))
      (call $open (i32.const 80) (i32.const 5) (i32.const 0))
      ;; ATIM_NOW | MTIM_NOW on d/f, following symlinks.
      (call $emit (call $set_times (i32.const 3) (i32.const 1) (i32.const 64) (i32.const 3)
        (i64.const 0) (i64.const 0) (i32.const 10)))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 20000))))
    (call $iovec (i32.const 1024) (i32.sub (global.get $out) (i32.const 1024)))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 4)))))
