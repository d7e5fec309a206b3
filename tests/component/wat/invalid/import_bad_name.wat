;; error: import name "wasi:cli/Run_x@0.2" is not a valid name
(component
  (import "wasi:cli/Run_x@0.2" (func))
)
