/*
 * calc.c: a component with plain-named function imports and exports, an imported
 * and an exported interface with records, enums, variants and flags, built from C
 * without libc. Core signatures as `jco embed --dummy` shows them for the world
 * `calc` in tests/component/wit/world.wit (canonical ABI flattening: a string is
 * (ptr, len); results that do not fit one core value come back as a pointer).
 */
#include <stdint.h>

__attribute__((import_module("$root"), import_name("log"))) void log_msg(int32_t ptr, int32_t len);
__attribute__((import_module("wisp:tests/shapes"), import_name("area")))
int64_t shapes_area(int32_t tag, int32_t a, int32_t b);

static uint8_t heap[8192] __attribute__((aligned(8)));
static uint32_t heap_used;
static int32_t ret_area[4] __attribute__((aligned(8)));

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, uint32_t old_size, uint32_t align, uint32_t new_size) {
  (void)old; (void)old_size;
  uint32_t at = (heap_used + align - 1) & ~(align - 1);
  if (at + new_size > sizeof heap) __builtin_trap();
  heap_used = at + new_size;
  return heap + at;
}

__attribute__((export_name("add"))) int32_t add(int32_t a, int32_t b) { return a + b; }

__attribute__((export_name("greet"))) int32_t *greet(const char *name, int32_t len) {
  static const char prefix[] = "hello, ";
  char *out = cabi_realloc(0, 0, 1, (uint32_t)(sizeof prefix - 1 + (uint32_t)len));
  for (uint32_t i = 0; i < sizeof prefix - 1; i++) out[i] = prefix[i];
  for (int32_t i = 0; i < len; i++) out[sizeof prefix - 1 + (uint32_t)i] = name[i];
  log_msg((int32_t)(uintptr_t)out, (int32_t)(sizeof prefix - 1) + len);
  ret_area[0] = (int32_t)(uintptr_t)out;
  ret_area[1] = (int32_t)(sizeof prefix - 1) + len;
  return ret_area;
}

__attribute__((export_name("cabi_post_greet"))) void greet_post(int32_t *ret) { (void)ret; heap_used = 0; }

__attribute__((export_name("apply"))) int32_t *apply(int32_t op, int32_t a, int32_t b) {
  ret_area[0] = 1;
  ret_area[1] = op == 0 ? a + b : op == 1 ? a - b : a * b;
  return ret_area;
}

__attribute__((export_name("shift"))) int32_t *shift(int32_t x, int32_t y, int32_t dx) {
  ret_area[0] = x + dx;
  ret_area[1] = y;
  return ret_area;
}

__attribute__((export_name("wisp:tests/shapes#area"))) int64_t area(int32_t tag, int32_t a, int32_t b) {
  if (tag == 0) return 3 * (int64_t)a * a;
  if (tag == 1) return (int64_t)a * b;
  return shapes_area(2, 0, 0);
}
