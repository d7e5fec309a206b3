;; A nested component importing two resource types and functions over them; both
;; type imports receive the same outer resource, functions match after binding.
(component
  (import "thing" (type $thing (sub resource)))
  (type $own (own $thing))
  (type $borrow (borrow $thing))
  (import "make" (func $make (result $own)))
  (import "[method]thing.poke" (func $poke (param "self" $borrow) (param "n" u32)))
  (component $user
    (import "a" (type $a (sub resource)))
    (import "b" (type $b (sub resource)))
    (type $own-a (own $a))
    (type $borrow-b (borrow $b))
    (import "make" (func (result $own-a)))
    (import "poke" (func (param "self" $borrow-b) (param "n" u32)))
  )
  (instance (instantiate $user
    (with "a" (type $thing)) (with "b" (type $thing))
    (with "make" (func $make)) (with "poke" (func $poke))))
)
