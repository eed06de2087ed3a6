;; Blocks reading stdin, then squares the byte count: a process that stays alive, with tier-1
;; code mapped, until the test closes its stdin (the perf map test inspects it meanwhile).
(module $wait
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $square (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  ;; One fd_read of up to 16 bytes into offset 16; returns the count read.
  (func $read (result i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.load (i32.const 8)))
  (func (export "_start") (drop (call $square (call $read)))))
