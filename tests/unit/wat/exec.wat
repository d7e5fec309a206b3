;; Modules for test_exec.c (suspend/resume, fuel, stack exhaustion, guard pages).
;; Regenerate the byte arrays with tests/unit/wat/gen.sh.
(module
  (import "host" "pause" (func $pause (param i32) (result i32)))
  (memory (export "mem") 1 4)
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  ;; calls the host twice; each call may suspend
  (func (export "twice") (param i32) (result i32)
    (i32.add (call $pause (local.get 0)) (call $pause (i32.const 100))))
  (func (export "spin") (param i32) (result i32) (local i32)
    (loop $l
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.ne (local.get 1) (local.get 0))))
    (local.get 1))
  (func $forever (export "forever") (loop $l (br $l)))
  (func $deep (export "deep") (param i32) (result i32)
    (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func $load (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "load_far") (param i32) (result i64) (i64.load offset=0xfffffff0 (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))

  ;; multi-value returns from branch arms, values read from low locals (the
  ;; arms must not change each other's view of the stack)
  (func (export "swap_table") (param i32 i32 i32) (result i32 i32)
    (local.get 1) (local.get 0) (local.get 2) (br_table 0 0 0))
  (func (export "swap_if") (param i32 i32 i32) (result i32 i32)
    (local.get 1) (local.get 0) (local.get 2) (br_if 0) (drop) (drop) (i32.const 7) (i32.const 8))
)
