;; integer and float arithmetic, comparisons, conversions, sign extension
(module
  (func (export "i32") (param i32 i32) (result i32)
    (i32.add (i32.mul (local.get 0) (i32.const 7)) (i32.rotl (local.get 1) (i32.const 3)))
    (i32.xor (i32.clz (local.get 0)) (i32.popcnt (local.get 1)))
    i32.sub
    (i32.extend8_s (i32.const 0x80))
    i32.or)
  (func (export "i64") (param i64) (result i64)
    (i64.div_s (i64.add (local.get 0) (i64.const -1)) (i64.const 3))
    (i64.extend32_s (i64.const 0x80000000))
    i64.mul)
  (func (export "floats") (param f64) (result f64)
    (f64.add (f64.sqrt (f64.abs (local.get 0)))
             (f64.promote_f32 (f32.div (f32.const 1) (f32.const 3))))
    (f64.copysign (f64.const 2.5) (f64.const -0))
    f64.min
    f64.nearest)
  (func (export "convert") (result i32)
    (i32.trunc_sat_f64_s (f64.const 1e300))
    (i32.trunc_f32_u (f32.const 42.9))
    i32.add
    (i32.wrap_i64 (i64.trunc_sat_f32_u (f32.const -5)))
    i32.add
    (i32.reinterpret_f32 (f32.convert_i64_s (i64.const -9)))
    i32.add)
  (func (export "select") (param i32) (result i64)
    (select (i64.const 10) (i64.const 20) (local.get 0))
    (select (result f32) (f32.const 1) (f32.const 2) (i32.eqz (local.get 0)))
    i64.trunc_f32_s
    i64.add))
