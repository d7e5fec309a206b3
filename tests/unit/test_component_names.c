/*
 * test_component_names.c: unit tests of src/component/ pieces in isolation: the
 * name grammar (labels, interface names with semver, annotated plain names),
 * semver-compatible interface matching for linking (any 0.2.x links to 0.2.y),
 * wisp_component_check_imports on a component built here byte by byte, and the
 * canonical ABI flattening used to validate canon lift/lower.
 */
#include <stdio.h>
#include <string.h>

#include "component/component.h"
#include "wisp_component.h"

static int failures;

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (!(cond)) {                                                        \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);              \
      failures++;                                                         \
    }                                                                     \
  } while (0)

static bool label(const char *s) { return wisp__cname_is_label(s, strlen(s)); }
static bool import_name(const char *s) { return wisp__cname_is_valid(s, strlen(s), true); }
static bool export_name(const char *s) { return wisp__cname_is_valid(s, strlen(s), false); }
static bool matches(const char *a, const char *b) {
  return wisp_component_name_matches(a, strlen(a), b, strlen(b));
}

static void test_labels(void) {
  CHECK(label("a"));
  CHECK(label("get-stdout"));
  CHECK(label("DNS-error-payload"));
  CHECK(label("TLS"));
  CHECK(label("http-1"));
  CHECK(label("utf8"));
  CHECK(!label(""));
  CHECK(!label("-a"));
  CHECK(!label("a-"));
  CHECK(!label("a--b"));
  CHECK(!label("snake_case"));
  CHECK(!label("Mixed"));
  CHECK(!label("1abc"));
  CHECK(!label("a b"));
}

static void test_extern_names(void) {
  CHECK(import_name("wasi:cli/run@0.2.3"));
  CHECK(import_name("wasi:http/incoming-handler@0.2.12"));
  CHECK(import_name("wasi:io/streams"));
  CHECK(import_name("wasi:cli/run@1.0.0-rc.1+build.5"));
  CHECK(import_name("[constructor]fields"));
  CHECK(import_name("[method]output-stream.write"));
  CHECK(import_name("[static]response-outparam.set"));
  CHECK(import_name("unlocked-dep=<a:b@{>=1.2.3}>"));
  CHECK(export_name("run"));
  CHECK(!export_name("unlocked-dep=<a:b>"));
  CHECK(!import_name("wasi:cli/run@0.2"));   /* not a full semver */
  CHECK(!import_name("wasi:cli/run@00.2.0"));
  CHECK(!import_name("wasi:cli"));           /* no interface */
  CHECK(!import_name("wasi/cli"));           /* no namespace */
  CHECK(!import_name("[method]fields"));     /* no method name */
  CHECK(!import_name("[method]a.B_c"));
  CHECK(!import_name("[destructor]x"));
  CHECK(!import_name(""));
  CHECK(wisp__cname_eq_nocase("Abc", 3, "aBC", 3));
  CHECK(!wisp__cname_eq_nocase("abc", 3, "abd", 3));
}

static void test_semver_matching(void) {
  CHECK(matches("wasi:io/streams@0.2.3", "wasi:io/streams@0.2.12"));
  CHECK(matches("wasi:io/streams@0.2.12", "wasi:io/streams@0.2.0"));
  CHECK(matches("wasi:cli/run@0.2.0-rc-2023-12-05", "wasi:cli/run@0.2.1"));
  CHECK(!matches("wasi:io/streams@0.2.3", "wasi:io/streams@0.3.0"));
  CHECK(!matches("wasi:io/streams@0.2.3", "wasi:io/poll@0.2.3"));
  CHECK(!matches("wasi:io/streams@0.2.3", "wasi:io/streams"));
  CHECK(matches("wasi:io/streams", "wasi:io/streams"));
  CHECK(matches("a:b/c@1.0.0", "a:b/c@1.7.2"));
  CHECK(!matches("a:b/c@1.0.0", "a:b/c@2.0.0"));
  CHECK(matches("log", "log"));
  CHECK(!matches("log", "logs"));
}

/* Appends a LEB128 u32. */
static size_t leb(uint8_t *p, uint32_t v) {
  size_t n = 0;
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    p[n++] = (uint8_t)(b | (v ? 0x80 : 0));
  } while (v);
  return n;
}

/* (component (type (instance)) (import NAME (instance (type 0)))...) */
static size_t build_imports(uint8_t *buf, const char *const *names, size_t n) {
  static const uint8_t head[] = {0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00,
                                 0x07, 0x03, 0x01, 0x42, 0x00};
  uint8_t body[1024];
  size_t len = 0, b = 0;
  memcpy(buf, head, sizeof head);
  len = sizeof head;
  b += leb(body + b, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    body[b++] = 0x00;
    b += leb(body + b, (uint32_t)strlen(names[i]));
    memcpy(body + b, names[i], strlen(names[i]));
    b += strlen(names[i]);
    body[b++] = 0x05; /* instance */
    body[b++] = 0x00; /* type 0 */
  }
  buf[len++] = 0x0a;
  len += leb(buf + len, (uint32_t)b);
  memcpy(buf + len, body, b);
  return len + b;
}

static void test_check_imports(wisp_engine_t *engine) {
  static const char *const guest[] = {"wasi:io/streams@0.2.3", "wasi:cli/stdout@0.2.0"};
  uint8_t buf[2048];
  size_t len = build_imports(buf, guest, 2);
  wisp_component_t *c = NULL;
  wisp_error_t err;
  int rc = wisp_component_new(engine, buf, len, &c, &err);
  CHECK(rc == 0);
  if (rc) { printf("  %s\n", err.message); return; }
  CHECK(wisp_component_import_count(c) == 2);
  static const char *const host[] = {"wasi:cli/stdout@0.2.12", "wasi:io/streams@0.2.12"};
  CHECK(wisp_component_check_imports(c, host, 2, &err) == 0);
  static const char *const old_host[] = {"wasi:cli/stdout@0.2.12", "wasi:io/streams@0.3.0"};
  CHECK(wisp_component_check_imports(c, old_host, 2, &err) == WISP_ERR_LINK);
  CHECK(strstr(err.message, "wasi:io/streams@0.2.3") != NULL);
  char text[256];
  wisp_component_item_t it;
  wisp_component_import(c, 0, &it);
  CHECK(it.sort == WISP_SORT_INSTANCE);
  CHECK(wisp_component_type_print(c, it.sort, it.type, text, sizeof text) == strlen("instance { }"));
  CHECK(strcmp(text, "instance { }") == 0);
  /* snprintf semantics: truncated output, full length returned */
  CHECK(wisp_component_type_print(c, it.sort, it.type, text, 5) == strlen("instance { }"));
  CHECK(strcmp(text, "inst") == 0);
  wisp_component_delete(c);

  /* the same name twice is refused */
  static const char *const dup[] = {"wasi:io/streams@0.2.3", "wasi:io/streams@0.2.3"};
  len = build_imports(buf, dup, 2);
  CHECK(wisp_component_new(engine, buf, len, &c, &err) == WISP_ERR_INVALID);
  CHECK(strstr(err.message, "duplicate import name") != NULL);
  CHECK(strstr(err.message, "import section, offset 0x") != NULL);
  CHECK(wisp_is_component(buf, len));
  static const uint8_t module[8] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  CHECK(!wisp_is_component(module, sizeof module));
  CHECK(!wisp_is_component(buf, 7));
}

static uint32_t add(wisp_component_t *c, wisp__ctype_t t) {
  uint32_t id = wisp__ctype_add(c, &t);
  CHECK(id != WISP__CNONE);
  return id;
}

static void test_flatten(wisp_engine_t *engine) {
  static const char *const none[] = {"x"};
  uint8_t buf[256];
  size_t len = build_imports(buf, none, 0);
  wisp_component_t *c = NULL;
  wisp_error_t err;
  if (wisp_component_new(engine, buf, len, &c, &err)) { CHECK(0); return; }
  wisp__cfield_t rec_fields[2] = {{"a", 1, WISP__CT_U8}, {"b", 1, WISP__CT_F64}};
  uint32_t rec = add(c, (wisp__ctype_t){.kind = WISP__CT_RECORD, .n = 2, .fields = rec_fields});
  CHECK(wisp__ctype(c, rec)->nflat == 2);
  CHECK(wisp__ctype(c, rec)->flat[1] == WISP_F64);
  /* variant { a(f32), b(s64), c(string) } -> i32 disc, join(f32, i64, i32) = i64, i32 */
  wisp__cfield_t cases[3] = {{"a", 1, WISP__CT_F32}, {"b", 1, WISP__CT_S64}, {"c", 1, WISP__CT_STRING}};
  uint32_t var = add(c, (wisp__ctype_t){.kind = WISP__CT_VARIANT, .n = 3, .fields = cases});
  const wisp__ctype_t *v = wisp__ctype(c, var);
  CHECK(v->nflat == 3 && v->flat[0] == WISP_I32 && v->flat[1] == WISP_I64 && v->flat[2] == WISP_I32);
  CHECK(v->has_strlist);
  /* option<f32> | i32 join: i32 */
  wisp__cfield_t fi[2] = {{"a", 1, WISP__CT_F32}, {"b", 1, WISP__CT_U32}};
  uint32_t fv = add(c, (wisp__ctype_t){.kind = WISP__CT_VARIANT, .n = 2, .fields = fi});
  CHECK(wisp__ctype(c, fv)->nflat == 2 && wisp__ctype(c, fv)->flat[1] == WISP_I32);
  /* sizes and alignments (CanonicalABI.md): record { u8, f64 } = 16/8 */
  CHECK(wisp__ctype(c, rec)->size == 16 && wisp__ctype(c, rec)->align == 8);
  /* variant { f32, s64, string }: u8 discriminant, payload at 8, 8 bytes */
  CHECK(v->size == 16 && v->align == 8);
  CHECK(wisp__ctype(c, WISP__CT_STRING)->size == 8 && wisp__ctype(c, WISP__CT_STRING)->align == 4);
  CHECK(wisp__ctype(c, WISP__CT_U16)->size == 2 && wisp__ctype(c, WISP__CT_CHAR)->size == 4);
  uint32_t opt = add(c, (wisp__ctype_t){.kind = WISP__CT_OPTION, .a = WISP__CT_U16});
  CHECK(wisp__ctype(c, opt)->size == 4 && wisp__ctype(c, opt)->align == 2);
  uint32_t unit = add(c, (wisp__ctype_t){.kind = WISP__CT_RESULT, .a = WISP__CNONE, .b = WISP__CNONE});
  CHECK(wisp__ctype(c, unit)->size == 1 && wisp__ctype(c, unit)->nflat == 1);
  wisp__cfield_t tup[3] = {{NULL, 0, WISP__CT_U8}, {NULL, 0, WISP__CT_U32}, {NULL, 0, WISP__CT_U8}};
  uint32_t tu = add(c, (wisp__ctype_t){.kind = WISP__CT_TUPLE, .n = 3, .fields = tup});
  CHECK(wisp__ctype(c, tu)->size == 12 && wisp__ctype(c, tu)->align == 4);
  wisp__cfield_t nine[9];
  for (int i = 0; i < 9; i++) nine[i] = (wisp__cfield_t){"f", 1, WISP__CNONE};
  uint32_t fl = add(c, (wisp__ctype_t){.kind = WISP__CT_FLAGS, .n = 9, .fields = nine});
  CHECK(wisp__ctype(c, fl)->size == 2 && wisp__ctype(c, fl)->nflat == 1);
  /* func(a: rec x 9) -> string: 18 flat params -> one pointer; results through memory */
  wisp__cfield_t params[9];
  for (int i = 0; i < 9; i++) params[i] = (wisp__cfield_t){"p", 1, rec};
  wisp__cfield_t result = {NULL, 0, WISP__CT_STRING};
  wisp__ctype_t fn = {.kind = WISP__CT_FUNC, .n = 9, .fields = params, .nresults = 1, .results = &result};
  uint8_t p[WISP__MAX_FLAT + 2], r[2];
  uint32_t np = 0, nr = 0;
  wisp__cfunc_flatten(c, &fn, false, p, &np, r, &nr);
  CHECK(np == 1 && p[0] == WISP_I32 && nr == 1 && r[0] == WISP_I32);
  wisp__cfunc_flatten(c, &fn, true, p, &np, r, &nr);
  CHECK(np == 2 && nr == 0); /* lower: the caller passes a return pointer */
  fn.n = 8; /* 16 flat params fit */
  wisp__cfunc_flatten(c, &fn, false, p, &np, r, &nr);
  CHECK(np == 16 && p[1] == WISP_F64);
  /* borrow inside a list is tracked */
  wisp__ctype_t res = {.kind = WISP__CT_ABSTRACT};
  uint32_t rid = add(c, res);
  uint32_t b = add(c, (wisp__ctype_t){.kind = WISP__CT_BORROW, .a = rid});
  uint32_t l = add(c, (wisp__ctype_t){.kind = WISP__CT_LIST, .a = b});
  CHECK(wisp__ctype(c, l)->has_borrow);
  CHECK(wisp__ctype_is_resource(c, rid) && !wisp__ctype_is_value(c, rid));
  wisp_component_delete(c);
}

int main(void) {
  wisp_engine_t *engine = wisp_engine_new();
  test_labels();
  test_extern_names();
  test_semver_matching();
  test_check_imports(engine);
  test_flatten(engine);
  wisp_engine_delete(engine);
  if (failures) {
    printf("%d failure(s)\n", failures);
    return 1;
  }
  printf("all component name/link/flatten tests passed\n");
  return 0;
}
