;; error: alias: instance 0 has no export named "g"
(component
  (import "i" (instance (export "f" (func))))
  (alias export 0 "g" (func))
)
