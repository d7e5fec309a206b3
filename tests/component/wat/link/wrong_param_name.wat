;; link: import "wasi:cli/exit@0.2.12": "exit": parameter 0 is "code" in the guest, "status" in the host
(component
  (type $r (result))
  (import "wasi:cli/exit@0.2.12" (instance (export "exit" (func (param "code" $r)))))
)
