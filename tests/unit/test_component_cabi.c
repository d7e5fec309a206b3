/*
 * test_component_cabi.c: the canonical ABI conversions of src/component/cabi.c in
 * isolation: a 64 KiB byte array plays the guest's linear memory and a bump
 * allocator its realloc. Values of every kind round-trip through memory
 * (store/load) and through flat core values (lower/lift) in the three string
 * encodings; exact byte layouts of a few types; and guest memory that breaks the
 * rules (bad char, discriminant, UTF-8/UTF-16, bounds, alignment) traps.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "component/cabi.h"
#include "wisp_component.h"

static int failures;

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (!(cond)) {                                                        \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);              \
      failures++;                                                         \
    }                                                                     \
  } while (0)

static uint8_t memory[65536];
static uint32_t bump;

static int bump_realloc(wisp__cabi_t *cx, uint32_t old_ptr, uint32_t old_size, uint32_t align, uint32_t size,
                        uint32_t *out) {
  (void)old_ptr; (void)old_size;
  uint32_t at = (bump + align - 1) / align * align;
  if (at + (uint64_t)size > sizeof memory) {
    snprintf(cx->trap, sizeof cx->trap, "guest out of memory");
    return -1;
  }
  bump = at + size;
  *out = at;
  return 0;
}

static wisp_component_t *comp;
static wisp__arena_t arena;

static uint32_t add(wisp__ctype_t t) {
  uint32_t id = wisp__ctype_add(comp, &t);
  CHECK(id != WISP__CNONE);
  return id;
}

static wisp__cabi_t context(uint8_t encoding) {
  wisp__cabi_t cx = {.component = comp, .mem = memory, .mem_len = sizeof memory, .encoding = encoding,
                     .realloc = bump_realloc, .arena = &arena};
  return cx;
}

static bool eq(const wisp__cval_t *a, const wisp__cval_t *b) {
  if (a->type != b->type) return false;
  const wisp__ctype_t *t = wisp__ctype(comp, a->type);
  switch (t->kind) {
  case WISP__CT_F32: return a->of.f32 == b->of.f32 || (isnan(a->of.f32) && isnan(b->of.f32));
  case WISP__CT_F64: return a->of.f64 == b->of.f64 || (isnan(a->of.f64) && isnan(b->of.f64));
  case WISP__CT_STRING:
    return a->of.str.len == b->of.str.len && memcmp(a->of.str.ptr, b->of.str.ptr, a->of.str.len) == 0;
  case WISP__CT_LIST:
    if (wisp__ctype(comp, t->a)->kind == WISP__CT_U8 || wisp__ctype(comp, t->a)->kind == WISP__CT_S8)
      return a->of.bytes.len == b->of.bytes.len &&
             (a->of.bytes.len == 0 || memcmp(a->of.bytes.ptr, b->of.bytes.ptr, a->of.bytes.len) == 0);
    /* fall through */
  case WISP__CT_RECORD: case WISP__CT_TUPLE:
    if (a->of.agg.len != b->of.agg.len) return false;
    for (uint32_t i = 0; i < a->of.agg.len; i++)
      if (!eq(&a->of.agg.items[i], &b->of.agg.items[i])) return false;
    return true;
  case WISP__CT_VARIANT: case WISP__CT_ENUM: case WISP__CT_OPTION: case WISP__CT_RESULT:
    if (a->of.var.disc != b->of.var.disc || !a->of.var.payload != !b->of.var.payload) return false;
    return !a->of.var.payload || eq(a->of.var.payload, b->of.var.payload);
  default: return a->of.u == b->of.u;
  }
}

static wisp__cval_t prim(uint32_t type, uint64_t u) { return (wisp__cval_t){.type = type, .of.u = u}; }
static wisp__cval_t str(const char *s) {
  return (wisp__cval_t){.type = WISP__CT_STRING, .of.str = {s, (uint32_t)strlen(s)}};
}

/* A record with one field of nearly every kind, and a value of it. */
static uint32_t rec_type;
static wisp__cval_t fields[9], payloads[4], list_items[3], rec_value;

static void make_record(const char *text, const char *err_text) {
  static wisp__cfield_t f[9], vcases[3], enames[3], fnames[9];
  static const char *const names[9] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
  for (int i = 0; i < 9; i++) fnames[i] = (wisp__cfield_t){names[i], 1, WISP__CNONE};
  for (int i = 0; i < 3; i++) enames[i] = (wisp__cfield_t){names[i], 1, WISP__CNONE};
  uint32_t list_u16 = add((wisp__ctype_t){.kind = WISP__CT_LIST, .a = WISP__CT_U16});
  uint32_t opt_char = add((wisp__ctype_t){.kind = WISP__CT_OPTION, .a = WISP__CT_CHAR});
  uint32_t res = add((wisp__ctype_t){.kind = WISP__CT_RESULT, .a = WISP__CT_S32, .b = WISP__CT_STRING});
  uint32_t flags = add((wisp__ctype_t){.kind = WISP__CT_FLAGS, .n = 9, .fields = fnames});
  uint32_t en = add((wisp__ctype_t){.kind = WISP__CT_ENUM, .n = 3, .fields = enames});
  vcases[0] = (wisp__cfield_t){"a", 1, WISP__CNONE};
  vcases[1] = (wisp__cfield_t){"b", 1, WISP__CT_S64};
  vcases[2] = (wisp__cfield_t){"c", 1, WISP__CT_F32};
  uint32_t var = add((wisp__ctype_t){.kind = WISP__CT_VARIANT, .n = 3, .fields = vcases});
  uint32_t types[9] = {WISP__CT_U8, WISP__CT_F64, WISP__CT_STRING, list_u16, opt_char, res, flags, en, var};
  for (int i = 0; i < 9; i++) f[i] = (wisp__cfield_t){names[i], 1, types[i]};
  rec_type = add((wisp__ctype_t){.kind = WISP__CT_RECORD, .n = 9, .fields = f});
  CHECK(wisp__ctype(comp, rec_type)->nflat == 15);

  fields[0] = prim(WISP__CT_U8, 200);
  fields[1] = (wisp__cval_t){.type = WISP__CT_F64, .of.f64 = -2.5};
  fields[2] = str(text);
  for (int i = 0; i < 3; i++) list_items[i] = prim(WISP__CT_U16, 1000u * (unsigned)i + 7);
  fields[3] = (wisp__cval_t){.type = list_u16, .of.agg = {list_items, 3}};
  payloads[0] = prim(WISP__CT_CHAR, 0x1F600);
  fields[4] = (wisp__cval_t){.type = opt_char, .of.var = {1, &payloads[0]}};
  payloads[1] = str(err_text);
  fields[5] = (wisp__cval_t){.type = res, .of.var = {1, &payloads[1]}};
  fields[6] = prim(flags, 0x101);
  fields[7] = prim(en, 2);
  payloads[2] = (wisp__cval_t){.type = WISP__CT_F32, .of.f32 = 1.5f};
  fields[8] = (wisp__cval_t){.type = var, .of.var = {2, &payloads[2]}};
  rec_value = (wisp__cval_t){.type = rec_type, .of.agg = {fields, 9}};
}

static void round_trips(uint8_t encoding) {
  static const char *const texts[3] = {"hello", "h\xc3\xa9llo w\xc3\xb6rld", "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"};
  for (int k = 0; k < 3; k++) {
    make_record(texts[k], texts[2 - k]);
    wisp__cabi_t cx = context(encoding);
    bump = 1024;
    uint32_t at = 64;
    CHECK(wisp__cabi_store(&cx, &rec_value, at) == 0);
    wisp__cval_t back;
    int rc = wisp__cabi_load(&cx, rec_type, at, &back);
    CHECK(rc == 0);
    if (rc) printf("  trap: %s\n", cx.trap);
    CHECK(rc == 0 && eq(&rec_value, &back));
    uint64_t flat[WISP__MAX_FLAT];
    uint32_t n = 0, pos = 0;
    rc = wisp__cabi_lower_flat(&cx, &rec_value, flat, WISP__MAX_FLAT, &n);
    CHECK(rc == 0 && n == 15);
    rc = wisp__cabi_lift_flat(&cx, rec_type, flat, n, &pos, &back);
    CHECK(rc == 0 && pos == n && eq(&rec_value, &back));
    if (rc) printf("  trap: %s\n", cx.trap);
  }
}

static void layouts(void) {
  wisp__cfield_t f[2] = {{"a", 1, WISP__CT_U8}, {"b", 1, WISP__CT_F64}};
  uint32_t rec = add((wisp__ctype_t){.kind = WISP__CT_RECORD, .n = 2, .fields = f});
  wisp__cval_t items[2] = {prim(WISP__CT_U8, 1), {.type = WISP__CT_F64, .of.f64 = 2.0}};
  wisp__cval_t v = {.type = rec, .of.agg = {items, 2}};
  wisp__cabi_t cx = context(WISP__ENC_UTF8);
  memset(memory, 0xAA, 64);
  CHECK(wisp__cabi_store(&cx, &v, 16) == 0);
  double d = 2.0;
  CHECK(memory[16] == 1 && memory[17] == 0xAA && memcmp(memory + 24, &d, 8) == 0);
  /* latin1+utf16: Latin-1 text stays one byte per char; other text is tagged UTF-16 */
  cx = context(WISP__ENC_LATIN1_UTF16);
  bump = 4096;
  wisp__cval_t s = str("caf\xc3\xa9");
  uint64_t flat[2];
  uint32_t n = 0;
  CHECK(wisp__cabi_lower_flat(&cx, &s, flat, 2, &n) == 0 && flat[1] == 4 && memory[flat[0] + 3] == 0xE9);
  s = str("\xe2\x82\xac"); /* U+20AC */
  n = 0;
  CHECK(wisp__cabi_lower_flat(&cx, &s, flat, 2, &n) == 0 && flat[1] == (1u | 0x80000000u));
  CHECK(memory[flat[0]] == 0xAC && memory[flat[0] + 1] == 0x20);
  /* variant { b(s64), c(f32) }: the f32 payload travels in the joined i64 slot */
  wisp__cfield_t cases[2] = {{"b", 1, WISP__CT_S64}, {"c", 1, WISP__CT_F32}};
  uint32_t var = add((wisp__ctype_t){.kind = WISP__CT_VARIANT, .n = 2, .fields = cases});
  wisp__cval_t pay = {.type = WISP__CT_F32, .of.f32 = 1.5f};
  wisp__cval_t vv = {.type = var, .of.var = {1, &pay}};
  uint32_t bits;
  memcpy(&bits, &pay.of.f32, 4);
  n = 0;
  CHECK(wisp__cabi_lower_flat(&cx, &vv, flat, 2, &n) == 0 && n == 2 && flat[0] == 1 && flat[1] == bits);
  /* list<u8> travels as bytes: one copy each way, no value per byte */
  uint32_t bl = add((wisp__ctype_t){.kind = WISP__CT_LIST, .a = WISP__CT_U8});
  static const uint8_t payload[5] = {0, 1, 0xfe, 0xff, 42};
  wisp__cval_t bv = {.type = bl, .of.bytes = {payload, 5}}, bback;
  n = 0;
  uint32_t bpos = 0;
  CHECK(wisp__cabi_lower_flat(&cx, &bv, flat, 2, &n) == 0 && n == 2 && flat[1] == 5);
  CHECK(memcmp(memory + flat[0], payload, 5) == 0);
  CHECK(wisp__cabi_lift_flat(&cx, bl, flat, 2, &bpos, &bback) == 0 && eq(&bv, &bback));
  /* s8 -1 lowers sign-extended to 32 bits */
  wisp__cval_t m1 = {.type = WISP__CT_S8, .of.s = -1};
  n = 0;
  CHECK(wisp__cabi_lower_flat(&cx, &m1, flat, 2, &n) == 0 && flat[0] == 0xffffffffu);
}

static void expect_trap(int rc, wisp__cabi_t *cx, const char *needle) {
  CHECK(rc == -1);
  if (rc != -1 || !strstr(cx->trap, needle)) {
    printf("  expected a trap with \"%s\", got rc %d: %s\n", needle, rc, cx->trap);
    failures += rc == -1;
  }
}

static void traps(void) {
  wisp__cabi_t cx = context(WISP__ENC_UTF8);
  wisp__cval_t out;
  memset(memory, 0, 256);
  memory[0] = 0x00; memory[1] = 0xD8; /* 0xD800: a surrogate is no char */
  expect_trap(wisp__cabi_load(&cx, WISP__CT_CHAR, 0, &out), &cx, "invalid char");
  expect_trap(wisp__cabi_load(&cx, WISP__CT_U32, 2, &out), &cx, "misaligned");
  cx.mem_len = sizeof memory - 4;
  expect_trap(wisp__cabi_load(&cx, WISP__CT_U64, sizeof memory - 8, &out), &cx, "out-of-bounds");
  cx.mem_len = sizeof memory;
  uint32_t opt = add((wisp__ctype_t){.kind = WISP__CT_OPTION, .a = WISP__CT_U8});
  memory[8] = 2;
  expect_trap(wisp__cabi_load(&cx, opt, 8, &out), &cx, "invalid variant discriminant 2");
  /* string (ptr 0x20, len 2) holding the bytes C3 28: not UTF-8 */
  memory[16] = 0x20; memory[20] = 2; memory[0x20] = 0xC3; memory[0x21] = 0x28;
  expect_trap(wisp__cabi_load(&cx, WISP__CT_STRING, 16, &out), &cx, "invalid UTF-8");
  cx.encoding = WISP__ENC_UTF16;
  memory[20] = 1; memory[0x20] = 0x00; memory[0x21] = 0xDC; /* lone low surrogate */
  expect_trap(wisp__cabi_load(&cx, WISP__CT_STRING, 16, &out), &cx, "unpaired surrogate");
  memory[16] = 0x21; /* misaligned UTF-16 */
  expect_trap(wisp__cabi_load(&cx, WISP__CT_STRING, 16, &out), &cx, "misaligned string");
  cx.encoding = WISP__ENC_UTF8;
  uint32_t list = add((wisp__ctype_t){.kind = WISP__CT_LIST, .a = WISP__CT_U32});
  memory[16] = 0x00; memory[17] = 0xFF; memory[20] = 0xFF; memory[21] = 0xFF; /* 0xff00, 65535 items */
  expect_trap(wisp__cabi_load(&cx, list, 16, &out), &cx, "out-of-bounds list");
  uint64_t flat[4] = {5, 0, 0, 0};
  uint32_t pos = 0;
  expect_trap(wisp__cabi_lift_flat(&cx, opt, flat, 2, &pos, &out), &cx, "invalid variant discriminant 5");
  pos = 0;
  expect_trap(wisp__cabi_lift_flat(&cx, WISP__CT_STRING, flat, 1, &pos, &out), &cx, "too few flat values");
  /* host values are checked too */
  wisp__cval_t bad = prim(WISP__CT_U8, 256);
  uint32_t n = 0;
  expect_trap(wisp__cabi_lower_flat(&cx, &bad, flat, 4, &n), &cx, "out of range");
  bad = (wisp__cval_t){.type = WISP__CT_STRING, .of.str = {"\xff", 1}};
  n = 0;
  expect_trap(wisp__cabi_lower_flat(&cx, &bad, flat, 4, &n), &cx, "invalid UTF-8 in a host string");
  cx.realloc = NULL;
  bad = str("x");
  n = 0;
  expect_trap(wisp__cabi_lower_flat(&cx, &bad, flat, 4, &n), &cx, "no realloc");
}

/* Seventeen u32 parameters spill to memory; a two-value result goes through a
 * return area. */
static void spilled_values(void) {
  wisp__cfield_t params[17];
  wisp__cval_t vals[17], back[17];
  for (int i = 0; i < 17; i++) {
    params[i] = (wisp__cfield_t){"p", 1, WISP__CT_U32};
    vals[i] = prim(WISP__CT_U32, 100u + (unsigned)i);
  }
  wisp__cabi_t cx = context(WISP__ENC_UTF8);
  bump = 8192;
  uint64_t flat[WISP__MAX_FLAT];
  uint32_t n = 0;
  CHECK(wisp__cabi_lower_values(&cx, params, 17, WISP__MAX_FLAT, vals, NULL, flat, WISP__MAX_FLAT, &n) == 0);
  CHECK(n == 1 && flat[0] == 8192 && memory[8192 + 16 * 4] == 116);
  CHECK(wisp__cabi_lift_values(&cx, params, 17, WISP__MAX_FLAT, flat, n, back) == 0);
  bool same = true;
  for (int i = 0; i < 17; i++) same &= eq(&vals[i], &back[i]);
  CHECK(same);
  /* 16 fit flat */
  CHECK(wisp__cabi_lower_values(&cx, params, 16, WISP__MAX_FLAT, vals, NULL, flat, WISP__MAX_FLAT, &n) == 0 && n == 16);
  CHECK(wisp__cabi_lift_values(&cx, params, 16, WISP__MAX_FLAT, flat, n, back) == 0 && back[15].of.u == 115);
  /* results: (string) flattens to 2 > 1, so it is stored at the caller's return area */
  wisp__cfield_t result = {NULL, 0, WISP__CT_STRING};
  wisp__cval_t s = str("ok");
  uint32_t area = 512;
  CHECK(wisp__cabi_lower_values(&cx, &result, 1, 1, &s, &area, flat, 1, &n) == 0 && n == 0);
  CHECK(memory[516] == 2);
  uint64_t ptr = area;
  CHECK(wisp__cabi_lift_values(&cx, &result, 1, 1, &ptr, 1, back) == 0 && eq(&s, &back[0]));
  area = 513;
  expect_trap(wisp__cabi_lower_values(&cx, &result, 1, 1, &s, &area, flat, 1, &n), &cx, "misaligned result pointer");
}

int main(void) {
  static const uint8_t empty[8] = {0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00};
  wisp_engine_t *engine = wisp_engine_new();
  wisp_error_t err;
  if (wisp_component_new(engine, empty, sizeof empty, &comp, &err) != 0) {
    printf("FAIL: empty component: %s\n", err.message);
    return 1;
  }
  wisp__arena_init(&arena);
  round_trips(WISP__ENC_UTF8);
  round_trips(WISP__ENC_UTF16);
  round_trips(WISP__ENC_LATIN1_UTF16);
  layouts();
  traps();
  spilled_values();
  wisp__arena_free(&arena);
  wisp_component_delete(comp);
  wisp_engine_delete(engine);
  if (failures) {
    printf("%d failure(s)\n", failures);
    return 1;
  }
  printf("all canonical ABI tests passed\n");
  return 0;
}
