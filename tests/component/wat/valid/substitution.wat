;; Instantiating a component substitutes its type arguments: the exported
;; instance's function names the outer resource "socket", not the nested
;; component's import "t".
(component
  (import "socket" (type $socket (sub resource)))
  (type $own (own $socket))
  (import "open" (func $open (result $own)))
  (component $wrap
    (import "t" (type $t (sub resource)))
    (type $own-t (own $t))
    (import "f" (func $f (result $own-t)))
    (export "connect" (func $f))
  )
  (instance $i (instantiate $wrap (with "t" (type $socket)) (with "f" (func $open))))
  (export "net" (instance $i))
)
