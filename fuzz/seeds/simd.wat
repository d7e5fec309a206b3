;; SIMD: validates, but wisp_module_new refuses it until the interpreter runs SIMD
(module
  (memory 1)
  (func (export "splat") (result i32)
    (i32x4.extract_lane 2 (i32x4.add (i32x4.splat (i32.const 3)) (v128.load (i32.const 0))))))
