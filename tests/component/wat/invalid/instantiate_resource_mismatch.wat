;; error: instantiate component 0: import "poke": parameter self: resource a is a different resource in the argument
(component
  (import "one" (type $one (sub resource)))
  (import "two" (type $two (sub resource)))
  (type $borrow-two (borrow $two))
  (import "poke" (func $poke (param "self" $borrow-two)))
  (component
    (import "a" (type $a (sub resource)))
    (type $borrow-a (borrow $a))
    (import "poke" (func (param "self" $borrow-a)))
  )
  (instance (instantiate 0 (with "a" (type $one)) (with "poke" (func $poke))))
)
