;; every trap a guest can cause without imports
(module
  (func (export "unreachable") unreachable)
  (func (export "div_zero") (result i32) (i32.div_u (i32.const 1) (i32.const 0)))
  (func (export "overflow") (result i32) (i32.div_s (i32.const 0x80000000) (i32.const -1)))
  (func (export "rem") (result i64) (i64.rem_s (i64.const 0x8000000000000000) (i64.const -1)))
  (func (export "bad_conv") (result i32) (i32.trunc_f32_s (f32.const nan)))
  (func $deep (export "recurse") (param i32) (result i32)
    (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "spin") (loop br 0)))
