;; A command calling wasi:sockets/instance-network#instance-network, which the
;; host does not serve yet: it links (a stub) and traps naming the function.
(component
  (import "wasi:sockets/network@0.2.0" (instance $net
    (export "network" (type (sub resource)))))
  (alias export $net "network" (type $network))
  (import "wasi:sockets/instance-network@0.2.0" (instance $inet
    (export "network" (type $n (eq $network)))
    (export "instance-network" (func (result (own $n))))))
  (core func $get (canon lower (func $inet "instance-network")))
  (core module $main
    (import "wasi" "instance-network" (func $get (result i32)))
    (func (export "run") (result i32)
      (drop (call $get))
      (i32.const 0)))
  (core instance $main (instantiate $main
    (with "wasi" (instance (export "instance-network" (func $get))))))
  (func $run (result (result)) (canon lift (core func $main "run")))
  (instance $run_inst (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run_inst))
)
