;; Module for test_pool.c: one page of memory with no maximum (what it may
;; grow to is set by the store's memory limit), loads and stores at any
;; address and offset, growth, and a scan of the whole memory.
(module
  (memory (export "mem") 1)
  (data (i32.const 16) "\2a\00\00\00")
  (func (export "get") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "put") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  ;; the largest static offset: the effective address is the argument + 0xFFFFFFF0
  (func (export "get_far") (param i32) (result i32) (i32.load offset=0xFFFFFFF0 (local.get 0)))
  (func (export "put_far") (param i32 i32) (i32.store offset=0xFFFFFFF0 (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  ;; writes the argument to every 4-byte word of the memory
  (func (export "fill") (param i32) (local i32 i32)
    (local.set 2 (i32.mul (memory.size) (i32.const 65536)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get 1) (local.get 2)))
        (i32.store (local.get 1) (local.get 0))
        (local.set 1 (i32.add (local.get 1) (i32.const 4)))
        (br $l))))
  ;; counts the 4-byte words equal to the argument
  (func (export "scan") (param i32) (result i32) (local i32 i32 i32)
    (local.set 2 (i32.mul (memory.size) (i32.const 65536)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get 1) (local.get 2)))
        (if (i32.eq (i32.load (local.get 1)) (local.get 0))
          (then (local.set 3 (i32.add (local.get 3) (i32.const 1)))))
        (local.set 1 (i32.add (local.get 1) (i32.const 4)))
        (br $l)))
    (local.get 3))
)
