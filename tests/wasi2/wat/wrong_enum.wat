;; wisp run refuses it: descriptor-type's first case is "nothing" here, "unknown" in WASI 0.2
(component
  (type $dt (enum "nothing" "block-device" "character-device" "directory" "fifo" "symbolic-link" "regular-file" "socket"))
  (import "wasi:filesystem/types@0.2.0" (instance (export "descriptor-type" (type (eq $dt)))))
)
