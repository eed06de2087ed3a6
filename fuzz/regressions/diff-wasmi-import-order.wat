;; diff target, harness bug (fixed in the harness): wasmi's `Instance::new` takes imports in the
;; order of its `Module::imports` (functions, tables, memories, globals), not the module's import
;; order; handing it the global first made wasmi fail to instantiate while tierup succeeded.
(module
  (import "" "" (global (mut i32)))
  (import "" "" (table 0 funcref))
  (global (mut i32) i32.const 10000)
  (export "" (table 0))
  (export "1" (global 0)))
