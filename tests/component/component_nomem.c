/*
 * component_nomem FILE: fails every allocation of the component decoder in turn.
 *
 * The sources of src/component/ are included here with malloc, calloc and the
 * arena allocator replaced by counting versions (SQLite-style fault injection):
 * with a budget of N allocations, allocation N+1 fails. For every N from 0 up to
 * what a successful decode of FILE needs, wisp_component_new must return
 * WISP_ERR_NOMEM with a message, or succeed; never crash. Leaks show in the
 * sanitizer build (LeakSanitizer runs at exit). Allocations of the core decoder
 * (embedded modules) are not counted: that is the core's own test.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "arena.h"

static long alloc_budget = -1;
static long alloc_count;

static bool take(void) {
  alloc_count++;
  if (alloc_budget == 0) return false;
  if (alloc_budget > 0) alloc_budget--;
  return true;
}
static void *test_malloc(size_t n) { return take() ? malloc(n) : NULL; }
static void *test_calloc(size_t n, size_t size) { return take() ? calloc(n, size) : NULL; }
static void *test_arena_alloc(wisp__arena_t *arena, size_t size) {
  return take() ? wisp__arena_alloc(arena, size) : NULL;
}

#define malloc test_malloc
#define calloc test_calloc
#define wisp__arena_alloc test_arena_alloc
#include "component/cdecode.c"
#include "component/ctypes.c"
#include "component/clink.c"
#undef malloc
#undef calloc
#undef wisp__arena_alloc

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: component_nomem FILE\n"); return 2; }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 2; }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *bytes = malloc(size > 0 ? (size_t)size : 1);
  size_t len = fread(bytes, 1, (size_t)size, f);
  fclose(f);
  wisp_engine_t *engine = wisp_engine_new();
  wisp_component_t *c = NULL;
  wisp_error_t err;
  alloc_budget = -1;
  alloc_count = 0;
  if (wisp_component_new(engine, bytes, len, &c, &err) != 0) {
    printf("FAIL: %s does not decode: %s\n", argv[1], err.message);
    return 1;
  }
  wisp_component_delete(c);
  long needed = alloc_count, failures = 0;
  for (long budget = 0; budget < needed; budget++) {
    alloc_budget = budget;
    int rc = wisp_component_new(engine, bytes, len, &c, &err);
    if (rc == 0) { wisp_component_delete(c); continue; }
    if (rc != WISP_ERR_NOMEM || !strstr(err.message, "out of memory")) {
      printf("FAIL: allocation %ld failed: got %s: %s\n", budget + 1, wisp_err_name(rc), err.message);
      failures++;
    }
  }
  alloc_budget = -1;
  printf("%ld allocations, each failed once: %s\n", needed, failures ? "FAILED" : "passed");
  free(bytes);
  wisp_engine_delete(engine);
  return failures ? 1 : 0;
}
