;; Module for test_snapshot.c: imports that differ per instance (like WASI),
;; referenced directly and through a table.
(module
  (import "host" "add" (func $add (param i32) (result i32)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) func $add $own)
  (data (i32.const 0) "\2a")
  (func $own (param i32) (result i32) (i32.add (local.get 0) (i32.load8_u (i32.const 0))))
  (func (export "direct") (param i32) (result i32) (call $add (local.get 0)))
  (func (export "indirect") (param i32 i32) (result i32)
    (call_indirect (param i32) (result i32) (local.get 0) (local.get 1))))
