;; error: canon lift: the function type passes strings or lists through linear memory, so the \(memory\) option is required
(component
  (core module $m (func (export "f") (param i32 i32)))
  (core instance $i (instantiate $m))
  (func (param "s" string) (canon lift (core func $i "f")))
)
