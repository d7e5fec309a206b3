;; type 2
(local $x f64) (local $f f32)
(local.set $x (f64.mul (local.get 1) (f64.convert_i64_s (local.get 0))))
(local.set $f (f32.demote_f64 (f64.sqrt (f64.abs (local.get $x)))))
(global.set 1 (f64.add (global.get 1) (f64.promote_f32 (f32.nearest (local.get $f)))))
(i64.add
  (i64.trunc_sat_f64_s (global.get 1))
  (i64.add (global.get 2) (i64.reinterpret_f64 (f64.div (local.get $x) (f64.const 0)))))
