/*
 * pausable.c: a component whose export spins (fuel) and calls a host import
 * that blocks, for the resumable-call tests (component_resume.c). No libc;
 * core signatures as `jco embed --dummy` shows them for the world in
 * wit/pausable: wait(t) -> string returns through a return area, run's string
 * result comes back as a pointer to (ptr, len) and is freed by post-return.
 */
#include <stdint.h>

__attribute__((import_module("wisp:tests/waiter"), import_name("wait"))) void waiter_wait(int32_t t, int32_t *ret);

static uint8_t heap[65536] __attribute__((aligned(8)));
static uint32_t heap_used;
static int32_t ret_area[2] __attribute__((aligned(8)));
static uint32_t post_count;

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, uint32_t old_size, uint32_t align, uint32_t new_size) {
  (void)old; (void)old_size;
  uint32_t at = (heap_used + align - 1) & ~(align - 1);
  if (at + new_size > sizeof heap) __builtin_trap();
  heap_used = at + new_size;
  return heap + at;
}

/* Keeps the loop from being folded away. */
static volatile uint32_t sink;

__attribute__((export_name("run"))) int32_t *run(int32_t first, int32_t count, int32_t work) {
  uint32_t acc = 0;
  for (int32_t i = 0; i < work; i++) acc = acc * 31u + (uint32_t)i;
  sink = acc;
  char *out = cabi_realloc(0, 0, 1, 1024);
  uint32_t len = 0;
  for (int32_t k = 0; k < count; k++) {
    int32_t got[2];
    waiter_wait(first + k, got);
    const char *label = (const char *)(uintptr_t)got[0];
    if (k > 0 && len < 1024) out[len++] = ',';
    for (int32_t j = 0; j < got[1] && len < 1024; j++) out[len++] = label[j];
  }
  ret_area[0] = (int32_t)(uintptr_t)out;
  ret_area[1] = (int32_t)len;
  return ret_area;
}

__attribute__((export_name("cabi_post_run"))) void run_post(int32_t *ret) {
  (void)ret;
  heap_used = 0;
  post_count++;
}

__attribute__((export_name("posts"))) int32_t posts(void) { return (int32_t)post_count; }
