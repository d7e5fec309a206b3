;; error: resource destructor must have type \(func \(param i32\)\)
(component
  (core module $m (func (export "d") (param i64)))
  (core instance $i (instantiate $m))
  (type (resource (rep i32) (dtor (core func $i "d"))))
)
