;; link: import "wasi:cli/environment@0.3.0": not provided by the host
(component
  (import "wasi:cli/environment@0.3.0" (instance))
)
