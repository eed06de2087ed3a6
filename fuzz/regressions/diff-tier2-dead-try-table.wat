;; `diff` finding (session 26): tier 2's SSA builder did not count a `try_table` in unreachable
;; code as a block, so its `end` closed the enclosing block and the function's own `end` found no
;; frame: `called Option::unwrap() on a None value` at src/opt/build.rs (`Builder::op`), in the
;; modes that compile with tier 2. Minimized by hand from the generated module.
(module
  (func (export "dead_try_table") (result i32)
    (i32.const 7)
    (return)
    (block $b
      (try_table (catch_all $b)
        (nop)))
    (i32.const 0)))
