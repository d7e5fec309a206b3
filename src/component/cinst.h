/*
 * cinst.h: instantiating a component (first cut, internal API).
 *
 * wisp__cinst_new replays the definitions of a decoded component (component.h
 * `defs`, in binary order) in a store: embedded core modules are instantiated
 * with wisp_instance_new, `canon lower` becomes a core host function (a
 * trampoline that lifts the guest's core arguments with cabi.c, calls the host's
 * component function and lowers its results, calling the guest's realloc as a
 * nested call), `canon lift` becomes a component function the host can call with
 * wisp__cinst_call, nested components are instantiated recursively with their
 * `with` arguments.
 *
 * Supported now: functions between the host and one component (imports provided
 * by host callbacks, exports called by the host), all value types, every string
 * encoding, nested components (the shims wit-component emits), resources (one
 * handle table per instance; host resources are the host's u32 representations,
 * a resource the component defines reaches the host as its representation).
 * Not yet: calls from one component's lift into another's lower, suspension of a
 * guest inside a component call.
 *
 * The canonical ABI's rules on handles and calls (CanonicalABI.md), each a trap:
 * unknown handle or one of another resource type; a borrowed handle passed as
 * own; an own handle given away or dropped while lent (passed as borrow to the
 * host call in progress); a borrow the host lent to an export still in the table
 * when the export returns; a call into an instance that is already in a call
 * (wisp__cinst_call while its guest calls out: reentrance); an import called
 * from the guest's realloc or post-return (may_leave). Tested by
 * tests/component/valtypes (docs/component-model.md).
 */
#ifndef WISP_CINST_H
#define WISP_CINST_H

#include "cabi.h"

/* A host implementation of a component function. `args` are lifted already
 * (nargs = the function type's parameters); fill `results` (nresults, their
 * .type preset) with values allocated from cx->arena when they need memory.
 * Return 0, or -1 after writing cx->trap. */
typedef int (*wisp__chost_fn_t)(void *env, wisp__cabi_t *cx, const wisp__cval_t *args, uint32_t nargs,
                                wisp__cval_t *results, uint32_t nresults);

/* One function the host provides: `instance` is the interface it belongs to
 * ("wisp:tests/shapes", matched with wisp_component_name_matches), NULL for a
 * function imported by plain name; `name` is the function's name. */
typedef struct wisp__chost_func {
  const char *instance;
  const char *name;
  wisp__chost_fn_t fn;
  void *env;
} wisp__chost_func_t;

typedef struct wisp__cinst wisp__cinst_t;
typedef struct wisp__cfunc wisp__cfunc_t;

/* Instantiates `c` in `store`, running core start functions on `exec`. `host`
 * (count entries, borrowed: must outlive the instance) provides the imports.
 * 0 and *out, or a negative code with *err (link errors name the import). The
 * instance borrows c, store and exec. */
int wisp__cinst_new(const wisp_component_t *c, wisp_store_t *store, wisp_exec_t *exec,
                    const wisp__chost_func_t *host, size_t count, wisp__cinst_t **out, wisp_error_t *err);
void wisp__cinst_delete(wisp__cinst_t *inst);

/* Makes core instance number `ordinal` (replay order) of module m with its
 * imports resolved, instead of wisp_instance_new: component snapshots
 * (csnap.c) restore each from its snapshot. 0 and *out, or a code with *err. */
typedef int (*wisp__cinst_core_fn_t)(void *env, uint32_t ordinal, wisp_store_t *store, const wisp_module_t *m,
                                     const wisp_extern_t *imports, uint32_t n, wisp_instance_t **out,
                                     wisp_error_t *err);
/* wisp__cinst_new with core instances made by core_fn (NULL: the usual way). */
int wisp__cinst_new_hooked(const wisp_component_t *c, wisp_store_t *store, wisp_exec_t *exec,
                           const wisp__chost_func_t *host, size_t count, wisp__cinst_core_fn_t core_fn, void *core_env,
                           wisp__cinst_t **out, wisp_error_t *err);
const wisp_component_t *wisp__cinst_component(const wisp__cinst_t *inst);
/* The core instances the component made, in replay order (borrowed). */
uint32_t wisp__cinst_core_count(const wisp__cinst_t *inst);
wisp_instance_t *wisp__cinst_core(const wisp__cinst_t *inst, uint32_t i);
/* The handle table as words (malloc'd: count, free head, then type, rep, own,
 * next-free per handle). Refused (with why) while it holds a handle of a
 * resource the host defines: its representation is host state. */
int wisp__cinst_handles_save(const wisp__cinst_t *inst, uint32_t **words, size_t *nwords, char *why, size_t size);
/* Replaces the handle table with saved words (checked against the component's
 * types: WISP_ERR_MALFORMED when they do not fit). */
int wisp__cinst_handles_load(wisp__cinst_t *inst, const uint32_t *words, size_t nwords);

/* Called when an exported function's guest code (wisp__cinst_call) runs out of
 * fuel: return true after giving the exec more fuel (wisp_exec_set_fuel) to
 * continue, false to end the call with an "out of fuel" trap. Without a hook
 * running out of fuel ends the call. (wisp run slices fuel this way to check its
 * --timeout.) Nested guest calls (realloc, post-return) are not continued. */
typedef bool (*wisp__cinst_fuel_fn_t)(void *env, wisp_exec_t *exec);
void wisp__cinst_set_fuel_hook(wisp__cinst_t *inst, wisp__cinst_fuel_fn_t fn, void *env);

/* An exported function: `instance` names an exported instance (semver-matched)
 * and `name` its function; instance NULL for a function exported directly. */
wisp__cfunc_t *wisp__cinst_func(wisp__cinst_t *inst, const char *instance, const char *name);
/* The function's type (a pool id of the component). */
uint32_t wisp__cfunc_type(const wisp__cfunc_t *f);

/* Calls exported function `f`: lowers `args` into the guest, runs it, lifts the
 * results into `results` (their values allocated from `arena`), then runs
 * post-return. 0, or -1 with the reason (a trap message) in `trap`. */
int wisp__cinst_call(wisp__cinst_t *inst, wisp__cfunc_t *f, const wisp__cval_t *args, uint32_t nargs,
                     wisp__cval_t *results, uint32_t nresults, wisp__arena_t *arena, char *trap,
                     size_t trap_size);

/* The host drops an owned handle of a resource type the component defines
 * (own<R> of such a resource reaches the host as R's representation, the i32 the
 * guest gave resource.new): runs R's destructor, if it has one, on the instance's
 * exec. `resource` is R's pool id (ctype(own type)->a). 0, or -1 with `trap`. */
int wisp__cinst_resource_drop(wisp__cinst_t *inst, uint32_t resource, uint32_t rep, char *trap, size_t trap_size);

#endif
