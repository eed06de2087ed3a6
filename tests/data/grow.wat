;; Grows its memory by 16384 pages (1 GiB) and traps with `unreachable` if `memory.grow` refuses.
(module
  (memory 1)
  (func (export "grow") (result i32)
    (if (i32.eq (memory.grow (i32.const 16384)) (i32.const -1))
      (then unreachable))
    memory.size))
