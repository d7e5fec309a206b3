;; error: record field name "snake_case" is not a kebab-case label
(component
  (type (record (field "snake_case" u32)))
)
