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
 * a resource the component defines reaches the host as its representation),
 * resumable calls: a guest paused when its fuel slice ends or when a host
 * function it called waits (wisp__cinst_call_start). Not yet: calls from one
 * component's lift into another's lower.
 *
 * The canonical ABI's rules on handles and calls (CanonicalABI.md), each a trap:
 * unknown handle or one of another resource type; a borrowed handle passed as
 * own; an own handle given away or dropped while lent (passed as borrow to the
 * host call in progress); a borrow the host lent to an export still in the table
 * when the export returns; a call into an instance that is already in a call
 * (wisp__cinst_call while its guest calls out, or while one is paused:
 * reentrance); an import called
 * from the guest's realloc or post-return (may_leave). Tested by
 * tests/component/valtypes (docs/component-model.md).
 */
#ifndef WISP_CINST_H
#define WISP_CINST_H

#include "cabi.h"

/* A host implementation of a component function. `args` are lifted already
 * (nargs = the function type's parameters); fill `results` (nresults, their
 * .type preset) with values allocated from cx->arena when they need memory.
 * Return 0, or -1 after writing cx->trap, or WISP__CHOST_BLOCKED after filling
 * in wisp__chost_wait(cx) (see "host functions that wait" below). */
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
 * instance borrows c, store and exec. Deleting it aborts a paused call (the
 * exec must still exist then). */
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
/* ---- imports resolved once, host tables shared by many instances ----
 *
 * A server instantiates the same component for every request with the same
 * host functions; only their state (the request's wasi2 and wasi:http hosts)
 * differs. Two things keep that cheap without sharing any state:
 *   - env slots: a host function whose `env` is WISP__CHOST_ENV_SLOT(k) gets
 *     the env bound to slot k of the instance it is called from (the `envs`
 *     given at instantiation), so one table of host functions, built once,
 *     serves every instance, each calling into its own host state;
 *   - a prepared link (wisp__cprep_new): the component's imports resolved
 *     against a host table once (names matched, link errors found), which
 *     instantiation then uses instead of matching names again.
 * Functions with an ordinary env work as before; a slot env with no env bound
 * to that slot is a link error at instantiation. */
#define WISP__CHOST_ENV_SLOTS 4
extern char wisp__chost_env_slots[WISP__CHOST_ENV_SLOTS];
#define WISP__CHOST_ENV_SLOT(k) ((void *)&wisp__chost_env_slots[(k)])

typedef struct wisp__cprep wisp__cprep_t;
/* Resolves c's imports against `host` (count entries; both borrowed, must
 * outlive the prep and every instance made with it). 0 and *out, or a
 * negative code with *err (WISP_ERR_LINK names the import). */
int wisp__cprep_new(const wisp_component_t *c, const wisp__chost_func_t *host, size_t count, wisp__cprep_t **out,
                    wisp_error_t *err);
void wisp__cprep_delete(wisp__cprep_t *prep);
const wisp_component_t *wisp__cprep_component(const wisp__cprep_t *prep);
/* wisp__cinst_new_hooked with the imports of `prep` and `nenvs` (at most
 * WISP__CHOST_ENV_SLOTS) envs for the slot-env host functions (copied). */
int wisp__cinst_new_prepared(const wisp__cprep_t *prep, wisp_store_t *store, wisp_exec_t *exec, void *const *envs,
                             uint32_t nenvs, wisp__cinst_core_fn_t core_fn, void *core_env, wisp__cinst_t **out,
                             wisp_error_t *err);
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

/* ---- host functions that wait ----
 *
 * A host function that cannot finish yet (nothing to read, a timer not due, a
 * body that has not arrived) does not block the thread itself: it fills in
 * its call's wait record (wisp__chost_wait) and returns WISP__CHOST_BLOCKED.
 * What happens then depends on how the guest was called:
 *   - inside a resumable call (wisp__cinst_call_start), when the host call
 *     comes straight from the guest's exported function, the guest is paused
 *     and the call returns WISP__CCALL_BLOCKED with the record at
 *     wisp__cinst_call_wait; wisp__cinst_call_resume retries the host
 *     function later;
 *   - everywhere else (wisp__cinst_call, start functions during
 *     instantiation, a host call made while cinst runs the guest's realloc,
 *     post-return or a destructor) cinst waits on the thread: poll(2) on
 *     `fd` for `events` until `wake_ns`, or a sleep until `wake_ns`, then
 *     retries. A record naming neither (only a token) cannot be waited for
 *     here: the call traps.
 * The retry contract: the host function is called again with the same
 * lifted arguments (own handles among them were taken from the guest once,
 * at the first attempt), the same cx->arena (what it allocated before stays
 * allocated: allocate big buffers only once it is sure not to block again),
 * and its results reset (.type preset, nothing else). Before blocking it must
 * have had no effect the guest could see, except progress it records in
 * `wait->progress` (zero at the first attempt, kept across the retries of one
 * call: e.g. how many bytes of a blocking-write-and-flush went out). fd,
 * events, wake_ns and token are reset before each attempt. Retrying early,
 * before the thing waited for is ready, is allowed: the function blocks again.
 * Deadlines are the host function's business: it traps instead of blocking
 * once its deadline has passed, and puts the deadline in wake_ns so that it is
 * retried then at the latest. */
#define WISP__CHOST_BLOCKED 1

typedef struct wisp__cwait {
  int fd;            /* a host descriptor the call waits on, or -1 */
  short events;      /* poll(2) events for fd: POLLIN, POLLOUT */
  int64_t wake_ns;   /* CLOCK_MONOTONIC time to retry at, at the latest (a timer, a
                      * deadline), or -1 for no time */
  void *token;       /* anything else it waits for, meaningful to whoever implements
                      * the host function and resumes the call (e.g. a request body
                      * stream), or NULL */
  uint64_t progress; /* the host function's own, see above */
} wisp__cwait_t;

/* Inside a host function called by cinst: the call's wait record (never NULL
 * for a host function called through a canon lower trampoline; NULL for
 * [resource-drop] functions, which cannot block). */
wisp__cwait_t *wisp__chost_wait(wisp__cabi_t *cx);

/* ---- calling an exported function ---- */

/* Called when an exported function's guest code (wisp__cinst_call) runs out of
 * fuel: return true after giving the exec more fuel (wisp_exec_set_fuel) to
 * continue, false to end the call with an "out of fuel" trap. Without a hook
 * running out of fuel ends the call. (wisp run slices fuel this way to check its
 * --timeout.) Nested guest calls (realloc, destructors) cannot be paused: when
 * less than 100,000 fuel is left, cinst lends them that much and takes it back
 * from what is left after (down to 0), in both kinds of call. */
typedef bool (*wisp__cinst_fuel_fn_t)(void *env, wisp_exec_t *exec);
void wisp__cinst_set_fuel_hook(wisp__cinst_t *inst, wisp__cinst_fuel_fn_t fn, void *env);

/* An exported function: `instance` names an exported instance (semver-matched)
 * and `name` its function; instance NULL for a function exported directly. */
wisp__cfunc_t *wisp__cinst_func(wisp__cinst_t *inst, const char *instance, const char *name);
/* The function's type (a pool id of the component). */
uint32_t wisp__cfunc_type(const wisp__cfunc_t *f);

/* Calls exported function `f` to completion: lowers `args` into the guest,
 * runs it, lifts the results into `results` (their values allocated from
 * `arena`), then runs post-return. Host functions that block are waited for on
 * this thread; running out of fuel asks the fuel hook. 0, or -1 with the reason
 * (a trap message) in `trap`. Built on the resumable call below. */
int wisp__cinst_call(wisp__cinst_t *inst, wisp__cfunc_t *f, const wisp__cval_t *args, uint32_t nargs,
                     wisp__cval_t *results, uint32_t nresults, wisp__arena_t *arena, char *trap,
                     size_t trap_size);

/* ---- resumable calls ----
 *
 * A call into a component that can pause and be continued later on the same
 * thread, so that one thread can run many guests (the server's executor):
 *
 *   st = wisp__cinst_call_start(inst, f, args, n, results, nres, arena, trap, size);
 *   while (st == WISP__CCALL_OUT_OF_FUEL || st == WISP__CCALL_BLOCKED) {
 *     if (st == WISP__CCALL_OUT_OF_FUEL) ...run others; wisp_exec_set_fuel(exec, slice);
 *     else { const wisp__cwait_t *w = wisp__cinst_call_wait(inst);
 *            ...run others until w->fd is ready, w->wake_ns passes or w->token
 *            is signalled by its owner... }
 *     st = wisp__cinst_call_resume(inst);      (or wisp__cinst_call_abort(inst))
 *   }
 *   DONE: results are lifted; TRAPPED: the message is in trap.
 *
 * Statuses:
 *   DONE         the function returned; `results` hold its lifted results (in
 *                `arena`) and post-return has run. The call is over.
 *   TRAPPED      the call ended with a trap (also: a host function trapped, a
 *                deadline passed, wasi:cli/exit); `trap` says why. Over.
 *   OUT_OF_FUEL  the exec's fuel ran out in the guest (in the function or in
 *                post-return). Set more fuel and resume, or abort.
 *   BLOCKED      a host function the guest called returned WISP__CHOST_BLOCKED;
 *                wisp__cinst_call_wait names what it waits for. Resume when
 *                that is ready (early is harmless: it blocks again), or abort.
 * While a call is paused (OUT_OF_FUEL, BLOCKED) `results`, `arena` and `trap`
 * must stay valid; the store and exec may be used for nothing else but other
 * stores and execs may run (one thread at a time per store). A new call into
 * the instance while one is in progress (paused, or from a host function
 * called by the guest: reentrance) is refused with TRAPPED and leaves the
 * paused call alone. A host function's results are lowered when it completes,
 * inside the resumed call, so realloc runs then as a nested guest call; a
 * paused call holds the blocked host call's lifted arguments (freed when it
 * completes or is aborted). After TRAPPED or an abort the guest's own state
 * (its heap, its stack pointer) may be inconsistent: a server discards the
 * instance. */
typedef enum wisp__ccall_status {
  WISP__CCALL_DONE = 0,
  WISP__CCALL_TRAPPED = 1,
  WISP__CCALL_OUT_OF_FUEL = 2,
  WISP__CCALL_BLOCKED = 3,
} wisp__ccall_status_t;

/* Starts a call of `f` (arguments as wisp__cinst_call) and runs it until it
 * finishes or pauses. `args` are read during this call only. The fuel hook is
 * not used: OUT_OF_FUEL is returned instead. */
wisp__ccall_status_t wisp__cinst_call_start(wisp__cinst_t *inst, wisp__cfunc_t *f, const wisp__cval_t *args,
                                            uint32_t nargs, wisp__cval_t *results, uint32_t nresults,
                                            wisp__arena_t *arena, char *trap, size_t trap_size);
/* Continues a paused call: after OUT_OF_FUEL it continues the guest with the
 * exec's fuel (set it first); after BLOCKED it calls the blocked host function
 * again (which completes, or blocks again: BLOCKED with a new wait record).
 * Without a paused call: TRAPPED, "no call to resume" in the trap buffer of
 * the last call (if any). */
wisp__ccall_status_t wisp__cinst_call_resume(wisp__cinst_t *inst);
/* Ends a paused call: the exec is aborted, lent borrows are dropped, the
 * blocked host call's arguments are freed; the call's trap buffer says
 * "call: aborted". No-op without a paused call. */
void wisp__cinst_call_abort(wisp__cinst_t *inst);
/* While the call is BLOCKED: what the host function waits for (borrowed from
 * the instance, valid until the next resume or abort); otherwise NULL. */
const wisp__cwait_t *wisp__cinst_call_wait(const wisp__cinst_t *inst);
/* True while a call is paused (OUT_OF_FUEL or BLOCKED). */
bool wisp__cinst_call_paused(const wisp__cinst_t *inst);

/* The host drops an owned handle of a resource type the component defines
 * (own<R> of such a resource reaches the host as R's representation, the i32 the
 * guest gave resource.new): runs R's destructor, if it has one, on the instance's
 * exec. `resource` is R's pool id (ctype(own type)->a). 0, or -1 with `trap`. */
int wisp__cinst_resource_drop(wisp__cinst_t *inst, uint32_t resource, uint32_t rep, char *trap, size_t trap_size);

#endif
