;; blocks, loops, branches, br_table, multi-value blocks and functions
(module
  (type $pair (func (result i32 i64)))
  (func $two (type $pair) (i32.const 1) (i64.const 2))
  (func (export "loop") (result i32) (local $i i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const 100)))
        (local.set $acc (i32.add (local.get $acc) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))
  (func (export "switch") (param i32) (result i32)
    (block $c (block $b (block $a
      (br_table $a $b $c (local.get 0)))
      (return (i32.const 10)))
      (return (i32.const 20)))
    (i32.const 30))
  (func (export "multi") (result i64) (local $x i64)
    (block (type $pair) (call $two))
    (local.set $x)
    (drop)
    (i64.add (local.get $x)
             (if (result i64) (i32.const 1) (then (i64.const 5)) (else (i64.const 6)))))
  (func (export "nested") (result i32)
    (block (result i32)
      (loop (result i32)
        (block (result i32) (i32.const 3) (br_if 0 (i32.const 1)) (drop) (i32.const 4))))))
