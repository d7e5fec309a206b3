;; error: instantiate component 0: import "f": parameter 0 is "y" in the import, "x" in the argument
(component
  (component (import "f" (func (param "y" u32))))
  (import "g" (func $g (param "x" u32)))
  (instance (instantiate 0 (with "f" (func $g))))
)
