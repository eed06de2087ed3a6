;; For `tierup explore`: an import (function 0, no code), a leaf, a loop with an on-stack-
;; replacement entry and a trap stub, a SIMD function tier 1 refuses, and a `br_table` wide enough
;; for a jump table.
(module $explore
  (import "env" "log" (func $log (param i32)))
  (memory 1)
  (func $square (export "square") (param $x i32) (result i32)
    (i32.mul (local.get $x) (local.get $x)))
  (func $sum (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (i32.load (local.get $n))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 4)))))
    (local.get $acc))
  (func $lanes (export "lanes") (result i32)
    (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4)))
  (func $pick (export "pick") (param $i i32) (result i32)
    (block $d (block $c3 (block $c2 (block $c1 (block $c0
      (br_table $c0 $c1 $c2 $c3 $d (local.get $i)))
      (return (i32.const 10)))
      (return (i32.const 11)))
      (return (i32.const 12)))
      (return (i32.const 13)))
    (i32.const -1)))
