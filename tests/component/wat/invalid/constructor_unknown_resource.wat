;; error: "\[constructor\]socket": no resource "socket" imported or exported before it
(component
  (import "file" (type $file (sub resource)))
  (type $own (own $file))
  (import "[constructor]socket" (func (result $own)))
)
