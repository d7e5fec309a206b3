/*
 * engine.c: the engine object, engine-wide function type interning, error
 * formatting and the opcode property lookup over opcodes.h and simd_ops.h.
 *
 * Type interning gives every distinct function type one small integer id so
 * that call_indirect's type check and import matching compare one integer.
 * Ids are never reused for the engine's lifetime.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "module.h"
#include "opcodes.h"
#include "simd_ops.h"

typedef struct interned_type {
  uint32_t nparams, nresults;
  uint8_t *types;
  uint64_t hash;
} interned_type_t;

struct wisp_engine {
  pthread_mutex_t lock;
  interned_type_t *types;  /* by id */
  uint32_t ntypes, cap;
  uint32_t *buckets;       /* open addressing: id + 1, 0 = empty */
  uint32_t nbuckets;       /* a power of two, at least twice ntypes */
};

wisp_engine_t *wisp_engine_new(void) {
  wisp_engine_t *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  pthread_mutex_init(&e->lock, NULL);
  wisp__signals_install();
  return e;
}

void wisp_engine_delete(wisp_engine_t *engine) {
  if (!engine) return;
  for (uint32_t i = 0; i < engine->ntypes; i++) free(engine->types[i].types);
  free(engine->types);
  free(engine->buckets);
  pthread_mutex_destroy(&engine->lock);
  free(engine);
}

static uint64_t type_hash(uint32_t nparams, uint32_t nresults, const uint8_t *types) {
  uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)nparams << 32 | nresults);
  for (uint32_t i = 0; i < nparams + nresults; i++) h = (h ^ types[i]) * 0x100000001b3ull;
  return h;
}

static bool rehash(wisp_engine_t *e, uint32_t nbuckets) {
  uint32_t *b = calloc(nbuckets, sizeof *b);
  if (!b) return false;
  for (uint32_t id = 0; id < e->ntypes; id++) {
    uint32_t i = (uint32_t)e->types[id].hash & (nbuckets - 1);
    while (b[i]) i = (i + 1) & (nbuckets - 1);
    b[i] = id + 1;
  }
  free(e->buckets);
  e->buckets = b;
  e->nbuckets = nbuckets;
  return true;
}

/* Interning is a hash lookup under the engine's lock. Only validated modules
 * and host functions intern types, so the table grows with what is deployed,
 * not with what is uploaded. */
uint32_t wisp__engine_intern_type(wisp_engine_t *engine, uint32_t nparams, uint32_t nresults,
                                  const uint8_t *types) {
  uint32_t n = nparams + nresults;
  uint64_t h = type_hash(nparams, nresults, types);
  uint32_t id = UINT32_MAX;
  pthread_mutex_lock(&engine->lock);
  if (engine->nbuckets) {
    for (uint32_t i = (uint32_t)h & (engine->nbuckets - 1); engine->buckets[i];
         i = (i + 1) & (engine->nbuckets - 1)) {
      interned_type_t *t = &engine->types[engine->buckets[i] - 1];
      if (t->hash == h && t->nparams == nparams && t->nresults == nresults &&
          (n == 0 || memcmp(t->types, types, n) == 0)) {
        id = engine->buckets[i] - 1;
        goto done;
      }
    }
  }
  if ((engine->ntypes + 1) * 2 > engine->nbuckets && !rehash(engine, engine->nbuckets ? engine->nbuckets * 2 : 256))
    goto done;
  if (engine->ntypes == engine->cap) {
    uint32_t cap = engine->cap ? engine->cap * 2 : 64;
    interned_type_t *grown = realloc(engine->types, cap * sizeof *grown);
    if (!grown) goto done;
    engine->types = grown;
    engine->cap = cap;
  }
  uint8_t *copy = malloc(n ? n : 1);
  if (!copy) goto done;
  if (n) memcpy(copy, types, n);
  id = engine->ntypes++;
  engine->types[id] = (interned_type_t){nparams, nresults, copy, h};
  uint32_t i = (uint32_t)h & (engine->nbuckets - 1);
  while (engine->buckets[i]) i = (i + 1) & (engine->nbuckets - 1);
  engine->buckets[i] = id + 1;
done:
  pthread_mutex_unlock(&engine->lock);
  return id; /* UINT32_MAX when out of memory: never equal to a real id */
}

int wisp__error(wisp_error_t *err, int code, uint32_t offset, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    err->offset = offset;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return code;
}

const char *wisp_err_name(int code) {
  switch (code) {
    case WISP_OK: return "ok";
    case WISP_ERR_NOMEM: return "out of memory";
    case WISP_ERR_MALFORMED: return "malformed module";
    case WISP_ERR_INVALID: return "invalid module";
    case WISP_ERR_UNSUPPORTED: return "unsupported feature";
    case WISP_ERR_LINK: return "link error";
    case WISP_ERR_TRAP: return "trap";
    case WISP_ERR_ARG: return "bad argument";
    case WISP_ERR_LIMIT: return "limit exceeded";
    default: return "unknown error";
  }
}

const char *wisp_valkind_name(uint8_t kind) {
  switch (kind) {
    case WISP_I32: return "i32";
    case WISP_I64: return "i64";
    case WISP_F32: return "f32";
    case WISP_F64: return "f64";
    case WISP_V128: return "v128";
    case WISP_FUNCREF: return "funcref";
    case WISP_EXTERNREF: return "externref";
    default: return "<invalid type>";
  }
}

static const wisp__opinfo_t opinfo_table[] = {
#define WISP__OPINFO(id, code, name, imm, sig, align) {code, name, WISP_IMM_##imm, align, sig},
    WISP_CORE_OPS(WISP__OPINFO) WISP_SIMD_OPS(WISP__OPINFO)
#undef WISP__OPINFO
};

/* Dense index for the one-byte and 0xFC codes; SIMD codes are searched. */
static const wisp__opinfo_t *byte_ops[256];
static const wisp__opinfo_t *fc_ops[32];
static const wisp__opinfo_t *simd_ops[512];
static pthread_once_t opinfo_once = PTHREAD_ONCE_INIT;

static void opinfo_init(void) {
  for (size_t i = 0; i < sizeof opinfo_table / sizeof opinfo_table[0]; i++) {
    const wisp__opinfo_t *op = &opinfo_table[i];
    if (op->code < 0x100) byte_ops[op->code] = op;
    else if ((op->code & 0xFF00) == 0xFC00 && (op->code & 0xFF) < 32) fc_ops[op->code & 0xFF] = op;
    else if ((op->code & 0xF0000) == 0x10000 && (op->code & 0xFFFF) < 512) simd_ops[op->code & 0xFFFF] = op;
  }
}

const wisp__opinfo_t *wisp__opinfo(uint32_t code) {
  pthread_once(&opinfo_once, opinfo_init);
  if (code < 0x100) return byte_ops[code];
  if (code >= 0xFC00 && code < 0xFC00 + 32) return fc_ops[code & 0xFF];
  if (code >= 0x10000 && code < 0x10000 + 512) return simd_ops[code & 0xFFFF];
  return NULL;
}
