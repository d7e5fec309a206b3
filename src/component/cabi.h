/*
 * cabi.h: the canonical ABI's value conversions (CanonicalABI.md "Loading",
 * "Storing", "Flat Lifting", "Flat Lowering"), in isolation from instantiation:
 * component values on the host side <-> bytes in a guest's linear memory and
 * flat core values. The next layer (canon lift/lower trampolines) drives these
 * with the canon options of each function.
 *
 * Host values (wisp__cval_t) are trees allocated from an arena the caller owns.
 * Strings on the host side are always UTF-8; the guest side uses the canon
 * option's encoding (utf8, utf16, latin1+utf16). Handles (own/borrow) are carried
 * as raw i32 handle indices: resource tables are the next layer's job.
 *
 * Traps: every function returns 0, or -1 with cx->trap set ("out-of-bounds
 * string", "invalid variant discriminant 7", ...). Nothing here trusts guest
 * memory: every pointer and length is bounds-checked, lengths are bounded by
 * what memory can hold before anything is allocated.
 */
#ifndef WISP_CABI_H
#define WISP_CABI_H

#include <stdint.h>

#include "component.h"

typedef struct wisp__cval {
  uint32_t type; /* pool id */
  union {
    uint64_t u;   /* bool (0/1), u8..u64, char (code point), flags (bits), handles */
    int64_t s;    /* s8..s64 */
    float f32;
    double f64;
    struct { const char *ptr; uint32_t len; } str;          /* UTF-8, not NUL-terminated */
    struct { struct wisp__cval *items; uint32_t len; } agg; /* list, record, tuple */
    struct { const uint8_t *ptr; uint32_t len; } bytes;     /* list<u8>, list<s8>: the bytes
                                                             * themselves, no value per byte */
    struct { uint32_t disc; struct wisp__cval *payload; } var; /* variant, enum, option
                                                                * (0 none, 1 some), result
                                                                * (0 ok, 1 error); payload
                                                                * NULL when the case has none */
  } of;
} wisp__cval_t;

typedef struct wisp__cabi wisp__cabi_t;

/* The guest's realloc (the canon option): allocates `size` bytes aligned to
 * `align` in guest memory and stores the guest address in *out. May grow memory:
 * it must then update cx->mem and cx->mem_len. Returns 0, or -1 after setting
 * cx->trap. */
typedef int (*wisp__cabi_realloc_t)(wisp__cabi_t *cx, uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                    uint32_t size, uint32_t *out);

struct wisp__cabi {
  const wisp_component_t *component; /* whose type pool the values use */
  uint8_t *mem;                       /* guest linear memory */
  uint64_t mem_len;
  uint8_t encoding;                   /* wisp__cstringenc_t */
  wisp__cabi_realloc_t realloc;       /* NULL when the function has no realloc option */
  void *env;                          /* for realloc */
  wisp__arena_t *arena;               /* host values are allocated here */
  char trap[160];
};

/* Memory <-> host value of type `type` at guest address `ptr`. */
int wisp__cabi_load(wisp__cabi_t *cx, uint32_t type, uint32_t ptr, wisp__cval_t *out);
int wisp__cabi_store(wisp__cabi_t *cx, const wisp__cval_t *v, uint32_t ptr);

/* Flat core values <-> host value. `flat` holds the core values as raw 64-bit
 * patterns (i32 zero-extended, f32/f64 bits), the type's flattening in
 * order. lift reads *pos onwards and advances it; lower appends at *pos. */
int wisp__cabi_lift_flat(wisp__cabi_t *cx, uint32_t type, const uint64_t *flat, uint32_t nflat,
                         uint32_t *pos, wisp__cval_t *out);
int wisp__cabi_lower_flat(wisp__cabi_t *cx, const wisp__cval_t *v, uint64_t *flat, uint32_t cap,
                          uint32_t *pos);

/* A function's parameters or results (`types`, n of them) from / to core values
 * (CanonicalABI.md lift_flat_values / lower_flat_values). When their flattening
 * exceeds max_flat (16 for parameters, 1 for results) they travel in memory as a
 * tuple: lifting then takes one i32 pointer; lowering allocates the tuple with
 * realloc and passes its pointer (out_ptr NULL), or stores it at *out_ptr (the
 * return area a caller of canon lower passes). */
int wisp__cabi_lift_values(wisp__cabi_t *cx, const wisp__cfield_t *types, uint32_t n, uint32_t max_flat,
                           const uint64_t *flat, uint32_t nflat, wisp__cval_t *out);
int wisp__cabi_lower_values(wisp__cabi_t *cx, const wisp__cfield_t *types, uint32_t n, uint32_t max_flat,
                            const wisp__cval_t *vals, const uint32_t *out_ptr, uint64_t *flat, uint32_t cap,
                            uint32_t *nflat);

#endif
