;; Runner self-test: each assertion after a ";; FAIL" comment is wrong on purpose,
;; so the runner must count it as failed; the rest must pass (spec_runner --selftest).
(module $m
  (import "spectest" "global_i32" (global $gi32 i32))
  (import "spectest" "global_f32" (global $gf32 f32))
  (import "spectest" "global_f64" (global $gf64 f64))
  (import "spectest" "print_i32" (func $print_i32 (param i32)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "i64") (result i64) (i64.const -1))
  (func (export "pos0") (result f32) (f32.const 0))
  (func (export "neg0") (result f64) (f64.const -0))
  (func (export "snan") (result f32) (f32.const nan:0x200000))
  (func (export "qnan") (result f32) (f32.const nan:0x400001))
  (func (export "cnan") (result f64) (f64.div (f64.const 0) (f64.const 0)))
  (func (export "trap") (unreachable))
  (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
  (func $rec (export "rec") (call $rec))
  (func (export "ext") (param externref) (result externref) (local.get 0))
  (func (export "fr") (result funcref) (ref.func 0))
  (elem declare func 0)
  (func (export "frnull") (result funcref) (ref.null func))
  (func (export "two") (result i32 i64) (i32.const 1) (i64.const 2))
  (func (export "spectest") (result i32 f32 f64)
    (call $print_i32 (global.get $gi32)) (global.get $gi32) (global.get $gf32) (global.get $gf64))
  (global (export "g") i32 (i32.const 7))
)
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
;; FAIL
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 4))
(assert_return (invoke "i64") (i64.const -1))
;; FAIL
(assert_return (invoke "i64") (i64.const 0xffffffff))
(assert_return (invoke "pos0") (f32.const 0))
;; FAIL
(assert_return (invoke "pos0") (f32.const -0))
(assert_return (invoke "neg0") (f64.const -0))
;; FAIL
(assert_return (invoke "neg0") (f64.const 0))
;; FAIL
(assert_return (invoke "snan") (f32.const nan:canonical))
;; FAIL
(assert_return (invoke "snan") (f32.const nan:arithmetic))
(assert_return (invoke "qnan") (f32.const nan:arithmetic))
;; FAIL
(assert_return (invoke "qnan") (f32.const nan:canonical))
(assert_return (invoke "cnan") (f64.const nan:canonical))
(assert_return (invoke "cnan") (f64.const nan:arithmetic))
;; FAIL
(assert_return (invoke "pos0") (f32.const nan:arithmetic))
(assert_trap (invoke "trap") "unreachable")
;; FAIL
(assert_trap (invoke "trap") "integer overflow")
;; FAIL
(assert_trap (invoke "add" (i32.const 1) (i32.const 2)) "unreachable")
(assert_trap (invoke "div" (i32.const 0)) "integer divide by zero")
(assert_exhaustion (invoke "rec") "call stack exhausted")
;; FAIL
(assert_exhaustion (invoke "trap") "call stack exhausted")
(assert_return (invoke "ext" (ref.extern 0)) (ref.extern 0))
;; FAIL
(assert_return (invoke "ext" (ref.extern 0)) (ref.null extern))
(assert_return (invoke "ext" (ref.null extern)) (ref.null extern))
;; FAIL
(assert_return (invoke "ext" (ref.null extern)) (ref.extern 0))
;; FAIL
(assert_return (invoke "ext" (ref.extern 5)) (ref.extern 6))
(assert_return (invoke "fr") (ref.func))
;; FAIL
(assert_return (invoke "fr") (ref.null func))
;; FAIL
(assert_return (invoke "frnull") (ref.func))
(assert_return (invoke "frnull") (ref.null func))
(assert_return (invoke "two") (i32.const 1) (i64.const 2))
;; FAIL
(assert_return (invoke "two") (i32.const 1) (i64.const 3))
(assert_return (invoke "spectest") (i32.const 666) (f32.const 666.6) (f64.const 666.6))
(assert_return (get "g") (i32.const 7))
;; FAIL
(assert_return (get "g") (i32.const 8))
;; FAIL
(invoke "trap")
(invoke "add" (i32.const 0) (i32.const 0))
(assert_invalid (module (func (result i32) (i64.const 0))) "type mismatch")
;; FAIL
(assert_invalid (module (func (result i32) (i32.const 0))) "type mismatch")
(assert_malformed (module binary "\00asm\02\00\00\00") "unknown binary version")
;; FAIL
(assert_malformed (module binary "\00asm\01\00\00\00") "unknown binary version")
;; skipped: text-format module
(assert_malformed (module quote "(func (result i32) (i32.const)") "unexpected token")
(register "m" $m)
(module $n (import "m" "add" (func $add (param i32 i32) (result i32)))
  (func (export "add3") (param i32) (result i32) (call $add (local.get 0) (i32.const 3))))
(assert_return (invoke "add3" (i32.const 4)) (i32.const 7))
(assert_return (invoke $m "add" (i32.const 4) (i32.const 1)) (i32.const 5))
(assert_unlinkable (module (import "m" "nope" (func))) "unknown import")
;; FAIL
(assert_unlinkable (module (import "m" "add" (func (param i32 i32) (result i32)))) "incompatible import type")
(assert_trap (module (func $s unreachable) (start $s)) "unreachable")
;; FAIL
(assert_trap (module (func $s) (start $s)) "unreachable")
;; FAIL: the module's start function traps, then the commands using it fail too
(module $bad (func $s unreachable) (func (export "f") (result i32) (i32.const 1)) (start $s))
;; FAIL
(assert_return (invoke "f") (i32.const 1))
;; FAIL
(register "bad" $bad)
(assert_return (invoke $n "add3" (i32.const 0)) (i32.const 3))
