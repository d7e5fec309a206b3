;; A command that ends with wasi:cli/exit#exit-with-code(3): wisp run exits with 3.
(component
  (import "wasi:cli/exit@0.2.6" (instance $exit
    (export "exit-with-code" (func (param "status-code" u8)))))
  (core func $exit (canon lower (func $exit "exit-with-code")))
  (core module $main
    (import "wasi" "exit-with-code" (func $exit (param i32)))
    (func (export "run") (result i32)
      (call $exit (i32.const 3))
      (i32.const 0)))
  (core instance $main (instantiate $main
    (with "wasi" (instance (export "exit-with-code" (func $exit))))))
  (func $run (result (result)) (canon lift (core func $main "run")))
  (instance $run_inst (export "run" (func $run)))
  (export "wasi:cli/run@0.2.6" (instance $run_inst))
)
