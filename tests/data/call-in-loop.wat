;; A call with a constant argument inside a loop: `tierup ir --passes -O` inlines `scale` and
;; folds its constant argument (x * 4 becomes a shift).
(module
  (func $scale (param $x i32) (param $k i32) (result i32)
    (i32.add (i32.mul (local.get $x) (local.get $k)) (i32.const 1)))
  (func (export "sum") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s) (call $scale (local.get $i) (i32.const 4))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $s)))
