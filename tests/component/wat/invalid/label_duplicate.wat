;; error: enum case name "RED" is not unique
(component
  (type (enum "red" "green" "RED"))
)
