;; type 0
(local $i i32) (local $acc i32)
(loop $l
  (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (local.get $i))))
  (local.set $i (i32.add (local.get $i) (i32.const 1)))
  (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
(local.get $acc)
