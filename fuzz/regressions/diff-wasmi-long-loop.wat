;; diff target, harness bug (fixed in fuzz/Cargo.toml): wasmi's default executor dispatches by one
;; tail call per instruction and needs LLVM to turn those into jumps, which does not happen under
;; AddressSanitizer; a loop of 10,000 iterations (ensure_termination's budget) overflowed the
;; native stack inside wasmi. The fuzz crate now builds wasmi with `portable-dispatch`.
(module
  (global $budget (mut i32) (i32.const 10000))
  (func $spin (export "spin")
    (loop $again
      (if (i32.eqz (global.get $budget)) (then (unreachable)))
      (global.set $budget (i32.sub (global.get $budget) (i32.const 1)))
      (br $again)))
  (start $spin))
