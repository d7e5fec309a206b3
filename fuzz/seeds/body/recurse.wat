;; type 0
(global.set 0 (i32.add (global.get 0) (i32.const 1)))
(if (result i32) (i32.lt_u (global.get 0) (i32.const 500))
  (then (i32.add (call 0) (i32.const 1)))
  (else (call_indirect (type 0) (i32.const 1))))
