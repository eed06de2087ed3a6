;; An initial memory of 2048 pages (128 MiB): too big for `--max-memory-size 64MiB`.
(module
  (memory 2048)
  (func (export "size") (result i32) memory.size))
