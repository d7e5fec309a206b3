;; error: instantiate core module 0: no argument named "env" for its import "env" "f"
(component
  (core module $m (import "env" "f" (func)))
  (core instance (instantiate $m))
)
