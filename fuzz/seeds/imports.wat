;; a module with imports of every kind (fuzz_run satisfies them with host objects)
(module
  (import "env" "f" (func $f (param i32) (result i32)))
  (import "env" "mem" (memory 1))
  (import "env" "tab" (table 2 funcref))
  (import "env" "g" (global (mut i64)))
  (func (export "call") (result i32) (call $f (i32.const 1))))
