;; link: import "wasi:cli/environment@0.2.3": "get-arguments": result 0: u8 in the guest, string in the host
(component
  (type $list (list u8))
  (import "wasi:cli/environment@0.2.3" (instance (export "get-arguments" (func (result $list)))))
)
