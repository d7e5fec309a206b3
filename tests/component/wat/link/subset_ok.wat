;; link: ok
;; A guest built against wasi 0.2.0 that uses a subset of two interfaces links to
;; a 0.2.12 host: the host may offer more functions.
(component
  (type $env (instance
    (type $pair (tuple string string))
    (type $list (list $pair))
    (export "get-environment" (func (result $list)))
  ))
  (import "wasi:cli/environment@0.2.0" (instance (type $env)))
  (import "wasi:io/error@0.2.0" (instance $err (export "error" (type (sub resource)))))
  (alias export $err "error" (type $error))
  (type $streams (instance
    (alias outer 1 $error (type $e))
    (export "error" (type (eq $e)))
    (export "output-stream" (type (sub resource)))
    (type $own (own 1))
    (type $se (variant (case "last-operation-failed" $own) (case "closed")))
    (export "stream-error" (type (eq $se)))
    (type $b (borrow 2))
    (type $r (result u64 (error 5)))
    (export "[method]output-stream.check-write" (func (param "self" $b) (result $r)))
  ))
  (import "wasi:io/streams@0.2.0" (instance (type $streams)))
)
