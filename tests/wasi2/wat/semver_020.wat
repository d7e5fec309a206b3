;; A command component written against WASI 0.2.0 (wisp run serves 0.2.x):
;; wasi:cli/run@0.2.0#run reads its arguments with get-arguments and ends with
;; exit(err) when it was given exactly two (argv[0] and two more: 3), else exit(ok).
(component
  (import "wasi:cli/environment@0.2.0" (instance $env
    (export "get-arguments" (func (result (list string))))))
  (import "wasi:cli/exit@0.2.0" (instance $exit
    (export "exit" (func (param "status" (result))))))
  (core module $libc
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 1024))
    ;; a bump allocator: realloc(old, old_size, align, size)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.xor (i32.sub (local.get 2) (i32.const 1)) (i32.const -1))))
      (global.set $bump (i32.add (local.get $p) (local.get 3)))
      (local.get $p)))
  (core instance $libc (instantiate $libc))
  (core func $get_args (canon lower (func $env "get-arguments")
    (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (core func $exit (canon lower (func $exit "exit")))
  (core module $main
    (import "libc" "memory" (memory 1))
    (import "wasi" "get-arguments" (func $get_args (param i32)))
    (import "wasi" "exit" (func $exit (param i32)))
    (func (export "run") (result i32)
      (call $get_args (i32.const 16))
      ;; the list is (ptr, len) at 16: exit(err) = 1 when len == 3
      (call $exit (i32.eq (i32.load (i32.const 20)) (i32.const 3)))
      (i32.const 0)))
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "wasi" (instance (export "get-arguments" (func $get_args)) (export "exit" (func $exit))))))
  (func $run (result (result)) (canon lift (core func $main "run")))
  (instance $run_inst (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run_inst))
)
