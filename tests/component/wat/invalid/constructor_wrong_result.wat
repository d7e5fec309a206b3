;; error: "\[constructor\]file" must return own<file>
(component
  (import "file" (type $file (sub resource)))
  (import "[constructor]file" (func (result u32)))
)
