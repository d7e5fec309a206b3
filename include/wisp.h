/*
 * wisp.h: the public embedding API of the wisp WebAssembly engine.
 *
 * Object model (shaped after WebAssembly/wasm-c-api's wasm.h, not copied):
 *
 *   wisp_engine_t    process-wide: the type interner and shared configuration.
 *                    Thread-safe. Outlives every module and store made from it.
 *   wisp_module_t    decoded + validated module bytes. Immutable after creation,
 *                    shareable between threads and stores. Reference counted by
 *                    wisp_module_new/wisp_module_delete only (one owner).
 *   wisp_store_t     owns every runtime object made in it: instances, functions,
 *                    memories, tables, globals. Deleting the store frees them all.
 *                    A store and everything in it is used by one thread at a time.
 *   wisp_exec_t      a guest thread: the explicit value stack and call stack the
 *                    interpreter runs on, its fuel, and its suspended state. Belongs
 *                    to one store.
 *
 * Ownership: a function returning a pointer marked WISP_OWN transfers ownership to
 * the caller, who releases it with the matching _delete. Pointers not so marked are
 * borrowed and stay valid as long as their owner (usually the store) does.
 *
 * Errors: functions return 0 on success or a negative wisp_err_t. Failures that
 * have a message (decoding, validation, linking) fill a caller-provided wisp_error_t.
 * Traps are owned wisp_trap_t values, never process aborts.
 */
#ifndef WISP_H
#define WISP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WISP_OWN /* ownership of the pointee passes to the receiver */

/* ---- errors ------------------------------------------------------------- */

typedef enum wisp_err {
  WISP_OK = 0,
  WISP_ERR_NOMEM = -1,     /* allocation failed */
  WISP_ERR_MALFORMED = -2, /* binary does not decode */
  WISP_ERR_INVALID = -3,   /* binary decodes but does not validate */
  WISP_ERR_UNSUPPORTED = -4, /* valid, but uses a feature this build cannot run */
  WISP_ERR_LINK = -5,      /* an import is missing or has the wrong type */
  WISP_ERR_TRAP = -6,      /* a trap happened (start function, segment init) */
  WISP_ERR_ARG = -7,       /* bad argument from the embedder */
  WISP_ERR_LIMIT = -8,     /* an embedder-set limit was exceeded */
} wisp_err_t;

/* A human-readable error message. Decode/validate messages name the section,
 * function index where relevant, byte offset and what was expected, e.g.
 * "code section, function 12, offset 0x3f1: type mismatch: expected i32, found f64". */
typedef struct wisp_error {
  int code;           /* a wisp_err_t */
  uint32_t offset;    /* byte offset in the module binary, when relevant */
  char message[512];
} wisp_error_t;

const char *wisp_err_name(int code); /* static string, never NULL */

/* ---- values and types --------------------------------------------------- */

/* Value kinds use their binary-format encodings. */
typedef enum wisp_valkind {
  WISP_I32 = 0x7F,
  WISP_I64 = 0x7E,
  WISP_F32 = 0x7D,
  WISP_F64 = 0x7C,
  WISP_V128 = 0x7B,
  WISP_FUNCREF = 0x70,
  WISP_EXTERNREF = 0x6F,
} wisp_valkind_t;

typedef struct wisp_func wisp_func_t;
typedef struct wisp_memory wisp_memory_t;
typedef struct wisp_table wisp_table_t;
typedef struct wisp_global wisp_global_t;
typedef struct wisp_instance wisp_instance_t;
typedef struct wisp_exec wisp_exec_t;
typedef struct wisp_pool wisp_pool_t;

typedef struct wisp_val {
  uint8_t kind; /* a wisp_valkind_t */
  union {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    uint8_t v128[16];
    wisp_func_t *funcref; /* NULL is ref.null func */
    void *externref;      /* NULL is ref.null extern; any other value is opaque */
  } of;
} wisp_val_t;

const char *wisp_valkind_name(uint8_t kind); /* "i32", ..., "externref" */

/* A function type: params then results. Borrowed from its module or engine. */
typedef struct wisp_functype {
  uint32_t nparams, nresults;
  const uint8_t *params;  /* nparams wisp_valkind_t */
  const uint8_t *results; /* nresults wisp_valkind_t */
} wisp_functype_t;

typedef enum wisp_externkind {
  WISP_EXTERN_FUNC = 0,
  WISP_EXTERN_TABLE = 1,
  WISP_EXTERN_MEMORY = 2,
  WISP_EXTERN_GLOBAL = 3,
} wisp_externkind_t;

typedef struct wisp_limits {
  uint64_t min;
  uint64_t max;  /* meaningful when has_max */
  bool has_max;
} wisp_limits_t;

/* The type of an import or export. */
typedef struct wisp_externtype {
  uint8_t kind; /* a wisp_externkind_t */
  wisp_functype_t func;          /* WISP_EXTERN_FUNC */
  wisp_limits_t limits;          /* WISP_EXTERN_TABLE (elements), WISP_EXTERN_MEMORY (pages) */
  uint8_t table_elem;            /* WISP_EXTERN_TABLE: WISP_FUNCREF or WISP_EXTERNREF */
  uint8_t global_type;           /* WISP_EXTERN_GLOBAL */
  bool global_mutable;           /* WISP_EXTERN_GLOBAL */
} wisp_externtype_t;

/* ---- engine ------------------------------------------------------------- */

typedef struct wisp_engine wisp_engine_t;

WISP_OWN wisp_engine_t *wisp_engine_new(void);
void wisp_engine_delete(WISP_OWN wisp_engine_t *engine);

/* ---- modules ------------------------------------------------------------ */

typedef struct wisp_module wisp_module_t;

/* Decodes and validates `bytes` (copied; the caller keeps its buffer). Returns
 * 0 and *out, or a negative code and *err. A module that uses SIMD validates
 * but is refused with WISP_ERR_UNSUPPORTED (the message names function and
 * offset) until the interpreter executes SIMD. */
int wisp_module_new(wisp_engine_t *engine, const uint8_t *bytes, size_t len,
                    WISP_OWN wisp_module_t **out, wisp_error_t *err);
/* Decode + validate only; accepts SIMD. 0 or negative code with *err. */
int wisp_module_validate(wisp_engine_t *engine, const uint8_t *bytes, size_t len,
                         wisp_error_t *err);
/* The module must outlive every instance made from it. */
void wisp_module_delete(WISP_OWN wisp_module_t *module);

/* Imports and exports, in module order. Strings are borrowed from the module and
 * are not NUL-terminated: use the _len fields. */
typedef struct wisp_import_desc {
  const char *module; uint32_t module_len;
  const char *name; uint32_t name_len;
  wisp_externtype_t type;
} wisp_import_desc_t;

typedef struct wisp_export_desc {
  const char *name; uint32_t name_len;
  wisp_externtype_t type;
} wisp_export_desc_t;

uint32_t wisp_module_import_count(const wisp_module_t *module);
void wisp_module_import(const wisp_module_t *module, uint32_t i, wisp_import_desc_t *out);
uint32_t wisp_module_export_count(const wisp_module_t *module);
void wisp_module_export(const wisp_module_t *module, uint32_t i, wisp_export_desc_t *out);

/* Custom sections, in order. Borrowed. */
uint32_t wisp_module_custom_count(const wisp_module_t *module);
void wisp_module_custom(const wisp_module_t *module, uint32_t i, const char **name,
                        uint32_t *name_len, const uint8_t **data, uint32_t *data_len);

/* Name of function `index` (import space included) from the `name` section,
 * or NULL. NUL-terminated, borrowed. */
const char *wisp_module_func_name(const wisp_module_t *module, uint32_t index);

/* ---- stores and limits -------------------------------------------------- */

typedef struct wisp_store wisp_store_t;

typedef struct wisp_store_limits {
  uint64_t max_memory_bytes; /* per memory; 0 = no limit beyond the module's */
  uint64_t max_table_elems;  /* per table; 0 = no limit beyond the module's */
} wisp_store_limits_t;

/* A store borrows its engine (which must outlive it). NULL when out of memory. */
WISP_OWN wisp_store_t *wisp_store_new(wisp_engine_t *engine);
/* Frees the store and every object made in it (instances, functions, memories,
 * tables, globals; host functions' env_free runs). Execs bound to the store
 * must be idle; they survive (see wisp_exec_set_store) but must not run. */
void wisp_store_delete(WISP_OWN wisp_store_t *store);
/* Limits apply to memories and tables created after the call. Copied. */
void wisp_store_set_limits(wisp_store_t *store, const wisp_store_limits_t *limits);
/* Opaque embedder data, reachable from host functions via wisp_call_store. */
void wisp_store_set_data(wisp_store_t *store, void *data);
void *wisp_store_data(const wisp_store_t *store);

/* ---- traps -------------------------------------------------------------- */

typedef enum wisp_trap_kind {
  WISP_TRAP_UNREACHABLE = 1,
  WISP_TRAP_MEMORY_OOB,        /* "out of bounds memory access" */
  WISP_TRAP_TABLE_OOB,         /* "out of bounds table access" / "undefined element" */
  WISP_TRAP_INDIRECT_NULL,     /* "uninitialized element" */
  WISP_TRAP_INDIRECT_TYPE,     /* "indirect call type mismatch" */
  WISP_TRAP_DIV_ZERO,          /* "integer divide by zero" */
  WISP_TRAP_INT_OVERFLOW,      /* "integer overflow" */
  WISP_TRAP_INVALID_CONV,      /* "invalid conversion to integer" */
  WISP_TRAP_STACK_EXHAUSTED,   /* "call stack exhausted" */
  WISP_TRAP_NULL_REF,          /* null reference */
  WISP_TRAP_HOST,              /* raised by a host function */
  WISP_TRAP_EXIT,              /* guest asked to exit (WASI proc_exit); see exit code */
  WISP_TRAP_ABORTED,           /* embedder aborted a suspended guest */
  WISP_TRAP_OOM,               /* engine ran out of memory */
} wisp_trap_kind_t;

typedef struct wisp_trap wisp_trap_t;

typedef struct wisp_frame {
  uint32_t func_index;   /* in its module's function index space */
  const char *func_name; /* from the name section, or NULL; borrowed */
  uint32_t offset;       /* byte offset in the module binary */
} wisp_frame_t;

/* The message is copied. */
WISP_OWN wisp_trap_t *wisp_trap_new(wisp_trap_kind_t kind, const char *message);
void wisp_trap_delete(WISP_OWN wisp_trap_t *trap); /* NULL is a no-op */
wisp_trap_kind_t wisp_trap_kind(const wisp_trap_t *trap);
/* Borrowed from the trap; NUL-terminated. */
const char *wisp_trap_message(const wisp_trap_t *trap);
int wisp_trap_exit_code(const wisp_trap_t *trap); /* for WISP_TRAP_EXIT */
uint32_t wisp_trap_frame_count(const wisp_trap_t *trap); /* innermost first */
const wisp_frame_t *wisp_trap_frame(const wisp_trap_t *trap, uint32_t i);
/* Writes "message\n  at NAME (func N, offset 0xOFF)\n..." into buf, truncating;
 * returns the length it would have had. */
size_t wisp_trap_format(const wisp_trap_t *trap, char *buf, size_t size);

/* ---- host functions ----------------------------------------------------- */

/* What a host function gets: the calling context. Valid only during the call. */
typedef struct wisp_call wisp_call_t;

typedef enum wisp_host_status {
  WISP_HOST_OK = 0,      /* results are filled in */
  WISP_HOST_TRAP = 1,    /* wisp_call_trap / wisp_call_exit was called */
  WISP_HOST_SUSPEND = 2, /* the guest pauses; the embedder resumes it with the results */
} wisp_host_status_t;

typedef wisp_host_status_t (*wisp_host_fn_t)(wisp_call_t *call, void *env,
                                             const wisp_val_t *args, wisp_val_t *results);

/* A host function, owned by the store (NULL when out of memory). `env` is
 * borrowed; `env_free`, if given, is called with env when the store is
 * deleted. The type is copied. The callback receives args and a results array
 * pre-filled with the result kinds; both are valid only during the call. */
wisp_func_t *wisp_func_new_host(wisp_store_t *store, const wisp_functype_t *type,
                                wisp_host_fn_t fn, void *env, void (*env_free)(void *));

wisp_store_t *wisp_call_store(wisp_call_t *call);
wisp_exec_t *wisp_call_exec(wisp_call_t *call);
/* The calling guest instance's memory `index` (0 for WASI), or NULL. */
wisp_memory_t *wisp_call_memory(wisp_call_t *call, uint32_t index);
/* Make the host function's return a trap with this message (copied). Returns
 * WISP_HOST_TRAP for `return wisp_call_trap(...)`. */
wisp_host_status_t wisp_call_trap(wisp_call_t *call, const char *message);
/* A clean unwind with an exit code (WASI proc_exit): a WISP_TRAP_EXIT trap. */
wisp_host_status_t wisp_call_exit(wisp_call_t *call, int code);

/* ---- runtime objects ---------------------------------------------------- */

typedef struct wisp_extern {
  uint8_t kind; /* a wisp_externkind_t */
  union {
    wisp_func_t *func;
    wisp_table_t *table;
    wisp_memory_t *memory;
    wisp_global_t *global;
  } of;
} wisp_extern_t;

/* Borrowed from the function (valid as long as its store and module). */
const wisp_functype_t *wisp_func_type(const wisp_func_t *func);

/* Runtime objects made by the _new functions below are owned by their store
 * (NULL on failure: out of memory, or limits that are out of range).
 *
 * Linear memory. The data pointer is stable for the memory's lifetime (the
 * whole addressable range is reserved up front); the size changes with grow.
 * Bytes [data, data + size) may be read and written by the embedder between
 * calls, or by a host function during one. */
wisp_memory_t *wisp_memory_new(wisp_store_t *store, const wisp_limits_t *pages);
uint8_t *wisp_memory_data(wisp_memory_t *memory);
uint64_t wisp_memory_size(const wisp_memory_t *memory); /* bytes */
/* Grows by `delta` pages; returns the old size in pages or -1. */
int64_t wisp_memory_grow(wisp_memory_t *memory, uint64_t delta);
void wisp_memory_limits(const wisp_memory_t *memory, wisp_limits_t *out);

wisp_table_t *wisp_table_new(wisp_store_t *store, uint8_t elem_kind, const wisp_limits_t *limits,
                             const wisp_val_t *init);
uint32_t wisp_table_size(const wisp_table_t *table);
int wisp_table_get(const wisp_table_t *table, uint32_t index, wisp_val_t *out);
int wisp_table_set(wisp_table_t *table, uint32_t index, const wisp_val_t *val);
void wisp_table_type(const wisp_table_t *table, wisp_externtype_t *out);

wisp_global_t *wisp_global_new(wisp_store_t *store, const wisp_val_t *val, bool mutable_);
void wisp_global_get(const wisp_global_t *global, wisp_val_t *out);
int wisp_global_set(wisp_global_t *global, const wisp_val_t *val); /* ARG if immutable/wrong kind */
void wisp_global_type(const wisp_global_t *global, wisp_externtype_t *out);

/* ---- linking and instantiation ------------------------------------------ */

/* A name -> extern table for resolving imports by (module, name). */
typedef struct wisp_linker wisp_linker_t;

/* The linker borrows the store; names are copied. Definitions refer to store
 * objects, so a linker is used with the store it was made for. */
WISP_OWN wisp_linker_t *wisp_linker_new(wisp_store_t *store);
void wisp_linker_delete(WISP_OWN wisp_linker_t *linker);
/* Defines (module, name). Later definitions of the same name replace earlier ones. */
int wisp_linker_define(wisp_linker_t *linker, const char *module, const char *name,
                       const wisp_extern_t *ext);
/* Makes a host function in the linker's store (env borrowed, never freed by
 * wisp) and defines it. */
int wisp_linker_define_func(wisp_linker_t *linker, const char *module, const char *name,
                            const wisp_functype_t *type, wisp_host_fn_t fn, void *env);
/* Defines every export of `instance` under `module`. */
int wisp_linker_define_instance(wisp_linker_t *linker, const char *module,
                                wisp_instance_t *instance);
/* Fills `imports` (wisp_module_import_count entries) with the linker's
 * definitions for `module`'s imports, checking their types; an error names
 * the first missing or mistyped import. The array can be kept and reused for
 * any number of instantiations while the defined objects live, even in other
 * stores (e.g. host functions made once per thread in a long-lived store). */
int wisp_linker_resolve(wisp_linker_t *linker, const wisp_module_t *module, wisp_extern_t *imports,
                        wisp_error_t *err);
/* Resolves every import of `module` (an error names the first missing or
 * mistyped import), then instantiates as wisp_instance_new does. */
int wisp_linker_instantiate(wisp_linker_t *linker, wisp_exec_t *exec,
                            const wisp_module_t *module, wisp_instance_t **out,
                            WISP_OWN wisp_trap_t **trap, wisp_error_t *err);

/* Instantiates `module` in `store` with `imports` given in the module's import
 * order (count = wisp_module_import_count). Initialises tables and memories from
 * the segments and runs the start function on `exec` (NULL: a temporary exec
 * with default configuration and unlimited fuel). A start function that
 * suspends or runs out of fuel is a trap here. On a trap, returns WISP_ERR_TRAP
 * and *trap (owned by the caller); on a link error, WISP_ERR_LINK and *err.
 * The instance is owned by the store. */
int wisp_instance_new(wisp_store_t *store, wisp_exec_t *exec, const wisp_module_t *module,
                      const wisp_extern_t *imports, size_t nimports, wisp_instance_t **out,
                      WISP_OWN wisp_trap_t **trap, wisp_error_t *err);
const wisp_module_t *wisp_instance_module(const wisp_instance_t *instance);
/* Looks up an export by name; 0 and *out, or WISP_ERR_ARG if there is none. */
int wisp_instance_export(wisp_instance_t *instance, const char *name, size_t name_len,
                         wisp_extern_t *out);
/* Export by index (module export order). */
void wisp_instance_export_at(wisp_instance_t *instance, uint32_t i, wisp_extern_t *out);

/* ---- snapshots and pooled instances ------------------------------------- */

/* A snapshot is an instance's state after initialisation (globals, tables,
 * dropped segments, memory contents), from which new instances are made in
 * microseconds: memory is mapped copy-on-write from the snapshot, not copied.
 * A snapshot borrows its module (the module must outlive it) and is immutable:
 * several threads may instantiate from one snapshot at once. */
typedef struct wisp_snapshot wisp_snapshot_t;

/* The version of the snapshot file format this build writes and reads. */
#define WISP_SNAPSHOT_FORMAT_VERSION 1u

/* Captures `instance`. Fails (WISP_ERR_ARG, with a message) if the module
 * imports its memory or tables, or if a table or global holds a host
 * reference or a function of another instance. */
int wisp_snapshot_new(wisp_instance_t *instance, WISP_OWN wisp_snapshot_t **out, wisp_error_t *err);
/* Instances made from the snapshot may outlive it: their mappings keep the image. */
void wisp_snapshot_delete(WISP_OWN wisp_snapshot_t *snapshot);
/* The module the snapshot was made from (borrowed). */
const wisp_module_t *wisp_snapshot_module(const wisp_snapshot_t *snapshot);
/* Memory bytes in the image (0 if the module has no memory). */
uint64_t wisp_snapshot_memory_size(const wisp_snapshot_t *snapshot);
/* Writes the snapshot to `path` atomically (temporary file + rename). The file
 * is versioned, names its module by hash, and ends with a checksum. */
int wisp_snapshot_save(const wisp_snapshot_t *snapshot, const char *path, wisp_error_t *err);
/* Reads a snapshot of `module` from `path`. A corrupt file, a file of another
 * module or another format version is refused (WISP_ERR_MALFORMED, message
 * says which): the caller then rebuilds it from a fresh instance. */
int wisp_snapshot_load(const wisp_module_t *module, const char *path, WISP_OWN wisp_snapshot_t **out,
                       wisp_error_t *err);
/* Instantiates from a snapshot: imports are resolved and checked as for
 * wisp_instance_new (new host functions per instance are fine), but no
 * segment is applied and no start function runs. The instance is owned by
 * the store. */
int wisp_instance_from_snapshot(wisp_store_t *store, const wisp_snapshot_t *snapshot, const wisp_extern_t *imports,
                                size_t nimports, wisp_instance_t **out, wisp_error_t *err);

/* Resolves the snapshot module's imports through `linker` (as
 * wisp_linker_instantiate does) and instantiates from the snapshot in the
 * linker's store. */
int wisp_linker_instantiate_snapshot(wisp_linker_t *linker, const wisp_snapshot_t *snapshot,
                                     wisp_instance_t **out, wisp_error_t *err);

/* A pool of memory slots (address-space reservations) reused by instances
 * made from snapshots in stores that use the pool. When the store is deleted
 * its memory is reset (private pages dropped, growth undone) and the slot
 * returns to the pool, still mapping the same snapshot, so the next instance
 * of that snapshot maps nothing. An idle slot holds no private memory.
 * Thread-safe. The pool must outlive its stores.
 *
 * Slot size: wisp_pool_new's slots reserve 8 GiB + 64 KiB each, enough for
 * any 32-bit address plus offset, so loads and stores need no bounds check
 * (guard pages fault). wisp_pool_new_sized(slots, slot_bytes) makes smaller
 * slots (slot_bytes rounded up to 64 KiB wasm pages, plus one 64 KiB guard
 * page; 0 or >= 8 GiB means the full reservation): a memory in a small slot
 * is bounds-checked explicitly by the interpreter against the slot, so no
 * access ever leaves it.
 *
 * Fallback: a snapshot memory goes into a slot only if its effective maximum
 * (the module's maximum, or 65536 pages, capped by the store's
 * max_memory_bytes) fits the slot, so memory.grow in a pooled instance never
 * needs more than the slot. A memory that does not fit, and any memory when
 * every slot is in use, gets an ordinary full reservation instead (mapped
 * copy-on-write from the snapshot all the same, unmapped when the store is
 * deleted): same behaviour, only slower. Instances never wait for a slot.
 * wisp_store_pool_fallbacks tells a store's owner that this happened. */
WISP_OWN wisp_pool_t *wisp_pool_new(uint32_t slots);
WISP_OWN wisp_pool_t *wisp_pool_new_sized(uint32_t slots, uint64_t slot_bytes);
/* The slot size a pool made with `slot_bytes` has (rounding and default applied). */
uint64_t wisp_pool_slot_bytes(uint64_t slot_bytes);
void wisp_pool_delete(WISP_OWN wisp_pool_t *pool);

typedef struct wisp_pool_stats {
  uint32_t slots, in_use;
  uint64_t slot_bytes;     /* largest memory a slot holds */
  uint64_t reserve_bytes;  /* address space per slot, guard included */
  uint64_t pooled;         /* snapshot memories placed in a slot so far */
  uint64_t fallback_fit;   /* ... given a normal reservation: did not fit a slot */
  uint64_t fallback_busy;  /* ... given a normal reservation: every slot in use */
} wisp_pool_stats_t;
void wisp_pool_stats(wisp_pool_t *pool, wisp_pool_stats_t *out /* OUT */);

#define WISP_POOL_FALLBACK_FIT 1u  /* a memory's maximum exceeds the slot size */
#define WISP_POOL_FALLBACK_BUSY 2u /* every slot was in use */
/* WISP_POOL_FALLBACK_* bits for the snapshot memories created in `store`
 * without a slot although the store has a pool (0: all pooled). */
uint32_t wisp_store_pool_fallbacks(const wisp_store_t *store);
void wisp_store_set_pool(wisp_store_t *store, wisp_pool_t *pool);

/* ---- execution: explicit stacks, fuel, suspend/resume --------------------- */

typedef struct wisp_exec_config {
  uint32_t stack_cells;    /* value stack size in 8-byte cells (default 1 Mi = 8 MiB) */
  uint32_t max_call_depth; /* default 10000; deeper is a "call stack exhausted" trap */
} wisp_exec_config_t;

typedef enum wisp_status {
  WISP_DONE = 0,           /* returned normally; results available */
  WISP_TRAPPED = 1,        /* a trap ended the call; wisp_exec_take_trap */
  WISP_SUSPENDED = 2,      /* a host function asked to suspend; resume with its results */
  WISP_OUT_OF_FUEL = 3,    /* the fuel budget ran out; add fuel and resume, or abort */
} wisp_status_t;

/* `config` may be NULL for defaults. */
WISP_OWN wisp_exec_t *wisp_exec_new(wisp_store_t *store, const wisp_exec_config_t *config);
void wisp_exec_delete(WISP_OWN wisp_exec_t *exec);
/* Moves an idle exec to another store (e.g. one exec per thread, reused by
 * every request's store). WISP_ERR_ARG while a call is in progress. */
int wisp_exec_set_store(wisp_exec_t *exec, wisp_store_t *store);

/* Fuel is an approximate instruction budget, charged at function entry and loop
 * headers by the static length of the straight-line code that follows. A
 * region runs whenever some budget is left and is charged in full, so the last
 * region of a slice may overdraw it (by at most one region): every slice of at
 * least 1 makes progress. A negative budget (the default) means unlimited.
 * wisp_exec_set_fuel sets the budget (it does not add to it). */
void wisp_exec_set_fuel(wisp_exec_t *exec, int64_t fuel);
int64_t wisp_exec_fuel(const wisp_exec_t *exec);
/* Total fuel charged since the exec was created (a CPU-cost measure). */
uint64_t wisp_exec_fuel_used(const wisp_exec_t *exec);

/* Calls `func` with `args` (checked against its type). Runs until it returns,
 * traps, suspends or runs out of fuel. Results are copied into `results`
 * (space for the type's result count) when the status is WISP_DONE. The
 * `results` pointer is remembered across suspensions: a later resume that
 * finishes writes there. A call on an exec whose previous call is suspended or
 * out of fuel is refused (WISP_TRAPPED, with a trap saying so) and leaves that
 * call as it was. A host function may call back into the guest on the exec it
 * was called on (a nested call); a nested call cannot suspend. */
wisp_status_t wisp_exec_call(wisp_exec_t *exec, wisp_func_t *func, const wisp_val_t *args,
                             size_t nargs, wisp_val_t *results, size_t nresults);
/* Continues a WISP_SUSPENDED exec: `host_results` are the suspended host
 * function's results (its type's result count). */
wisp_status_t wisp_exec_resume(wisp_exec_t *exec, const wisp_val_t *host_results, size_t n);
/* Continues a WISP_SUSPENDED exec by calling the suspended host function
 * again with the arguments it was first given, as if the guest had just made
 * the call (so it may call back into the guest: a nested call). It returns
 * results (the guest continues: the status is what the rest of the call
 * comes to), suspends again (WISP_SUSPENDED) or traps. For host functions
 * that suspend to wait for something and compute their results when it is
 * ready (src/component/cinst.c: a component's host call whose results need
 * the guest's realloc). */
wisp_status_t wisp_exec_retry(wisp_exec_t *exec);
/* Continues a WISP_OUT_OF_FUEL exec (after wisp_exec_set_fuel). */
wisp_status_t wisp_exec_continue(wisp_exec_t *exec);
/* Abandons a suspended or out-of-fuel call: the exec becomes idle and the
 * call's outcome is a WISP_TRAP_ABORTED trap. */
void wisp_exec_abort(wisp_exec_t *exec);
wisp_status_t wisp_exec_status(const wisp_exec_t *exec);
/* After WISP_TRAPPED: the trap, owned by the caller. */
WISP_OWN wisp_trap_t *wisp_exec_take_trap(wisp_exec_t *exec);
/* While suspended: which host function suspended, and its type. */
wisp_func_t *wisp_exec_suspended_func(const wisp_exec_t *exec);

#ifdef __cplusplus
}
#endif
#endif
