;; Value-carrying branches (issue #10): every branch form (`br`, `br_if`, `br_table`, `return`) to
;; every kind of label (block, `if`, loop, the function), carrying pending local reads, constants
;; and multi-value call results. Run on every tier by `tests/branch_values.rs`.
;;
;; A translator that emits a branch's moves only on the taken path must leave its own idea of where
;; each value lives unchanged for the fall-through path and for the next `br_table` entry. Each
;; shape first leaves stale values in the slots of stack positions 0..3 (`call $junk` and four
;; drops), so a fall-through path that reads a slot the translator wrongly thinks holds a value
;; reads 0x0bad000N instead of a plausible zero. Each shape asserts the taken and the untaken
;; outcome.

;; The module of issue #10, verbatim: `br_if` to the function with a pending read of local 1 (a
;; result slot) below a multi-value call's results; the untaken path must still read local 1.
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
(assert_return (invoke "f") (i32.const 304990178) (i32.const 511))

(module
  (func $junk (result i32 i32 i32 i32)
    (i32.const 0x0bad0000) (i32.const 0x0bad0001) (i32.const 0x0bad0002) (i32.const 0x0bad0003))
  (func $pair (result i32 i32) (i32.const 40) (i32.const 2))
  ;; (k, s) -> (a marker, k - 1, s + k, 1 when k - 1 is 0 else 0)
  (func $step (param $k i32) (param $s i32) (result i32 i32 i32 i32)
    (i32.const 0x5eed)
    (i32.sub (local.get $k) (i32.const 1))
    (i32.add (local.get $s) (local.get $k))
    (i32.eqz (i32.sub (local.get $k) (i32.const 1))))

  ;; --- to the function ---

  ;; `br_if` to the function carrying two pending reads of result-slot locals, swapped; the untaken
  ;; path computes with both.
  (func (export "return-if-swapped") (param $a i32) (param $b i32) (param $c i32) (result i32 i32)
    call $junk drop drop drop drop
    local.get $b
    local.get $a
    local.get $c
    br_if 0
    i32.sub
    local.get $a)

  ;; `br_if` to the function from two blocks deep, carrying a result-slot local and a constant;
  ;; the untaken path carries them out of both blocks.
  (func (export "return-if-nested") (param $a i32) (param $c i32) (result i32 i32)
    call $junk drop drop drop drop
    (block (result i32 i32)
      (block (result i32 i32)
        local.get $a
        i32.const 7
        local.get $c
        br_if 2))
    i32.add
    i32.const 1)

  ;; `br_table` whose first entry returns (moving result-slot locals) and whose next entry goes to
  ;; a block with the same values: each entry's moves must be its own.
  (func (export "return-table") (param $a i32) (param $b i32) (param $i i32) (result i32 i32)
    call $junk drop drop drop drop
    (block $out (result i32 i32)
      local.get $b
      local.get $a
      local.get $i
      br_table 1 $out 1 $out)
    i32.sub
    i32.const 5)

  ;; `br_if` to the function carrying a multi-value call's results, with a result-slot local
  ;; pending below them.
  (func (export "return-if-call") (param $a i32) (param $c i32) (result i32 i32 i32)
    call $junk drop drop drop drop
    local.get $a
    call $pair
    local.get $c
    br_if 0
    i32.sub
    i32.const 3)

  ;; `br_if` to the function from an `if` arm, carrying a result-slot local read and a constant;
  ;; the arm's untaken path ends the `if` with them.
  (func (export "return-if-in-if") (param $a i32) (param $c i32) (param $s i32) (result i32 i32)
    call $junk drop drop drop drop
    (if (result i32 i32) (local.get $s)
      (then local.get $a i32.const 9 local.get $c br_if 1)
      (else i32.const 1 i32.const 2))
    i32.mul
    i32.const 4)

  ;; `br_if` to the function with wide and float results: a pending `i64` local and an `f64`
  ;; local, both in result slots.
  (func (export "return-if-wide") (param $x f64) (param $y i64) (param $c i32) (result i64 f64)
    call $junk drop drop drop drop
    local.get $y
    local.get $x
    local.get $c
    br_if 0
    f64.const 1
    f64.add)

  ;; `br` and `return` to the function (always taken) with swapped result-slot locals.
  (func (export "return-br-swapped") (param $a i32) (param $b i32) (result i32 i32)
    call $junk drop drop drop drop
    (local.get $b) (local.get $a) (br 0))
  (func (export "return-swapped") (param $a i32) (param $b i32) (result i32 i32)
    call $junk drop drop drop drop
    (local.get $b) (local.get $a) (return))

  ;; --- to blocks and `if`s ---

  ;; `br_if` to a block carrying a pending local read and a constant; the untaken path then
  ;; overwrites the local (its pending read must keep the old value).
  (func (export "block-if-local-const") (param $a i32) (param $c i32) (result i32 i32)
    call $junk drop drop drop drop
    (block (result i32 i32)
      local.get $a
      i32.const 7
      local.get $c
      br_if 0
      drop
      (local.set $a (i32.const 100))
      local.get $a))

  ;; `br_if` to a block carrying a multi-value call's results above a pending local read: the
  ;; moves go one position down on the taken path only.
  (func (export "block-if-call") (param $a i32) (param $c i32) (result i32 i32)
    call $junk drop drop drop drop
    (block (result i32 i32)
      local.get $a
      call $pair
      local.get $c
      br_if 0
      i32.add
      i32.add
      i32.const 6))

  ;; `br_table` to two blocks at different depths, each entry through its own moves (the values
  ;; are a pending local read and a call result).
  (func (export "block-table") (param $a i32) (param $i i32) (result i32 i32)
    call $junk drop drop drop drop
    (block $outer (result i32 i32)
      (block $inner (result i32 i32)
        local.get $a
        call $pair
        drop
        local.get $i
        br_table $inner $outer $inner)
      i32.add
      i32.const 1))

  ;; `br` out of two blocks carrying a pending local read, a constant and a call result; the
  ;; inner block's own end is never reached.
  (func (export "block-br") (param $a i32) (param $s i32) (result i32 i32 i32)
    call $junk drop drop drop drop
    (block $outer (result i32 i32 i32)
      (block $inner (result i32)
        local.get $a
        i32.const 7
        call $pair
        drop
        (br_if $inner (i32.const 11) (local.get $s))
        drop
        br $outer)
      i32.const 8
      i32.const 9))

  ;; `br_table` to the function, a block and an `if`'s end, carrying a constant and a pending read
  ;; of a result-slot local (the function's entry first, so its moves come first).
  (func (export "table-const") (param $i i32) (param $a i32) (result i32 i32)
    call $junk drop drop drop drop
    (block $out (result i32 i32)
      (if (result i32 i32) (i32.const 1)
        (then
          i32.const 6
          local.get $a
          local.get $i
          br_table 2 $out 0 1)
        (else i32.const 0 i32.const 0))
      i32.add
      i32.const 100)
    i32.mul
    i32.const 200)

  ;; An `if` with parameters: `br_if` to its end carrying a pending local read and a constant in
  ;; place of the parameters it was entered with.
  (func (export "if-params") (param $a i32) (param $c i32) (result i32 i32)
    call $junk drop drop drop drop
    i32.const 1
    i32.const 2
    (if (param i32 i32) (result i32 i32) (local.get $c)
      (then drop drop local.get $a i32.const 3 local.get $a br_if 0 i32.add i32.const 4)
      (else i32.sub i32.const 5)))

  ;; `br_if` to an `if`'s end from its `then` arm, carrying a pending local read and a constant.
  (func (export "if-br-if") (param $a i32) (param $c i32) (param $s i32) (result i32 i32)
    call $junk drop drop drop drop
    (if (result i32 i32) (local.get $s)
      (then local.get $a i32.const 9 local.get $c br_if 0 i32.add i32.const 2)
      (else i32.const 1 i32.const 2)))

  ;; `br_if` to a block with `i64` and `f64` values: a pending local read and a constant.
  (func (export "block-if-wide") (param $a i64) (param $c i32) (result i64 f64)
    call $junk drop drop drop drop
    (block (result i64 f64)
      local.get $a
      f64.const 2.5
      local.get $c
      br_if 0
      drop
      f64.const 4.5))

  ;; --- to loops ---

  ;; `br_if` to a loop carrying two pending local reads as the loop's parameters: sum of 1..n.
  (func (export "loop-if-locals") (param $n i32) (result i32 i32) (local $acc i32)
    call $junk drop drop drop drop
    local.get $n
    i32.const 0
    (loop $l (param i32 i32) (result i32 i32)
      local.set $acc
      local.set $n
      (local.set $acc (i32.add (local.get $acc) (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      local.get $n
      local.get $acc
      (i32.gt_s (local.get $n) (i32.const 0))
      br_if $l))

  ;; `br_if` to a loop carrying a pending local read and a constant: acc += step (the constant)
  ;; n times.
  (func (export "loop-if-const") (param $n i32) (result i32 i32) (local $acc i32)
    call $junk drop drop drop drop
    local.get $n
    i32.const 3
    (loop $l (param i32 i32) (result i32 i32)
      (local.set $acc (i32.add (local.get $acc)))
      local.set $n
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      local.get $n
      i32.const 3
      (i32.gt_s (local.get $n) (i32.const 0))
      br_if $l
      drop
      local.get $acc))

  ;; `br_table` to a loop and out of it, carrying the two middle results of a four-result call
  ;; (one position down): sum of 1..n again.
  (func (export "loop-table") (param $n i32) (result i32 i32)
    call $junk drop drop drop drop
    (block $done (result i32 i32)
      local.get $n
      i32.const 0
      (loop $l (param i32 i32) (result i32 i32)
        call $step
        br_table $l $done)))

  ;; `br` to a loop carrying a call-free temporary; leaves through `br_if` to the function with
  ;; two pending result-slot local reads, whose untaken path computes the next parameter.
  (func (export "loop-br-return-if") (param $n i32) (result i32 i32) (local $acc i32)
    call $junk drop drop drop drop
    i32.const 1
    (loop $l (param i32) (result i32 i32)
      local.get $acc
      i32.add
      local.set $acc
      local.get $acc
      local.get $n
      (i32.eqz (local.get $n))
      br_if 1
      i32.add
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      br $l))
)

(assert_return (invoke "return-if-swapped" (i32.const 3) (i32.const 10) (i32.const 1))
  (i32.const 10) (i32.const 3))
(assert_return (invoke "return-if-swapped" (i32.const 3) (i32.const 10) (i32.const 0))
  (i32.const 7) (i32.const 3))

(assert_return (invoke "return-if-nested" (i32.const 5) (i32.const 1)) (i32.const 5) (i32.const 7))
(assert_return (invoke "return-if-nested" (i32.const 5) (i32.const 0)) (i32.const 12) (i32.const 1))

(assert_return (invoke "return-table" (i32.const 3) (i32.const 10) (i32.const 0))
  (i32.const 10) (i32.const 3))
(assert_return (invoke "return-table" (i32.const 3) (i32.const 10) (i32.const 1))
  (i32.const 7) (i32.const 5))
(assert_return (invoke "return-table" (i32.const 3) (i32.const 10) (i32.const 2))
  (i32.const 10) (i32.const 3))
(assert_return (invoke "return-table" (i32.const 3) (i32.const 10) (i32.const 9))
  (i32.const 7) (i32.const 5))

(assert_return (invoke "return-if-call" (i32.const 5) (i32.const 1))
  (i32.const 5) (i32.const 40) (i32.const 2))
(assert_return (invoke "return-if-call" (i32.const 5) (i32.const 0))
  (i32.const 5) (i32.const 38) (i32.const 3))

(assert_return (invoke "return-if-in-if" (i32.const 5) (i32.const 1) (i32.const 1))
  (i32.const 5) (i32.const 9))
(assert_return (invoke "return-if-in-if" (i32.const 5) (i32.const 0) (i32.const 1))
  (i32.const 45) (i32.const 4))
(assert_return (invoke "return-if-in-if" (i32.const 5) (i32.const 1) (i32.const 0))
  (i32.const 2) (i32.const 4))

(assert_return (invoke "return-if-wide" (f64.const 0.5) (i64.const -7) (i32.const 1))
  (i64.const -7) (f64.const 0.5))
(assert_return (invoke "return-if-wide" (f64.const 0.5) (i64.const -7) (i32.const 0))
  (i64.const -7) (f64.const 1.5))

(assert_return (invoke "return-br-swapped" (i32.const 3) (i32.const 10))
  (i32.const 10) (i32.const 3))
(assert_return (invoke "return-swapped" (i32.const 3) (i32.const 10))
  (i32.const 10) (i32.const 3))

(assert_return (invoke "block-if-local-const" (i32.const 5) (i32.const 1))
  (i32.const 5) (i32.const 7))
(assert_return (invoke "block-if-local-const" (i32.const 5) (i32.const 0))
  (i32.const 5) (i32.const 100))

(assert_return (invoke "block-if-call" (i32.const 5) (i32.const 1)) (i32.const 40) (i32.const 2))
(assert_return (invoke "block-if-call" (i32.const 5) (i32.const 0)) (i32.const 47) (i32.const 6))

(assert_return (invoke "block-table" (i32.const 5) (i32.const 0)) (i32.const 45) (i32.const 1))
(assert_return (invoke "block-table" (i32.const 5) (i32.const 1)) (i32.const 5) (i32.const 40))
(assert_return (invoke "block-table" (i32.const 5) (i32.const 7)) (i32.const 45) (i32.const 1))

(assert_return (invoke "block-br" (i32.const 5) (i32.const 0))
  (i32.const 5) (i32.const 7) (i32.const 40))
(assert_return (invoke "block-br" (i32.const 5) (i32.const 1))
  (i32.const 11) (i32.const 8) (i32.const 9))

(assert_return (invoke "table-const" (i32.const 0) (i32.const 5)) (i32.const 6) (i32.const 5))
(assert_return (invoke "table-const" (i32.const 1) (i32.const 5)) (i32.const 30) (i32.const 200))
(assert_return (invoke "table-const" (i32.const 2) (i32.const 5)) (i32.const 1100) (i32.const 200))
(assert_return (invoke "table-const" (i32.const 3) (i32.const 5)) (i32.const 30) (i32.const 200))

(assert_return (invoke "if-params" (i32.const 5) (i32.const 1)) (i32.const 5) (i32.const 3))
(assert_return (invoke "if-params" (i32.const 0) (i32.const 1)) (i32.const 3) (i32.const 4))
(assert_return (invoke "if-params" (i32.const 5) (i32.const 0)) (i32.const -1) (i32.const 5))

(assert_return (invoke "if-br-if" (i32.const 5) (i32.const 1) (i32.const 1))
  (i32.const 5) (i32.const 9))
(assert_return (invoke "if-br-if" (i32.const 5) (i32.const 0) (i32.const 1))
  (i32.const 14) (i32.const 2))
(assert_return (invoke "if-br-if" (i32.const 5) (i32.const 1) (i32.const 0))
  (i32.const 1) (i32.const 2))

(assert_return (invoke "block-if-wide" (i64.const -7) (i32.const 1)) (i64.const -7) (f64.const 2.5))
(assert_return (invoke "block-if-wide" (i64.const -7) (i32.const 0)) (i64.const -7) (f64.const 4.5))

(assert_return (invoke "loop-if-locals" (i32.const 4)) (i32.const 0) (i32.const 10))
(assert_return (invoke "loop-if-locals" (i32.const 1)) (i32.const 0) (i32.const 1))

(assert_return (invoke "loop-if-const" (i32.const 4)) (i32.const 0) (i32.const 12))
(assert_return (invoke "loop-if-const" (i32.const 1)) (i32.const 0) (i32.const 3))

(assert_return (invoke "loop-table" (i32.const 4)) (i32.const 0) (i32.const 10))
(assert_return (invoke "loop-table" (i32.const 1)) (i32.const 0) (i32.const 1))

(assert_return (invoke "loop-br-return-if" (i32.const 2)) (i32.const 9) (i32.const 0))
(assert_return (invoke "loop-br-return-if" (i32.const 0)) (i32.const 1) (i32.const 0))
