;; wisp run refuses it: wasi:cli/environment#get-arguments returns a string here, list<string> in WASI 0.2
(component
  (import "wasi:cli/environment@0.2.3" (instance (export "get-arguments" (func (result string)))))
)
