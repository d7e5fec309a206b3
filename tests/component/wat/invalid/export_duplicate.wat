;; error: duplicate export name "f"
(component
  (import "g" (func $g))
  (export "f" (func $g))
  (export "f" (func $g))
)
