;; error: instantiate core module 1: import "env" "f": function type mismatch
(component
  (core module $a (func (export "f") (param i32)))
  (core module $b (import "env" "f" (func (param i64))))
  (core instance $ia (instantiate $a))
  (core instance (instantiate $b (with "env" (instance $ia))))
)
