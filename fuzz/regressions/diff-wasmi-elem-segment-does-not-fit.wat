;; diff target, harness (coarser comparison added): an active element segment that does not fit its
;; table traps at instantiation (here an empty one at offset 0xffff_ffff, past the table's end).
;; tierup raises TableOutOfBounds; wasmi fails with InstantiationError::ElementSegmentDoesNotFit,
;; which carries no trap code, so the oracle maps that error to TableOutOfBounds.
(module
  (table 353 funcref)
  (elem (table 0) (i32.const -1) funcref))
