;; error: core module section, core module 0 at offset 0x[0-9a-f]+: .*type mismatch
(component
  (core module (func (result i32) (i64.const 0)))
)
