/*
 * engine.h: internal declarations shared by the engine's runtime files
 * (engine.c, module.c, runtime.c, trap.c, translate.c, interp.c, signals.c).
 *
 * Runtime object model: every object lives in exactly one store and is freed
 * with it. An instance refers to its functions, tables, memories and globals
 * through pointer arrays indexed by the module's index spaces, so imported and
 * defined objects look the same to the interpreter.
 */
#ifndef WISP_ENGINE_H
#define WISP_ENGINE_H

#include <setjmp.h>
#include <stdint.h>

#include "arena.h"
#include "module.h"
#include "wisp.h"

/* One 8-byte slot of the value stack. i32/f32 occupy the low half. */
typedef union wisp__cell {
  int32_t i32;
  uint32_t u32;
  int64_t i64;
  uint64_t u64;
  float f32;
  double f64;
  void *ref;
} wisp__cell_t;

/* Linear memory: the whole addressable range plus a guard is reserved once
 * (WISP__MEM_RESERVE), so `base` never moves and loads/stores need no bounds
 * check; pages beyond `size` are PROT_NONE and fault into a trap.
 *
 * A memory in a pool slot smaller than that (wisp_pool_new_sized) reserves
 * `reserve` = slot bytes + one guard page. The interpreter then compares each
 * effective address against reserve - WISP__PAGE (one compare, taken for
 * every memory; it never trips for a full reservation, whose limit is above
 * any 32-bit address plus offset) and an access starting below the limit ends
 * at worst in the guard page, which faults like any other. */
#define WISP__PAGE 65536u
#define WISP__MEM_RESERVE (((size_t)8 << 30) + (size_t)WISP__PAGE)

struct wisp_memory {
  uint8_t *base;
  uint64_t size;        /* bytes, a multiple of WISP__PAGE */
  uint64_t max_pages;   /* effective maximum: module max, 65536, store limit */
  size_t reserve;       /* bytes of address space reserved at base (WISP__MEM_RESERVE, or a small slot's) */
  wisp__limits_t type;  /* declared limits, for import matching */
  struct pool_slot *slot; /* the pool slot it occupies (snapshot.c), or NULL */
  wisp_pool_t *pool;
  struct wisp_memory *next_in_store;
};

struct wisp_table {
  void **elems;         /* wisp_func_t* for funcref, opaque for externref */
  uint32_t size;
  uint64_t max;         /* effective maximum */
  uint8_t elem;         /* WISP_FUNCREF or WISP_EXTERNREF */
  wisp__limits_t type;
  struct wisp_table *next_in_store;
};

struct wisp_global {
  wisp__cell_t val;
  uint8_t type;
  bool mutable_;
  struct wisp_global *next_in_store;
};

struct wisp_func {
  uint32_t canon;                 /* canonical type id */
  uint32_t nparams, nresults;
  const uint8_t *types;           /* params then results */
  wisp_functype_t pubtype;        /* the same, as the public API shows it */
  wisp_instance_t *inst;          /* defining instance; NULL for host functions */
  uint32_t index;                 /* function index in inst's module */
  wisp__func_t *def;              /* module function (code), NULL for host */
  struct wisp__code *code;        /* def->code once translated: one load less per call */
  wisp_host_fn_t host;
  void *env;
  void (*env_free)(void *);
  struct wisp_func *next_in_store;
};

struct wisp_instance {
  wisp_store_t *store;
  const wisp_module_t *module;
  wisp_func_t **funcs;
  wisp_table_t **tables;
  wisp_memory_t **memories;
  wisp_global_t **globals;
  uint8_t *elem_dropped;          /* per element segment */
  uint8_t *data_dropped;          /* per data segment */
  struct wisp_instance *next_in_store;
};

struct wisp_store {
  wisp_engine_t *engine;
  wisp_store_limits_t limits;
  void *data;
  wisp_func_t *funcs;
  wisp_memory_t *memories;
  wisp_table_t *tables;
  wisp_global_t *globals;
  wisp_instance_t *instances;
  wisp_pool_t *pool;      /* memory slots for instances made from snapshots */
  uint32_t pool_fallbacks; /* WISP_POOL_FALLBACK_* bits: why a snapshot memory got no slot */
  wisp__arena_t arena;     /* instances, host functions made by wisp__func_new_host_canon: freed with the store */
};

/* Translated code of one function (translate.c). `words` is threaded code:
 * each instruction is a handler offset word followed by its operand words. */
typedef struct wisp__code {
  uint32_t *words;
  uint32_t nwords;
  uint32_t frame_cells;   /* params + locals + operand stack */
  uint32_t param_cells;
  uint32_t local_cells;   /* declared locals (zeroed at entry) */
  uint32_t entry_fuel;    /* fuel charged by each call before the first loop */
  uint32_t noffsets;      /* (word index, wasm byte offset) pairs for backtraces */
  uint32_t *offsets;
} wisp__code_t;

/* Translates function `index` of `m` (a defined function). Returns the code
 * (owned by the function, freed with the module) or NULL when out of memory. */
wisp__code_t *wisp__translate(const wisp_module_t *m, uint32_t index);
void wisp__code_free(wisp__code_t *code);
/* The wasm byte offset of the instruction containing word `pos`. */
uint32_t wisp__code_offset(const wisp__code_t *code, uint32_t pos);

/* Handler offsets of the interpreter's internal instructions (interp.c). */
const int32_t *wisp__interp_handlers(void);

/* A call frame record on the explicit call stack: where to return to. */
typedef struct wisp__frame {
  const uint32_t *ret_ip;
  wisp__cell_t *fp;
  wisp_func_t *func;      /* the caller (function the frame returns into) */
} wisp__frame_t;

struct wisp_exec {
  wisp_store_t *store;
  wisp__cell_t *stack, *stack_end;
  wisp__frame_t *frames, *frames_end;
  wisp_status_t status;
  bool active;            /* a call is in progress (running, suspended or out of fuel) */
  int64_t fuel;           /* < 0: unlimited */
  uint64_t fuel_used;
  /* Saved interpreter registers while not running, and at traps: */
  const uint32_t *ip;
  wisp__cell_t *fp;
  wisp__frame_t *frame;   /* next free frame record */
  wisp_func_t *func;      /* function executing */
  /* Suspension at a host call: */
  wisp_func_t *suspended;
  wisp__cell_t *host_slots;  /* where the host function's results go */
  /* Outcome: */
  wisp_trap_t *trap;
  wisp_func_t *entry;
  wisp_val_t *results;
  size_t nresults;
  wisp__cell_t *entry_fp;  /* frame of the embedder's call: results are read here */
  wisp__frame_t *run_frames; /* first frame record of the embedder's call */
  /* Host functions calling back into the guest run above the host call: */
  bool in_host_call;
  wisp__cell_t *nest_base;
  wisp__frame_t *nest_frames;
  uint32_t nesting;
  /* Guard-page faults (signals.c): taken only while in_guest, and only for
   * addresses inside the reservation at mem_base. */
  volatile bool in_guest;
  uint8_t *volatile mem_base;
  volatile size_t mem_reserve; /* bytes reserved at mem_base */
  sigjmp_buf *volatile fault_jmp;
  const uint32_t *volatile fault_ip; /* last memory instruction started */
};

/* The exec running guest code on this thread, for the fault handler. */
extern _Thread_local wisp_exec_t *wisp__running_exec;

/* Installs the process-wide SIGSEGV/SIGBUS handler that turns faults in guard
 * pages of linear memories into traps. Idempotent, thread-safe. */
void wisp__signals_install(void);

/* trap.c */
wisp_trap_t *wisp__trap_new(wisp_trap_kind_t kind, const char *message);
/* Appends a backtrace frame; ignores allocation failure. */
void wisp__trap_add_frame(wisp_trap_t *trap, uint32_t func_index, const char *name, uint32_t offset);
void wisp__trap_set_exit(wisp_trap_t *trap, int code);

/* runtime.c */
wisp_table_t *wisp__table_create(wisp_store_t *store, uint8_t elem, const wisp__limits_t *type, void *init);
/* snapshot.c: resets a pooled memory and returns its slot to the pool. */
void wisp__memory_release_slot(wisp_memory_t *mem);

/* snapshot.c, for component snapshots (src/component/csnap.c): one core
 * instance of a component captured "linked": its imported memories and tables
 * are left to the instances that define them, and function references (in
 * tables and funcref globals) are codes the component assigns (never 0). */
typedef int (*wisp__ref_encode_fn_t)(void *env, const wisp_func_t *f, uint32_t *code /* OUT */);
typedef wisp_func_t *(*wisp__ref_decode_fn_t)(void *env, uint32_t code); /* NULL: no such function */
int wisp__snapshot_capture_linked(wisp_instance_t *inst, wisp__ref_encode_fn_t enc, void *env,
                                  wisp_snapshot_t **out /* OUT */, wisp_error_t *err);
/* After wisp_instance_from_snapshot of a linked snapshot (which leaves
 * references null): resolves its tables' and globals' codes with dec. */
int wisp__snapshot_link_refs(wisp_instance_t *inst, const wisp_snapshot_t *snap, wisp__ref_decode_fn_t dec, void *env,
                             wisp_error_t *err);
/* The body of a snapshot file (module hash onwards, no header or checksum),
 * malloc'd into *data. */
int wisp__snapshot_body(const wisp_snapshot_t *snap, uint8_t **data /* OUT */, size_t *len /* OUT */,
                        wisp_error_t *err);
/* Parses one linked body of module m at *p (advanced past it). NULL with *why. */
wisp_snapshot_t *wisp__snapshot_parse(const wisp_module_t *m, const uint8_t **p, const uint8_t *end, const char **why);
uint64_t wisp__fnv1a(uint64_t h, const void *data, size_t len); /* h = 0 starts a new hash */
int wisp__write_file_atomic(const char *path, const uint8_t *data, size_t len, wisp_error_t *err);
int wisp__read_file(const char *path, uint8_t **out /* OUT, malloc'd */, size_t *len /* OUT */, wisp_error_t *err);
int wisp__memory_grow(wisp_memory_t *mem, uint64_t delta_pages, uint64_t *old_pages);
int wisp__table_grow(wisp_table_t *table, uint64_t delta, void *init, uint32_t *old_size);
/* A host function of canonical type `canon` (already interned in the store's
 * engine as `type`), without an env_free, allocated in the store's arena: no
 * malloc or free of its own, no interning; it lives as long as the store. */
wisp_func_t *wisp__func_new_host_canon(wisp_store_t *store, uint32_t canon, const wisp_functype_t *type,
                                       wisp_host_fn_t fn, void *env);
int wisp__instance_alloc(wisp_store_t *store, const wisp_module_t *m, const wisp_extern_t *imports,
                         size_t nimports, wisp_instance_t **out, wisp_error_t *err);
void wisp__eval_const(const wisp_instance_t *inst, const wisp__constexpr_t *e, wisp__cell_t *out);
void wisp__val_to_cell(const wisp_val_t *v, wisp__cell_t *c);
void wisp__cell_to_val(uint8_t kind, const wisp__cell_t *c, wisp_val_t *v);

/* interp.c: runs exec from its saved registers until done/trap/suspend/fuel. */
wisp_status_t wisp__interp_run(wisp_exec_t *exec);

#endif
