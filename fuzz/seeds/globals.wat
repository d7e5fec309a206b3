;; globals of every type, a start function that writes them
(module
  (global $count (mut i32) (i32.const 0))
  (global $big (mut i64) (i64.const -1))
  (global $pi f64 (f64.const 3.14159))
  (global $ref (mut funcref) (ref.null func))
  (global (export "half") f32 (f32.const 0.5))
  (elem declare func $init)
  (func $init (global.set $count (i32.const 41)) (global.set $ref (ref.func $init)))
  (start $init)
  (func (export "bump") (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.set $big (i64.shl (global.get $big) (i64.const 1)))
    (i32.add (global.get $count) (i32.trunc_f64_s (global.get $pi)))))
