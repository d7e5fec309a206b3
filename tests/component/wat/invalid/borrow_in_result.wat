;; error: function type: a result may not contain a borrow handle
(component
  (import "r" (type (sub resource)))
  (type (borrow 0))
  (type (func (result 1)))
)
