;; Nested components with outer aliases (a type and a core module), instantiation
;; with arguments, inline instances and export aliases.
(component $outer
  (core module $shared (func (export "f") (param i32) (result i32) (local.get 0)))
  (type $num (func (param "x" u32) (result u32)))
  (component $inner
    (alias outer $outer $num (type $n))
    (alias outer $outer $shared (core module $m))
    (core instance $i (instantiate $m))
    (alias core export $i "f" (core func $f))
    (func $lifted (type $n) (canon lift (core func $f)))
    (export "identity" (func $lifted))
  )
  (component $user
    (import "identity" (func $id (param "x" u32) (result u32)))
    (core func $lowered (canon lower (func $id)))
    (core module $caller
      (import "host" "identity" (func $id (param i32) (result i32)))
      (func (export "twice") (param i32) (result i32) (call $id (call $id (local.get 0))))
    )
    (core instance $host (export "identity" (func $lowered)))
    (core instance $c (instantiate $caller (with "host" (instance $host))))
    (alias core export $c "twice" (core func $twice))
    (type $t (func (param "x" u32) (result u32)))
    (func $twice-lifted (type $t) (canon lift (core func $twice)))
    (export "twice" (func $twice-lifted))
  )
  (instance $a (instantiate $inner))
  (alias export $a "identity" (func $identity))
  (instance $b (instantiate $user (with "identity" (func $identity))))
  (instance $both (export "identity" (func $identity)) (export "twice" (func $b "twice")))
  (export "wisp:test/math@0.1.0" (instance $both))
)
