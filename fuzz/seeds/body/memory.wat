;; type 0
(local $p i32)
(memory.init 0 (i32.const 100) (i32.const 0) (i32.const 16))
(i64.store offset=8 (i32.const 200) (i64.load (i32.const 100)))
(memory.copy (i32.const 300) (i32.const 200) (i32.const 24))
(memory.fill (i32.const 400) (global.get 0) (i32.const 100))
(drop (memory.grow (i32.const 1)))
(local.set $p (i32.mul (memory.size) (i32.const 65536)))
(i32.add (i32.load8_u (i32.const 305)) (i32.load16_s (i32.sub (local.get $p) (i32.const 2))))
