;; type 0
(table.init 0 1 (i32.const 2) (i32.const 0) (i32.const 1))
(drop (table.grow 0 (ref.null func) (i32.const 3)))
(table.copy 0 0 (i32.const 4) (i32.const 0) (i32.const 2))
(i32.add
  (call_indirect (type 1) (i32.const 40) (i32.const 2) (i32.const 0))
  (i32.add (table.size 0) (ref.is_null (table.get 0 (i32.const 6)))))
