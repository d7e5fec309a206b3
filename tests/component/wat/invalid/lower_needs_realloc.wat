;; error: canon lower: the function type returns strings or lists, so the \(realloc\) option is required
(component
  (import "f" (func $f (result (list u8))))
  (core module $m (memory (export "mem") 1))
  (core instance $i (instantiate $m))
  (core func (canon lower (func $f) (memory (core memory $i "mem"))))
)
