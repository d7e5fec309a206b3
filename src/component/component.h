/*
 * component.h: the decoded form of a component, shared by the files of
 * src/component/ (decoding and validation now; instantiation and the canonical ABI
 * next).
 *
 * Representation
 *   - One arena per component holds everything below; the component's own copy of
 *     the binary holds every name (names are (pointer, length), not NUL-terminated).
 *   - Types live in one pool per component: `types[id]`, ids are uint32. A type
 *     refers to other types by pool id, never by a scope-local index, so a type
 *     means the same thing wherever it is used (after an alias, inside a nested
 *     component, in an instance type). Ids 0..WISP__CT_STRING-1 are the primitive
 *     value types (bool..string), made once per component. A resource type
 *     (defined, or abstract: imported/exported with `(sub resource)`) is a fresh
 *     pool entry; aliases of it share the id, so resource identity is id equality.
 *   - Each component (outermost or nested) and each component/instance type
 *     declarator is a scope: an index space per sort (wisp_sort_t), each entry a
 *     wisp__citem_t saying how the item was defined and its type (pool id), plus
 *     the ordered list of definitions (`defs`), which is what instantiation walks.
 *     Scopes know their parent, for outer aliases.
 *   - Value-type properties needed by the canonical ABI are computed once when a
 *     type is made, from its (earlier) parts, so nothing recurses over deep types:
 *     the flattened core types (up to WISP__MAX_FLAT+1 of them), size and alignment
 *     in linear memory, whether it holds strings or lists (needs memory/realloc),
 *     whether it holds a borrow.
 */
#ifndef WISP_COMPONENT_INTERNAL_H
#define WISP_COMPONENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "wisp.h"
#include "wisp_component.h"

#define WISP__CNONE UINT32_MAX /* "no type" (absent case payload, result arm) */
#define WISP__MAX_FLAT 16      /* MAX_FLAT_PARAMS of the canonical ABI */

/* Type kinds. The primitive kinds are also the pool ids of the primitive types. */
typedef enum wisp__ctkind {
  WISP__CT_BOOL = 0, WISP__CT_S8, WISP__CT_U8, WISP__CT_S16, WISP__CT_U16,
  WISP__CT_S32, WISP__CT_U32, WISP__CT_S64, WISP__CT_U64, WISP__CT_F32,
  WISP__CT_F64, WISP__CT_CHAR, WISP__CT_STRING,
  WISP__CT_NPRIM, /* count of primitives */
  WISP__CT_RECORD = WISP__CT_NPRIM, WISP__CT_VARIANT, WISP__CT_LIST, WISP__CT_TUPLE,
  WISP__CT_FLAGS, WISP__CT_ENUM, WISP__CT_OPTION, WISP__CT_RESULT, WISP__CT_OWN,
  WISP__CT_BORROW,
  WISP__CT_RESOURCE,  /* defined here: rep i32, optional destructor */
  WISP__CT_ABSTRACT,  /* imported or exported (sub resource): a fresh resource */
  WISP__CT_FUNC,
  WISP__CT_COMPONENT,
  WISP__CT_INSTANCE,
  WISP__CT_CORE_FUNC,     /* core function type */
  WISP__CT_CORE_MODULE,   /* core module type: imports and exports */
  WISP__CT_CORE_INSTANCE, /* what a core instance exports */
} wisp__ctkind_t;

/* A labelled value type: record field, variant case (type may be WISP__CNONE),
 * tuple element (no name), flag or enum label (no type), function parameter. */
typedef struct wisp__cfield {
  const char *name;
  uint32_t name_len;
  uint32_t type;
} wisp__cfield_t;

/* An import or export in a type: component/instance types (sort is a wisp_sort_t)
 * and core module/instance types (sort a core sort, `module` set for imports). */
typedef struct wisp__cextern {
  const char *module; /* core module imports only */
  uint32_t module_len;
  const char *name;
  uint32_t name_len;
  uint8_t sort;
  uint32_t type; /* pool id; WISP__CNONE for core tables, memories, globals */
} wisp__cextern_t;

typedef struct wisp__ctype {
  uint8_t kind;          /* wisp__ctkind_t */
  bool has_strlist;      /* value types: holds a string or list somewhere */
  bool has_borrow;       /* value types: holds a borrow somewhere */
  uint8_t nflat;         /* value types: flattened length, WISP__MAX_FLAT+1 = "more" */
  uint8_t flat[WISP__MAX_FLAT]; /* core wisp_valkind_t, the first nflat entries */
  uint8_t align;         /* value types: alignment in linear memory (1, 2, 4, 8) */
  uint32_t size;         /* value types: size in linear memory (CanonicalABI.md "Size") */
  uint32_t n;            /* fields of record/variant/tuple/flags/enum; func params */
  wisp__cfield_t *fields;
  uint32_t a, b;         /* list/option: a = element; result: a = ok, b = err;
                          * own/borrow: a = resource; resource: a = destructor core
                          * func index or WISP__CNONE */
  uint32_t nresults;     /* func: results (named or one unnamed) */
  wisp__cfield_t *results;
  uint32_t nimports, nexports; /* component, instance, core module, core instance */
  wisp__cextern_t *imports, *exports;
  uint32_t nparams_core, nresults_core; /* core func */
  uint8_t *params_core, *results_core;
  const char *name;      /* the name a type was first exported/imported under, for printing */
  uint32_t name_len;
  const struct wisp__cscope *owner; /* resource: the component that defined it */
} wisp__ctype_t;

/* How an index-space entry was made. */
typedef enum wisp__cdefkind {
  WISP__DEF_IMPORT,
  WISP__DEF_EXPORT,            /* an export re-introduces the exported item */
  WISP__DEF_ALIAS_EXPORT,      /* a = instance index, name */
  WISP__DEF_ALIAS_CORE_EXPORT, /* a = core instance index, name */
  WISP__DEF_ALIAS_OUTER,       /* a = count, b = index */
  WISP__DEF_TYPE,              /* a type definition (type = the pool id) */
  WISP__DEF_CORE_MODULE,       /* module = the embedded module */
  WISP__DEF_CORE_INSTANTIATE,  /* a = module index, args */
  WISP__DEF_CORE_EXPORTS,      /* core instance from inline exports (args) */
  WISP__DEF_COMPONENT,         /* nested = the nested component */
  WISP__DEF_INSTANTIATE,       /* a = component index, args */
  WISP__DEF_INSTANCE_EXPORTS,  /* instance from inline exports (args) */
  WISP__DEF_CANON_LIFT,        /* a = core func, canon options */
  WISP__DEF_CANON_LOWER,       /* a = func, canon options */
  WISP__DEF_RESOURCE_NEW,      /* a = resource type pool id */
  WISP__DEF_RESOURCE_DROP,
  WISP__DEF_RESOURCE_REP,
} wisp__cdefkind_t;

typedef enum wisp__cstringenc {
  WISP__ENC_UTF8 = 0, WISP__ENC_UTF16 = 1, WISP__ENC_LATIN1_UTF16 = 2,
} wisp__cstringenc_t;

typedef struct wisp__ccanonopts {
  uint8_t encoding;     /* wisp__cstringenc_t, utf8 by default */
  uint32_t memory;      /* core memory index or WISP__CNONE */
  uint32_t realloc;     /* core func index or WISP__CNONE */
  uint32_t post_return; /* core func index or WISP__CNONE */
} wisp__ccanonopts_t;

/* A `with` argument of an instantiation, or an inline export. */
typedef struct wisp__carg {
  const char *name;
  uint32_t name_len;
  uint8_t sort;   /* wisp_sort_t */
  uint32_t index; /* in that sort's index space */
} wisp__carg_t;

typedef struct wisp__citem {
  uint8_t how;     /* wisp__cdefkind_t */
  uint32_t type;   /* pool id; WISP__CNONE for core tables, memories, globals */
  uint32_t offset; /* where it was defined in the binary */
  uint32_t a, b;
  const char *name; /* import/export/alias name */
  uint32_t name_len;
  wisp__ccanonopts_t opts;
  uint32_t nargs;
  wisp__carg_t *args;
  wisp_module_t *module;          /* WISP__DEF_CORE_MODULE (owned by the component) */
  struct wisp__cscope *nested;    /* WISP__DEF_COMPONENT */
} wisp__citem_t;

/* A growable array in the arena (old storage is abandoned on growth). */
typedef struct wisp__cvec {
  void *data;
  uint32_t len, cap;
} wisp__cvec_t;

/* One definition in binary order: which item of which sort it made. */
typedef struct wisp__cdef {
  uint8_t sort;
  uint32_t index;
} wisp__cdef_t;

typedef enum wisp__cscopekind {
  WISP__SCOPE_COMPONENT, WISP__SCOPE_COMPONENT_TYPE, WISP__SCOPE_INSTANCE_TYPE,
  WISP__SCOPE_MODULE_TYPE,
} wisp__cscopekind_t;

typedef struct wisp__cscope {
  uint8_t kind;                        /* wisp__cscopekind_t */
  const struct wisp__cscope *parent;
  wisp__cvec_t space[WISP_SORT_COUNT]; /* of wisp__citem_t */
  wisp__cvec_t imports, exports;       /* of wisp__cextern_t (sort, name, type) */
  wisp__cvec_t import_index, export_index; /* of uint32_t: index in the sort's space */
  wisp__cvec_t defs;                   /* of wisp__cdef_t, binary order */
  bool has_start;
  uint32_t start_func;
} wisp__cscope_t;

struct wisp_component {
  wisp_engine_t *engine;
  uint8_t *bytes; /* owned copy of the binary */
  size_t len;
  wisp__arena_t arena;
  wisp__cvec_t types;   /* of wisp__ctype_t *: the type pool */
  wisp__cvec_t modules; /* of wisp_module_t *: every embedded module, owned */
  wisp__cscope_t *root;
};

/* ---- ctypes.c: the type pool, value-type properties, names, printing ---- */

/* Adds `type` (copied) to the pool, computing its value-type properties; returns
 * its id or WISP__CNONE when out of memory. */
uint32_t wisp__ctype_add(wisp_component_t *c, const wisp__ctype_t *type);
static inline wisp__ctype_t *wisp__ctype(const wisp_component_t *c, uint32_t id) {
  return ((wisp__ctype_t **)c->types.data)[id];
}
bool wisp__ctype_is_value(const wisp_component_t *c, uint32_t id);
bool wisp__ctype_is_resource(const wisp_component_t *c, uint32_t id);
/* Core function types equal? */
bool wisp__ctype_core_func_eq(const wisp__ctype_t *x, const wisp__ctype_t *y);

/* The core signature that `canon lift` expects of its core function (lower=false),
 * or that `canon lower` gives (lower=true), for component function type `func`.
 * Writes at most WISP__MAX_FLAT+1 params and 1 result. */
void wisp__cfunc_flatten(const wisp_component_t *c, const wisp__ctype_t *func, bool lower,
                         uint8_t *params, uint32_t *nparams, uint8_t *results,
                         uint32_t *nresults);

/* Name checks of the component-model text grammar. */
bool wisp__cname_is_label(const char *s, size_t len);        /* kebab-case word(s) */
bool wisp__cname_is_valid(const char *s, size_t len, bool import); /* import/export name */
bool wisp__cname_eq_nocase(const char *a, size_t alen, const char *b, size_t blen);

/* Appends to a buffer with snprintf semantics (tracks the length it would need). */
typedef struct wisp__cprint {
  char *buf;
  size_t size, len;
} wisp__cprint_t;
void wisp__cprintf(wisp__cprint_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wisp__ctype_print(wisp__cprint_t *p, const wisp_component_t *c, int sort, uint32_t type,
                       int depth);

/* ---- clink.c ---- */
/* Checks the `with` arguments of a component instantiation against the imports
 * (structural types; imported resources bind to the supplied ones). 0, or
 * WISP_ERR_INVALID with the reason in `why`, or WISP_ERR_NOMEM. *bindings (in the
 * arena, one entry per pool id at the time) maps each bound imported resource to
 * the supplied one, WISP__CNONE elsewhere. */
int wisp__cinstantiate_check(wisp_component_t *c, const wisp__cextern_t *imports, uint32_t n,
                             const wisp__cextern_t *args, uint32_t nargs, uint32_t **bindings, char *why,
                             size_t why_size);
/* The exports of the new instance: the component's exports with the bound
 * resources substituted (types that mention them are rewritten into new pool
 * entries), so an instance's types name the resources its arguments supplied.
 * *out in the arena. 0 or WISP_ERR_NOMEM. */
int wisp__cinstance_exports(wisp_component_t *c, const wisp__cextern_t *exports, uint32_t n,
                            const uint32_t *bindings, wisp__cextern_t **out);

/* ---- vectors ---- */
/* Room for one more element of `size` bytes; returns a pointer to it (zeroed) or
 * NULL when out of memory. */
void *wisp__cvec_push(wisp__arena_t *arena, wisp__cvec_t *vec, size_t size);
#define WISP__CVEC_AT(vec, type, i) (((type *)(vec).data)[i])

#endif
