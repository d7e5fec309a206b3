;; error: "\[method\]file.read": the first parameter must be self: borrow<file>
(component
  (import "file" (type $file (sub resource)))
  (type $own (own $file))
  (import "[method]file.read" (func (param "this" $own)))
)
