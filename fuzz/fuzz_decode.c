/*
 * fuzz_decode.c: libFuzzer target for the decoder and validator.
 *
 * Each input is a candidate module binary. wisp_module_validate must return
 * 0 or a wisp_err_t with a NUL-terminated message, never crash, leak or read
 * out of bounds. When it validates, wisp_module_new must agree (it may only
 * add WISP_ERR_UNSUPPORTED, for SIMD), and the introspection functions are
 * walked over every import, export, custom section and function name.
 * A broken invariant calls abort(), which libFuzzer reports as a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wisp.h"

static wisp_engine_t *engine;

static void check(int ok, const char *what, int rc) {
  if (!ok) {
    fprintf(stderr, "fuzz_decode: invariant broken: %s (rc %d)\n", what, rc);
    abort();
  }
}

static void check_error(int rc, const wisp_error_t *err) {
  check(rc == WISP_ERR_NOMEM || rc == WISP_ERR_MALFORMED || rc == WISP_ERR_INVALID ||
            rc == WISP_ERR_UNSUPPORTED || rc == WISP_ERR_LIMIT,
        "unexpected error code", rc);
  check(memchr(err->message, '\0', sizeof err->message) != NULL, "error message not NUL-terminated", rc);
  check(err->message[0] != '\0', "empty error message", rc);
}

/* Touches every byte the module hands out, so ASan sees a bad pointer or length. */
static unsigned touch(const void *p, size_t n) {
  const unsigned char *b = p;
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) sum += b[i];
  return sum;
}

static unsigned walk_type(const wisp_externtype_t *t) {
  unsigned sum = t->kind;
  if (t->kind == WISP_EXTERN_FUNC) sum += touch(t->func.params, t->func.nparams) + touch(t->func.results, t->func.nresults);
  return sum;
}

static unsigned walk(const wisp_module_t *m) {
  unsigned sum = 0;
  uint32_t n = wisp_module_import_count(m);
  for (uint32_t i = 0; i < n; i++) {
    wisp_import_desc_t d;
    wisp_module_import(m, i, &d);
    sum += touch(d.module, d.module_len) + touch(d.name, d.name_len) + walk_type(&d.type);
  }
  n = wisp_module_export_count(m);
  for (uint32_t i = 0; i < n; i++) {
    wisp_export_desc_t d;
    wisp_module_export(m, i, &d);
    sum += touch(d.name, d.name_len) + walk_type(&d.type);
  }
  n = wisp_module_custom_count(m);
  for (uint32_t i = 0; i < n; i++) {
    const char *name;
    const uint8_t *data;
    uint32_t name_len, data_len;
    wisp_module_custom(m, i, &name, &name_len, &data, &data_len);
    sum += touch(name, name_len) + touch(data, data_len);
  }
  for (uint32_t i = 0; i < 1024; i++) {
    const char *name = wisp_module_func_name(m, i);
    if (name) sum += touch(name, strlen(name));
  }
  return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!engine) engine = wisp_engine_new();
  if (!engine) abort();
  wisp_error_t err;
  memset(&err, 0, sizeof err);
  int rc = wisp_module_validate(engine, data, size, &err);
  if (rc != 0) {
    check_error(rc, &err);
    return 0;
  }
  wisp_module_t *module = NULL;
  memset(&err, 0, sizeof err);
  rc = wisp_module_new(engine, data, size, &module, &err);
  if (rc != 0) {
    check(rc == WISP_ERR_UNSUPPORTED || rc == WISP_ERR_NOMEM, "validates but wisp_module_new refuses it", rc);
    check_error(rc, &err);
    return 0;
  }
  static volatile unsigned sink;
  sink += walk(module);
  wisp_module_delete(module);
  return 0;
}
