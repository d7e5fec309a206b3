;; error: realloc \(core func 1\) must have type \(func \(param i32 i32 i32 i32\) \(result i32\)\)
(component
  (core module $m (memory (export "mem") 1) (func (export "r") (param i32) (result i32) (local.get 0))
    (func (export "f") (param i32 i32)))
  (core instance $i (instantiate $m))
  (func (param "s" string) (canon lift (core func $i "f") (memory (core memory $i "mem")) (realloc (core func $i "r"))))
)
