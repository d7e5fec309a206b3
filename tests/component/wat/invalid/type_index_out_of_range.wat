;; error: type section, offset 0x[0-9a-f]+: type index 7 out of range \(0 defined\)
(component
  (type (list 7))
)
