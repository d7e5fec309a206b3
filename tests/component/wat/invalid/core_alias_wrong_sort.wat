;; error: alias: export "m" of core instance 0 is a core memory, not a core func
(component
  (core module $m (memory (export "m") 1))
  (core instance $i (instantiate $m))
  (alias core export $i "m" (core func))
)
