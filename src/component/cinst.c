/*
 * cinst.c: instantiating a component and calling across its boundary (first
 * cut), see cinst.h.
 *
 * A frame holds the runtime value of every index-space entry of one component
 * scope (outermost or nested); replaying the scope's `defs` in order fills it,
 * each definition reading only earlier entries, exactly as validation checked.
 * Runtime values: core externs (wisp_extern_t), embedded modules, core instances
 * (a wisp_instance_t, or a list of named externs for inline exports), component
 * functions (wisp__cfunc_t: a host callback or a lifted core function with its
 * canon options), component instances (a list of named values) and nested
 * component scopes. Everything lives in the instance's arena; core objects belong
 * to the store.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cinst.h"
#include "engine.h"

typedef struct rt_core_inst rt_core_inst_t;
typedef struct rt_inst rt_inst_t;

typedef union rt_value {
  wisp_extern_t ext;             /* core func, table, memory, global */
  wisp_module_t *module;         /* core module */
  rt_core_inst_t *core_inst;     /* core instance */
  wisp__cfunc_t *func;           /* component function */
  rt_inst_t *inst;               /* component instance */
  const wisp__cscope_t *comp;    /* component */
} rt_value_t;

typedef struct rt_named {
  const char *name;
  uint32_t len;
  uint8_t sort;
  rt_value_t val;
} rt_named_t;

struct rt_core_inst {
  wisp_instance_t *inst; /* NULL: inline exports */
  uint32_t n;
  rt_named_t *exports;
};

struct rt_inst {
  uint32_t n;
  rt_named_t *exports;
};

struct wisp__cfunc {
  uint32_t type;                  /* component function type (pool id) */
  const wisp__chost_func_t *host; /* provided by the host (with env, its bound env), or */
  void *env;
  wisp_func_t *core;              /* lifted from a core function with: */
  wisp_memory_t *memory;
  wisp_func_t *realloc, *post_return;
  uint8_t encoding;
};

/* A host call that blocked inside a resumable call (wisp__chost_wait): what
 * the canon lower trampoline needs to call the host function again. */
typedef struct blocked_call {
  bool active;
  wisp__arena_t arena;    /* the lifted arguments and whatever the host allocated */
  wisp__cval_t *params, *outs;
  wisp__cwait_t wait;
  uint32_t lending_start; /* inst->nlending when it was called: what it borrows */
} blocked_call_t;

/* The call in progress on the instance (wisp__cinst_call_start). */
enum { CALL_IDLE, CALL_RUN, CALL_POST_RETURN };
typedef struct call_state {
  uint8_t phase;          /* CALL_IDLE: no call, or a finished one */
  wisp__cfunc_t *f;
  wisp__cval_t *results;  /* the caller's, with their arena */
  uint32_t nresults;
  wisp__arena_t *arena;
  char *trap;             /* the caller's trap buffer */
  size_t trap_size;
  uint32_t lent_start;    /* inst->nlent when the call began */
  wisp_val_t cres[1];     /* the core result (post-return's argument) */
} call_state_t;

typedef _Atomic uint32_t hint_t;

typedef struct frame {
  const wisp__cscope_t *scope;
  const uint32_t *hint_base; /* per definition: its first hint in inst->prep, or NO_HINT */
  const struct frame *parent;
  rt_value_t *values[WISP_SORT_COUNT];
  const rt_named_t *args; /* a nested component's `with` arguments */
  uint32_t nargs;
  rt_inst_t *exports;     /* filled at the end */
} frame_t;

struct wisp__cinst {
  const wisp_component_t *c;
  wisp_store_t *store;
  wisp_exec_t *exec;
  const wisp__chost_func_t *host;
  size_t nhost;
  const wisp__cprep_t *prep; /* imports resolved once, or NULL */
  uint32_t prep_next;        /* the next of prep->imports replay takes */
  void *envs[WISP__CHOST_ENV_SLOTS]; /* bound to the host functions' slot envs */
  uint32_t nenvs;
  wisp__arena_t arena;
  frame_t *root;
  wisp_error_t *err;
  /* The handle table (one per component instance; nested shims share the
   * outermost's here): index 0 is never a handle. */
  struct handle *handles;
  uint32_t nhandles, cap_handles, free_head;
  uint32_t *lent;       /* borrow handles lent to the guest for the current calls */
  uint32_t nlent, cap_lent;
  uint32_t *lending;    /* own handles the guest lends (borrow) to host calls in progress */
  uint32_t nlending, cap_lending;
  uint32_t call_id;     /* numbers wisp__cinst_call's calls: the scope of the borrows they lend */
  bool entered;         /* a call into the instance is in progress (reentrance traps):
                         * inst->call.phase != CALL_IDLE */
  bool no_leave;        /* its realloc or post-return runs: calling an import traps (may_leave) */
  wisp__cinst_fuel_fn_t on_fuel; /* wisp__cinst_set_fuel_hook, or NULL */
  void *fuel_env;
  call_state_t call;
  blocked_call_t blocked;
  bool retrying;   /* wisp__cinst_call_resume is retrying the blocked host call */
  uint32_t nested; /* nested guest calls cinst is running (realloc, destructors) */
  /* Every core instance made, in replay order (for snapshots, csnap.c), and
   * the hook that makes them instead of wisp_instance_new when set. */
  wisp_instance_t **cores;
  uint32_t ncores, cap_cores;
  wisp__cinst_core_fn_t core_fn;
  void *core_env;
  struct resource_env *resources; /* the component's resource.new/drop/rep built-ins */
  wisp__arena_t spare; /* a finished host call's arena, emptied, for the next one (lower_trampoline) */
};

/* A host call's arena is kept for the next one when it stayed this small. */
#define SPARE_ARENA_MAX 16384

/* A resource handle as the guest sees it: an index into the instance's table. */
typedef struct handle {
  uint32_t type;  /* resource type (pool id); 0 when the slot is free */
  uint32_t rep;   /* the representation: the host's value, or the guest's i32 */
  bool own;
  uint32_t lends; /* own: borrows of it lent to calls in progress (CanonicalABI num_lends) */
  uint32_t scope; /* borrow: the call_id of the export call that lent it */
  uint32_t next_free;
} handle_t;

/* What a `canon lower` trampoline needs. */
typedef struct lower_env {
  wisp__cinst_t *inst; /* its handle table changes */
  const wisp__cfunc_t *func;
  uint32_t core_type;
  wisp_memory_t *memory;
  wisp_func_t *realloc;
  uint8_t encoding;
} lower_env_t;

/* The env of the wisp__cabi_t cinst hands to cabi.c and to host functions. */
typedef struct realloc_env {
  wisp_exec_t *exec;
  wisp_func_t *realloc;
  wisp_memory_t *memory;
  wisp__cinst_t *inst;
  wisp__cwait_t *wait; /* the host call's wait record (wisp__chost_wait), or NULL */
} realloc_env_t;

/* A host resource type's [resource-drop] function (NULL: none). */
typedef struct prep_drop {
  uint32_t type;
  const wisp__chost_func_t *host;
} prep_drop_t;

/* Hints: where replay found a name last time (an index into a list of
 * named values, a core module's exports, a core instantiation's arguments),
 * per definition of each scope. Shared by every instance made with the prep
 * (any thread: relaxed atomics); replay checks a hint's name before using it
 * and searches as before when it does not match, so a hint only saves work. */
#define NO_HINT UINT32_MAX
typedef struct prep_scope {
  const wisp__cscope_t *scope;
  uint32_t *base; /* per definition */
} prep_scope_t;

struct wisp__cprep {
  const wisp_component_t *c;
  prep_scope_t *scopes;
  uint32_t nscopes, cap_scopes;
  hint_t *hints;
  uint32_t nhints;
  const wisp__chost_func_t *host;
  size_t nhost;
  /* the root scope's imports in definition order: one entry per imported
   * function, one per export of an imported instance (NULL for a type) */
  const wisp__chost_func_t **imports;
  uint32_t nimports;
  prep_drop_t *drops; /* every resource.drop's type, in any scope */
  uint32_t ndrops;
  /* per type of the component: its canonical id in the engine plus one once
   * a core function of that type was made (0: not yet), so the functions a
   * store gets per instance need no interning */
  _Atomic uint32_t *canons;
  uint32_t ntypes;
};

char wisp__chost_env_slots[WISP__CHOST_ENV_SLOTS];

/* The env host function h gets when called from inst: its own, or the env
 * bound to its slot. -1 when that slot has none. */
static int bind_env(const wisp__cinst_t *inst, const wisp__chost_func_t *h, void **env) {
  uintptr_t p = (uintptr_t)h->env, base = (uintptr_t)wisp__chost_env_slots;
  *env = h->env;
  if (p < base || p >= base + WISP__CHOST_ENV_SLOTS) return 0;
  if (p - base >= inst->nenvs) return -1;
  *env = inst->envs[p - base];
  return 0;
}

/* A nested guest call (realloc, a destructor) cannot be continued when it runs
 * out of fuel: when less than this is left it is lent this much, paid back
 * from what is left after. */
#define NESTED_FUEL_RESERVE 100000

static int fail(wisp__cinst_t *inst, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(wisp__cinst_t *inst, int code, const char *fmt, ...) {
  if (inst->err) {
    va_list ap;
    va_start(ap, fmt);
    inst->err->code = code;
    inst->err->offset = 0;
    vsnprintf(inst->err->message, sizeof inst->err->message, fmt, ap);
    va_end(ap);
  }
  return code;
}

static void *alloc(wisp__cinst_t *inst, size_t n) { return wisp__arena_alloc(&inst->arena, n ? n : 1); }

/* ---- core values <-> raw bit patterns ---- */

static uint64_t raw_of(const wisp_val_t *v) {
  switch (v->kind) {
  case WISP_I32: return (uint32_t)v->of.i32;
  case WISP_I64: return (uint64_t)v->of.i64;
  case WISP_F32: { uint32_t b; memcpy(&b, &v->of.f32, 4); return b; }
  case WISP_F64: { uint64_t b; memcpy(&b, &v->of.f64, 8); return b; }
  default: return 0;
  }
}

static void val_of(uint8_t kind, uint64_t raw, wisp_val_t *out) {
  memset(out, 0, sizeof *out);
  out->kind = kind;
  switch (kind) {
  case WISP_I32: out->of.i32 = (int32_t)(uint32_t)raw; break;
  case WISP_I64: out->of.i64 = (int64_t)raw; break;
  case WISP_F32: { uint32_t b = (uint32_t)raw; memcpy(&out->of.f32, &b, 4); break; }
  case WISP_F64: memcpy(&out->of.f64, &raw, 8); break;
  default: break;
  }
}

static void trap_message(wisp_exec_t *exec, wisp_status_t st, char *buf, size_t size, const char *what) {
  if (st == WISP_TRAPPED) {
    wisp_trap_t *trap = wisp_exec_take_trap(exec);
    snprintf(buf, size, "%s: %s", what, trap ? wisp_trap_message(trap) : "trap");
    wisp_trap_delete(trap);
  } else {
    snprintf(buf, size, "%s: %s", what, st == WISP_SUSPENDED ? "suspended (not supported in a component call)"
                                         : "out of fuel");
    wisp_exec_abort(exec);
  }
}

/* A guest call cinst makes on its own (realloc, a destructor): it cannot be
 * paused, so it gets fuel lent when little is left, and host calls it makes
 * wait on the thread rather than suspend. */
static wisp_status_t nested_call(wisp__cinst_t *inst, wisp_exec_t *exec, wisp_func_t *fn, const wisp_val_t *args,
                                 size_t nargs, wisp_val_t *res, size_t nres) {
  int64_t left = wisp_exec_fuel(exec), lent = 0;
  if (left >= 0 && left < NESTED_FUEL_RESERVE) {
    lent = NESTED_FUEL_RESERVE - left;
    wisp_exec_set_fuel(exec, NESTED_FUEL_RESERVE);
  }
  inst->nested++;
  wisp_status_t st = wisp_exec_call(exec, fn, args, nargs, res, nres);
  inst->nested--;
  if (lent) {
    int64_t now = wisp_exec_fuel(exec);
    wisp_exec_set_fuel(exec, now > lent ? now - lent : 0);
  }
  return st;
}

/* The guest's realloc, as cabi.c calls it: a (possibly nested) call on the exec. */
static int guest_realloc(wisp__cabi_t *cx, uint32_t old_ptr, uint32_t old_size, uint32_t align, uint32_t size,
                         uint32_t *out) {
  realloc_env_t *e = cx->env;
  wisp_val_t args[4], res[1];
  val_of(WISP_I32, old_ptr, &args[0]);
  val_of(WISP_I32, old_size, &args[1]);
  val_of(WISP_I32, align, &args[2]);
  val_of(WISP_I32, size, &args[3]);
  bool no_leave = e->inst->no_leave;
  e->inst->no_leave = true;
  wisp_status_t st = nested_call(e->inst, e->exec, e->realloc, args, 4, res, 1);
  e->inst->no_leave = no_leave;
  if (st != WISP_DONE) {
    trap_message(e->exec, st, cx->trap, sizeof cx->trap, "realloc");
    return -1;
  }
  *out = (uint32_t)res[0].of.i32;
  cx->mem = wisp_memory_data(e->memory);
  cx->mem_len = wisp_memory_size(e->memory);
  return 0;
}

static uint32_t results_flat(const wisp_component_t *c, const wisp__ctype_t *ft) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < ft->nresults; i++) n += wisp__ctype(c, ft->results[i].type)->nflat;
  return n;
}

/* ---- resources: the handle table ---- */

static int handle_add(wisp__cinst_t *inst, uint32_t type, uint32_t rep, bool own, uint32_t *out, char *trap,
                      size_t trap_size) {
  if (inst->free_head) {
    *out = inst->free_head;
    inst->free_head = inst->handles[*out].next_free;
  } else {
    if (inst->nhandles == 0) inst->nhandles = 1; /* index 0 stays invalid */
    if (inst->nhandles >= inst->cap_handles) {
      uint32_t cap = inst->cap_handles ? inst->cap_handles * 2 : 16;
      handle_t *grown = cap > (1u << 24) ? NULL : realloc(inst->handles, cap * sizeof *grown);
      if (!grown) { snprintf(trap, trap_size, "too many resource handles"); return -1; }
      inst->handles = grown;
      inst->cap_handles = cap;
    }
    *out = inst->nhandles++;
  }
  inst->handles[*out] = (handle_t){.type = type, .rep = rep, .own = own};
  return 0;
}

static handle_t *handle_get(wisp__cinst_t *inst, uint32_t h, uint32_t type, char *trap, size_t trap_size) {
  if (h == 0 || h >= inst->nhandles || inst->handles[h].type == 0) {
    snprintf(trap, trap_size, "unknown resource handle %u", h);
    return NULL;
  }
  if (inst->handles[h].type != type) {
    snprintf(trap, trap_size, "resource handle %u is of another resource type", h);
    return NULL;
  }
  return &inst->handles[h];
}

static void handle_free(wisp__cinst_t *inst, uint32_t h) {
  inst->handles[h].type = 0;
  inst->handles[h].next_free = inst->free_head;
  inst->free_head = h;
}

/* Appends h to a growable array of handle indices. */
static int push_index(uint32_t **arr, uint32_t *n, uint32_t *cap, uint32_t h, char *trap, size_t trap_size) {
  if (*n == *cap) {
    uint32_t c = *cap ? *cap * 2 : 8;
    uint32_t *grown = c > (1u << 24) ? NULL : realloc(*arr, c * sizeof *grown);
    if (!grown) { snprintf(trap, trap_size, "too many borrowed handles"); return -1; }
    *arr = grown;
    *cap = c;
  }
  (*arr)[(*n)++] = h;
  return 0;
}

enum { TO_HOST, TO_GUEST };

/* Rewrites the handles inside value `v` of type `type`: to the host, a guest
 * handle becomes the resource's representation (an own handle leaves the table);
 * to the guest, a representation becomes a new handle. */
static int translate(wisp__cinst_t *inst, uint32_t type, wisp__cval_t *v, int dir, int depth, char *trap,
                     size_t trap_size) {
  const wisp__ctype_t *t = wisp__ctype(inst->c, type);
  if (depth > 100) { snprintf(trap, trap_size, "value nested too deeply"); return -1; }
  switch (t->kind) {
  case WISP__CT_OWN: case WISP__CT_BORROW: {
    bool own = t->kind == WISP__CT_OWN;
    if (dir == TO_GUEST) {
      /* a borrow of a resource the component defines itself arrives as its
       * representation, no handle (CanonicalABI.md lower_borrow) */
      if (!own && wisp__ctype(inst->c, t->a)->kind == WISP__CT_RESOURCE) return 0;
      uint32_t h = 0;
      if (handle_add(inst, t->a, (uint32_t)v->of.u, own, &h, trap, trap_size)) return -1;
      v->of.u = h;
      if (!own) { /* the guest must drop it before the call returns: remember it to check */
        inst->handles[h].scope = inst->call_id;
        if (push_index(&inst->lent, &inst->nlent, &inst->cap_lent, h, trap, trap_size)) return -1;
      }
      return 0;
    }
    handle_t *e = handle_get(inst, (uint32_t)v->of.u, t->a, trap, trap_size);
    if (!e) return -1;
    if (own && !e->own) { snprintf(trap, trap_size, "a borrowed handle cannot be passed as owned"); return -1; }
    if (own && e->lends) {
      snprintf(trap, trap_size, "resource handle %u cannot be given away while it is lent (borrowed by a call in progress)",
               (uint32_t)v->of.u);
      return -1;
    }
    uint32_t h = (uint32_t)v->of.u;
    v->of.u = e->rep;
    if (own) handle_free(inst, h);
    else if (e->own) { /* lent for the duration of the host call (CanonicalABI.md lift_borrow) */
      if (push_index(&inst->lending, &inst->nlending, &inst->cap_lending, h, trap, trap_size)) return -1;
      e->lends++;
    }
    return 0;
  }
  case WISP__CT_RECORD: case WISP__CT_TUPLE:
    for (uint32_t i = 0; i < t->n && i < v->of.agg.len; i++)
      if (translate(inst, t->fields[i].type, &v->of.agg.items[i], dir, depth + 1, trap, trap_size)) return -1;
    return 0;
  case WISP__CT_LIST:
    if (!wisp__ctype(inst->c, t->a)->has_borrow && wisp__ctype(inst->c, t->a)->kind < WISP__CT_NPRIM) return 0;
    for (uint32_t i = 0; i < v->of.agg.len; i++)
      if (translate(inst, t->a, &v->of.agg.items[i], dir, depth + 1, trap, trap_size)) return -1;
    return 0;
  case WISP__CT_VARIANT: case WISP__CT_OPTION: case WISP__CT_RESULT: {
    if (v->of.var.disc >= (t->kind == WISP__CT_VARIANT ? t->n : 2u)) {
      snprintf(trap, trap_size, "invalid variant discriminant %u", v->of.var.disc);
      return -1;
    }
    uint32_t ct = t->kind == WISP__CT_VARIANT ? t->fields[v->of.var.disc].type
                  : t->kind == WISP__CT_OPTION ? (v->of.var.disc ? t->a : WISP__CNONE)
                  : (v->of.var.disc ? t->b : t->a);
    if (ct == WISP__CNONE || !v->of.var.payload) return 0;
    return translate(inst, ct, v->of.var.payload, dir, depth + 1, trap, trap_size);
  }
  default: return 0;
  }
}

static int translate_all(wisp__cinst_t *inst, const wisp__cfield_t *types, uint32_t n, wisp__cval_t *vals, int dir,
                         char *trap, size_t trap_size) {
  for (uint32_t i = 0; i < n; i++)
    if (translate(inst, types[i].type, &vals[i], dir, 0, trap, trap_size)) return -1;
  return 0;
}

/* canon resource.new / rep / drop of resource type `type`. */
typedef struct resource_env {
  struct resource_env *next; /* the instance's list */
  wisp__cinst_t *inst;
  uint32_t type;
  uint8_t how;           /* WISP__DEF_RESOURCE_* */
  wisp_func_t *dtor;     /* a guest-defined resource's destructor */
} resource_env_t;

static const wisp__chost_func_t *find_host(const wisp__chost_func_t *host, size_t nhost, const char *iface,
                                           uint32_t iface_len, const char *name, uint32_t len);

/* The host's "[resource-drop]NAME" for host resource type `type`, or NULL. */
static const wisp__chost_func_t *find_drop(const wisp_component_t *c, const wisp__chost_func_t *host, size_t nhost,
                                           uint32_t type) {
  const wisp__ctype_t *rt = wisp__ctype(c, type);
  char name[128];
  snprintf(name, sizeof name, "[resource-drop]%.*s", (int)rt->name_len, rt->name ? rt->name : "");
  for (size_t i = 0; i < nhost; i++)
    if (strcmp(host[i].name, name) == 0) return &host[i];
  return NULL;
}

static wisp_host_status_t resource_builtin(wisp_call_t *call, void *env, const wisp_val_t *args,
                                           wisp_val_t *results) {
  resource_env_t *e = env;
  char trap[160];
  uint32_t arg = (uint32_t)args[0].of.i32;
  if (e->how == WISP__DEF_RESOURCE_NEW) {
    uint32_t h = 0;
    if (handle_add(e->inst, e->type, arg, true, &h, trap, sizeof trap)) return wisp_call_trap(call, trap);
    results[0].of.i32 = (int32_t)h;
    return WISP_HOST_OK;
  }
  handle_t *entry = handle_get(e->inst, arg, e->type, trap, sizeof trap);
  if (!entry) return wisp_call_trap(call, trap);
  if (e->how == WISP__DEF_RESOURCE_REP) {
    results[0].of.i32 = (int32_t)entry->rep;
    return WISP_HOST_OK;
  }
  if (entry->own && entry->lends) {
    snprintf(trap, sizeof trap, "resource handle %u cannot be dropped while it is lent (borrowed by a call in progress)",
             arg);
    return wisp_call_trap(call, trap);
  }
  handle_t dropped = *entry;
  handle_free(e->inst, arg);
  if (!dropped.own) return WISP_HOST_OK;
  if (e->dtor) {
    wisp_val_t rep;
    memset(&rep, 0, sizeof rep);
    rep.kind = WISP_I32;
    rep.of.i32 = (int32_t)dropped.rep;
    wisp_status_t st = nested_call(e->inst, wisp_call_exec(call), e->dtor, &rep, 1, NULL, 0);
    if (st != WISP_DONE) {
      trap_message(wisp_call_exec(call), st, trap, sizeof trap, "resource destructor");
      return wisp_call_trap(call, trap);
    }
    return WISP_HOST_OK;
  }
  /* a host resource: the host's "[resource-drop]NAME", if it has one */
  const wisp__chost_func_t *h = NULL;
  bool found = false;
  const wisp__cprep_t *prep = e->inst->prep;
  for (uint32_t i = 0; prep && i < prep->ndrops && !found; i++)
    if (prep->drops[i].type == e->type) {
      h = prep->drops[i].host;
      found = true;
    }
  if (!found) h = find_drop(e->inst->c, e->inst->host, e->inst->nhost, e->type);
  if (h) {
    void *henv = NULL;
    if (bind_env(e->inst, h, &henv)) return wisp_call_trap(call, "a resource destructor has no host state bound");
    wisp__arena_t arena;
    wisp__arena_init(&arena);
    wisp__cabi_t cx = {.component = e->inst->c, .arena = &arena};
    wisp__cval_t v = {.type = WISP__CT_U32, .of.u = dropped.rep};
    int rc = h->fn(henv, &cx, &v, 1, NULL, 0);
    wisp__arena_free(&arena);
    if (rc == WISP__CHOST_BLOCKED) return wisp_call_trap(call, "a resource destructor cannot block");
    if (rc) return wisp_call_trap(call, cx.trap);
  }
  return WISP_HOST_OK;
}

/* ---- canon lower: the guest calls a host function ---- */

/* The host call that borrowed own handles from index `start` of inst->lending on returned. */
static void end_lends(wisp__cinst_t *inst, uint32_t start) {
  while (inst->nlending > start) {
    uint32_t h = inst->lending[--inst->nlending];
    if (h < inst->nhandles && inst->handles[h].type != 0 && inst->handles[h].lends) inst->handles[h].lends--;
  }
}

wisp__cwait_t *wisp__chost_wait(wisp__cabi_t *cx) {
  const realloc_env_t *e = cx->env;
  return e ? e->wait : NULL;
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits on this thread for what `w` names (see cinst.h); 0, or -1 with a trap. */
static int wait_here(const wisp__cwait_t *w, char *trap, size_t trap_size) {
  int timeout = -1;
  if (w->wake_ns >= 0) {
    int64_t ms = (w->wake_ns - mono_ns() + 999999) / 1000000;
    timeout = ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
  }
  if (w->fd < 0 && timeout < 0) {
    snprintf(trap, trap_size, "a host call waits for an event that only a resumable call can wait for");
    return -1;
  }
  struct pollfd p = {.fd = w->fd, .events = w->events};
  if (poll(&p, w->fd >= 0 ? 1 : 0, timeout) < 0 && errno != EINTR) {
    snprintf(trap, trap_size, "waiting for a host call: poll failed");
    return -1;
  }
  return 0;
}

/* The host function may pause the guest only when it was called straight from
 * the function of a resumable call, not from a guest call cinst nests. */
static bool can_suspend(const wisp__cinst_t *inst) { return inst->call.phase != CALL_IDLE && inst->nested == 0; }

/* Calls the host function until it completes, or blocks in a place where the
 * guest can be paused (returns WISP__CHOST_BLOCKED then). */
static int call_host_fn(wisp__cinst_t *inst, const wisp__chost_func_t *h, void *env, wisp__cabi_t *cx,
                        const wisp__ctype_t *ft, const wisp__cval_t *params, wisp__cval_t *outs, wisp__cwait_t *wait) {
  for (;;) {
    for (uint32_t i = 0; i < ft->nresults; i++) outs[i] = (wisp__cval_t){.type = ft->results[i].type};
    wait->fd = -1;
    wait->events = 0;
    wait->wake_ns = -1;
    wait->token = NULL;
    int rc = h->fn(env, cx, params, ft->n, outs, ft->nresults);
    if (rc != WISP__CHOST_BLOCKED) return rc ? -1 : 0;
    if (can_suspend(inst)) return WISP__CHOST_BLOCKED;
    if (wait_here(wait, cx->trap, sizeof cx->trap)) return -1;
  }
}

/* The core host function of a `canon lower`: lifts the guest's arguments, calls
 * the host function, lowers its results. When the host function blocks in a
 * resumable call, the lifted arguments move to inst->blocked and the guest is
 * suspended; wisp__cinst_call_resume retries (wisp_exec_retry calls this
 * again, with inst->retrying set). */
static wisp_host_status_t lower_trampoline(wisp_call_t *call, void *env, const wisp_val_t *args,
                                           wisp_val_t *results) {
  const lower_env_t *e = env;
  wisp__cinst_t *inst = e->inst;
  const wisp_component_t *c = inst->c;
  const wisp__ctype_t *ft = wisp__ctype(c, e->func->type);
  const wisp__ctype_t *core = wisp__ctype(c, e->core_type);
  if (inst->no_leave) /* CanonicalABI.md may_leave */
    return wisp_call_trap(call, "cannot leave component instance: an import called from its realloc or post-return");
  bool retry = inst->retrying && inst->blocked.active;
  inst->retrying = false;
  blocked_call_t *b = &inst->blocked;
  wisp__arena_t local;
  wisp__arena_init(&local);
  if (!retry && inst->spare.head) { /* reuse the last call's block: no malloc and free per call */
    local = inst->spare;
    local.used = 0;
    wisp__arena_init(&inst->spare);
  }
  wisp__cwait_t local_wait = {.fd = -1, .wake_ns = -1};
  wisp__arena_t *arena = retry ? &b->arena : &local;
  wisp__cwait_t *wait = retry ? &b->wait : &local_wait;
  realloc_env_t re = {wisp_call_exec(call), e->realloc, e->memory, inst, wait};
  wisp__cabi_t cx = {.component = c, .encoding = e->encoding, .realloc = e->realloc ? guest_realloc : NULL,
                     .env = &re, .arena = arena};
  if (e->memory) {
    cx.mem = wisp_memory_data(e->memory);
    cx.mem_len = wisp_memory_size(e->memory);
  }
  uint64_t flat[WISP__MAX_FLAT + 2];
  uint32_t np = core->nparams_core;
  for (uint32_t i = 0; i < np && i < WISP__MAX_FLAT + 2; i++) flat[i] = raw_of(&args[i]);
  bool spilled = results_flat(c, ft) > 1;
  if (spilled) np--; /* the last parameter is the return area */
  wisp__cval_t *params = retry ? b->params : NULL, *outs = retry ? b->outs : NULL;
  uint32_t lending_start = retry ? b->lending_start : inst->nlending;
  int rc = -1;
  if (!retry) {
    params = wisp__arena_alloc(arena, (ft->n ? ft->n : 1) * sizeof *params);
    outs = wisp__arena_alloc(arena, (ft->nresults ? ft->nresults : 1) * sizeof *outs);
    if (!params || !outs) { snprintf(cx.trap, sizeof cx.trap, "out of host memory"); goto done; }
    if (wisp__cabi_lift_values(&cx, ft->fields, ft->n, WISP__MAX_FLAT, flat, np, params)) goto done;
    if (translate_all(inst, ft->fields, ft->n, params, TO_HOST, cx.trap, sizeof cx.trap)) goto done;
  }
  if (!e->func->host) {
    snprintf(cx.trap, sizeof cx.trap, "calling a component function lifted by a component is not supported yet");
    goto done;
  }
  int hrc = call_host_fn(inst, e->func->host, e->func->env, &cx, ft, params, outs, wait);
  if (hrc == WISP__CHOST_BLOCKED) { /* own handles it borrows stay lent while it waits */
    if (!retry) *b = (blocked_call_t){.active = true, .arena = local, .params = params, .outs = outs,
                                      .wait = local_wait, .lending_start = lending_start};
    return WISP_HOST_SUSPEND;
  }
  /* the lends last until the results are lowered (the guest's realloc runs
   * inside them), as CanonicalABI.md ends the borrow scope after lowering */
  if (hrc) goto done;
  if (e->memory) { /* the host may have run realloc: memory may have grown */
    cx.mem = wisp_memory_data(e->memory);
    cx.mem_len = wisp_memory_size(e->memory);
  }
  if (translate_all(inst, ft->results, ft->nresults, outs, TO_GUEST, cx.trap, sizeof cx.trap))
    goto done;
  uint64_t out[1] = {0};
  uint32_t nout = 0, area = spilled ? (uint32_t)flat[np] : 0;
  if (wisp__cabi_lower_values(&cx, ft->results, ft->nresults, 1, outs, spilled ? &area : NULL, out, 1, &nout))
    goto done;
  if (nout == 1 && core->nresults_core == 1) val_of(core->results_core[0], out[0], &results[0]);
  rc = 0;
done:
  end_lends(inst, lending_start);
  if (retry) {
    wisp__arena_free(&b->arena);
    *b = (blocked_call_t){0};
  }
  if (local.head && local.cap <= SPARE_ARENA_MAX && !inst->spare.head)
    inst->spare = local;
  else
    wisp__arena_free(&local);
  if (rc) return wisp_call_trap(call, cx.trap);
  return WISP_HOST_OK;
}

/* ---- replaying definitions ---- */

static int replay(wisp__cinst_t *inst, frame_t *f);

static const rt_named_t *find_named(const rt_named_t *list, uint32_t n, const char *name, uint32_t len) {
  for (uint32_t i = 0; i < n; i++)
    if (list[i].len == len && memcmp(list[i].name, name, len) == 0) return &list[i];
  return NULL;
}

/* find_named, trying the hint's index first (hint may be NULL) */
static const rt_named_t *find_hinted(const rt_named_t *list, uint32_t n, const char *name, uint32_t len,
                                     hint_t *hint) {
  if (hint) {
    uint32_t k = atomic_load_explicit(hint, memory_order_relaxed);
    if (k < n && list[k].len == len && memcmp(list[k].name, name, len) == 0) return &list[k];
  }
  const rt_named_t *e = find_named(list, n, name, len);
  if (e && hint) atomic_store_explicit(hint, (uint32_t)(e - list), memory_order_relaxed);
  return e;
}

static int core_export(wisp__cinst_t *inst, const rt_core_inst_t *ci, const char *name, uint32_t len,
                       wisp_extern_t *out, hint_t *hint) {
  if (ci->inst) {
    const wisp_module_t *m = ci->inst->module;
    uint32_t k = hint ? atomic_load_explicit(hint, memory_order_relaxed) : NO_HINT;
    if (k >= m->nexports || m->exports[k].name_len != len || memcmp(m->exports[k].name, name, len) != 0)
      for (k = 0; k < m->nexports; k++)
        if (m->exports[k].name_len == len && memcmp(m->exports[k].name, name, len) == 0) break;
    if (k < m->nexports) {
      if (hint) atomic_store_explicit(hint, k, memory_order_relaxed);
      wisp_instance_export_at(ci->inst, k, out);
      return 0;
    }
  } else {
    const rt_named_t *e = find_hinted(ci->exports, ci->n, name, len, hint);
    if (e) { *out = e->val.ext; return 0; }
  }
  return fail(inst, WISP_ERR_LINK, "core instance has no export \"%.*s\"", (int)len, name);
}

static const wisp__chost_func_t *find_host(const wisp__chost_func_t *host, size_t nhost, const char *iface,
                                           uint32_t iface_len, const char *name, uint32_t len) {
  for (size_t i = 0; i < nhost; i++) {
    const wisp__chost_func_t *h = &host[i];
    if (strlen(h->name) != len || memcmp(h->name, name, len) != 0) continue;
    if (!iface && !h->instance) return h;
    if (iface && h->instance && wisp_component_name_matches(iface, iface_len, h->instance, strlen(h->instance)))
      return h;
  }
  return NULL;
}

/* The host function for import `name` (of instance `iface`, NULL for a
 * plain function import): the prepared link's next entry, or by name. */
static const wisp__chost_func_t *host_for(wisp__cinst_t *inst, const char *iface, uint32_t iface_len,
                                          const char *name, uint32_t len) {
  if (!inst->prep) return find_host(inst->host, inst->nhost, iface, iface_len, name, len);
  return inst->prep_next < inst->prep->nimports ? inst->prep->imports[inst->prep_next++] : NULL;
}

/* A component function backed by host function h, bound to inst's env. */
static int host_cfunc(wisp__cinst_t *inst, const wisp__chost_func_t *h, uint32_t type, wisp__cfunc_t **out) {
  wisp__cfunc_t *fn = alloc(inst, sizeof *fn);
  if (!fn) return WISP_ERR_NOMEM;
  fn->type = type;
  fn->host = h;
  if (bind_env(inst, h, &fn->env))
    return fail(inst, WISP_ERR_LINK, "host function \"%s\": no host state bound to its env slot", h->name);
  *out = fn;
  return 0;
}

static int import_from_host(wisp__cinst_t *inst, const wisp__citem_t *item, int sort, rt_value_t *out) {
  const wisp_component_t *c = inst->c;
  if (sort == WISP_SORT_TYPE) return 0;
  if (sort == WISP_SORT_FUNC) {
    const wisp__chost_func_t *h = host_for(inst, NULL, 0, item->name, item->name_len);
    if (!h) return fail(inst, WISP_ERR_LINK, "import \"%.*s\": no host function", (int)item->name_len, item->name);
    return host_cfunc(inst, h, item->type, &out->func);
  }
  if (sort != WISP_SORT_INSTANCE)
    return fail(inst, WISP_ERR_UNSUPPORTED, "import \"%.*s\": a %s cannot be provided by the host yet",
                (int)item->name_len, item->name, wisp_sort_name(sort));
  const wisp__ctype_t *it = wisp__ctype(c, item->type);
  rt_inst_t *ri = alloc(inst, sizeof *ri);
  rt_named_t *ex = alloc(inst, (size_t)it->nexports * sizeof *ex);
  if (!ri || !ex) return WISP_ERR_NOMEM;
  ri->exports = ex;
  for (uint32_t i = 0; i < it->nexports; i++) {
    const wisp__cextern_t *e = &it->exports[i];
    ex[ri->n] = (rt_named_t){e->name, e->name_len, e->sort, {.func = NULL}};
    if (e->sort == WISP_SORT_FUNC) {
      const wisp__chost_func_t *h = host_for(inst, item->name, item->name_len, e->name, e->name_len);
      if (!h)
        return fail(inst, WISP_ERR_LINK, "import \"%.*s\": function \"%.*s\" is not provided by the host",
                    (int)item->name_len, item->name, (int)e->name_len, e->name);
      int rc = host_cfunc(inst, h, e->type, &ex[ri->n].val.func);
      if (rc) return rc;
    } else if (e->sort != WISP_SORT_TYPE) {
      return fail(inst, WISP_ERR_UNSUPPORTED, "import \"%.*s\": exports of a %s are not supported yet",
                  (int)item->name_len, item->name, wisp_sort_name(e->sort));
    } else if (inst->prep) {
      inst->prep_next++; /* the prep holds NULL for a type */
    }
    ri->n++;
  }
  out->inst = ri;
  return 0;
}

static rt_named_t *named_list(wisp__cinst_t *inst, const frame_t *f, const wisp__carg_t *args, uint32_t n) {
  rt_named_t *list = alloc(inst, (size_t)n * sizeof *list);
  if (!list) return NULL;
  for (uint32_t i = 0; i < n; i++)
    list[i] = (rt_named_t){args[i].name, args[i].name_len, args[i].sort, f->values[args[i].sort][args[i].index]};
  return list;
}

/* hints: two per import (argument, export), when the prep knew the module's
 * import count (hints_for_module) */
static int core_instantiate(wisp__cinst_t *inst, frame_t *f, const wisp__citem_t *item, rt_value_t *out,
                            hint_t *hints) {
  wisp_module_t *m = f->values[WISP_SORT_CORE_MODULE][item->a].module;
  uint32_t n = m->nimports;
  wisp_extern_t *imports = alloc(inst, (size_t)n * sizeof *imports);
  if (!imports) return WISP_ERR_NOMEM;
  for (uint32_t i = 0; i < n; i++) {
    const wisp__import_t *im = &m->imports[i];
    hint_t *h = hints ? &hints[2 * i] : NULL;
    const wisp__carg_t *arg = NULL;
    uint32_t k = h ? atomic_load_explicit(h, memory_order_relaxed) : NO_HINT;
    if (k < item->nargs && item->args[k].name_len == im->module_len &&
        memcmp(item->args[k].name, im->module, im->module_len) == 0)
      arg = &item->args[k];
    for (k = 0; k < item->nargs && !arg; k++)
      if (item->args[k].name_len == im->module_len && memcmp(item->args[k].name, im->module, im->module_len) == 0) {
        arg = &item->args[k];
        if (h) atomic_store_explicit(h, k, memory_order_relaxed);
      }
    if (!arg) return fail(inst, WISP_ERR_LINK, "core import \"%.*s\" has no argument", (int)im->module_len, im->module);
    int rc = core_export(inst, f->values[WISP_SORT_CORE_INSTANCE][arg->index].core_inst, im->name, im->name_len,
                         &imports[i], h ? h + 1 : NULL);
    if (rc) return rc;
  }
  wisp_instance_t *wi = NULL;
  wisp_trap_t *trap = NULL;
  wisp_error_t err;
  if (inst->ncores == inst->cap_cores) {
    uint32_t cap = inst->cap_cores ? inst->cap_cores * 2 : 8;
    wisp_instance_t **grown = realloc(inst->cores, cap * sizeof *grown);
    if (!grown) return WISP_ERR_NOMEM;
    inst->cores = grown;
    inst->cap_cores = cap;
  }
  int rc = inst->core_fn ? inst->core_fn(inst->core_env, inst->ncores, inst->store, m, imports, n, &wi, &err)
                         : wisp_instance_new(inst->store, inst->exec, m, imports, n, &wi, &trap, &err);
  if (rc == 0) inst->cores[inst->ncores++] = wi;
  if (rc == WISP_ERR_TRAP) {
    rc = fail(inst, rc, "core instance start: %s", trap ? wisp_trap_message(trap) : "trap");
    wisp_trap_delete(trap);
    return rc;
  }
  if (rc) return fail(inst, rc, "core instance: %.400s", err.message);
  out->core_inst = alloc(inst, sizeof *out->core_inst);
  if (!out->core_inst) return WISP_ERR_NOMEM;
  out->core_inst->inst = wi;
  return 0;
}

/* A host function of the core function type `type` in the instance's store.
 * With a prepared link, the type's canonical id is interned once per
 * component and the function lives in the store's arena (no malloc and free
 * per function per instance). */
static wisp_func_t *core_host_func(wisp__cinst_t *inst, uint32_t type, wisp_host_fn_t fn, void *env) {
  const wisp__ctype_t *core = wisp__ctype(inst->c, type);
  wisp_functype_t ft = {core->nparams_core, core->nresults_core, core->params_core, core->results_core};
  if (!inst->prep || type >= inst->prep->ntypes || inst->store->engine != inst->c->engine)
    return wisp_func_new_host(inst->store, &ft, fn, env, NULL);
  _Atomic uint32_t *slot = &inst->prep->canons[type];
  uint32_t canon = atomic_load_explicit(slot, memory_order_relaxed);
  if (canon == 0) {
    uint32_t n = ft.nparams + ft.nresults;
    uint8_t *types = malloc(n ? n : 1); /* params then results, as the engine keeps them */
    if (!types) return NULL;
    if (ft.nparams) memcpy(types, ft.params, ft.nparams);
    if (ft.nresults) memcpy(types + ft.nparams, ft.results, ft.nresults);
    uint32_t id = wisp__engine_intern_type(inst->store->engine, ft.nparams, ft.nresults, types);
    free(types);
    if (id == UINT32_MAX) return NULL;
    canon = id + 1;
    atomic_store_explicit(slot, canon, memory_order_relaxed);
  }
  return wisp__func_new_host_canon(inst->store, canon - 1, &ft, fn, env);
}

static int canon_lower(wisp__cinst_t *inst, frame_t *f, const wisp__citem_t *item, rt_value_t *out) {
  lower_env_t *env = alloc(inst, sizeof *env);
  if (!env) return WISP_ERR_NOMEM;
  env->inst = inst;
  env->func = f->values[WISP_SORT_FUNC][item->a].func;
  env->core_type = item->type;
  env->encoding = item->opts.encoding;
  env->memory = item->opts.memory != WISP__CNONE ? f->values[WISP_SORT_CORE_MEMORY][item->opts.memory].ext.of.memory : NULL;
  env->realloc = item->opts.realloc != WISP__CNONE ? f->values[WISP_SORT_CORE_FUNC][item->opts.realloc].ext.of.func : NULL;
  out->ext.kind = WISP_EXTERN_FUNC;
  out->ext.of.func = core_host_func(inst, item->type, lower_trampoline, env);
  return out->ext.of.func ? 0 : WISP_ERR_NOMEM;
}

static int canon_lift(wisp__cinst_t *inst, frame_t *f, const wisp__citem_t *item, rt_value_t *out) {
  wisp__cfunc_t *fn = alloc(inst, sizeof *fn);
  if (!fn) return WISP_ERR_NOMEM;
  fn->type = item->type;
  fn->core = f->values[WISP_SORT_CORE_FUNC][item->a].ext.of.func;
  fn->encoding = item->opts.encoding;
  if (item->opts.memory != WISP__CNONE) fn->memory = f->values[WISP_SORT_CORE_MEMORY][item->opts.memory].ext.of.memory;
  if (item->opts.realloc != WISP__CNONE) fn->realloc = f->values[WISP_SORT_CORE_FUNC][item->opts.realloc].ext.of.func;
  if (item->opts.post_return != WISP__CNONE)
    fn->post_return = f->values[WISP_SORT_CORE_FUNC][item->opts.post_return].ext.of.func;
  out->func = fn;
  return 0;
}

static int define(wisp__cinst_t *inst, frame_t *f, int sort, const wisp__citem_t *item, rt_value_t *out,
                  hint_t *hint) {
  switch (item->how) {
  case WISP__DEF_IMPORT: {
    if (!f->parent) return import_from_host(inst, item, sort, out);
    const rt_named_t *arg = find_hinted(f->args, f->nargs, item->name, item->name_len, hint);
    if (!arg) return fail(inst, WISP_ERR_LINK, "nested import \"%.*s\" has no argument", (int)item->name_len, item->name);
    *out = arg->val;
    return 0;
  }
  case WISP__DEF_EXPORT: *out = f->values[sort][item->a]; return 0;
  case WISP__DEF_ALIAS_EXPORT: {
    const rt_inst_t *ri = f->values[WISP_SORT_INSTANCE][item->a].inst;
    const rt_named_t *e = ri ? find_hinted(ri->exports, ri->n, item->name, item->name_len, hint) : NULL;
    if (!e) return sort == WISP_SORT_TYPE ? 0 : fail(inst, WISP_ERR_LINK, "instance has no export \"%.*s\"",
                                                     (int)item->name_len, item->name);
    *out = e->val;
    return 0;
  }
  case WISP__DEF_ALIAS_CORE_EXPORT: {
    if (sort == WISP_SORT_CORE_TYPE) return 0;
    return core_export(inst, f->values[WISP_SORT_CORE_INSTANCE][item->a].core_inst, item->name, item->name_len,
                       &out->ext, hint);
  }
  case WISP__DEF_ALIAS_OUTER: {
    const frame_t *o = f;
    for (uint32_t k = 0; k < item->a && o; k++) o = o->parent;
    if (o) *out = o->values[sort][item->b];
    return 0;
  }
  case WISP__DEF_TYPE: return 0;
  case WISP__DEF_CORE_MODULE: out->module = item->module; return 0;
  case WISP__DEF_CORE_INSTANTIATE: return core_instantiate(inst, f, item, out, hint);
  case WISP__DEF_CORE_EXPORTS:
    out->core_inst = alloc(inst, sizeof *out->core_inst);
    if (!out->core_inst) return WISP_ERR_NOMEM;
    out->core_inst->n = item->nargs;
    out->core_inst->exports = named_list(inst, f, item->args, item->nargs);
    return out->core_inst->exports || !item->nargs ? 0 : WISP_ERR_NOMEM;
  case WISP__DEF_COMPONENT: out->comp = item->nested; return 0;
  case WISP__DEF_INSTANTIATE: {
    frame_t *nf = alloc(inst, sizeof *nf);
    if (!nf) return WISP_ERR_NOMEM;
    nf->scope = f->values[WISP_SORT_COMPONENT][item->a].comp;
    nf->parent = f;
    nf->args = named_list(inst, f, item->args, item->nargs);
    nf->nargs = item->nargs;
    if (!nf->args && item->nargs) return WISP_ERR_NOMEM;
    int rc = replay(inst, nf);
    if (rc) return rc;
    out->inst = nf->exports;
    return 0;
  }
  case WISP__DEF_INSTANCE_EXPORTS:
    out->inst = alloc(inst, sizeof *out->inst);
    if (!out->inst) return WISP_ERR_NOMEM;
    out->inst->n = item->nargs;
    out->inst->exports = named_list(inst, f, item->args, item->nargs);
    return out->inst->exports || !item->nargs ? 0 : WISP_ERR_NOMEM;
  case WISP__DEF_CANON_LIFT: return canon_lift(inst, f, item, out);
  case WISP__DEF_CANON_LOWER: return canon_lower(inst, f, item, out);
  case WISP__DEF_RESOURCE_NEW: case WISP__DEF_RESOURCE_REP: case WISP__DEF_RESOURCE_DROP: {
    resource_env_t *env = alloc(inst, sizeof *env);
    if (!env) return WISP_ERR_NOMEM;
    env->inst = inst;
    env->type = item->a;
    env->how = item->how;
    env->next = inst->resources;
    inst->resources = env;
    const wisp__ctype_t *rt = wisp__ctype(inst->c, item->a);
    if (rt->kind == WISP__CT_RESOURCE && rt->a != WISP__CNONE) {
      /* the destructor was defined in the resource's own scope: this frame or an outer one */
      const frame_t *o = f;
      while (o && o->scope != rt->owner) o = o->parent;
      if (o) env->dtor = o->values[WISP_SORT_CORE_FUNC][rt->a].ext.of.func;
    }
    out->ext.kind = WISP_EXTERN_FUNC;
    out->ext.of.func = core_host_func(inst, item->type, resource_builtin, env);
    return out->ext.of.func ? 0 : WISP_ERR_NOMEM;
  }
  default:
    return fail(inst, WISP_ERR_UNSUPPORTED, "definition kind %u is not supported yet", item->how);
  }
}

static int replay(wisp__cinst_t *inst, frame_t *f) {
  const wisp__cscope_t *s = f->scope;
  f->hint_base = NULL;
  for (uint32_t k = 0; inst->prep && k < inst->prep->nscopes && !f->hint_base; k++)
    if (inst->prep->scopes[k].scope == s) f->hint_base = inst->prep->scopes[k].base;
  for (int sort = 0; sort < WISP_SORT_COUNT; sort++) {
    f->values[sort] = alloc(inst, (size_t)s->space[sort].len * sizeof(rt_value_t));
    if (!f->values[sort]) return WISP_ERR_NOMEM;
  }
  for (uint32_t i = 0; i < s->defs.len; i++) {
    const wisp__cdef_t *d = &WISP__CVEC_AT(s->defs, wisp__cdef_t, i);
    const wisp__citem_t *item = &WISP__CVEC_AT(s->space[d->sort], wisp__citem_t, d->index);
    hint_t *hint = f->hint_base && f->hint_base[i] != NO_HINT ? &inst->prep->hints[f->hint_base[i]] : NULL;
    int rc = define(inst, f, d->sort, item, &f->values[d->sort][d->index], hint);
    if (rc == WISP_ERR_NOMEM) return fail(inst, rc, "out of memory instantiating the component");
    if (rc) return rc;
  }
  f->exports = alloc(inst, sizeof *f->exports);
  rt_named_t *ex = alloc(inst, (size_t)s->exports.len * sizeof *ex);
  if (!f->exports || !ex) return fail(inst, WISP_ERR_NOMEM, "out of memory instantiating the component");
  for (uint32_t i = 0; i < s->exports.len; i++) {
    const wisp__cextern_t *e = &WISP__CVEC_AT(s->exports, wisp__cextern_t, i);
    uint32_t index = WISP__CVEC_AT(s->export_index, uint32_t, i);
    ex[i] = (rt_named_t){e->name, e->name_len, e->sort, f->values[e->sort][index]};
  }
  f->exports->n = s->exports.len;
  f->exports->exports = ex;
  return 0;
}

int wisp__cinst_new(const wisp_component_t *c, wisp_store_t *store, wisp_exec_t *exec,
                    const wisp__chost_func_t *host, size_t count, wisp__cinst_t **out, wisp_error_t *err) {
  return wisp__cinst_new_hooked(c, store, exec, host, count, NULL, NULL, out, err);
}

static int cinst_make(const wisp_component_t *c, const wisp__chost_func_t *host, size_t count,
                      const wisp__cprep_t *prep, void *const *envs, uint32_t nenvs, wisp_store_t *store,
                      wisp_exec_t *exec, wisp__cinst_core_fn_t core_fn, void *core_env, wisp__cinst_t **out,
                      wisp_error_t *err) {
  *out = NULL;
  if (nenvs > WISP__CHOST_ENV_SLOTS) {
    if (err) { err->code = WISP_ERR_ARG; snprintf(err->message, sizeof err->message, "too many env slots"); }
    return WISP_ERR_ARG;
  }
  wisp__cinst_t *inst = calloc(1, sizeof *inst);
  if (!inst) {
    if (err) { err->code = WISP_ERR_NOMEM; snprintf(err->message, sizeof err->message, "out of memory"); }
    return WISP_ERR_NOMEM;
  }
  *inst = (wisp__cinst_t){.c = c, .store = store, .exec = exec, .host = host, .nhost = count, .prep = prep,
                          .nenvs = nenvs, .err = err, .core_fn = core_fn, .core_env = core_env};
  for (uint32_t i = 0; i < nenvs; i++) inst->envs[i] = envs[i];
  wisp__arena_init(&inst->arena);
  inst->root = alloc(inst, sizeof *inst->root);
  int rc = inst->root ? 0 : fail(inst, WISP_ERR_NOMEM, "out of memory instantiating the component");
  if (!rc) {
    inst->root->scope = c->root;
    rc = replay(inst, inst->root);
  }
  if (rc) {
    wisp__cinst_delete(inst);
    return rc;
  }
  inst->err = NULL;
  *out = inst;
  return 0;
}

int wisp__cinst_new_hooked(const wisp_component_t *c, wisp_store_t *store, wisp_exec_t *exec,
                           const wisp__chost_func_t *host, size_t count, wisp__cinst_core_fn_t core_fn, void *core_env,
                           wisp__cinst_t **out, wisp_error_t *err) {
  return cinst_make(c, host, count, NULL, NULL, 0, store, exec, core_fn, core_env, out, err);
}

int wisp__cinst_new_prepared(const wisp__cprep_t *prep, wisp_store_t *store, wisp_exec_t *exec, void *const *envs,
                             uint32_t nenvs, wisp__cinst_core_fn_t core_fn, void *core_env, wisp__cinst_t **out,
                             wisp_error_t *err) {
  return cinst_make(prep->c, prep->host, prep->nhost, prep, envs, nenvs, store, exec, core_fn, core_env, out, err);
}

/* ---- prepared links ---- */

static int prep_fail(wisp_error_t *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int prep_fail(wisp_error_t *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    err->offset = 0;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return code;
}

static int prep_push(wisp__cprep_t *p, uint32_t *cap, const wisp__chost_func_t *h) {
  if (p->nimports == *cap) {
    uint32_t c = *cap ? *cap * 2 : 64;
    const wisp__chost_func_t **grown = realloc(p->imports, c * sizeof *grown);
    if (!grown) return WISP_ERR_NOMEM;
    p->imports = grown;
    *cap = c;
  }
  p->imports[p->nimports++] = h;
  return 0;
}

/* The module core module `index` of scope s is, when the scope says so
 * without instantiating anything (embedded, or an outer alias of one). */
static const wisp_module_t *static_module(const wisp__cscope_t *s, uint32_t index, int depth) {
  if (!s || depth > 100 || index >= s->space[WISP_SORT_CORE_MODULE].len) return NULL;
  const wisp__citem_t *it = &WISP__CVEC_AT(s->space[WISP_SORT_CORE_MODULE], wisp__citem_t, index);
  if (it->how == WISP__DEF_CORE_MODULE) return it->module;
  if (it->how != WISP__DEF_ALIAS_OUTER) return NULL;
  const wisp__cscope_t *o = s;
  for (uint32_t k = 0; k < it->a && o; k++) o = o->parent;
  return static_module(o, it->b, depth + 1);
}

/* The hints of scope s's definitions (see prep_scope_t). */
static int prep_hints(wisp__cprep_t *p, const wisp__cscope_t *s) {
  if (p->nscopes == p->cap_scopes) {
    uint32_t c = p->cap_scopes ? p->cap_scopes * 2 : 4;
    prep_scope_t *grown = realloc(p->scopes, c * sizeof *grown);
    if (!grown) return WISP_ERR_NOMEM;
    p->scopes = grown;
    p->cap_scopes = c;
  }
  uint32_t *base = malloc((s->defs.len ? s->defs.len : 1) * sizeof *base);
  if (!base) return WISP_ERR_NOMEM;
  p->scopes[p->nscopes++] = (prep_scope_t){s, base};
  for (uint32_t i = 0; i < s->defs.len; i++) {
    const wisp__cdef_t *d = &WISP__CVEC_AT(s->defs, wisp__cdef_t, i);
    const wisp__citem_t *item = &WISP__CVEC_AT(s->space[d->sort], wisp__citem_t, d->index);
    uint32_t n = 0;
    if (item->how == WISP__DEF_IMPORT || item->how == WISP__DEF_ALIAS_EXPORT ||
        item->how == WISP__DEF_ALIAS_CORE_EXPORT) {
      n = 1;
    } else if (item->how == WISP__DEF_CORE_INSTANTIATE) {
      const wisp_module_t *m = static_module(s, item->a, 0);
      n = m && m->nimports < (1u << 20) ? 2 * m->nimports : 0;
    }
    if (n > UINT32_MAX / 2 - p->nhints) return WISP_ERR_NOMEM;
    base[i] = n ? p->nhints : NO_HINT;
    p->nhints += n;
  }
  return 0;
}

/* Every resource.drop of scope s and the scopes nested in it, and every
 * scope's hints. */
static int prep_drops(wisp__cprep_t *p, uint32_t *cap, const wisp__cscope_t *s, int depth) {
  if (depth > 100) return prep_fail(NULL, WISP_ERR_UNSUPPORTED, "nested too deeply");
  int rc = prep_hints(p, s);
  if (rc) return rc;
  for (uint32_t i = 0; i < s->defs.len; i++) {
    const wisp__cdef_t *d = &WISP__CVEC_AT(s->defs, wisp__cdef_t, i);
    const wisp__citem_t *item = &WISP__CVEC_AT(s->space[d->sort], wisp__citem_t, d->index);
    if (item->how == WISP__DEF_COMPONENT && item->nested) {
      bool seen = false; /* a scope instantiated twice is walked once */
      for (uint32_t k = 0; k < p->nscopes && !seen; k++) seen = p->scopes[k].scope == item->nested;
      if (!seen && (rc = prep_drops(p, cap, item->nested, depth + 1)) != 0) return rc;
      continue;
    }
    if (item->how != WISP__DEF_RESOURCE_DROP) continue;
    bool seen = false;
    for (uint32_t k = 0; k < p->ndrops && !seen; k++) seen = p->drops[k].type == item->a;
    if (seen) continue;
    if (p->ndrops == *cap) {
      uint32_t c = *cap ? *cap * 2 : 16;
      prep_drop_t *grown = realloc(p->drops, c * sizeof *grown);
      if (!grown) return WISP_ERR_NOMEM;
      p->drops = grown;
      *cap = c;
    }
    p->drops[p->ndrops++] = (prep_drop_t){item->a, find_drop(p->c, p->host, p->nhost, item->a)};
  }
  return 0;
}

int wisp__cprep_new(const wisp_component_t *c, const wisp__chost_func_t *host, size_t count, wisp__cprep_t **out,
                    wisp_error_t *err) {
  *out = NULL;
  wisp__cprep_t *p = calloc(1, sizeof *p);
  if (!p) return prep_fail(err, WISP_ERR_NOMEM, "out of memory");
  *p = (wisp__cprep_t){.c = c, .host = host, .nhost = count};
  uint32_t cap = 0, dcap = 0;
  int rc = 0;
  const wisp__cscope_t *s = c->root;
  /* the same walk as import_from_host during replay, in the same order */
  for (uint32_t i = 0; i < s->defs.len && !rc; i++) {
    const wisp__cdef_t *d = &WISP__CVEC_AT(s->defs, wisp__cdef_t, i);
    const wisp__citem_t *item = &WISP__CVEC_AT(s->space[d->sort], wisp__citem_t, d->index);
    if (item->how != WISP__DEF_IMPORT || d->sort == WISP_SORT_TYPE) continue;
    if (d->sort == WISP_SORT_FUNC) {
      const wisp__chost_func_t *h = find_host(host, count, NULL, 0, item->name, item->name_len);
      rc = h ? prep_push(p, &cap, h)
             : prep_fail(err, WISP_ERR_LINK, "import \"%.*s\": no host function", (int)item->name_len, item->name);
      continue;
    }
    if (d->sort != WISP_SORT_INSTANCE) {
      rc = prep_fail(err, WISP_ERR_UNSUPPORTED, "import \"%.*s\": a %s cannot be provided by the host yet",
                     (int)item->name_len, item->name, wisp_sort_name(d->sort));
      continue;
    }
    const wisp__ctype_t *it = wisp__ctype(c, item->type);
    for (uint32_t k = 0; k < it->nexports && !rc; k++) {
      const wisp__cextern_t *e = &it->exports[k];
      if (e->sort == WISP_SORT_FUNC) {
        const wisp__chost_func_t *h = find_host(host, count, item->name, item->name_len, e->name, e->name_len);
        rc = h ? prep_push(p, &cap, h)
               : prep_fail(err, WISP_ERR_LINK, "import \"%.*s\": function \"%.*s\" is not provided by the host",
                           (int)item->name_len, item->name, (int)e->name_len, e->name);
      } else if (e->sort != WISP_SORT_TYPE) {
        rc = prep_fail(err, WISP_ERR_UNSUPPORTED, "import \"%.*s\": exports of a %s are not supported yet",
                       (int)item->name_len, item->name, wisp_sort_name(e->sort));
      } else {
        rc = prep_push(p, &cap, NULL);
      }
    }
  }
  if (!rc) rc = prep_drops(p, &dcap, c->root, 0);
  if (!rc && !(p->hints = calloc(p->nhints ? p->nhints : 1, sizeof *p->hints))) rc = WISP_ERR_NOMEM;
  p->ntypes = (uint32_t)c->types.len;
  if (!rc && !(p->canons = calloc(p->ntypes ? p->ntypes : 1, sizeof *p->canons))) rc = WISP_ERR_NOMEM;
  if (rc) {
    if (rc == WISP_ERR_NOMEM) prep_fail(err, rc, "out of memory");
    wisp__cprep_delete(p);
    return rc;
  }
  *out = p;
  return 0;
}

const wisp_component_t *wisp__cprep_component(const wisp__cprep_t *prep) { return prep->c; }

void wisp__cprep_delete(wisp__cprep_t *prep) {
  if (!prep) return;
  free(prep->imports);
  free(prep->drops);
  for (uint32_t k = 0; k < prep->nscopes; k++) free(prep->scopes[k].base);
  free(prep->scopes);
  free((void *)prep->hints);
  free((void *)prep->canons);
  free(prep);
}

void wisp__cinst_delete(wisp__cinst_t *inst) {
  if (!inst) return;
  wisp__cinst_call_abort(inst);
  free(inst->handles);
  free(inst->lent);
  free(inst->cores);
  free(inst->lending);
  wisp__arena_free(&inst->spare);
  wisp__arena_free(&inst->arena);
  free(inst);
}

void wisp__cinst_set_fuel_hook(wisp__cinst_t *inst, wisp__cinst_fuel_fn_t fn, void *env) {
  inst->on_fuel = fn;
  inst->fuel_env = env;
}

wisp__cfunc_t *wisp__cinst_func(wisp__cinst_t *inst, const char *instance, const char *name) {
  const rt_inst_t *top = inst->root->exports;
  if (!instance) {
    const rt_named_t *e = find_named(top->exports, top->n, name, (uint32_t)strlen(name));
    return e && e->sort == WISP_SORT_FUNC ? e->val.func : NULL;
  }
  for (uint32_t i = 0; i < top->n; i++) {
    const rt_named_t *e = &top->exports[i];
    if (e->sort != WISP_SORT_INSTANCE || !wisp_component_name_matches(instance, strlen(instance), e->name, e->len))
      continue;
    const rt_named_t *fn = find_named(e->val.inst->exports, e->val.inst->n, name, (uint32_t)strlen(name));
    return fn && fn->sort == WISP_SORT_FUNC ? fn->val.func : NULL;
  }
  return NULL;
}

uint32_t wisp__cfunc_type(const wisp__cfunc_t *f) { return f->type; }

/* ---- state for snapshots (csnap.c) ---- */

const wisp_component_t *wisp__cinst_component(const wisp__cinst_t *inst) { return inst->c; }
uint32_t wisp__cinst_core_count(const wisp__cinst_t *inst) { return inst->ncores; }
wisp_instance_t *wisp__cinst_core(const wisp__cinst_t *inst, uint32_t i) { return inst->cores[i]; }

int wisp__cinst_handles_save(const wisp__cinst_t *inst, uint32_t **words, size_t *nwords, char *why, size_t size) {
  size_t n = 2 + (size_t)inst->nhandles * 4;
  uint32_t *w = malloc(n * sizeof *w);
  *words = NULL;
  *nwords = 0;
  if (!w) { snprintf(why, size, "out of memory"); return WISP_ERR_NOMEM; }
  w[0] = inst->nhandles;
  w[1] = inst->free_head;
  for (uint32_t h = 0; h < inst->nhandles; h++) {
    const handle_t *e = &inst->handles[h];
    if (e->type && wisp__ctype(inst->c, e->type)->kind != WISP__CT_RESOURCE) {
      free(w);
      snprintf(why, size, "resource handle %u holds a host resource", h);
      return WISP_ERR_ARG;
    }
    w[2 + h * 4] = e->type;
    w[3 + h * 4] = e->rep;
    w[4 + h * 4] = e->own;
    w[5 + h * 4] = e->next_free;
  }
  *words = w;
  *nwords = n;
  return 0;
}

int wisp__cinst_handles_load(wisp__cinst_t *inst, const uint32_t *words, size_t nwords) {
  if (nwords < 2 || nwords != 2 + (size_t)words[0] * 4 || words[0] > (1u << 24)) return WISP_ERR_MALFORMED;
  uint32_t n = words[0];
  for (uint32_t h = 0; h < n; h++) {
    uint32_t type = words[2 + h * 4], next = words[5 + h * 4];
    if ((type && (type >= inst->c->types.len || wisp__ctype(inst->c, type)->kind != WISP__CT_RESOURCE)) || next >= n)
      return WISP_ERR_MALFORMED;
  }
  if (words[1] >= (n ? n : 1)) return WISP_ERR_MALFORMED;
  handle_t *table = n ? malloc(n * sizeof *table) : NULL;
  if (n && !table) return WISP_ERR_NOMEM;
  for (uint32_t h = 0; h < n; h++)
    table[h] = (handle_t){.type = words[2 + h * 4], .rep = words[3 + h * 4], .own = words[4 + h * 4] != 0,
                          .next_free = words[5 + h * 4]};
  free(inst->handles);
  inst->handles = table;
  inst->nhandles = inst->cap_handles = n;
  inst->free_head = words[1];
  return 0;
}

/* The canonical-ABI context of exported function `f`'s call. */
static void call_cx(wisp__cinst_t *inst, wisp__cfunc_t *f, wisp__arena_t *arena, realloc_env_t *re,
                    wisp__cabi_t *cx) {
  *re = (realloc_env_t){inst->exec, f->realloc, f->memory, inst, NULL};
  *cx = (wisp__cabi_t){.component = inst->c, .encoding = f->encoding, .realloc = f->realloc ? guest_realloc : NULL,
                       .env = re, .arena = arena};
  if (f->memory) {
    cx->mem = wisp_memory_data(f->memory);
    cx->mem_len = wisp_memory_size(f->memory);
  }
}

/* Ends the call in progress: drops the borrows lent to it and a blocked host
 * call's arguments; `message` (if any) goes to the caller's trap buffer. */
static wisp__ccall_status_t call_end(wisp__cinst_t *inst, wisp__ccall_status_t st, const char *message) {
  call_state_t *cs = &inst->call;
  while (inst->nlent > cs->lent_start) {
    uint32_t h = inst->lent[--inst->nlent];
    if (h < inst->nhandles && inst->handles[h].type != 0 && !inst->handles[h].own &&
        inst->handles[h].scope == inst->call_id)
      handle_free(inst, h); /* after a trap */
  }
  if (inst->blocked.active) {
    end_lends(inst, inst->blocked.lending_start);
    wisp__arena_free(&inst->blocked.arena);
    inst->blocked = (blocked_call_t){0};
  }
  if (message && cs->trap_size) snprintf(cs->trap, cs->trap_size, "%s", message);
  cs->phase = CALL_IDLE;
  inst->entered = false;
  inst->no_leave = false;
  return st;
}

/* Carries the call on from what the exec just returned: lifts the results
 * when the function is done, runs post-return, or reports a pause. */
static wisp__ccall_status_t call_advance(wisp__cinst_t *inst, wisp_status_t st) {
  call_state_t *cs = &inst->call;
  wisp__cfunc_t *f = cs->f;
  char msg[sizeof ((wisp__cabi_t *)0)->trap + 32];
  for (;;) {
    if (st == WISP_OUT_OF_FUEL) return WISP__CCALL_OUT_OF_FUEL;
    if (st == WISP_SUSPENDED && inst->blocked.active) return WISP__CCALL_BLOCKED;
    if (st != WISP_DONE) {
      trap_message(inst->exec, st, msg, sizeof msg, cs->phase == CALL_RUN ? "call" : "post-return");
      return call_end(inst, WISP__CCALL_TRAPPED, msg);
    }
    if (cs->phase == CALL_POST_RETURN) return call_end(inst, WISP__CCALL_DONE, NULL);
    const wisp__ctype_t *ft = wisp__ctype(inst->c, f->type);
    const wisp_functype_t *core = wisp_func_type(f->core);
    realloc_env_t re;
    wisp__cabi_t cx;
    call_cx(inst, f, cs->arena, &re, &cx);
    uint64_t rflat[1] = {core->nresults ? raw_of(&cs->cres[0]) : 0};
    if (wisp__cabi_lift_values(&cx, ft->results, ft->nresults, 1, rflat, core->nresults, cs->results) ||
        translate_all(inst, ft->results, ft->nresults, cs->results, TO_HOST, cx.trap, sizeof cx.trap))
      return call_end(inst, WISP__CCALL_TRAPPED, cx.trap);
    /* borrows the call lent the guest must all have been dropped by now */
    for (uint32_t i = cs->lent_start; i < inst->nlent; i++) {
      uint32_t h = inst->lent[i];
      if (h < inst->nhandles && inst->handles[h].type != 0 && !inst->handles[h].own &&
          inst->handles[h].scope == inst->call_id) {
        snprintf(cx.trap, sizeof cx.trap, "borrowed handle %u was not dropped before the call returned", h);
        return call_end(inst, WISP__CCALL_TRAPPED, cx.trap);
      }
    }
    if (!f->post_return) return call_end(inst, WISP__CCALL_DONE, NULL);
    cs->phase = CALL_POST_RETURN;
    inst->no_leave = true; /* until the call ends */
    st = wisp_exec_call(inst->exec, f->post_return, cs->cres, core->nresults, NULL, 0);
  }
}

wisp__ccall_status_t wisp__cinst_call_start(wisp__cinst_t *inst, wisp__cfunc_t *f, const wisp__cval_t *args,
                                            uint32_t nargs, wisp__cval_t *results, uint32_t nresults,
                                            wisp__arena_t *arena, char *trap, size_t trap_size) {
  const wisp__ctype_t *ft = wisp__ctype(inst->c, f->type);
  /* CanonicalABI.md may_enter: no call into an instance already running one
   * (paused, or a host import calling back into its caller), nor before
   * post-return ran */
  if (inst->entered || inst->call.phase != CALL_IDLE) {
    snprintf(trap, trap_size, "cannot enter component instance: a call into it is in progress (reentrance)");
    return WISP__CCALL_TRAPPED;
  }
  if (nargs != ft->n || nresults != ft->nresults) {
    snprintf(trap, trap_size, "expected %u arguments and %u results", ft->n, ft->nresults);
    return WISP__CCALL_TRAPPED;
  }
  if (!f->core) {
    snprintf(trap, trap_size, "the function is a host function, not one of the component's");
    return WISP__CCALL_TRAPPED;
  }
  call_state_t *cs = &inst->call;
  *cs = (call_state_t){.phase = CALL_RUN, .f = f, .results = results, .nresults = nresults, .arena = arena,
                       .trap = trap, .trap_size = trap_size, .lent_start = inst->nlent};
  inst->entered = true;
  inst->call_id++;
  realloc_env_t re;
  wisp__cabi_t cx;
  call_cx(inst, f, arena, &re, &cx);
  uint64_t flat[WISP__MAX_FLAT];
  uint32_t nflat = 0;
  const wisp_functype_t *core = wisp_func_type(f->core);
  wisp_val_t cargs[WISP__MAX_FLAT];
  /* handles in the arguments enter the guest's table (on a copy: args are the caller's);
   * borrows are lent for this call only */
  wisp__cval_t *copy = wisp__arena_alloc(arena, (ft->n ? ft->n : 1) * sizeof *copy);
  if (!copy) return call_end(inst, WISP__CCALL_TRAPPED, "out of host memory");
  if (ft->n) memcpy(copy, args, ft->n * sizeof *copy);
  if (translate_all(inst, ft->fields, ft->n, copy, TO_GUEST, cx.trap, sizeof cx.trap) ||
      wisp__cabi_lower_values(&cx, ft->fields, ft->n, WISP__MAX_FLAT, copy, NULL, flat, WISP__MAX_FLAT, &nflat))
    return call_end(inst, WISP__CCALL_TRAPPED, cx.trap);
  if (nflat != core->nparams || core->nresults > 1) return call_end(inst, WISP__CCALL_TRAPPED, "core signature mismatch");
  for (uint32_t i = 0; i < nflat; i++) val_of(core->params[i], flat[i], &cargs[i]);
  return call_advance(inst, wisp_exec_call(inst->exec, f->core, cargs, nflat, cs->cres, core->nresults));
}

wisp__ccall_status_t wisp__cinst_call_resume(wisp__cinst_t *inst) {
  if (inst->call.phase == CALL_IDLE) {
    if (inst->call.trap_size) snprintf(inst->call.trap, inst->call.trap_size, "no call to resume");
    return WISP__CCALL_TRAPPED;
  }
  wisp_status_t st = wisp_exec_status(inst->exec);
  if (st == WISP_OUT_OF_FUEL) {
    st = wisp_exec_continue(inst->exec);
  } else if (st == WISP_SUSPENDED && inst->blocked.active) {
    inst->retrying = true;
    st = wisp_exec_retry(inst->exec);
    inst->retrying = false;
  }
  return call_advance(inst, st);
}

void wisp__cinst_call_abort(wisp__cinst_t *inst) {
  if (inst->call.phase == CALL_IDLE) return;
  wisp_exec_abort(inst->exec);
  wisp_trap_delete(wisp_exec_take_trap(inst->exec));
  call_end(inst, WISP__CCALL_TRAPPED, "call: aborted");
}

const wisp__cwait_t *wisp__cinst_call_wait(const wisp__cinst_t *inst) {
  return inst->call.phase != CALL_IDLE && inst->blocked.active ? &inst->blocked.wait : NULL;
}

bool wisp__cinst_call_paused(const wisp__cinst_t *inst) { return inst->call.phase != CALL_IDLE; }

int wisp__cinst_call(wisp__cinst_t *inst, wisp__cfunc_t *f, const wisp__cval_t *args, uint32_t nargs,
                     wisp__cval_t *results, uint32_t nresults, wisp__arena_t *arena, char *trap, size_t trap_size) {
  wisp__ccall_status_t st = wisp__cinst_call_start(inst, f, args, nargs, results, nresults, arena, trap, trap_size);
  for (;;) {
    if (st == WISP__CCALL_OUT_OF_FUEL) {
      if (!inst->on_fuel || !inst->on_fuel(inst->fuel_env, inst->exec)) {
        const char *where = inst->call.phase == CALL_POST_RETURN ? "post-return" : "call";
        wisp__cinst_call_abort(inst);
        snprintf(trap, trap_size, "%s: out of fuel", where);
        return -1;
      }
    } else if (st == WISP__CCALL_BLOCKED) {
      char why[160];
      if (wait_here(&inst->blocked.wait, why, sizeof why)) {
        wisp__cinst_call_abort(inst);
        snprintf(trap, trap_size, "%s", why);
        return -1;
      }
    } else {
      return st == WISP__CCALL_DONE ? 0 : -1;
    }
    st = wisp__cinst_call_resume(inst);
  }
}

int wisp__cinst_resource_drop(wisp__cinst_t *inst, uint32_t resource, uint32_t rep, char *trap, size_t trap_size) {
  if (inst->entered) {
    snprintf(trap, trap_size, "cannot enter component instance: a call into it is in progress (reentrance)");
    return -1;
  }
  const resource_env_t *e = inst->resources;
  while (e && !(e->type == resource && e->dtor)) e = e->next;
  if (!e) {
    /* defined without a destructor (nothing to run), or not the component's */
    const wisp__ctype_t *rt = wisp__ctype(inst->c, resource);
    if (rt->kind == WISP__CT_RESOURCE) return 0;
    snprintf(trap, trap_size, "resource type %u is not defined by the component", resource);
    return -1;
  }
  wisp_val_t arg;
  val_of(WISP_I32, rep, &arg);
  wisp_status_t st = wisp_exec_call(inst->exec, e->dtor, &arg, 1, NULL, 0);
  if (st != WISP_DONE) {
    trap_message(inst->exec, st, trap, trap_size, "resource destructor");
    return -1;
  }
  return 0;
}
