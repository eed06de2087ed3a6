;; diff target, tierup bug (issue #10, fixed in src/interp/translate.rs and src/jit/codegen.rs):
;; `br_if 0` to the function end with a pending `local.get 1` among the results. Returning moves
;; a result that is still a read of a low local into its temporary first (an earlier result's move
;; could overwrite that local); the translator recorded that move in its virtual stack although it
;; runs only when the branch is taken, so the untaken path read the temporary, which still held the
;; `global.get` (ensure_termination's budget) from the function's start: the interpreter returned
;; `1 1` instead of `304990178 511` (wasmi and wasmtime agree on the latter). Tier 1 had the same
;; mistake, hidden here because its canonical slot was still zero.
(module
  (global $g (mut i32) (i32.const 500))
  (func $two (result i32 i32) i32.const -1029618659 i32.const -1073741825)
  (func (export "f") (result i32 i32) (local i32 i32)
    global.get $g
    i32.const 1
    i32.sub
    global.set $g
    local.get 1
    call $two
    i32.lt_s
    local.get 1
    br_if 0
    i32.gt_u
    if (result i32 i32)
      i32.const 1
      i32.const 1
    else
      i32.const 304990178
      i32.const 511
    end))
