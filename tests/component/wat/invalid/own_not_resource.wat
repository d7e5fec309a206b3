;; error: own of type 0, which is not a resource type
(component
  (type (record (field "a" u32)))
  (type (own 0))
)
