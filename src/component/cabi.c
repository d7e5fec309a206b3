/*
 * cabi.c: canonical ABI loading, storing, flat lifting and flat lowering of
 * component values (CanonicalABI.md), see cabi.h.
 *
 * Layout comes from the type pool (size, align, flat computed in ctypes.c).
 * Flat core values are raw 64-bit patterns, so the variant coercions of the spec
 * (i32<->f32 bit casts, i32/f32 widened into an i64 slot) are truncations on
 * lifting and no-ops on lowering. Values are written through cx->mem + offset
 * at each access, never through a cached pointer, because realloc may move
 * memory. Recursion follows the type's nesting, bounded by MAX_NEST.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cabi.h"

#define MAX_NEST 100
#define UTF16_TAG 0x80000000u
#define MAX_STRING_BYTES 0x7fffffffu
#define MAX_HOST_ITEMS (1u << 26) /* list elements one load may make on the host */

static int __attribute__((format(printf, 2, 3))) trap(wisp__cabi_t *cx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cx->trap, sizeof cx->trap, fmt, ap);
  va_end(ap);
  return -1;
}

static const wisp__ctype_t *type_of(const wisp__cabi_t *cx, uint32_t id) { return wisp__ctype(cx->component, id); }

static uint32_t align_to(uint32_t x, uint32_t a) { return (x + a - 1) / a * a; }

static uint64_t rd(const wisp__cabi_t *cx, uint32_t ptr, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++) v |= (uint64_t)cx->mem[ptr + i] << (8 * i);
  return v;
}

static void wr(wisp__cabi_t *cx, uint32_t ptr, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; i++) cx->mem[ptr + i] = (uint8_t)(v >> (8 * i));
}

static int check_range(wisp__cabi_t *cx, uint64_t ptr, uint64_t size, const char *what) {
  if (ptr > cx->mem_len || size > cx->mem_len - ptr)
    return trap(cx, "out-of-bounds %s: %llu bytes at 0x%llx, memory is %llu bytes", what,
                (unsigned long long)size, (unsigned long long)ptr, (unsigned long long)cx->mem_len);
  return 0;
}

static bool valid_char(uint64_t cp) { return cp < 0x110000 && !(cp >= 0xD800 && cp <= 0xDFFF); }

static uint32_t case_count(const wisp__ctype_t *t) {
  return t->kind == WISP__CT_OPTION || t->kind == WISP__CT_RESULT ? 2 : t->n;
}

static uint32_t case_type(const wisp__ctype_t *t, uint32_t i) {
  switch (t->kind) {
  case WISP__CT_VARIANT: return t->fields[i].type;
  case WISP__CT_OPTION: return i ? t->a : WISP__CNONE;
  case WISP__CT_RESULT: return i ? t->b : t->a;
  default: return WISP__CNONE; /* enum */
  }
}

static unsigned disc_size(uint32_t ncases) { return ncases <= 256 ? 1 : ncases <= 65536 ? 2 : 4; }

static uint32_t payload_offset(const wisp__cabi_t *cx, const wisp__ctype_t *t) {
  uint32_t align = 1, n = case_count(t);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t ct = case_type(t, i);
    if (ct != WISP__CNONE && type_of(cx, ct)->align > align) align = type_of(cx, ct)->align;
  }
  return align_to(disc_size(n), align);
}

static uint64_t flags_mask(const wisp__ctype_t *t) { return t->n >= 64 ? ~0ull : (1ull << t->n) - 1; }

static float canon_f32(uint32_t bits) {
  float f;
  if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu)) bits = 0x7fc00000u;
  memcpy(&f, &bits, 4);
  return f;
}

static double canon_f64(uint64_t bits) {
  double d;
  if ((bits & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (bits & 0x000fffffffffffffull))
    bits = 0x7ff8000000000000ull;
  memcpy(&d, &bits, 8);
  return d;
}

static void *host_alloc(wisp__cabi_t *cx, size_t n) {
  void *p = wisp__arena_alloc(cx->arena, n ? n : 1);
  if (!p) trap(cx, "out of host memory lifting a value");
  return p;
}

/* ---- strings ---- */

/* Appends code point `cp` as UTF-8 at out[*n]. */
static void put_utf8(char *out, uint32_t *n, uint32_t cp) {
  if (cp < 0x80) out[(*n)++] = (char)cp;
  else if (cp < 0x800) { out[(*n)++] = (char)(0xC0 | (cp >> 6)); out[(*n)++] = (char)(0x80 | (cp & 0x3F)); }
  else if (cp < 0x10000) {
    out[(*n)++] = (char)(0xE0 | (cp >> 12)); out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[(*n)++] = (char)(0x80 | (cp & 0x3F));
  } else {
    out[(*n)++] = (char)(0xF0 | (cp >> 18)); out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[(*n)++] = (char)(0x80 | (cp & 0x3F));
  }
}

/* Decodes one UTF-8 code point at s[*i] (bounded by n); false when invalid. */
static bool get_utf8(const uint8_t *s, uint32_t n, uint32_t *i, uint32_t *cp) {
  uint8_t b = s[*i];
  uint32_t len, c;
  if (b < 0x80) { *cp = b; (*i)++; return true; }
  if ((b & 0xE0) == 0xC0) { len = 2; c = b & 0x1F; }
  else if ((b & 0xF0) == 0xE0) { len = 3; c = b & 0x0F; }
  else if ((b & 0xF8) == 0xF0) { len = 4; c = b & 0x07; }
  else return false;
  if (n - *i < len) return false;
  for (uint32_t k = 1; k < len; k++) {
    if ((s[*i + k] & 0xC0) != 0x80) return false;
    c = (c << 6) | (s[*i + k] & 0x3F);
  }
  if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || !valid_char(c))
    return false;
  *i += len;
  *cp = c;
  return true;
}

static int load_string(wisp__cabi_t *cx, uint32_t begin, uint32_t tagged, wisp__cval_t *out) {
  bool utf16 = cx->encoding == WISP__ENC_UTF16, latin1 = false;
  uint32_t units = tagged, align = cx->encoding == WISP__ENC_UTF8 ? 1 : 2;
  if (cx->encoding == WISP__ENC_LATIN1_UTF16) {
    utf16 = (tagged & UTF16_TAG) != 0;
    latin1 = !utf16;
    units = tagged & ~UTF16_TAG;
  }
  uint64_t bytes = utf16 ? 2ull * units : units;
  if (begin % align) return trap(cx, "misaligned string at 0x%x", begin);
  if (check_range(cx, begin, bytes, "string")) return -1;
  /* UTF-8 output is at most 3 bytes per UTF-16 unit or 2 per Latin-1 byte */
  uint64_t cap = utf16 ? 3ull * units : latin1 ? 2ull * units : units;
  char *s = host_alloc(cx, (size_t)cap);
  if (!s) return -1;
  uint32_t n = 0;
  const uint8_t *src = cx->mem + begin;
  if (latin1) {
    for (uint32_t i = 0; i < units; i++) put_utf8(s, &n, src[i]);
  } else if (utf16) {
    for (uint32_t i = 0; i < units; i++) {
      uint32_t u = (uint32_t)src[2 * i] | (uint32_t)src[2 * i + 1] << 8;
      if (u >= 0xD800 && u <= 0xDBFF && i + 1 < units) {
        uint32_t lo = (uint32_t)src[2 * i + 2] | (uint32_t)src[2 * i + 3] << 8;
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          put_utf8(s, &n, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
          i++;
          continue;
        }
      }
      if (u >= 0xD800 && u <= 0xDFFF) return trap(cx, "invalid UTF-16 in a string: unpaired surrogate");
      put_utf8(s, &n, u);
    }
  } else {
    for (uint32_t i = 0; i < units;) {
      uint32_t cp = 0;
      if (!get_utf8(src, units, &i, &cp)) return trap(cx, "invalid UTF-8 in a string at byte %u", i);
    }
    if (units) memcpy(s, src, units);
    n = units;
  }
  out->of.str.ptr = s;
  out->of.str.len = n;
  return 0;
}

static int guest_alloc(wisp__cabi_t *cx, uint32_t align, uint64_t size, uint32_t *out) {
  *out = 0;
  if (!cx->realloc) return trap(cx, "no realloc to allocate %llu bytes in the guest", (unsigned long long)size);
  if (size > UINT32_MAX) return trap(cx, "%llu bytes do not fit in guest memory", (unsigned long long)size);
  if (cx->realloc(cx, 0, 0, align, (uint32_t)size, out)) return -1;
  if (*out % align) return trap(cx, "realloc returned 0x%x, not aligned to %u", *out, align);
  return check_range(cx, *out, size, "realloc result");
}

/* Stores host UTF-8 `s` in the guest's encoding; *ptr, *len as the ABI passes them. */
static int store_string(wisp__cabi_t *cx, const char *s, uint32_t len, uint32_t *ptr, uint32_t *tagged) {
  const uint8_t *u = (const uint8_t *)s;
  uint32_t units16 = 0, max_cp = 0;
  for (uint32_t i = 0; i < len;) {
    uint32_t cp = 0;
    if (!get_utf8(u, len, &i, &cp)) return trap(cx, "invalid UTF-8 in a host string");
    units16 += cp >= 0x10000 ? 2 : 1;
    if (cp > max_cp) max_cp = cp;
  }
  if (cx->encoding == WISP__ENC_UTF8) {
    if (len > MAX_STRING_BYTES) return trap(cx, "string too long");
    if (guest_alloc(cx, 1, len, ptr)) return -1;
    if (len) memcpy(cx->mem + *ptr, s, len);
    *tagged = len;
    return 0;
  }
  bool latin1 = cx->encoding == WISP__ENC_LATIN1_UTF16 && max_cp < 256;
  uint64_t bytes = latin1 ? units16 : 2ull * units16;
  if (bytes > MAX_STRING_BYTES) return trap(cx, "string too long");
  if (guest_alloc(cx, 2, bytes, ptr)) return -1;
  uint32_t at = *ptr;
  for (uint32_t i = 0; i < len;) {
    uint32_t cp = 0;
    get_utf8(u, len, &i, &cp);
    if (latin1) { cx->mem[at++] = (uint8_t)cp; continue; }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      wr(cx, at, 0xD800 + (cp >> 10), 2);
      wr(cx, at + 2, 0xDC00 + (cp & 0x3FF), 2);
      at += 4;
    } else {
      wr(cx, at, cp, 2);
      at += 2;
    }
  }
  *tagged = latin1 || cx->encoding == WISP__ENC_UTF16 ? units16 : (units16 | UTF16_TAG);
  return 0;
}

/* ---- loading ---- */

static int load(wisp__cabi_t *cx, uint32_t type, uint32_t ptr, wisp__cval_t *out, int depth);

/* list<u8> and list<s8> are carried as bytes (of.bytes), not a value per byte */
static bool byte_list(const wisp__cabi_t *cx, uint32_t elem) {
  uint8_t k = type_of(cx, elem)->kind;
  return k == WISP__CT_U8 || k == WISP__CT_S8;
}

static int load_list(wisp__cabi_t *cx, uint32_t elem, uint32_t begin, uint32_t n, wisp__cval_t *out, int depth) {
  const wisp__ctype_t *e = type_of(cx, elem);
  if (begin % e->align) return trap(cx, "misaligned list at 0x%x", begin);
  if (check_range(cx, begin, (uint64_t)n * e->size, "list")) return -1;
  if (byte_list(cx, elem)) {
    uint8_t *copy = host_alloc(cx, n);
    if (!copy) return -1;
    if (n) memcpy(copy, cx->mem + begin, n);
    out->of.bytes.ptr = copy;
    out->of.bytes.len = n;
    return 0;
  }
  if (n > MAX_HOST_ITEMS) return trap(cx, "list of %u elements is too long for the host", n);
  out->of.agg.items = host_alloc(cx, (size_t)n * sizeof *out->of.agg.items);
  if (!out->of.agg.items) return -1;
  out->of.agg.len = n;
  for (uint32_t i = 0; i < n; i++)
    if (load(cx, elem, begin + i * e->size, &out->of.agg.items[i], depth + 1)) return -1;
  return 0;
}

static int load(wisp__cabi_t *cx, uint32_t type, uint32_t ptr, wisp__cval_t *out, int depth) {
  const wisp__ctype_t *t = type_of(cx, type);
  memset(out, 0, sizeof *out);
  out->type = type;
  if (depth > MAX_NEST) return trap(cx, "value nested too deeply");
  if (t->kind > WISP__CT_BORROW) return trap(cx, "not a value type");
  if (ptr % t->align) return trap(cx, "misaligned value at 0x%x (alignment %u)", ptr, t->align);
  if (check_range(cx, ptr, t->size, "value")) return -1;
  switch (t->kind) {
  case WISP__CT_BOOL: out->of.u = rd(cx, ptr, 1) != 0; return 0;
  case WISP__CT_U8: case WISP__CT_U16: case WISP__CT_U32: case WISP__CT_U64:
  case WISP__CT_OWN: case WISP__CT_BORROW:
    out->of.u = rd(cx, ptr, t->size); return 0;
  case WISP__CT_S8: out->of.s = (int8_t)rd(cx, ptr, 1); return 0;
  case WISP__CT_S16: out->of.s = (int16_t)rd(cx, ptr, 2); return 0;
  case WISP__CT_S32: out->of.s = (int32_t)rd(cx, ptr, 4); return 0;
  case WISP__CT_S64: out->of.s = (int64_t)rd(cx, ptr, 8); return 0;
  case WISP__CT_F32: out->of.f32 = canon_f32((uint32_t)rd(cx, ptr, 4)); return 0;
  case WISP__CT_F64: out->of.f64 = canon_f64(rd(cx, ptr, 8)); return 0;
  case WISP__CT_CHAR:
    out->of.u = rd(cx, ptr, 4);
    return valid_char(out->of.u) ? 0 : trap(cx, "invalid char 0x%llx", (unsigned long long)out->of.u);
  case WISP__CT_STRING: return load_string(cx, (uint32_t)rd(cx, ptr, 4), (uint32_t)rd(cx, ptr + 4, 4), out);
  case WISP__CT_LIST: return load_list(cx, t->a, (uint32_t)rd(cx, ptr, 4), (uint32_t)rd(cx, ptr + 4, 4), out, depth);
  case WISP__CT_FLAGS: out->of.u = rd(cx, ptr, t->size) & flags_mask(t); return 0;
  case WISP__CT_RECORD: case WISP__CT_TUPLE: {
    out->of.agg.items = host_alloc(cx, (size_t)t->n * sizeof *out->of.agg.items);
    if (!out->of.agg.items) return -1;
    out->of.agg.len = t->n;
    uint32_t off = 0;
    for (uint32_t i = 0; i < t->n; i++) {
      const wisp__ctype_t *f = type_of(cx, t->fields[i].type);
      off = align_to(off, f->align);
      if (load(cx, t->fields[i].type, ptr + off, &out->of.agg.items[i], depth + 1)) return -1;
      off += f->size;
    }
    return 0;
  }
  default: { /* variant, enum, option, result */
    uint32_t n = case_count(t);
    uint32_t disc = (uint32_t)rd(cx, ptr, disc_size(n));
    if (disc >= n) return trap(cx, "invalid variant discriminant %u (%u cases)", disc, n);
    out->of.var.disc = disc;
    uint32_t ct = case_type(t, disc);
    if (ct == WISP__CNONE) return 0;
    out->of.var.payload = host_alloc(cx, sizeof *out->of.var.payload);
    if (!out->of.var.payload) return -1;
    return load(cx, ct, ptr + payload_offset(cx, t), out->of.var.payload, depth + 1);
  }
  }
}

int wisp__cabi_load(wisp__cabi_t *cx, uint32_t type, uint32_t ptr, wisp__cval_t *out) {
  return load(cx, type, ptr, out, 0);
}

/* ---- storing ---- */

static int store(wisp__cabi_t *cx, uint32_t type, const wisp__cval_t *v, uint32_t ptr, int depth);

/* Checks a host value against the type it is stored as. */
static int check_value(wisp__cabi_t *cx, uint32_t type, const wisp__cval_t *v, int depth) {
  if (depth > MAX_NEST) return trap(cx, "value nested too deeply");
  if (!v || v->type != type) return trap(cx, "host value of the wrong type");
  const wisp__ctype_t *t = type_of(cx, type);
  if (t->kind == WISP__CT_CHAR && !valid_char(v->of.u)) return trap(cx, "invalid char 0x%llx", (unsigned long long)v->of.u);
  if ((t->kind == WISP__CT_RECORD || t->kind == WISP__CT_TUPLE) && v->of.agg.len != t->n)
    return trap(cx, "host record or tuple with %u fields, the type has %u", v->of.agg.len, t->n);
  static const uint64_t umax[WISP__CT_NPRIM] = {
    [WISP__CT_BOOL] = 1, [WISP__CT_U8] = 0xff, [WISP__CT_U16] = 0xffff, [WISP__CT_U32] = 0xffffffffu};
  static const int64_t smin[WISP__CT_NPRIM] = {[WISP__CT_S8] = INT8_MIN, [WISP__CT_S16] = INT16_MIN,
                                               [WISP__CT_S32] = INT32_MIN};
  if (t->kind < WISP__CT_NPRIM && umax[t->kind] && v->of.u > umax[t->kind])
    return trap(cx, "host value %llu out of range", (unsigned long long)v->of.u);
  if (t->kind < WISP__CT_NPRIM && smin[t->kind] && (v->of.s < smin[t->kind] || v->of.s > -(smin[t->kind] + 1)))
    return trap(cx, "host value %lld out of range", (long long)v->of.s);
  if (t->kind == WISP__CT_VARIANT || t->kind == WISP__CT_ENUM || t->kind == WISP__CT_OPTION ||
      t->kind == WISP__CT_RESULT) {
    uint32_t n = case_count(t);
    if (v->of.var.disc >= n) return trap(cx, "invalid variant discriminant %u (%u cases)", v->of.var.disc, n);
    if ((case_type(t, v->of.var.disc) == WISP__CNONE) != (v->of.var.payload == NULL))
      return trap(cx, "host variant case %u with a wrong payload", v->of.var.disc);
  }
  return 0;
}

static uint32_t list_len(const wisp__cabi_t *cx, uint32_t elem, const wisp__cval_t *v) {
  return byte_list(cx, elem) ? v->of.bytes.len : v->of.agg.len;
}

static int store_list(wisp__cabi_t *cx, uint32_t elem, const wisp__cval_t *v, uint32_t *begin, int depth) {
  const wisp__ctype_t *e = type_of(cx, elem);
  if (byte_list(cx, elem)) {
    if (guest_alloc(cx, 1, v->of.bytes.len, begin)) return -1;
    if (v->of.bytes.len) memcpy(cx->mem + *begin, v->of.bytes.ptr, v->of.bytes.len);
    return 0;
  }
  uint64_t bytes = (uint64_t)v->of.agg.len * e->size;
  if (guest_alloc(cx, e->align, bytes, begin)) return -1;
  for (uint32_t i = 0; i < v->of.agg.len; i++)
    if (store(cx, elem, &v->of.agg.items[i], *begin + i * e->size, depth + 1)) return -1;
  return 0;
}

static int store(wisp__cabi_t *cx, uint32_t type, const wisp__cval_t *v, uint32_t ptr, int depth) {
  if (check_value(cx, type, v, depth)) return -1;
  const wisp__ctype_t *t = type_of(cx, type);
  if (t->kind > WISP__CT_BORROW) return trap(cx, "not a value type");
  if (ptr % t->align) return trap(cx, "misaligned value at 0x%x (alignment %u)", ptr, t->align);
  if (check_range(cx, ptr, t->size, "value")) return -1;
  switch (t->kind) {
  case WISP__CT_BOOL: wr(cx, ptr, v->of.u != 0, 1); return 0;
  case WISP__CT_F32: { uint32_t b; memcpy(&b, &v->of.f32, 4); wr(cx, ptr, b, 4); return 0; }
  case WISP__CT_F64: { uint64_t b; memcpy(&b, &v->of.f64, 8); wr(cx, ptr, b, 8); return 0; }
  case WISP__CT_STRING: {
    uint32_t begin = 0, tagged = 0;
    if (store_string(cx, v->of.str.ptr, v->of.str.len, &begin, &tagged)) return -1;
    wr(cx, ptr, begin, 4);
    wr(cx, ptr + 4, tagged, 4);
    return 0;
  }
  case WISP__CT_LIST: {
    uint32_t begin = 0;
    if (store_list(cx, t->a, v, &begin, depth)) return -1;
    wr(cx, ptr, begin, 4);
    wr(cx, ptr + 4, list_len(cx, t->a, v), 4);
    return 0;
  }
  case WISP__CT_FLAGS: wr(cx, ptr, v->of.u & flags_mask(t), t->size); return 0;
  case WISP__CT_RECORD: case WISP__CT_TUPLE: {
    uint32_t off = 0;
    for (uint32_t i = 0; i < t->n; i++) {
      const wisp__ctype_t *f = type_of(cx, t->fields[i].type);
      off = align_to(off, f->align);
      if (store(cx, t->fields[i].type, &v->of.agg.items[i], ptr + off, depth + 1)) return -1;
      off += f->size;
    }
    return 0;
  }
  case WISP__CT_VARIANT: case WISP__CT_ENUM: case WISP__CT_OPTION: case WISP__CT_RESULT: {
    uint32_t n = case_count(t);
    wr(cx, ptr, v->of.var.disc, disc_size(n));
    uint32_t ct = case_type(t, v->of.var.disc);
    if (ct == WISP__CNONE) return 0;
    return store(cx, ct, v->of.var.payload, ptr + payload_offset(cx, t), depth + 1);
  }
  default: wr(cx, ptr, v->of.u, t->size); return 0; /* integers, char, handles (two's complement) */
  }
}

int wisp__cabi_store(wisp__cabi_t *cx, const wisp__cval_t *v, uint32_t ptr) {
  return store(cx, v->type, v, ptr, 0);
}

/* ---- flat lifting ---- */

typedef struct flat_reader {
  const uint64_t *vals;
  uint32_t n, pos;
} flat_reader_t;

static int next(wisp__cabi_t *cx, flat_reader_t *r, uint64_t *out) {
  if (r->pos >= r->n) return trap(cx, "too few flat values");
  *out = r->vals[r->pos++];
  return 0;
}

static int lift(wisp__cabi_t *cx, uint32_t type, flat_reader_t *r, wisp__cval_t *out, int depth) {
  const wisp__ctype_t *t = type_of(cx, type);
  uint64_t x = 0, y = 0;
  memset(out, 0, sizeof *out);
  out->type = type;
  if (depth > MAX_NEST) return trap(cx, "value nested too deeply");
  if (t->kind > WISP__CT_BORROW) return trap(cx, "not a value type");
  if (t->nflat > WISP__MAX_FLAT) return trap(cx, "value has more than %d flat values", WISP__MAX_FLAT);
  switch (t->kind) {
  case WISP__CT_RECORD: case WISP__CT_TUPLE:
    out->of.agg.items = host_alloc(cx, (size_t)t->n * sizeof *out->of.agg.items);
    if (!out->of.agg.items) return -1;
    out->of.agg.len = t->n;
    for (uint32_t i = 0; i < t->n; i++)
      if (lift(cx, t->fields[i].type, r, &out->of.agg.items[i], depth + 1)) return -1;
    return 0;
  case WISP__CT_VARIANT: case WISP__CT_ENUM: case WISP__CT_OPTION: case WISP__CT_RESULT: {
    if (next(cx, r, &x)) return -1;
    uint32_t n = case_count(t), disc = (uint32_t)x;
    if (disc >= n) return trap(cx, "invalid variant discriminant %u (%u cases)", disc, n);
    out->of.var.disc = disc;
    uint32_t joined = t->nflat - 1u, start = r->pos;
    if (r->n - r->pos < joined) return trap(cx, "too few flat values");
    uint32_t ct = case_type(t, disc);
    if (ct != WISP__CNONE) {
      /* the case's own flat types are narrower than (or equal to) the joined ones:
       * with raw bit patterns, coercion is truncation to the wanted width */
      const wisp__ctype_t *c = type_of(cx, ct);
      uint64_t vals[WISP__MAX_FLAT];
      for (uint32_t i = 0; i < c->nflat; i++) {
        vals[i] = r->vals[start + i];
        if (c->flat[i] == WISP_I32 || c->flat[i] == WISP_F32) vals[i] &= 0xffffffffu;
      }
      flat_reader_t sub = {vals, c->nflat, 0};
      out->of.var.payload = host_alloc(cx, sizeof *out->of.var.payload);
      if (!out->of.var.payload || lift(cx, ct, &sub, out->of.var.payload, depth + 1)) return -1;
    }
    r->pos = start + joined;
    return 0;
  }
  default: break;
  }
  if (next(cx, r, &x)) return -1;
  uint32_t x32 = (uint32_t)x;
  switch (t->kind) {
  case WISP__CT_BOOL: out->of.u = x32 != 0; return 0;
  case WISP__CT_U8: out->of.u = x32 & 0xff; return 0;
  case WISP__CT_U16: out->of.u = x32 & 0xffff; return 0;
  case WISP__CT_U32: case WISP__CT_OWN: case WISP__CT_BORROW: out->of.u = x32; return 0;
  case WISP__CT_U64: out->of.u = x; return 0;
  case WISP__CT_S8: out->of.s = (int8_t)x32; return 0;
  case WISP__CT_S16: out->of.s = (int16_t)x32; return 0;
  case WISP__CT_S32: out->of.s = (int32_t)x32; return 0;
  case WISP__CT_S64: out->of.s = (int64_t)x; return 0;
  case WISP__CT_F32: out->of.f32 = canon_f32(x32); return 0;
  case WISP__CT_F64: out->of.f64 = canon_f64(x); return 0;
  case WISP__CT_CHAR:
    out->of.u = x32;
    return valid_char(x32) ? 0 : trap(cx, "invalid char 0x%x", x32);
  case WISP__CT_FLAGS: out->of.u = x32 & flags_mask(t); return 0;
  case WISP__CT_STRING:
    if (next(cx, r, &y)) return -1;
    return load_string(cx, x32, (uint32_t)y, out);
  case WISP__CT_LIST:
    if (next(cx, r, &y)) return -1;
    return load_list(cx, t->a, x32, (uint32_t)y, out, depth);
  default: return trap(cx, "not a value type");
  }
}

int wisp__cabi_lift_flat(wisp__cabi_t *cx, uint32_t type, const uint64_t *flat, uint32_t nflat, uint32_t *pos,
                         wisp__cval_t *out) {
  flat_reader_t r = {flat, nflat, *pos};
  int rc = lift(cx, type, &r, out, 0);
  *pos = r.pos;
  return rc;
}

/* ---- flat lowering ---- */

static int push(wisp__cabi_t *cx, uint64_t *flat, uint32_t cap, uint32_t *pos, uint64_t v) {
  if (*pos >= cap) return trap(cx, "too many flat values");
  flat[(*pos)++] = v;
  return 0;
}

static int lower(wisp__cabi_t *cx, uint32_t type, const wisp__cval_t *v, uint64_t *flat, uint32_t cap,
                 uint32_t *pos, int depth) {
  if (check_value(cx, type, v, depth)) return -1;
  const wisp__ctype_t *t = type_of(cx, type);
  if (t->kind > WISP__CT_BORROW) return trap(cx, "not a value type");
  if (t->nflat > WISP__MAX_FLAT) return trap(cx, "value has more than %d flat values", WISP__MAX_FLAT);
  switch (t->kind) {
  case WISP__CT_RECORD: case WISP__CT_TUPLE:
    for (uint32_t i = 0; i < t->n; i++)
      if (lower(cx, t->fields[i].type, &v->of.agg.items[i], flat, cap, pos, depth + 1)) return -1;
    return 0;
  case WISP__CT_VARIANT: case WISP__CT_ENUM: case WISP__CT_OPTION: case WISP__CT_RESULT: {
    if (push(cx, flat, cap, pos, v->of.var.disc)) return -1;
    uint32_t end = *pos + t->nflat - 1u;
    uint32_t ct = case_type(t, v->of.var.disc);
    if (ct != WISP__CNONE && lower(cx, ct, v->of.var.payload, flat, cap, pos, depth + 1)) return -1;
    while (*pos < end) /* unused joined slots are zero */
      if (push(cx, flat, cap, pos, 0)) return -1;
    return 0;
  }
  case WISP__CT_F32: { uint32_t b; memcpy(&b, &v->of.f32, 4); return push(cx, flat, cap, pos, b); }
  case WISP__CT_F64: { uint64_t b; memcpy(&b, &v->of.f64, 8); return push(cx, flat, cap, pos, b); }
  case WISP__CT_S64: case WISP__CT_U64: return push(cx, flat, cap, pos, v->of.u);
  case WISP__CT_BOOL: return push(cx, flat, cap, pos, v->of.u != 0);
  case WISP__CT_FLAGS: return push(cx, flat, cap, pos, v->of.u & flags_mask(t));
  case WISP__CT_STRING: {
    uint32_t begin = 0, tagged = 0;
    if (store_string(cx, v->of.str.ptr, v->of.str.len, &begin, &tagged)) return -1;
    if (push(cx, flat, cap, pos, begin)) return -1;
    return push(cx, flat, cap, pos, tagged);
  }
  case WISP__CT_LIST: {
    uint32_t begin = 0;
    if (store_list(cx, t->a, v, &begin, depth)) return -1;
    if (push(cx, flat, cap, pos, begin)) return -1;
    return push(cx, flat, cap, pos, list_len(cx, t->a, v));
  }
  default: return push(cx, flat, cap, pos, (uint32_t)v->of.u); /* 32-bit and narrower, char, handles */
  }
}

int wisp__cabi_lower_flat(wisp__cabi_t *cx, const wisp__cval_t *v, uint64_t *flat, uint32_t cap, uint32_t *pos) {
  return lower(cx, v->type, v, flat, cap, pos, 0);
}

/* ---- function parameters and results ---- */

/* Layout of the tuple of `types` (a function's parameters or results). */
static void tuple_layout(const wisp__cabi_t *cx, const wisp__cfield_t *types, uint32_t n, uint32_t *size,
                         uint32_t *align, uint32_t *nflat) {
  uint64_t off = 0, flat = 0;
  uint32_t a = 1;
  for (uint32_t i = 0; i < n; i++) {
    const wisp__ctype_t *t = type_of(cx, types[i].type);
    off = align_to((uint32_t)(off > UINT32_MAX / 2 ? UINT32_MAX / 2 : off), t->align) + t->size;
    flat += t->nflat;
    if (t->align > a) a = t->align;
  }
  *align = a;
  *size = align_to((uint32_t)(off > UINT32_MAX / 2 ? UINT32_MAX / 2 : off), a);
  *nflat = flat > WISP__MAX_FLAT + 1 ? WISP__MAX_FLAT + 1 : (uint32_t)flat;
}

int wisp__cabi_lift_values(wisp__cabi_t *cx, const wisp__cfield_t *types, uint32_t n, uint32_t max_flat,
                           const uint64_t *flat, uint32_t nflat, wisp__cval_t *out) {
  uint32_t size = 0, align = 1, count = 0, pos = 0;
  tuple_layout(cx, types, n, &size, &align, &count);
  if (count <= max_flat) {
    for (uint32_t i = 0; i < n; i++)
      if (wisp__cabi_lift_flat(cx, types[i].type, flat, nflat, &pos, &out[i])) return -1;
    return pos == nflat ? 0 : trap(cx, "%u flat values left over", nflat - pos);
  }
  if (nflat != 1) return trap(cx, "expected one pointer to spilled values, got %u values", nflat);
  uint32_t ptr = (uint32_t)flat[0], off = 0;
  if (ptr % align) return trap(cx, "misaligned values at 0x%x", ptr);
  if (check_range(cx, ptr, size, "values")) return -1;
  for (uint32_t i = 0; i < n; i++) {
    const wisp__ctype_t *t = type_of(cx, types[i].type);
    off = align_to(off, t->align);
    if (load(cx, types[i].type, ptr + off, &out[i], 0)) return -1;
    off += t->size;
  }
  return 0;
}

int wisp__cabi_lower_values(wisp__cabi_t *cx, const wisp__cfield_t *types, uint32_t n, uint32_t max_flat,
                            const wisp__cval_t *vals, const uint32_t *out_ptr, uint64_t *flat, uint32_t cap,
                            uint32_t *nflat) {
  uint32_t size = 0, align = 1, count = 0, off = 0, ptr = 0;
  tuple_layout(cx, types, n, &size, &align, &count);
  *nflat = 0;
  if (count <= max_flat) {
    for (uint32_t i = 0; i < n; i++)
      if (lower(cx, types[i].type, &vals[i], flat, cap, nflat, 0)) return -1;
    return 0;
  }
  if (out_ptr) {
    ptr = *out_ptr;
    if (ptr % align) return trap(cx, "misaligned result pointer 0x%x", ptr);
    if (check_range(cx, ptr, size, "results")) return -1;
  } else {
    if (guest_alloc(cx, align, size, &ptr)) return -1;
    if (push(cx, flat, cap, nflat, ptr)) return -1;
  }
  for (uint32_t i = 0; i < n; i++) {
    const wisp__ctype_t *t = type_of(cx, types[i].type);
    off = align_to(off, t->align);
    if (store(cx, types[i].type, &vals[i], ptr + off, 0)) return -1;
    off += t->size;
  }
  return 0;
}
