;; Exception handling meets typed function references: an exception thrown by a callee reached
;; through `call_ref` is caught by the caller's `try_table`, on every tier (tier 1 routes each
;; call in a `try_table` to its handler). Run by tests/spec.rs.

(module
  (type $thrower (func (param i32) (result i32)))
  (tag $e (param i32))
  (func $throw (type $thrower)
    (if (local.get 0) (then (throw $e (i32.add (local.get 0) (i32.const 100)))))
    (i32.const 7))
  (elem declare func $throw)
  (func (export "catch_through_call_ref") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (result i32) (catch $e $caught)
        (call_ref $thrower (local.get 0) (ref.func $throw)))))
  (func (export "catch_all_through_call_ref") (param i32) (result i32)
    (block $caught
      (try_table (catch_all $caught)
        (drop (call_ref $thrower (local.get 0) (ref.func $throw)))))
    (i32.const -1))
  ;; A tail call leaves the try_table's scope: its callee's exception is not caught here.
  (func $tail (param i32) (result i32)
    (block $caught (result i32)
      (try_table (result i32) (catch $e $caught)
        (return_call_ref $thrower (local.get 0) (ref.func $throw)))))
  (func (export "tail_then_catch") (param i32) (result i32)
    (block $outer (result i32)
      (try_table (result i32) (catch $e $outer)
        (i32.add (call $tail (local.get 0)) (i32.const 1000)))))
)

(assert_return (invoke "catch_through_call_ref" (i32.const 0)) (i32.const 7))
(assert_return (invoke "catch_through_call_ref" (i32.const 5)) (i32.const 105))
(assert_return (invoke "catch_all_through_call_ref" (i32.const 0)) (i32.const -1))
(assert_return (invoke "catch_all_through_call_ref" (i32.const 1)) (i32.const -1))
(assert_return (invoke "tail_then_catch" (i32.const 0)) (i32.const 1007))
(assert_return (invoke "tail_then_catch" (i32.const 3)) (i32.const 103))

;; A `try_table` in unreachable code: tier 2's SSA builder must count it as a block (its `end`
;; closes it), or the function's own `end` finds no frame (a panic the `diff` fuzz target found).
(module
  (func (export "dead_try_table") (result i32)
    (i32.const 7)
    (return)
    (block $b
      (try_table (catch_all $b)
        (nop)))
    (i32.const 0)))

(assert_return (invoke "dead_try_table") (i32.const 7))

;; An `exnref` result on every tier: tier 2 compiles this function (it refuses only throwing and
;; catching ones), typing `exnref` as the module environment does.
(module
  (func (export "null_exn") (result exnref) (ref.null exn)))

(assert_return (invoke "null_exn") (ref.null exn))
(assert_return (invoke "null_exn") (ref.null exn))
