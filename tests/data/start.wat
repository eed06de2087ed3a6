;; A command module: `tierup run` calls `_start` when no `--invoke` is given.
(module
  (global $ran (mut i32) (i32.const 0))
  (func (export "_start")
    (global.set $ran (i32.const 1))))
