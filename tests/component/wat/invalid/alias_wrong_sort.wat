;; error: alias: export "f" of instance 0 is a func, not a type
(component
  (import "i" (instance (export "f" (func))))
  (alias export 0 "f" (type))
)
