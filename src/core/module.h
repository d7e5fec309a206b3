/*
 * module.h: the decoded form of a core WebAssembly module (internal).
 *
 * Filled by the decoder (decode.c), checked by the validator (validate.c), read
 * by the translator (translate.c) and the runtime (runtime.c). Everything a
 * module owns lives in its arena (`arena`) or points into its private copy of
 * the binary (`bytes`), so freeing a module is freeing those two.
 *
 * Invariants after wisp__decode succeeds:
 *  - every vector below has its count filled and its elements decoded;
 *  - function bodies are not decoded, only located (body_start/body_end) and
 *    their local declarations read; instruction-level checks are the validator's;
 *  - index spaces: funcs/tables/memories/globals list imports first, then
 *    definitions, exactly as the spec's index spaces.
 * After wisp__validate succeeds, every index is in range and every body is
 * well-typed, so the translator may assume a valid module.
 */
#ifndef WISP_MODULE_H
#define WISP_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wisp.h"
#include "arena.h"

/* Section ids, as encoded. */
enum {
  WISP_SEC_CUSTOM = 0, WISP_SEC_TYPE = 1, WISP_SEC_IMPORT = 2, WISP_SEC_FUNCTION = 3,
  WISP_SEC_TABLE = 4, WISP_SEC_MEMORY = 5, WISP_SEC_GLOBAL = 6, WISP_SEC_EXPORT = 7,
  WISP_SEC_START = 8, WISP_SEC_ELEMENT = 9, WISP_SEC_CODE = 10, WISP_SEC_DATA = 11,
  WISP_SEC_DATACOUNT = 12,
};

typedef struct wisp__functype {
  uint32_t nparams, nresults;
  uint8_t *types;     /* nparams + nresults valkinds: params first */
  uint32_t canon;     /* engine-wide canonical id: equal types have equal ids (set after validation) */
} wisp__functype_t;

typedef struct wisp__limits {
  uint64_t min, max;  /* pages for memories, elements for tables */
  bool has_max;
} wisp__limits_t;

typedef struct wisp__tabletype {
  uint8_t elem;       /* WISP_FUNCREF or WISP_EXTERNREF */
  wisp__limits_t limits;
} wisp__tabletype_t;

typedef struct wisp__globaltype {
  uint8_t type;
  bool mutable_;
} wisp__globaltype_t;

/* A constant expression. In WebAssembly 2.0 it is a single instruction then
 * `end`, so it is stored decoded. */
typedef struct wisp__constexpr {
  uint32_t op;        /* WISP_OP_I32_CONST ... WISP_OP_REF_FUNC, WISP_OP_GLOBAL_GET, or SIMD v128.const (0x1000C) */
  uint8_t type;       /* the value type it produces (for ref.null, the ref type) */
  uint32_t offset;    /* byte offset of the expression, for errors */
  union {
    int32_t i32; int64_t i64; uint32_t f32_bits; uint64_t f64_bits;
    uint8_t v128[16];
    uint32_t index;   /* global.get / ref.func index */
  } u;
} wisp__constexpr_t;

typedef struct wisp__import {
  const char *module; uint32_t module_len; /* point into bytes; not NUL-terminated */
  const char *name; uint32_t name_len;
  uint8_t kind;                            /* wisp_externkind_t */
  union {
    uint32_t type_index;                   /* func */
    wisp__tabletype_t table;
    wisp__limits_t memory;
    wisp__globaltype_t global;
  } u;
} wisp__import_t;

typedef struct wisp__export {
  const char *name; uint32_t name_len;
  uint8_t kind;
  uint32_t index;
} wisp__export_t;

/* A run of `count` locals of one type, as declared in a code entry. */
typedef struct wisp__localrun {
  uint32_t count;
  uint8_t type;
} wisp__localrun_t;

struct wisp__code;  /* translated internal code, translate.h */

typedef struct wisp__func {
  uint32_t type_index;
  /* Defined functions only (index >= nfunc_imports): */
  uint32_t body_start;   /* offset in bytes of the first instruction (after locals) */
  uint32_t body_end;     /* offset one past the final `end` */
  uint32_t entry_offset; /* offset of the code entry's size field, for errors */
  uint32_t nlocalruns;
  wisp__localrun_t *localruns;
  uint32_t nlocals;      /* declared locals, params not included */
  uint32_t max_stack;    /* max operand stack height in 8-byte cells, v128 = 2 (validator fills) */
  struct wisp__code *_Atomic code; /* translated lazily; NULL until first call */
} wisp__func_t;

typedef struct wisp__global {
  wisp__globaltype_t type;
  wisp__constexpr_t init;
} wisp__global_t;

enum { WISP_SEG_ACTIVE = 0, WISP_SEG_PASSIVE = 1, WISP_SEG_DECLARATIVE = 2 };

typedef struct wisp__elem {
  uint8_t mode;          /* WISP_SEG_* */
  uint8_t type;          /* WISP_FUNCREF or WISP_EXTERNREF */
  uint32_t table;        /* active only */
  wisp__constexpr_t offset; /* active only */
  uint32_t count;
  wisp__constexpr_t *items; /* each ref.null, ref.func or global.get */
  uint32_t section_offset;
} wisp__elem_t;

typedef struct wisp__data {
  uint8_t mode;          /* WISP_SEG_ACTIVE or WISP_SEG_PASSIVE */
  uint32_t memory;
  wisp__constexpr_t offset;
  const uint8_t *bytes;  /* points into the module's bytes */
  uint32_t len;
  uint32_t section_offset;
} wisp__data_t;

typedef struct wisp__custom {
  const char *name; uint32_t name_len;
  const uint8_t *data; uint32_t len;
  uint8_t after_section; /* id of the last non-custom section before it (0 = none) */
} wisp__custom_t;

struct wisp_module {
  wisp_engine_t *engine;
  wisp__arena_t arena;
  uint8_t *bytes;        /* private copy of the binary; owned */
  size_t len;

  uint32_t ntypes;       wisp__functype_t *types;
  uint32_t nimports;     wisp__import_t *imports;
  uint32_t nfuncs;       wisp__func_t *funcs;        /* imports first */
  uint32_t nfunc_imports;
  uint32_t ntables;      wisp__tabletype_t *tables;  /* imports first */
  uint32_t ntable_imports;
  uint32_t nmemories;    wisp__limits_t *memories;   /* imports first */
  uint32_t nmemory_imports;
  uint32_t nglobals;     wisp__global_t *globals;    /* imports first (init unused) */
  uint32_t nglobal_imports;
  uint32_t nexports;     wisp__export_t *exports;
  bool has_start;        uint32_t start;
  uint32_t nelems;       wisp__elem_t *elems;
  uint32_t ndatas;       wisp__data_t *datas;
  bool has_datacount;    uint32_t datacount;
  uint32_t ncustoms;     wisp__custom_t *customs;

  /* From the `name` custom section (subsection 1), if present and well formed:
   * func_names[i] is a NUL-terminated arena string or NULL. nfuncs entries. */
  const char **func_names;

  /* Set by the validator: functions referenced outside function bodies
   * (exports, elem segments, globals), the only ones ref.func may name. */
  uint8_t *func_declared;  /* nfuncs booleans */

  /* Set by the validator when a body uses a SIMD instruction: the first one. */
  bool uses_simd;
  uint32_t simd_func;      /* function index */
  uint32_t simd_offset;    /* byte offset */
  uint32_t simd_code;      /* 0x10000|sub */
};

/* Decodes `bytes` (already copied into m->bytes by the caller, which also set
 * m->engine and initialised m->arena). Returns 0 or WISP_ERR_MALFORMED with
 * *err filled ("<section> section, offset 0x..: <what was expected>").
 * Canonical ids of function types are assigned afterwards (module.c), only
 * for modules that validate. */
int wisp__decode(struct wisp_module *m, wisp_error_t *err);

/* Validates a decoded module. Returns 0 or WISP_ERR_INVALID with *err filled
 * ("code section, function 12, offset 0x3f1: type mismatch: expected i32, found f64").
 * Fills max_stack of each defined function, func_declared and the uses_simd fields. */
int wisp__validate(struct wisp_module *m, wisp_error_t *err);

/* Engine-wide function type interning (engine.c). Thread-safe. */
uint32_t wisp__engine_intern_type(wisp_engine_t *engine, uint32_t nparams, uint32_t nresults,
                                  const uint8_t *types);

/* Formats into err (printf-style) and returns `code`. */
int wisp__error(wisp_error_t *err, int code, uint32_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The valtype byte is a valid value type. */
static inline bool wisp__is_valtype(uint8_t t) {
  return t == WISP_I32 || t == WISP_I64 || t == WISP_F32 || t == WISP_F64 || t == WISP_V128 ||
         t == WISP_FUNCREF || t == WISP_EXTERNREF;
}

static inline const wisp__functype_t *wisp__func_type(const struct wisp_module *m, uint32_t f) {
  return &m->types[m->funcs[f].type_index];
}

#endif
