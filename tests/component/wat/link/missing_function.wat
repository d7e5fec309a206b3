;; link: import "wasi:cli/environment@0.2.1": "get-magic": the host does not provide it
(component
  (import "wasi:cli/environment@0.2.1" (instance (export "get-magic" (func (result u32)))))
)
