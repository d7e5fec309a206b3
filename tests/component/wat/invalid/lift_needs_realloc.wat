;; error: canon lift: the function type takes strings or lists, so the \(realloc\) option is required
(component
  (core module $m (memory (export "mem") 1) (func (export "f") (param i32 i32)))
  (core instance $i (instantiate $m))
  (func (param "s" string) (canon lift (core func $i "f") (memory (core memory $i "mem"))))
)
