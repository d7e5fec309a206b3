/*
 * fuzz_component.c: libFuzzer target for component decoding and validation.
 *
 * Each input is a candidate component binary. wisp_component_new must return
 * 0 or a wisp_err_t with a NUL-terminated, non-empty message, never crash,
 * leak or read out of bounds. When it decodes, every import and export is
 * walked: its name, its type printed (wisp_component_type_print, with a buffer
 * too small as well as a big one: the two must agree on the length), the
 * exports of instance types, semver lookups of each export's name, the import
 * checks against a fixed list of host names and the embedded core modules.
 * A broken invariant calls abort(), which libFuzzer reports as a crash.
 * Seeds: fuzz/corpus/fuzz_component/ (components the tests build, made small).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wisp.h"
#include "wisp_component.h"

static wisp_engine_t *engine;

static void check(int ok, const char *what, int rc) {
  if (!ok) {
    fprintf(stderr, "fuzz_component: invariant broken: %s (rc %d)\n", what, rc);
    abort();
  }
}

static void check_error(int rc, const wisp_error_t *err) {
  check(rc == WISP_ERR_NOMEM || rc == WISP_ERR_MALFORMED || rc == WISP_ERR_INVALID ||
            rc == WISP_ERR_UNSUPPORTED || rc == WISP_ERR_LIMIT || rc == WISP_ERR_LINK,
        "unexpected error code", rc);
  check(memchr(err->message, '\0', sizeof err->message) != NULL, "error message not NUL-terminated", rc);
  check(err->message[0] != '\0', "empty error message", rc);
}

/* Touches every byte handed out, so ASan sees a bad pointer or length. */
static unsigned touch(const void *p, size_t n) {
  const unsigned char *b = p;
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) sum += b[i];
  return sum;
}

static unsigned print_type(const wisp_component_t *c, int sort, uint32_t type) {
  static char big[1 << 16];
  char small[8];
  size_t need = wisp_component_type_print(c, sort, type, big, sizeof big);
  size_t again = wisp_component_type_print(c, sort, type, small, sizeof small);
  check(need == again, "type_print lengths differ with the buffer size", (int)need);
  check(memchr(small, '\0', sizeof small) != NULL, "type_print left a buffer unterminated", (int)need);
  return touch(big, need < sizeof big ? need : sizeof big - 1);
}

static unsigned walk_item(const wisp_component_t *c, const wisp_component_item_t *it) {
  unsigned sum = touch(it->name, it->name_len) + print_type(c, it->sort, it->type);
  if (it->sort == WISP_SORT_INSTANCE || it->sort == WISP_SORT_COMPONENT) {
    uint32_t n = wisp_component_type_export_count(c, it->type);
    for (uint32_t i = 0; i < n && i < 4096; i++) {
      wisp_component_item_t e;
      wisp_component_type_export(c, it->type, i, &e);
      sum += touch(e.name, e.name_len) + print_type(c, e.sort, e.type);
    }
  }
  return sum;
}

static unsigned walk(const wisp_component_t *c) {
  unsigned sum = 0;
  uint32_t n = wisp_component_import_count(c);
  for (uint32_t i = 0; i < n; i++) {
    wisp_component_item_t it;
    wisp_component_import(c, i, &it);
    sum += walk_item(c, &it);
  }
  n = wisp_component_export_count(c);
  for (uint32_t i = 0; i < n; i++) {
    wisp_component_item_t it;
    wisp_component_export(c, i, &it);
    sum += walk_item(c, &it);
    int64_t found = wisp_component_find_export(c, it.name, it.name_len);
    check(found >= 0 && found < (int64_t)n, "an export is not found by its own name", (int)found);
  }
  for (int sort = 0; sort < WISP_SORT_COUNT; sort++) sum += wisp_component_count(c, sort);
  n = wisp_component_module_count(c);
  for (uint32_t i = 0; i < n; i++) sum += wisp_module_export_count(wisp_component_module(c, i));
  static const char *const hosts[] = {"wasi:cli/environment@0.2.0", "wasi:cli/stdout@0.2.3",
                                      "wasi:io/streams@0.2.12", "wasi:http/types@0.2.0", "log"};
  wisp_error_t err;
  memset(&err, 0, sizeof err);
  int rc = wisp_component_check_imports(c, hosts, sizeof hosts / sizeof hosts[0], &err);
  if (rc) check_error(rc, &err);
  return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!engine) engine = wisp_engine_new();
  if (!engine) abort();
  (void)wisp_is_component(data, size);
  wisp_error_t err;
  memset(&err, 0, sizeof err);
  wisp_component_t *c = NULL;
  int rc = wisp_component_new(engine, data, size, &c, &err);
  if (rc != 0) {
    check(c == NULL, "a refused component was handed out", rc);
    check_error(rc, &err);
    return 0;
  }
  static volatile unsigned sink;
  sink += walk(c);
  wisp_component_delete(c);
  return 0;
}
