/*
 * guest.c: the valtypes test component (world.wit beside this file), written
 * against the canonical ABI by hand: no wit-bindgen, no libc. Core signatures
 * are what `jco embed --dummy` prints for the world (a string or list is
 * (ptr, len); results that do not fit one core value come back through a return
 * area; more than 16 flat parameters travel as a pointer to a tuple).
 *
 * Every rt-X export hands its flat arguments unchanged to the host import echo-X
 * and returns what comes back, so a value crosses four boundaries: host -> guest
 * (lower into this memory, through cabi_realloc), guest -> host (lift from it),
 * host -> guest (lower the import's result into the return area and the heap),
 * guest -> host (lift the export's result), then post-return frees the heap.
 * Because the guest never looks inside strings, one source serves the three
 * string encodings (built with jco embed --string-encoding); WISP_ENC tells the
 * misbehaving exports which encoding's invalid string to fake.
 *
 * The bad-* exports and the resource misuse functions break the canonical ABI on
 * purpose: each must make the host trap (docs/component-model.md lists them).
 */
#include <stdint.h>

#ifndef WISP_ENC
#define WISP_ENC 0 /* 0 utf8, 1 utf16, 2 latin1+utf16 */
#endif

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define HOST(name) IMPORT("wisp:valtypes/host", name)
#define TYPES(name) IMPORT("wisp:valtypes/types", name)
#define RES(name) IMPORT("[export]wisp:valtypes/guest", name)
#define EXPORT(name) __attribute__((export_name("wisp:valtypes/guest#" name)))
#define POST(name) __attribute__((export_name("cabi_post_wisp:valtypes/guest#" name)))

typedef int32_t i32;
typedef int64_t i64;

/* ---- imports ---- */

TYPES("[constructor]counter") i32 counter_new(i32 start);
TYPES("[method]counter.add") i32 counter_add(i32 self, i32 n);
TYPES("[method]counter.get") i32 counter_get(i32 self);
TYPES("[resource-drop]counter") void counter_drop(i32 handle);

HOST("echo-bool") i32 echo_bool(i32);
HOST("echo-s8") i32 echo_s8(i32);
HOST("echo-u8") i32 echo_u8(i32);
HOST("echo-s16") i32 echo_s16(i32);
HOST("echo-u16") i32 echo_u16(i32);
HOST("echo-s32") i32 echo_s32(i32);
HOST("echo-u32") i32 echo_u32(i32);
HOST("echo-s64") i64 echo_s64(i64);
HOST("echo-u64") i64 echo_u64(i64);
HOST("echo-f32") float echo_f32(float);
HOST("echo-f64") double echo_f64(double);
HOST("echo-char") i32 echo_char(i32);
HOST("echo-string") void echo_string(i32, i32, i32 ret);
HOST("echo-bytes") void echo_bytes(i32, i32, i32 ret);
HOST("echo-u32s") void echo_u32s(i32, i32, i32 ret);
HOST("echo-nested") void echo_nested(i32, i32, i32 ret);
HOST("echo-point") void echo_point(i32, i32, i32 ret);
HOST("echo-mixed") void echo_mixed(i32, i32, i64, i32, i32, i32, i32, i32, float, i32 ret);
HOST("echo-tuple") void echo_tuple(i32, i32, i32, double, i32 ret);
HOST("echo-shape") void echo_shape(i32, i64, i32, i32 ret);
HOST("echo-color") i32 echo_color(i32);
HOST("echo-option") void echo_option(i32, i32, i32, i32 ret);
HOST("echo-result") void echo_result(i32, i32, i32, i32 ret);
HOST("echo-perms") i32 echo_perms(i32);
HOST("echo-wide") i32 echo_wide(i32);
HOST("echo-many") void echo_many(i32 args, i32 ret);
HOST("consume") i32 host_consume(i32 borrowed, i32 owned);
HOST("reenter") i32 host_reenter(void);
HOST("take") i32 host_take(i32 owned);
HOST("describe") void host_describe(i32 borrowed, i32 ret);

RES("[resource-new]blob") i32 blob_new(i32 rep);
RES("[resource-rep]blob") i32 blob_rep(i32 handle);
RES("[resource-drop]blob") void blob_drop(i32 handle);

/* ---- memory: a bump heap reset by post-return ---- */

static uint8_t heap[65536] __attribute__((aligned(8)));
static uint32_t heap_used, realloc_mode, post_returns;
static i32 drop_in_realloc; /* realloc_mode 5 */
static uint8_t ret_area[64] __attribute__((aligned(8)));

#define P(x) ((i32)(uintptr_t)(x))
#define RET P(ret_area)

__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, uint32_t old_size, uint32_t align,
                                                                uint32_t size) {
  (void)old; (void)old_size;
  uint32_t at = (heap_used + align - 1) & ~(align - 1);
  if (at + size > sizeof heap) __builtin_trap();
  heap_used = at + size;
  if (realloc_mode == 1 && align > 1) return heap + at + 1; /* misaligned */
  if (realloc_mode == 2) return (void *)(uintptr_t)0xFFFFFF00u; /* out of bounds */
  if (realloc_mode == 3) echo_u32(1);                             /* calls out: may not */
  if (realloc_mode == 5) counter_drop(drop_in_realloc);           /* drops a lent handle */
  return heap + at;
}

static void done(void) {
  if (realloc_mode == 4) echo_u32(1); /* post-return calls out: may not */
  heap_used = 0;
  post_returns++;
}

/* ---- round trips ---- */

#define RT_SCALAR(name, fn, echo, T)                                                                             \
  EXPORT(name) T fn(T v) { return echo(v); }
RT_SCALAR("rt-bool", rt_bool, echo_bool, i32)
RT_SCALAR("rt-s8", rt_s8, echo_s8, i32)
RT_SCALAR("rt-u8", rt_u8, echo_u8, i32)
RT_SCALAR("rt-s16", rt_s16, echo_s16, i32)
RT_SCALAR("rt-u16", rt_u16, echo_u16, i32)
RT_SCALAR("rt-s32", rt_s32, echo_s32, i32)
RT_SCALAR("rt-u32", rt_u32, echo_u32, i32)
RT_SCALAR("rt-s64", rt_s64, echo_s64, i64)
RT_SCALAR("rt-u64", rt_u64, echo_u64, i64)
RT_SCALAR("rt-f32", rt_f32, echo_f32, float)
RT_SCALAR("rt-f64", rt_f64, echo_f64, double)
RT_SCALAR("rt-char", rt_char, echo_char, i32)
RT_SCALAR("rt-color", rt_color, echo_color, i32)
RT_SCALAR("rt-perms", rt_perms, echo_perms, i32)
RT_SCALAR("rt-wide", rt_wide, echo_wide, i32)

/* (ptr, len) in, return area out, post-return frees */
#define RT_PAIR(name, fn, echo)                                                                                  \
  EXPORT(name) i32 fn(i32 a, i32 b) {                                                                            \
    echo(a, b, RET);                                                                                             \
    return RET;                                                                                                  \
  }                                                                                                              \
  POST(name) void fn##_post(i32 r) { (void)r; done(); }
RT_PAIR("rt-string", rt_string, echo_string)
RT_PAIR("rt-bytes", rt_bytes, echo_bytes)
RT_PAIR("rt-u32s", rt_u32s, echo_u32s)
RT_PAIR("rt-nested", rt_nested, echo_nested)
RT_PAIR("rt-point", rt_point, echo_point)

EXPORT("rt-mixed") i32 rt_mixed(i32 flag, i32 small, i64 big, i32 np, i32 nl, i32 lp, i32 ll, i32 od, float ov) {
  echo_mixed(flag, small, big, np, nl, lp, ll, od, ov, RET);
  return RET;
}
POST("rt-mixed") void rt_mixed_post(i32 r) { (void)r; done(); }

EXPORT("rt-tuple") i32 rt_tuple(i32 a, i32 sp, i32 sl, double d) {
  echo_tuple(a, sp, sl, d, RET);
  return RET;
}
POST("rt-tuple") void rt_tuple_post(i32 r) { (void)r; done(); }

EXPORT("rt-shape") i32 rt_shape(i32 disc, i64 a, i32 b) {
  echo_shape(disc, a, b, RET);
  return RET;
}
POST("rt-shape") void rt_shape_post(i32 r) { (void)r; done(); }

EXPORT("rt-option") i32 rt_option(i32 disc, i32 p, i32 l) {
  echo_option(disc, p, l, RET);
  return RET;
}
POST("rt-option") void rt_option_post(i32 r) { (void)r; done(); }

EXPORT("rt-result") i32 rt_result(i32 disc, i32 a, i32 b) {
  echo_result(disc, a, b, RET);
  return RET;
}
POST("rt-result") void rt_result_post(i32 r) { (void)r; done(); }

/* 16 parameters, 20 flat values: both sides pass a pointer to the tuple */
EXPORT("rt-many") i32 rt_many(i32 args) {
  echo_many(args, RET);
  return RET;
}
POST("rt-many") void rt_many_post(i32 r) { (void)r; done(); }

EXPORT("post-returns") i32 get_post_returns(void) { return (i32)post_returns; }

/* ---- resources ---- */

EXPORT("make-counter") i32 make_counter(i32 start) { return counter_new(start); }

/* borrowed handles of a host resource must be dropped before returning */
EXPORT("counter-sum") i32 counter_sum(i32 a, i32 b) {
  i32 s = counter_get(a) + counter_get(b);
  counter_drop(a);
  counter_drop(b);
  return s;
}

EXPORT("counter-cycle") i32 counter_cycle(i32 start, i32 n) {
  i32 h = counter_new(start);
  for (i32 i = 0; i < n; i++) counter_add(h, 1);
  i32 v = counter_get(h);
  counter_drop(h); /* the host's destructor runs */
  return v;
}

/* a list of own handles, written into the heap (freed by post-return) */
EXPORT("make-counters") i32 make_counters(i32 p, i32 n) {
  i32 *out = cabi_realloc(0, 0, 4, 4 * (uint32_t)n);
  for (i32 i = 0; i < n; i++) out[i] = counter_new(((i32 *)(uintptr_t)p)[i]);
  ((i32 *)ret_area)[0] = P(out);
  ((i32 *)ret_area)[1] = n;
  return RET;
}
POST("make-counters") void make_counters_post(i32 r) { (void)r; done(); }

/* a list of borrowed handles: used, then each dropped */
EXPORT("sum-counters") i32 sum_counters(i32 p, i32 n) {
  i32 s = 0;
  for (i32 i = 0; i < n; i++) s += counter_get(((i32 *)(uintptr_t)p)[i]);
  for (i32 i = 0; i < n; i++) counter_drop(((i32 *)(uintptr_t)p)[i]);
  heap_used = 0;
  return s;
}

EXPORT("maybe-counter") i32 maybe_counter(i32 some, i32 start) {
  ((i32 *)ret_area)[0] = some;
  if (some) ((i32 *)ret_area)[1] = counter_new(start);
  return RET;
}

/* blob: a guest-defined resource; its representation is REP0 + the slot number
 * (far from the handle numbers, so that a handle passed where a representation is
 * due shows) */
#define BLOBS 16
#define REP0 101
static struct { uint32_t used, len; uint8_t data[256]; } blobs[BLOBS];
static uint32_t blob_drops;

EXPORT("[constructor]blob") i32 blob_ctor(i32 p, i32 len) {
  for (uint32_t i = 0; i < BLOBS; i++) {
    if (blobs[i].used) continue;
    if ((uint32_t)len > sizeof blobs[i].data) __builtin_trap();
    blobs[i].used = 1;
    blobs[i].len = (uint32_t)len;
    for (i32 k = 0; k < len; k++) blobs[i].data[k] = ((uint8_t *)(uintptr_t)p)[k];
    heap_used = 0; /* the argument was copied: free it */
    return blob_new((i32)i + REP0);
  }
  __builtin_trap();
}

static void check_rep(i32 rep) {
  if (rep < REP0 || rep >= REP0 + BLOBS || !blobs[rep - REP0].used) __builtin_trap();
}

/* a borrow of its own resource reaches the guest as the representation */
EXPORT("[method]blob.size") i32 blob_size(i32 rep) {
  check_rep(rep);
  return (i32)blobs[rep - REP0].len; }

EXPORT("[method]blob.append") void blob_append(i32 rep, i32 p, i32 len) {
  check_rep(rep);
  uint32_t at = blobs[rep - REP0].len;
  if (at + (uint32_t)len > sizeof blobs[rep - REP0].data) __builtin_trap();
  for (i32 k = 0; k < len; k++) blobs[rep - REP0].data[at + (uint32_t)k] = ((uint8_t *)(uintptr_t)p)[k];
  blobs[rep - REP0].len = at + (uint32_t)len;
  heap_used = 0;
}

/* an owned handle comes in: read the bytes out, then drop it (runs the destructor) */
EXPORT("[static]blob.take") i32 blob_take(i32 handle) {
  i32 rep = blob_rep(handle);
  check_rep(rep);
  uint32_t n = blobs[rep - REP0].len;
  uint8_t *out = cabi_realloc(0, 0, 1, n);
  for (uint32_t k = 0; k < n; k++) out[k] = blobs[rep - REP0].data[k];
  blob_drop(handle);
  ((i32 *)ret_area)[0] = P(out);
  ((i32 *)ret_area)[1] = (i32)n;
  return RET;
}
POST("[static]blob.take") void blob_take_post(i32 r) { (void)r; done(); }

EXPORT("[dtor]blob") void blob_dtor(i32 rep) {
  check_rep(rep);
  blobs[rep - REP0].used = 0;
  blob_drops++;
}

EXPORT("blob-drops") i32 get_blob_drops(void) { return (i32)blob_drops; }

/* ---- misbehaving on purpose ---- */

static i32 *ret32(void) { return (i32 *)ret_area; }

EXPORT("bad-char-surrogate") i32 bad_char_surrogate(void) { return 0xD800; }
EXPORT("bad-char-big") i32 bad_char_big(void) { return 0x110000; }
/* not a trap: any nonzero i32 lifts as true */
EXPORT("bad-bool") i32 bad_bool(void) { return 2; }

/* core values wider than the type: the canonical ABI keeps the low bits */
EXPORT("trunc-u8") i32 trunc_u8(void) { return 0x1234; }
EXPORT("trunc-s16") i32 trunc_s16(void) { return 0x18000; }
EXPORT("trunc-perms") i32 trunc_perms(void) { return 0xFF; }
EXPORT("trunc-import-u8") i32 trunc_import_u8(void) { return echo_u8(0x1FF); }

/* NaNs with payloads and signs: lifted as the canonical NaN */
EXPORT("nan32") float nan32(void) {
  union { uint32_t u; float f; } v = {0xFFC01234u};
  __asm__ volatile("" : "+m"(v));
  return v.f;
}
EXPORT("nan64") double nan64(void) {
  union { uint64_t u; double f; } v = {0x7FF0000000000001ull};
  __asm__ volatile("" : "+m"(v));
  return v.f;
}

EXPORT("bad-string-oob") i32 bad_string_oob(void) {
  ret32()[0] = (i32)0xFFFFFF00u;
  ret32()[1] = 0x1000;
  return RET;
}

static const uint8_t bad_utf8[] = {'o', 'k', 0xFF, 0xFE};
static const uint16_t bad_utf16[] = {'o', 'k', 0xD800}; /* an unpaired surrogate */

EXPORT("bad-string-utf8") i32 bad_string_utf8(void) {
  if (WISP_ENC == 0) {
    ret32()[0] = P(bad_utf8);
    ret32()[1] = sizeof bad_utf8;
  } else {
    ret32()[0] = P(bad_utf16);
    ret32()[1] = (i32)(3u | (WISP_ENC == 2 ? 0x80000000u : 0)); /* latin1+utf16: tagged as UTF-16 */
  }
  return RET;
}

EXPORT("bad-list-oob") i32 bad_list_oob(void) {
  ret32()[0] = 16;
  ret32()[1] = 0x40000000; /* 4 GiB of u32 */
  return RET;
}

EXPORT("bad-list-align") i32 bad_list_align(void) {
  ret32()[0] = P(heap + 2); /* list<u32> needs 4 */
  ret32()[1] = 1;
  return RET;
}

EXPORT("bad-retptr-align") i32 bad_retptr_align(void) { return RET + 1; }
EXPORT("bad-retptr-oob") i32 bad_retptr_oob(void) { return (i32)0xFFFFFFF8u; }

EXPORT("bad-variant") i32 bad_variant(void) {
  ret_area[0] = 9; /* shape has 5 cases */
  return RET;
}
EXPORT("bad-enum") i32 bad_enum(void) { return 3; }
EXPORT("bad-option") i32 bad_option(void) {
  ret_area[0] = 2;
  return RET;
}
EXPORT("bad-result") i32 bad_result(void) {
  ret_area[0] = 2;
  return RET;
}

/* the same mistakes made calling an import: the lift happens in the host */
EXPORT("bad-import-char") i32 bad_import_char(void) { return echo_char(0xDFFF); }
EXPORT("bad-import-string") i32 bad_import_string(void) {
  echo_string((i32)0xFFFFFFF0u, 0x20, RET);
  return RET;
}
EXPORT("bad-import-align") i32 bad_import_align(void) {
  echo_u32s(P(heap + 1), 1, RET);
  return RET;
}
EXPORT("bad-import-enum") i32 bad_import_enum(void) { return echo_color(5); }
EXPORT("bad-import-variant") i32 bad_import_variant(void) {
  echo_shape(7, 0, 0, RET);
  return RET;
}

/* spilled parameters (a pointer to the tuple) that point nowhere / misaligned */
EXPORT("bad-import-many-oob") i64 bad_import_many_oob(void) {
  echo_many((i32)0xFFFFFF00u, RET);
  return ((i64 *)ret_area)[0];
}
EXPORT("bad-import-many-align") i64 bad_import_many_align(void) {
  echo_many(P(heap + 4), RET); /* the tuple holds a u64: alignment 8 */
  return ((i64 *)ret_area)[0];
}
/* the return area of an import call outside memory */
EXPORT("bad-import-retptr-oob") i32 bad_import_retptr_oob(void) {
  static const char s[] = "x";
  echo_string(P(s), 1, (i32)0xFFFFFFFCu);
  return RET;
}

EXPORT("drop-unknown") void drop_unknown(void) { counter_drop(77); }

/* a blob handle where a counter is expected */
EXPORT("wrong-type") i32 wrong_type(void) {
  i32 h = blob_new(1000);
  return counter_get(h);
}

/* resource.rep of blob on a counter handle */
EXPORT("rep-wrong-type") i32 rep_wrong_type(void) { return blob_rep(counter_new(3)); }

EXPORT("use-after-drop") i32 use_after_drop(void) {
  i32 h = counter_new(5);
  counter_drop(h);
  return counter_get(h);
}

/* returns without dropping the borrowed handle */
EXPORT("keep-borrow") void keep_borrow(i32 c) { (void)c; }

/* a borrowed handle passed where an owned one is due */
EXPORT("give-borrowed") i32 give_borrowed(i32 c) { return host_take(c); }

/* lends h (borrow) and gives it away (own) in the same call */
EXPORT("lend-and-give") i32 lend_and_give(void) {
  i32 h = counter_new(1);
  return host_consume(h, h);
}

/* the lend of h lasts until describe's result is lowered, realloc included */
EXPORT("drop-while-lent") i32 drop_while_lent(void) {
  i32 h = counter_new(2);
  drop_in_realloc = h;
  realloc_mode = 5;
  host_describe(h, RET);
  realloc_mode = 0; /* reached only by a host that let the drop pass */
  return RET;
}
POST("drop-while-lent") void drop_while_lent_post(i32 r) { (void)r; done(); }

EXPORT("reenter") i32 reenter(void) { return host_reenter(); }

EXPORT("set-realloc-mode") void set_realloc_mode(i32 mode) { realloc_mode = (uint32_t)mode; }
