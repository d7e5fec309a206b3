;; type 3
(drop (i32.rem_u (global.get 0) (i32.const 0)))
(drop (i64.div_s (i64.const 0x8000000000000000) (i64.const -1)))
(drop (i32.trunc_f64_u (f64.const -1)))
(drop (i32.load (i32.const -4)))
(call_indirect (type 3) (i32.const 9))
unreachable
