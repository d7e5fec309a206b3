;; link: import "wasi:filesystem/types@0.2.2": "descriptor-type": enum case 0 is "nothing" in the guest, "unknown" in the host
(component
  (type $dt (enum "nothing" "block-device" "character-device" "directory" "fifo" "symbolic-link" "regular-file" "socket"))
  (import "wasi:filesystem/types@0.2.2" (instance (export "descriptor-type" (type (eq $dt)))))
)
