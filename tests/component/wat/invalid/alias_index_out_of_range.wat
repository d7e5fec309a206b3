;; error: invalid module: alias section, offset 0x[0-9a-f]+: alias: instance index 3 out of range \(0 defined\)
(component
  (alias export 3 "f" (func))
)
