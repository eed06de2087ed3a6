;; diff target, tierup bug (fixed in src/val.rs): tier 1 writes a reference as 64 bits and leaves
;; the upper half of its 16-byte slot as it was; `Val::from_raw` decoded an `externref` from all
;; 128 bits (a `funcref` from the low 64), so a null `externref` returned by tier-1 code into a slot
;; that had held a `v128` (here the interpreted "dirty"'s result) reached the host as
;; `ExternRef(Some(ExternRef(4294967295)))`. Found by `diff` as "baseline disagrees with the
;; interpreter" on a wasm-smith module whose SIMD function (interpreted in every mode) ran before a
;; function returning 14 values, ten of them `ref.null extern`.
(module
  (func (export "dirty") (result v128) (v128.const i64x2 0 -1))
  (func (export "null") (result externref) (ref.null extern)))
