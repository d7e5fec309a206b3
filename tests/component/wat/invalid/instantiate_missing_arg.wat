;; error: instantiate component 0: no argument for its import "x"
(component
  (component (import "x" (func)))
  (instance (instantiate 0))
)
