;; type 1
(block $out (result i32)
  (block $a (block $b (block $c
    (br_table $a $b $c (i32.and (local.get 0) (i32.const 3))))
    (return (i32.const 1)))
    (br $out (select (local.get 0) (local.get 1) (local.get 1))))
  (if (result i32) (local.get 1)
    (then (call 1 (local.get 0) (local.get 1)))
    (else (i32.div_s (local.get 0) (local.get 1)))))
