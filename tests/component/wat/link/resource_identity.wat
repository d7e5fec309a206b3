;; link: import "wasi:io/streams@0.2.0": "error": resource error is a different resource in the host
;; wasi:io/streams' error must be the resource wasi:io/error exports, not a fresh one.
(component
  (import "wasi:io/error@0.2.0" (instance (export "error" (type (sub resource)))))
  (import "wasi:io/streams@0.2.0" (instance (export "error" (type (sub resource)))))
)
