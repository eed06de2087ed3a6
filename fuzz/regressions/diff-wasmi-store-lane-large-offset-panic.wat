;; diff target, harness bug (fixed in fuzz_targets/oracle_wasmi.rs, `known_crash`): wasmi 2.0.0
;; aborts the process (`internal error: entered unreachable code: failed to decode `OpCode` or
;; op-handler`, or `missing Memory at: MemoryAddr(..)`, raised where unwinding is impossible) when a
;; `v128.store8_lane` or `v128.store16_lane` with an offset of 65536 or more and a non-constant
;; value runs (offset 65535 runs; the 32- and 64-bit lanes are translated differently and run);
;; wasmtime and tierup store the byte. The harness now screens modules for that operator and gives
;; them to wasmi no more: the oracles count as disagreeing and the interpreter is compared with
;; neither (the tiers are still compared with the interpreter).
(module
  (memory 8)
  (func (export "f")
    i32.const 0
    i32.const 0
    v128.load
    v128.store8_lane offset=65536 1))
