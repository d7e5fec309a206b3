;; error: resource types may only be defined in a component, not in a type
(component
  (type (instance (type (resource (rep i32)))))
)
