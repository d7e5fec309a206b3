/*
 * interp.c: the interpreter loop and the exec API (call, resume, fuel, abort).
 *
 * Threaded code with computed-goto dispatch: each instruction's first word is
 * the offset of its handler from `op_base` (iops.h documents every operand
 * layout). Guest calls never recurse in C: a call pushes a wisp__frame_t on
 * the exec's explicit call stack and switches fp/ip; a return pops it. So the
 * loop can leave at any host call (suspend) or fuel check (out of fuel) with
 * all state in the exec, and be re-entered later at the saved ip.
 *
 * Loads and stores do no bounds check: linear memory is reserved with guard
 * pages (engine.h), and a fault there jumps back here (signals.c) to become an
 * "out of bounds memory access" trap. Before each access the current ip is
 * stored in exec->fault_ip so the trap's backtrace names the instruction.
 */
#include <math.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "iops.h"

_Thread_local wisp_exec_t *wisp__running_exec;


struct wisp_call {
  wisp_exec_t *exec;
  wisp_func_t *func;        /* the host function */
  wisp_instance_t *caller;  /* instance of the calling guest function, or NULL */
  wisp_trap_t *trap;
};

/* ---- numeric helpers ---------------------------------------------------- */

static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static inline float f32_min(float a, float b) {
  if (isnan(a) || isnan(b)) return a + b;
  if (a == b) return signbit(a) ? a : b;
  return a < b ? a : b;
}
static inline float f32_max(float a, float b) {
  if (isnan(a) || isnan(b)) return a + b;
  if (a == b) return signbit(a) ? b : a;
  return a > b ? a : b;
}
static inline double f64_min(double a, double b) {
  if (isnan(a) || isnan(b)) return a + b;
  if (a == b) return signbit(a) ? a : b;
  return a < b ? a : b;
}
static inline double f64_max(double a, double b) {
  if (isnan(a) || isnan(b)) return a + b;
  if (a == b) return signbit(a) ? b : a;
  return a > b ? a : b;
}

/* Rounding functions may return a signalling NaN operand unchanged; wasm
 * requires an arithmetic (quiet) NaN result. */
static inline float quiet_f32(float (*fn)(float), float x) { return isnan(x) ? x + x : fn(x); }
static inline double quiet_f64(double (*fn)(double), double x) { return isnan(x) ? x + x : fn(x); }

static inline uint32_t rotl32(uint32_t x, uint32_t n) { n &= 31; return (x << n) | (x >> ((32 - n) & 31)); }
static inline uint32_t rotr32(uint32_t x, uint32_t n) { n &= 31; return (x >> n) | (x << ((32 - n) & 31)); }
static inline uint64_t rotl64(uint64_t x, uint64_t n) { n &= 63; return (x << n) | (x >> ((64 - n) & 63)); }
static inline uint64_t rotr64(uint64_t x, uint64_t n) { n &= 63; return (x >> n) | (x << ((64 - n) & 63)); }

/* Saturating truncations (trunc_sat): NaN -> 0, out of range -> the bound. */
static inline int32_t sat_i32(double x) {
  if (isnan(x)) return 0;
  if (x <= -2147483649.0) return INT32_MIN;
  if (x >= 2147483648.0) return INT32_MAX;
  return (int32_t)x;
}
static inline uint32_t sat_u32(double x) {
  if (isnan(x) || x <= -1.0) return 0;
  if (x >= 4294967296.0) return UINT32_MAX;
  return (uint32_t)x;
}
static inline int64_t sat_i64(double x) {
  if (isnan(x)) return 0;
  if (x < -9223372036854775808.0) return INT64_MIN;
  if (x >= 9223372036854775808.0) return INT64_MAX;
  return (int64_t)x;
}
static inline uint64_t sat_u64(double x) {
  if (isnan(x) || x <= -1.0) return 0;
  if (x >= 18446744073709551616.0) return UINT64_MAX;
  return (uint64_t)x;
}

/* ---- host calls --------------------------------------------------------- */

static wisp_host_status_t call_host(wisp_exec_t *exec, wisp_func_t *f, wisp_instance_t *caller,
                                    wisp__cell_t *slots, wisp_trap_t **trap) {
  wisp_val_t small_args[16], small_results[16];
  wisp_val_t *args = f->nparams <= 16 ? small_args : malloc(f->nparams * sizeof(wisp_val_t));
  wisp_val_t *results = f->nresults <= 16 ? small_results : malloc(f->nresults * sizeof(wisp_val_t));
  wisp_host_status_t st;
  if (!args || !results) {
    *trap = wisp__trap_new(WISP_TRAP_OOM, "out of memory calling a host function");
    st = WISP_HOST_TRAP;
    goto done;
  }
  for (uint32_t i = 0; i < f->nparams; i++) wisp__cell_to_val(f->types[i], &slots[i], &args[i]);
  for (uint32_t i = 0; i < f->nresults; i++) {
    memset(&results[i], 0, sizeof results[i]);
    results[i].kind = f->types[f->nparams + i];
  }
  wisp_call_t call = {exec, f, caller, NULL};
  st = f->host(&call, f->env, args, results);
  if (st == WISP_HOST_OK) {
    for (uint32_t i = 0; i < f->nresults; i++) wisp__val_to_cell(&results[i], &slots[i]);
  } else if (st == WISP_HOST_TRAP) {
    *trap = call.trap ? call.trap : wisp__trap_new(WISP_TRAP_HOST, "host function trapped");
  } else if (st != WISP_HOST_SUSPEND) {
    wisp_trap_delete(call.trap);
    *trap = wisp__trap_new(WISP_TRAP_HOST, "host function returned an invalid status");
    st = WISP_HOST_TRAP;
  }
done:
  if (args != small_args) free(args);
  if (results != small_results) free(results);
  return st;
}

wisp_store_t *wisp_call_store(wisp_call_t *call) { return call->exec->store; }
wisp_exec_t *wisp_call_exec(wisp_call_t *call) { return call->exec; }

wisp_memory_t *wisp_call_memory(wisp_call_t *call, uint32_t index) {
  if (!call->caller || index >= call->caller->module->nmemories) return NULL;
  return call->caller->memories[index];
}

wisp_host_status_t wisp_call_trap(wisp_call_t *call, const char *message) {
  wisp_trap_delete(call->trap);
  call->trap = wisp__trap_new(WISP_TRAP_HOST, message);
  return WISP_HOST_TRAP;
}

wisp_host_status_t wisp_call_exit(wisp_call_t *call, int code) {
  char msg[64];
  snprintf(msg, sizeof msg, "exit with code %d", code);
  wisp_trap_delete(call->trap);
  call->trap = wisp__trap_new(WISP_TRAP_EXIT, msg);
  wisp__trap_set_exit(call->trap, code);
  return WISP_HOST_TRAP;
}

/* ---- code ----------------------------------------------------------------*/

/* The function's translated code, translating it on first use. Concurrent
 * first calls from two threads may both translate; one result wins. */
static wisp__code_t *func_code(wisp_func_t *f) {
  wisp__code_t *code = atomic_load_explicit(&f->def->code, memory_order_acquire);
  if (code) return code;
  code = wisp__translate(f->inst->module, f->index);
  if (!code) return NULL;
  wisp__code_t *expected = NULL;
  if (!atomic_compare_exchange_strong(&f->def->code, &expected, code)) {
    wisp__code_free(code);
    return expected;
  }
  return code;
}

/* The one-instruction code an entry frame returns to. */
static uint32_t exit_code[1];

/* Builds the trap's backtrace from the live function/ip and the frame records
 * from `frame` down to `base`. */
static void add_backtrace(wisp_trap_t *trap, wisp_func_t *func, const uint32_t *ip, wisp__frame_t *frame,
                          wisp__frame_t *base) {
  for (;;) {
    if (func && func->def && func->def->code && ip) {
      const wisp__code_t *code = func->def->code;
      uint32_t pos = (uint32_t)(ip - code->words);
      if (ip < code->words || pos >= code->nwords) pos = 0;
      wisp__trap_add_frame(trap, func->index, wisp_module_func_name(func->inst->module, func->index),
                           wisp__code_offset(code, pos));
    }
    if (frame <= base) break;
    frame--;
    func = frame->func;
    ip = frame->ret_ip - 1;
  }
}

/* ---- the interpreter loop ----------------------------------------------- */

static const int32_t *handler_table;

#define UNLIKELY(x) __builtin_expect(!!(x), 0)

static __attribute__((noinline)) wisp_status_t interp_loop(wisp_exec_t *exec) {
  static const int32_t offsets[WISP_IOP_COUNT] = {
#define WISP__LABEL_OFFSET(name) [WISP_IOP_##name] = &&L_##name - &&op_base,
      WISP_IOPS(WISP__LABEL_OFFSET)
#undef WISP__LABEL_OFFSET
  };
  if (!exec) {
    handler_table = offsets;
    return WISP_DONE;
  }

  const uint32_t *ip = exec->ip;
  wisp__cell_t *fp = exec->fp;
  wisp__frame_t *frame = exec->frame;
  wisp_func_t *func = exec->func;
  wisp_instance_t *inst = func ? func->inst : NULL;
  wisp_memory_t *memory = inst && inst->module->nmemories ? inst->memories[0] : NULL;
  uint8_t *mem = memory ? memory->base : NULL;
  uint64_t mem_limit = memory ? memory->reserve - WISP__PAGE : 0; /* see engine.h */
  int64_t fuel = exec->fuel;
  int64_t fuel_start = fuel;
  wisp__frame_t *frame_base = exec->run_frames;

  /* callee setup shared by CALL and CALL_INDIRECT */
  wisp_func_t *callee;
  wisp__cell_t *nfp;
  uint32_t call_len;
  /* trap reporting */
  wisp_trap_kind_t trap_kind = WISP_TRAP_UNREACHABLE;
  const char *trap_msg = NULL;
  char trap_buf[64];
  wisp_trap_t *trap = NULL;

  exec->mem_base = mem;
  exec->mem_reserve = memory ? memory->reserve : 0;
  exec->in_guest = true;

#define S(n) fp[ip[n]]
#define DISPATCH() goto *(void *)((char *)&&op_base + (int32_t)*ip)
#define NEXT(len) do { ip += (len); DISPATCH(); } while (0)
#define TRAP(kind, msg) do { trap_kind = (kind); trap_msg = (msg); goto do_trap; } while (0)
#define SYNC_CALL_STATE() do { exec->frame = frame; exec->func = func; } while (0)
#define SWITCH_INSTANCE(to) do { \
    inst = (to); \
    memory = inst->module->nmemories ? inst->memories[0] : NULL; \
    mem = memory ? memory->base : NULL; \
    mem_limit = memory ? memory->reserve - WISP__PAGE : 0; \
    exec->mem_base = mem; \
    exec->mem_reserve = memory ? memory->reserve : 0; \
  } while (0)
#define EA(a, off) (mem + (uint64_t)fp[a].u32 + (uint64_t)(off))
/* Results are written as whole 64-bit cells: a 32-bit store followed by a
 * 64-bit load of the same cell (a MOV) defeats store-to-load forwarding. */
/* EA_CHECK: the explicit bound of a memory in a small pool slot (engine.h). */
#define EA_CHECK(a, off) do { exec->fault_ip = ip; \
    if (UNLIKELY((uint64_t)fp[a].u32 + (uint64_t)(off) >= mem_limit)) goto oob_trap; } while (0)
#define LOAD(T, CT) do { CT v_; EA_CHECK(ip[2], ip[3]); memcpy(&v_, EA(ip[2], ip[3]), sizeof v_); \
    S(1).u64 = (uint64_t)(T)v_; NEXT(4); } while (0)
#define STORE(CT, field) do { CT v_ = (CT)S(2).field; EA_CHECK(ip[1], ip[3]); \
    memcpy(EA(ip[1], ip[3]), &v_, sizeof v_); NEXT(4); } while (0)
/* Fuel: a region runs when any budget is left, and is charged in full (the
 * budget may end below zero, by at most one region). So every slice, however
 * small, makes progress; the guest stops at the first check that finds the
 * budget used up, with nothing charged for the region it did not enter.
 *
 * Jumps by the offset in word k. A backward jump is a loop back-edge: it lands
 * just past the loop's FUEL instruction and charges that region itself (the
 * FUEL word's immediate is at ip[-1]), saving a dispatch per iteration. When
 * the fuel is used up, ip is left at the FUEL instruction. */
#define JUMP(k) do { \
    int32_t off_ = (int32_t)ip[k]; \
    ip += (k) + off_; \
    if (off_ < 0) { \
      if (UNLIKELY(fuel <= 0)) { ip -= 2; goto out_of_fuel; } \
      fuel -= ip[-1]; \
    } \
    DISPATCH(); \
  } while (0)
#define BR_CMP_IMM(T, op) do { if ((T)S(1).u32 op (T)ip[2]) JUMP(3); NEXT(4); } while (0)
#define BR_CMP(T, op) do { if ((T)S(1).u32 op (T)S(2).u32) JUMP(3); NEXT(4); } while (0)

  DISPATCH();

op_base:
L_UNREACHABLE: TRAP(WISP_TRAP_UNREACHABLE, "unreachable");
L_FUEL:
  if (UNLIKELY(fuel <= 0)) {
  out_of_fuel:
    exec->ip = ip;
    exec->fp = fp;
    SYNC_CALL_STATE();
    exec->status = WISP_OUT_OF_FUEL;
    goto leave;
  }
  fuel -= ip[1];
  NEXT(2);
L_BR: JUMP(1);
L_BR_NZ: if (S(1).i32) JUMP(2); NEXT(3);
L_BR_Z: if (!S(1).i32) JUMP(2); NEXT(3);
L_BR_TABLE: {
  uint32_t i = S(1).u32, n = ip[2];
  if (i > n) i = n;
  ip += 3 + i + (int32_t)ip[3 + i];
  DISPATCH();
}
L_BR_I32_EQ: BR_CMP(uint32_t, ==);
L_BR_I32_NE: BR_CMP(uint32_t, !=);
L_BR_I32_LT_S: BR_CMP(int32_t, <);
L_BR_I32_LT_U: BR_CMP(uint32_t, <);
L_BR_I32_GT_S: BR_CMP(int32_t, >);
L_BR_I32_GT_U: BR_CMP(uint32_t, >);
L_BR_I32_LE_S: BR_CMP(int32_t, <=);
L_BR_I32_LE_U: BR_CMP(uint32_t, <=);
L_BR_I32_GE_S: BR_CMP(int32_t, >=);
L_BR_I32_GE_U: BR_CMP(uint32_t, >=);
L_RET1:
  fp[0] = S(1);
  /* fall through */
L_RET:
  frame--;
  ip = frame->ret_ip;
  fp = frame->fp;
  func = frame->func;
  if (func && func->inst != inst) SWITCH_INSTANCE(func->inst);
  SYNC_CALL_STATE();
  DISPATCH();
L_EXIT:
  exec->fp = fp;
  exec->frame = frame;
  exec->status = WISP_DONE;
  goto leave;
L_CALL:
  callee = inst->funcs[ip[1]];
  nfp = fp + ip[2];
  call_len = 3;
  goto do_call;
L_CALL_INDIRECT: {
  wisp_table_t *table = inst->tables[ip[2]];
  uint32_t i = S(3).u32;
  if (UNLIKELY(i >= table->size)) TRAP(WISP_TRAP_TABLE_OOB, "undefined element");
  callee = table->elems[i];
  if (UNLIKELY(!callee)) {
    snprintf(trap_buf, sizeof trap_buf, "uninitialized element %u", i);
    TRAP(WISP_TRAP_INDIRECT_NULL, trap_buf);
  }
  if (UNLIKELY(callee->canon != ip[1])) TRAP(WISP_TRAP_INDIRECT_TYPE, "indirect call type mismatch");
  nfp = fp + ip[4];
  call_len = 5;
  goto do_call;
}
L_BR_I32_EQ_IMM: BR_CMP_IMM(uint32_t, ==);
L_BR_I32_NE_IMM: BR_CMP_IMM(uint32_t, !=);
L_BR_I32_LT_S_IMM: BR_CMP_IMM(int32_t, <);
L_BR_I32_LT_U_IMM: BR_CMP_IMM(uint32_t, <);
L_BR_I32_GT_S_IMM: BR_CMP_IMM(int32_t, >);
L_BR_I32_GT_U_IMM: BR_CMP_IMM(uint32_t, >);
L_BR_I32_LE_S_IMM: BR_CMP_IMM(int32_t, <=);
L_BR_I32_LE_U_IMM: BR_CMP_IMM(uint32_t, <=);
L_BR_I32_GE_S_IMM: BR_CMP_IMM(int32_t, >=);
L_BR_I32_GE_U_IMM: BR_CMP_IMM(uint32_t, >=);
L_I32_EQ_IMM: S(1).u64 = S(2).u32 == ip[3]; NEXT(4);
L_I32_NE_IMM: S(1).u64 = S(2).u32 != ip[3]; NEXT(4);
L_I32_LT_S_IMM: S(1).u64 = S(2).i32 < (int32_t)ip[3]; NEXT(4);
L_I32_LT_U_IMM: S(1).u64 = S(2).u32 < ip[3]; NEXT(4);
L_I32_GT_S_IMM: S(1).u64 = S(2).i32 > (int32_t)ip[3]; NEXT(4);
L_I32_GT_U_IMM: S(1).u64 = S(2).u32 > ip[3]; NEXT(4);
L_I32_LE_S_IMM: S(1).u64 = S(2).i32 <= (int32_t)ip[3]; NEXT(4);
L_I32_LE_U_IMM: S(1).u64 = S(2).u32 <= ip[3]; NEXT(4);
L_I32_GE_S_IMM: S(1).u64 = S(2).i32 >= (int32_t)ip[3]; NEXT(4);
L_I32_GE_U_IMM: S(1).u64 = S(2).u32 >= ip[3]; NEXT(4);
L_I32_AND_IMM: S(1).u64 = S(2).u32 & ip[3]; NEXT(4);
L_I32_OR_IMM: S(1).u64 = S(2).u32 | ip[3]; NEXT(4);
L_I32_XOR_IMM: S(1).u64 = S(2).u32 ^ ip[3]; NEXT(4);
L_I32_SHL_IMM: S(1).u64 = (uint32_t)(S(2).u32 << (ip[3] & 31)); NEXT(4);
L_I32_SHR_S_IMM: S(1).u64 = (uint32_t)(S(2).i32 >> (ip[3] & 31)); NEXT(4);
L_I32_SHR_U_IMM: S(1).u64 = S(2).u32 >> (ip[3] & 31); NEXT(4);
L_I32_MUL_IMM: S(1).u64 = (uint32_t)(S(2).u32 * ip[3]); NEXT(4);
L_MOV: S(1) = S(2); NEXT(3);
L_CONST32: S(1).u64 = (uint32_t)(ip[2]); NEXT(3);
L_CONST64: S(1).u64 = (uint64_t)ip[3] << 32 | ip[2]; NEXT(4);
L_SELECT: S(1) = S(4).i32 ? S(2) : S(3); NEXT(5);
L_GLOBAL_GET: S(1) = inst->globals[ip[2]]->val; NEXT(3);
L_GLOBAL_SET: inst->globals[ip[1]]->val = S(2); NEXT(3);
L_TABLE_GET: {
  wisp_table_t *table = inst->tables[ip[2]];
  uint32_t i = S(3).u32;
  if (UNLIKELY(i >= table->size)) TRAP(WISP_TRAP_TABLE_OOB, "out of bounds table access");
  S(1).ref = table->elems[i];
  NEXT(4);
}
L_TABLE_SET: {
  wisp_table_t *table = inst->tables[ip[1]];
  uint32_t i = S(2).u32;
  if (UNLIKELY(i >= table->size)) TRAP(WISP_TRAP_TABLE_OOB, "out of bounds table access");
  table->elems[i] = S(3).ref;
  NEXT(4);
}
L_TABLE_SIZE: S(1).u64 = (uint32_t)(inst->tables[ip[2]]->size); NEXT(3);
L_TABLE_GROW: {
  uint32_t old;
  int rc = wisp__table_grow(inst->tables[ip[2]], S(4).u32, S(3).ref, &old);
  S(1).u64 = (uint32_t)(rc == 0 ? (int32_t)old : -1);
  NEXT(5);
}
L_TABLE_FILL: {
  wisp_table_t *table = inst->tables[ip[1]];
  uint32_t i = S(2).u32, n = S(4).u32;
  void *v = S(3).ref;
  if (UNLIKELY((uint64_t)i + n > table->size)) TRAP(WISP_TRAP_TABLE_OOB, "out of bounds table access");
  for (uint32_t k = 0; k < n; k++) table->elems[i + k] = v;
  NEXT(5);
}
L_TABLE_COPY: {
  wisp_table_t *dt = inst->tables[ip[1]], *st = inst->tables[ip[2]];
  uint32_t d = S(3).u32, s = S(4).u32, n = S(5).u32;
  if (UNLIKELY((uint64_t)d + n > dt->size || (uint64_t)s + n > st->size))
    TRAP(WISP_TRAP_TABLE_OOB, "out of bounds table access");
  memmove(dt->elems + d, st->elems + s, (size_t)n * sizeof(void *));
  NEXT(6);
}
L_TABLE_INIT: {
  wisp_table_t *table = inst->tables[ip[1]];
  const wisp__elem_t *seg = &inst->module->elems[ip[2]];
  uint32_t d = S(3).u32, s = S(4).u32, n = S(5).u32;
  uint32_t len = inst->elem_dropped[ip[2]] ? 0 : seg->count;
  if (UNLIKELY((uint64_t)s + n > len || (uint64_t)d + n > table->size))
    TRAP(WISP_TRAP_TABLE_OOB, "out of bounds table access");
  for (uint32_t k = 0; k < n; k++) {
    wisp__cell_t v;
    wisp__eval_const(inst, &seg->items[s + k], &v);
    table->elems[d + k] = v.ref;
  }
  NEXT(6);
}
L_ELEM_DROP: inst->elem_dropped[ip[1]] = 1; NEXT(2);
L_REF_IS_NULL: S(1).u64 = S(2).ref == NULL; NEXT(3);
L_REF_FUNC: S(1).ref = inst->funcs[ip[2]]; NEXT(3);
L_MEMORY_SIZE: S(1).u64 = (uint32_t)((uint32_t)(memory->size / WISP__PAGE)); NEXT(2);
L_MEMORY_GROW: {
  uint64_t old;
  S(1).u64 = (uint32_t)(wisp__memory_grow(memory, S(2).u32, &old) == 0 ? (int32_t)old : -1);
  NEXT(3);
}
L_MEMORY_FILL: {
  uint32_t d = S(1).u32, n = S(3).u32;
  if (UNLIKELY((uint64_t)d + n > memory->size)) TRAP(WISP_TRAP_MEMORY_OOB, "out of bounds memory access");
  memset(mem + d, S(2).u32 & 0xFF, n);
  NEXT(4);
}
L_MEMORY_COPY: {
  uint32_t d = S(1).u32, s = S(2).u32, n = S(3).u32;
  if (UNLIKELY((uint64_t)d + n > memory->size || (uint64_t)s + n > memory->size))
    TRAP(WISP_TRAP_MEMORY_OOB, "out of bounds memory access");
  memmove(mem + d, mem + s, n);
  NEXT(4);
}
L_MEMORY_INIT: {
  const wisp__data_t *seg = &inst->module->datas[ip[1]];
  uint32_t d = S(2).u32, s = S(3).u32, n = S(4).u32;
  uint32_t len = inst->data_dropped[ip[1]] ? 0 : seg->len;
  if (UNLIKELY((uint64_t)s + n > len || (uint64_t)d + n > memory->size))
    TRAP(WISP_TRAP_MEMORY_OOB, "out of bounds memory access");
  if (n) memcpy(mem + d, seg->bytes + s, n);
  NEXT(5);
}
L_DATA_DROP: inst->data_dropped[ip[1]] = 1; NEXT(2);
L_I32_ADD_IMM: S(1).u64 = (uint32_t)(S(2).u32 + ip[3]); NEXT(4);
L_I64_ADD_IMM: S(1).u64 = S(2).u64 + (uint64_t)(int64_t)(int32_t)ip[3]; NEXT(4);

L_I32_LOAD: LOAD(uint32_t, uint32_t);
L_I64_LOAD: LOAD(uint64_t, uint64_t);
L_F32_LOAD: LOAD(uint32_t, uint32_t);
L_F64_LOAD: LOAD(uint64_t, uint64_t);
L_I32_LOAD8_S: LOAD(uint32_t, int8_t);
L_I32_LOAD8_U: LOAD(uint32_t, uint8_t);
L_I32_LOAD16_S: LOAD(uint32_t, int16_t);
L_I32_LOAD16_U: LOAD(uint32_t, uint16_t);
L_I64_LOAD8_S: LOAD(int64_t, int8_t);
L_I64_LOAD8_U: LOAD(uint64_t, uint8_t);
L_I64_LOAD16_S: LOAD(int64_t, int16_t);
L_I64_LOAD16_U: LOAD(uint64_t, uint16_t);
L_I64_LOAD32_S: LOAD(int64_t, int32_t);
L_I64_LOAD32_U: LOAD(uint64_t, uint32_t);
L_I32_STORE: STORE(uint32_t, u32);
L_I64_STORE: STORE(uint64_t, u64);
L_F32_STORE: STORE(uint32_t, u32);
L_F64_STORE: STORE(uint64_t, u64);
L_I32_STORE8: STORE(uint8_t, u32);
L_I32_STORE16: STORE(uint16_t, u32);
L_I64_STORE8: STORE(uint8_t, u64);
L_I64_STORE16: STORE(uint16_t, u64);
L_I64_STORE32: STORE(uint32_t, u64);

L_I32_EQZ: S(1).u64 = S(2).u32 == 0; NEXT(3);
L_I32_EQ: S(1).u64 = S(2).u32 == S(3).u32; NEXT(4);
L_I32_NE: S(1).u64 = S(2).u32 != S(3).u32; NEXT(4);
L_I32_LT_S: S(1).u64 = S(2).i32 < S(3).i32; NEXT(4);
L_I32_LT_U: S(1).u64 = S(2).u32 < S(3).u32; NEXT(4);
L_I32_GT_S: S(1).u64 = S(2).i32 > S(3).i32; NEXT(4);
L_I32_GT_U: S(1).u64 = S(2).u32 > S(3).u32; NEXT(4);
L_I32_LE_S: S(1).u64 = S(2).i32 <= S(3).i32; NEXT(4);
L_I32_LE_U: S(1).u64 = S(2).u32 <= S(3).u32; NEXT(4);
L_I32_GE_S: S(1).u64 = S(2).i32 >= S(3).i32; NEXT(4);
L_I32_GE_U: S(1).u64 = S(2).u32 >= S(3).u32; NEXT(4);
L_I64_EQZ: S(1).u64 = S(2).u64 == 0; NEXT(3);
L_I64_EQ: S(1).u64 = S(2).u64 == S(3).u64; NEXT(4);
L_I64_NE: S(1).u64 = S(2).u64 != S(3).u64; NEXT(4);
L_I64_LT_S: S(1).u64 = S(2).i64 < S(3).i64; NEXT(4);
L_I64_LT_U: S(1).u64 = S(2).u64 < S(3).u64; NEXT(4);
L_I64_GT_S: S(1).u64 = S(2).i64 > S(3).i64; NEXT(4);
L_I64_GT_U: S(1).u64 = S(2).u64 > S(3).u64; NEXT(4);
L_I64_LE_S: S(1).u64 = S(2).i64 <= S(3).i64; NEXT(4);
L_I64_LE_U: S(1).u64 = S(2).u64 <= S(3).u64; NEXT(4);
L_I64_GE_S: S(1).u64 = S(2).i64 >= S(3).i64; NEXT(4);
L_I64_GE_U: S(1).u64 = S(2).u64 >= S(3).u64; NEXT(4);
L_F32_EQ: S(1).u64 = S(2).f32 == S(3).f32; NEXT(4);
L_F32_NE: S(1).u64 = S(2).f32 != S(3).f32; NEXT(4);
L_F32_LT: S(1).u64 = S(2).f32 < S(3).f32; NEXT(4);
L_F32_GT: S(1).u64 = S(2).f32 > S(3).f32; NEXT(4);
L_F32_LE: S(1).u64 = S(2).f32 <= S(3).f32; NEXT(4);
L_F32_GE: S(1).u64 = S(2).f32 >= S(3).f32; NEXT(4);
L_F64_EQ: S(1).u64 = S(2).f64 == S(3).f64; NEXT(4);
L_F64_NE: S(1).u64 = S(2).f64 != S(3).f64; NEXT(4);
L_F64_LT: S(1).u64 = S(2).f64 < S(3).f64; NEXT(4);
L_F64_GT: S(1).u64 = S(2).f64 > S(3).f64; NEXT(4);
L_F64_LE: S(1).u64 = S(2).f64 <= S(3).f64; NEXT(4);
L_F64_GE: S(1).u64 = S(2).f64 >= S(3).f64; NEXT(4);

L_I32_CLZ: { uint32_t x = S(2).u32; S(1).u64 = (uint32_t)(x ? (uint32_t)__builtin_clz(x) : 32); NEXT(3); }
L_I32_CTZ: { uint32_t x = S(2).u32; S(1).u64 = (uint32_t)(x ? (uint32_t)__builtin_ctz(x) : 32); NEXT(3); }
L_I32_POPCNT: S(1).u64 = (uint32_t)((uint32_t)__builtin_popcount(S(2).u32)); NEXT(3);
L_I32_ADD: S(1).u64 = (uint32_t)(S(2).u32 + S(3).u32); NEXT(4);
L_I32_SUB: S(1).u64 = (uint32_t)(S(2).u32 - S(3).u32); NEXT(4);
L_I32_MUL: S(1).u64 = (uint32_t)(S(2).u32 * S(3).u32); NEXT(4);
L_I32_DIV_S: {
  int32_t a = S(2).i32, b = S(3).i32;
  if (UNLIKELY(b == 0)) TRAP(WISP_TRAP_DIV_ZERO, "integer divide by zero");
  if (UNLIKELY(a == INT32_MIN && b == -1)) TRAP(WISP_TRAP_INT_OVERFLOW, "integer overflow");
  S(1).u64 = (uint32_t)(a / b);
  NEXT(4);
}
L_I32_DIV_U: {
  uint32_t b = S(3).u32;
  if (UNLIKELY(b == 0)) TRAP(WISP_TRAP_DIV_ZERO, "integer divide by zero");
  S(1).u64 = (uint32_t)(S(2).u32 / b);
  NEXT(4);
}
L_I32_REM_S: {
  int32_t a = S(2).i32, b = S(3).i32;
  if (UNLIKELY(b == 0)) TRAP(WISP_TRAP_DIV_ZERO, "integer divide by zero");
  S(1).u64 = (uint32_t)(b == -1 ? 0 : a % b);
  NEXT(4);
}
L_I32_REM_U: {
  uint32_t b = S(3).u32;
  if (UNLIKELY(b == 0)) TRAP(WISP_TRAP_DIV_ZERO, "integer divide by zero");
  S(1).u64 = (uint32_t)(S(2).u32 % b);
  NEXT(4);
}
L_I32_AND: S(1).u64 = (uint32_t)(S(2).u32 & S(3).u32); NEXT(4);
L_I32_OR: S(1).u64 = (uint32_t)(S(2).u32 | S(3).u32); NEXT(4);
L_I32_XOR: S(1).u64 = (uint32_t)(S(2).u32 ^ S(3).u32); NEXT(4);
L_I32_SHL: S(1).u64 = (uint32_t)(S(2).u32 << (S(3).u32 & 31)); NEXT(4);
L_I32_SHR_S: S(1).u64 = (uint32_t)(S(2).i32 >> (S(3).u32 & 31)); NEXT(4);
L_I32_SHR_U: S(1).u64 = (uint32_t)(S(2).u32 >> (S(3).u32 & 31)); NEXT(4);
L_I32_ROTL: S(1).u64 = (uint32_t)(rotl32(S(2).u32, S(3).u32)); NEXT(4);
L_I32_ROTR: S(1).u64 = (uint32_t)(rotr32(S(2).u32, S(3).u32)); NEXT(4);
L_I64_CLZ: { uint64_t x = S(2).u64; S(1).u64 = x ? (uint64_t)__builtin_clzll(x) : 64; NEXT(3); }
L_I64_CTZ: { uint64_t x = S(2).u64; S(1).u64 = x ? (uint64_t)__builtin_ctzll(x) : 64; NEXT(3); }
L_I64_POPCNT: S(1).u64 = (uint64_t)__builtin_popcountll(S(2).u64); NEXT(3);
L_I64_ADD: S(1).u64 = S(2).u64 + S(3).u64; NEXT(4);
L_I64_SUB: S(1).u64 = S(2).u64 - S(3).u64; NEXT(4);
L_I64_MUL: S(1).u64 = S(2).u64 * S(3).u64; NEXT(4);
L_I64_DIV_S: {
  int64_t a = S(2).i64, b = S(3).i64;
  if (UNLIKELY(b == 0)) TRAP(WISP_TRAP_DIV_ZERO, "integer divide by zero");
  if (UNLIKELY(a == INT64_MIN && b == -1)) TRAP(WISP_TRAP_INT_OVERFLOW, "integer overflow");
  S(1).i64 = a / b;
  NEXT(4);
}
L_I64_DIV_U: {
  uint64_t b = S(3).u64;
  if (UNLIKELY(b == 0)) TRAP(WISP_TRAP_DIV_ZERO, "integer divide by zero");
  S(1).u64 = S(2).u64 / b;
  NEXT(4);
}
L_I64_REM_S: {
  int64_t a = S(2).i64, b = S(3).i64;
  if (UNLIKELY(b == 0)) TRAP(WISP_TRAP_DIV_ZERO, "integer divide by zero");
  S(1).i64 = b == -1 ? 0 : a % b;
  NEXT(4);
}
L_I64_REM_U: {
  uint64_t b = S(3).u64;
  if (UNLIKELY(b == 0)) TRAP(WISP_TRAP_DIV_ZERO, "integer divide by zero");
  S(1).u64 = S(2).u64 % b;
  NEXT(4);
}
L_I64_AND: S(1).u64 = S(2).u64 & S(3).u64; NEXT(4);
L_I64_OR: S(1).u64 = S(2).u64 | S(3).u64; NEXT(4);
L_I64_XOR: S(1).u64 = S(2).u64 ^ S(3).u64; NEXT(4);
L_I64_SHL: S(1).u64 = S(2).u64 << (S(3).u64 & 63); NEXT(4);
L_I64_SHR_S: S(1).i64 = S(2).i64 >> (S(3).u64 & 63); NEXT(4);
L_I64_SHR_U: S(1).u64 = S(2).u64 >> (S(3).u64 & 63); NEXT(4);
L_I64_ROTL: S(1).u64 = rotl64(S(2).u64, S(3).u64); NEXT(4);
L_I64_ROTR: S(1).u64 = rotr64(S(2).u64, S(3).u64); NEXT(4);

L_F32_ABS: S(1).u64 = (uint32_t)(S(2).u32 & 0x7FFFFFFFu); NEXT(3);
L_F32_NEG: S(1).u64 = (uint32_t)(S(2).u32 ^ 0x80000000u); NEXT(3);
L_F32_CEIL: S(1).u64 = f32_bits(quiet_f32(ceilf, S(2).f32)); NEXT(3);
L_F32_FLOOR: S(1).u64 = f32_bits(quiet_f32(floorf, S(2).f32)); NEXT(3);
L_F32_TRUNC: S(1).u64 = f32_bits(quiet_f32(truncf, S(2).f32)); NEXT(3);
L_F32_NEAREST: S(1).u64 = f32_bits(quiet_f32(nearbyintf, S(2).f32)); NEXT(3);
L_F32_SQRT: S(1).u64 = f32_bits(quiet_f32(sqrtf, S(2).f32)); NEXT(3);
L_F32_ADD: S(1).u64 = f32_bits(S(2).f32 + S(3).f32); NEXT(4);
L_F32_SUB: S(1).u64 = f32_bits(S(2).f32 - S(3).f32); NEXT(4);
L_F32_MUL: S(1).u64 = f32_bits(S(2).f32 * S(3).f32); NEXT(4);
L_F32_DIV: S(1).u64 = f32_bits(S(2).f32 / S(3).f32); NEXT(4);
L_F32_MIN: S(1).u64 = f32_bits(f32_min(S(2).f32, S(3).f32)); NEXT(4);
L_F32_MAX: S(1).u64 = f32_bits(f32_max(S(2).f32, S(3).f32)); NEXT(4);
L_F32_COPYSIGN: S(1).u64 = (uint32_t)((S(2).u32 & 0x7FFFFFFFu) | (S(3).u32 & 0x80000000u)); NEXT(4);
L_F64_ABS: S(1).u64 = S(2).u64 & 0x7FFFFFFFFFFFFFFFull; NEXT(3);
L_F64_NEG: S(1).u64 = S(2).u64 ^ 0x8000000000000000ull; NEXT(3);
L_F64_CEIL: S(1).f64 = quiet_f64(ceil, S(2).f64); NEXT(3);
L_F64_FLOOR: S(1).f64 = quiet_f64(floor, S(2).f64); NEXT(3);
L_F64_TRUNC: S(1).f64 = quiet_f64(trunc, S(2).f64); NEXT(3);
L_F64_NEAREST: S(1).f64 = quiet_f64(nearbyint, S(2).f64); NEXT(3);
L_F64_SQRT: S(1).f64 = quiet_f64(sqrt, S(2).f64); NEXT(3);
L_F64_ADD: S(1).f64 = S(2).f64 + S(3).f64; NEXT(4);
L_F64_SUB: S(1).f64 = S(2).f64 - S(3).f64; NEXT(4);
L_F64_MUL: S(1).f64 = S(2).f64 * S(3).f64; NEXT(4);
L_F64_DIV: S(1).f64 = S(2).f64 / S(3).f64; NEXT(4);
L_F64_MIN: S(1).f64 = f64_min(S(2).f64, S(3).f64); NEXT(4);
L_F64_MAX: S(1).f64 = f64_max(S(2).f64, S(3).f64); NEXT(4);
L_F64_COPYSIGN: S(1).u64 = (S(2).u64 & 0x7FFFFFFFFFFFFFFFull) | (S(3).u64 & 0x8000000000000000ull); NEXT(4);

L_I32_WRAP_I64: S(1).u64 = (uint32_t)S(2).u64; NEXT(3);
L_I32_TRUNC_F32_S: {
  float x = S(2).f32;
  if (UNLIKELY(isnan(x))) TRAP(WISP_TRAP_INVALID_CONV, "invalid conversion to integer");
  if (UNLIKELY(!(x >= -2147483648.0f && x < 2147483648.0f))) TRAP(WISP_TRAP_INT_OVERFLOW, "integer overflow");
  S(1).u64 = (uint32_t)((int32_t)x);
  NEXT(3);
}
L_I32_TRUNC_F32_U: {
  float x = S(2).f32;
  if (UNLIKELY(isnan(x))) TRAP(WISP_TRAP_INVALID_CONV, "invalid conversion to integer");
  if (UNLIKELY(!(x > -1.0f && x < 4294967296.0f))) TRAP(WISP_TRAP_INT_OVERFLOW, "integer overflow");
  S(1).u64 = (uint32_t)((uint32_t)x);
  NEXT(3);
}
L_I32_TRUNC_F64_S: {
  double x = S(2).f64;
  if (UNLIKELY(isnan(x))) TRAP(WISP_TRAP_INVALID_CONV, "invalid conversion to integer");
  if (UNLIKELY(!(x > -2147483649.0 && x < 2147483648.0))) TRAP(WISP_TRAP_INT_OVERFLOW, "integer overflow");
  S(1).u64 = (uint32_t)((int32_t)x);
  NEXT(3);
}
L_I32_TRUNC_F64_U: {
  double x = S(2).f64;
  if (UNLIKELY(isnan(x))) TRAP(WISP_TRAP_INVALID_CONV, "invalid conversion to integer");
  if (UNLIKELY(!(x > -1.0 && x < 4294967296.0))) TRAP(WISP_TRAP_INT_OVERFLOW, "integer overflow");
  S(1).u64 = (uint32_t)((uint32_t)x);
  NEXT(3);
}
L_I64_EXTEND_I32_S: S(1).i64 = S(2).i32; NEXT(3);
L_I64_EXTEND_I32_U: S(1).u64 = S(2).u32; NEXT(3);
L_I64_TRUNC_F32_S: {
  float x = S(2).f32;
  if (UNLIKELY(isnan(x))) TRAP(WISP_TRAP_INVALID_CONV, "invalid conversion to integer");
  if (UNLIKELY(!(x >= -9223372036854775808.0f && x < 9223372036854775808.0f)))
    TRAP(WISP_TRAP_INT_OVERFLOW, "integer overflow");
  S(1).i64 = (int64_t)x;
  NEXT(3);
}
L_I64_TRUNC_F32_U: {
  float x = S(2).f32;
  if (UNLIKELY(isnan(x))) TRAP(WISP_TRAP_INVALID_CONV, "invalid conversion to integer");
  if (UNLIKELY(!(x > -1.0f && x < 18446744073709551616.0f))) TRAP(WISP_TRAP_INT_OVERFLOW, "integer overflow");
  S(1).u64 = (uint64_t)x;
  NEXT(3);
}
L_I64_TRUNC_F64_S: {
  double x = S(2).f64;
  if (UNLIKELY(isnan(x))) TRAP(WISP_TRAP_INVALID_CONV, "invalid conversion to integer");
  if (UNLIKELY(!(x >= -9223372036854775808.0 && x < 9223372036854775808.0)))
    TRAP(WISP_TRAP_INT_OVERFLOW, "integer overflow");
  S(1).i64 = (int64_t)x;
  NEXT(3);
}
L_I64_TRUNC_F64_U: {
  double x = S(2).f64;
  if (UNLIKELY(isnan(x))) TRAP(WISP_TRAP_INVALID_CONV, "invalid conversion to integer");
  if (UNLIKELY(!(x > -1.0 && x < 18446744073709551616.0))) TRAP(WISP_TRAP_INT_OVERFLOW, "integer overflow");
  S(1).u64 = (uint64_t)x;
  NEXT(3);
}
L_F32_CONVERT_I32_S: S(1).u64 = f32_bits((float)S(2).i32); NEXT(3);
L_F32_CONVERT_I32_U: S(1).u64 = f32_bits((float)S(2).u32); NEXT(3);
L_F32_CONVERT_I64_S: S(1).u64 = f32_bits((float)S(2).i64); NEXT(3);
L_F32_CONVERT_I64_U: S(1).u64 = f32_bits((float)S(2).u64); NEXT(3);
L_F32_DEMOTE_F64: S(1).u64 = f32_bits((float)S(2).f64); NEXT(3);
L_F64_CONVERT_I32_S: S(1).f64 = (double)S(2).i32; NEXT(3);
L_F64_CONVERT_I32_U: S(1).f64 = (double)S(2).u32; NEXT(3);
L_F64_CONVERT_I64_S: S(1).f64 = (double)S(2).i64; NEXT(3);
L_F64_CONVERT_I64_U: S(1).f64 = (double)S(2).u64; NEXT(3);
L_F64_PROMOTE_F32: S(1).f64 = (double)S(2).f32; NEXT(3);
L_I32_REINTERPRET_F32: S(1).u64 = S(2).u32; NEXT(3);
L_I64_REINTERPRET_F64: S(1) = S(2); NEXT(3);
L_F32_REINTERPRET_I32: S(1).u64 = S(2).u32; NEXT(3);
L_F64_REINTERPRET_I64: S(1) = S(2); NEXT(3);
L_I32_EXTEND8_S: S(1).u64 = (uint32_t)((int8_t)S(2).u32); NEXT(3);
L_I32_EXTEND16_S: S(1).u64 = (uint32_t)((int16_t)S(2).u32); NEXT(3);
L_I64_EXTEND8_S: S(1).i64 = (int8_t)S(2).u64; NEXT(3);
L_I64_EXTEND16_S: S(1).i64 = (int16_t)S(2).u64; NEXT(3);
L_I64_EXTEND32_S: S(1).i64 = (int32_t)S(2).u64; NEXT(3);
L_I32_TRUNC_SAT_F32_S: S(1).u64 = (uint32_t)(sat_i32(S(2).f32)); NEXT(3);
L_I32_TRUNC_SAT_F32_U: S(1).u64 = (uint32_t)(sat_u32(S(2).f32)); NEXT(3);
L_I32_TRUNC_SAT_F64_S: S(1).u64 = (uint32_t)(sat_i32(S(2).f64)); NEXT(3);
L_I32_TRUNC_SAT_F64_U: S(1).u64 = (uint32_t)(sat_u32(S(2).f64)); NEXT(3);
L_I64_TRUNC_SAT_F32_S: S(1).i64 = sat_i64(S(2).f32); NEXT(3);
L_I64_TRUNC_SAT_F32_U: S(1).u64 = sat_u64(S(2).f32); NEXT(3);
L_I64_TRUNC_SAT_F64_S: S(1).i64 = sat_i64(S(2).f64); NEXT(3);
L_I64_TRUNC_SAT_F64_U: S(1).u64 = sat_u64(S(2).f64); NEXT(3);

do_call:
  if (callee->host) {
    wisp_trap_t *host_trap = NULL;
    exec->ip = ip;
    exec->fp = fp;
    SYNC_CALL_STATE();
    exec->host_slots = nfp;
    exec->fuel = fuel;
    exec->in_guest = false;
    exec->in_host_call = true;
    exec->nest_base = nfp + (callee->nparams > callee->nresults ? callee->nparams : callee->nresults);
    exec->nest_frames = frame;
    wisp_host_status_t st = call_host(exec, callee, inst, nfp, &host_trap);
    exec->in_host_call = false;
    fuel_start -= fuel - exec->fuel; /* a nested guest call charged (and counted) its own fuel */
    fuel = exec->fuel;
    exec->in_guest = true;
    if (st == WISP_HOST_OK) NEXT(call_len);
    if (st == WISP_HOST_SUSPEND) {
      if (exec->nesting > 0) {
        trap = wisp__trap_new(WISP_TRAP_HOST, "a host function cannot suspend a guest inside a nested call");
        add_backtrace(trap, func, ip, frame, frame_base);
        goto finish_trap;
      }
      exec->ip = ip + call_len;
      exec->suspended = callee;
      exec->status = WISP_SUSPENDED;
      goto leave;
    }
    trap = host_trap;
    add_backtrace(trap, func, ip, frame, frame_base);
    goto finish_trap;
  }
  {
    wisp__code_t *code = callee->code;
    if (UNLIKELY(!code)) {
      code = callee->code = func_code(callee);
      if (!code) TRAP(WISP_TRAP_OOM, "out of memory translating a function");
    }
    if (UNLIKELY(frame == exec->frames_end || nfp + code->frame_cells > exec->stack_end))
      TRAP(WISP_TRAP_STACK_EXHAUSTED, "call stack exhausted");
    if (UNLIKELY(fuel <= 0)) {
      /* out of fuel before the call: continuing re-executes the call instruction */
      exec->ip = ip;
      exec->fp = fp;
      SYNC_CALL_STATE();
      exec->status = WISP_OUT_OF_FUEL;
      goto leave;
    }
    fuel -= code->entry_fuel;
    frame->ret_ip = ip + call_len;
    frame->fp = fp;
    frame->func = func;
    frame++;
    for (uint32_t k = 0; k < code->local_cells; k++) nfp[code->param_cells + k].u64 = 0;
    fp = nfp;
    func = callee;
    ip = code->words;
    if (callee->inst != inst) SWITCH_INSTANCE(callee->inst);
    SYNC_CALL_STATE();
    DISPATCH();
  }

oob_trap: /* explicit bounds check of a small pool slot: the same trap as a guard-page fault */
  trap_kind = WISP_TRAP_MEMORY_OOB;
  trap_msg = "out of bounds memory access";
do_trap:
  trap = wisp__trap_new(trap_kind, trap_msg);
  add_backtrace(trap, func, ip, frame, frame_base);
finish_trap:
  exec->in_guest = false;
  if (!trap) trap = wisp__trap_new(WISP_TRAP_OOM, "out of memory");
  wisp_trap_delete(exec->trap);
  exec->trap = trap;
  exec->status = WISP_TRAPPED;
leave:
  exec->in_guest = false;
  exec->fuel = fuel;
  if (fuel_start > fuel) exec->fuel_used += (uint64_t)(fuel_start - fuel);
  return exec->status;

#undef S
#undef DISPATCH
#undef NEXT
#undef TRAP
#undef SYNC_CALL_STATE
#undef SWITCH_INSTANCE
#undef EA
#undef EA_CHECK
#undef LOAD
#undef STORE
#undef BR_CMP
#undef JUMP
#undef BR_CMP_IMM
}

/* Runs interp_loop with a landing pad for guard-page faults. The jump buffer
 * lives here, outside the loop, so the loop's registers are never live across
 * a longjmp; the trap is built from what the loop saved in the exec. */
wisp_status_t wisp__interp_run(wisp_exec_t *exec) {
  sigjmp_buf jmp;
  sigjmp_buf *outer_jmp = exec->fault_jmp;
  wisp_exec_t *outer_exec = wisp__running_exec;
  wisp_status_t st;
  exec->fault_jmp = &jmp;
  wisp__running_exec = exec;
  if (sigsetjmp(jmp, 0) == 0) {
    st = interp_loop(exec);
  } else {
    exec->in_guest = false;
    wisp_trap_t *trap = wisp__trap_new(WISP_TRAP_MEMORY_OOB, "out of bounds memory access");
    add_backtrace(trap, exec->func, exec->fault_ip, exec->frame, exec->run_frames);
    wisp_trap_delete(exec->trap);
    exec->trap = trap;
    st = exec->status = WISP_TRAPPED;
  }
  exec->fault_jmp = outer_jmp;
  wisp__running_exec = outer_exec;
  return st;
}

const int32_t *wisp__interp_handlers(void) {
  if (!handler_table) interp_loop(NULL);
  return handler_table;
}

/* ---- exec API ----------------------------------------------------------- */

#define DEFAULT_STACK_CELLS (1u << 20)
#define DEFAULT_CALL_DEPTH 10000u
#define FUEL_UNLIMITED INT64_MAX

wisp_exec_t *wisp_exec_new(wisp_store_t *store, const wisp_exec_config_t *config) {
  uint32_t cells = config && config->stack_cells ? config->stack_cells : DEFAULT_STACK_CELLS;
  uint32_t depth = config && config->max_call_depth ? config->max_call_depth : DEFAULT_CALL_DEPTH;
  wisp_exec_t *exec = calloc(1, sizeof *exec);
  if (!exec) return NULL;
  exec->stack = malloc((size_t)cells * sizeof(wisp__cell_t));
  exec->frames = malloc(((size_t)depth + 1) * sizeof(wisp__frame_t));
  if (!exec->stack || !exec->frames) {
    free(exec->stack);
    free(exec->frames);
    free(exec);
    return NULL;
  }
  exec->store = store;
  exec->stack_end = exec->stack + cells;
  exec->frames_end = exec->frames + depth + 1;
  exec->fuel = FUEL_UNLIMITED;
  exec->status = WISP_DONE;
  if (!exit_code[0]) exit_code[0] = (uint32_t)wisp__interp_handlers()[WISP_IOP_EXIT];
  return exec;
}

int wisp_exec_set_store(wisp_exec_t *exec, wisp_store_t *store) {
  if (exec->active) return WISP_ERR_ARG;
  exec->store = store;
  return 0;
}

void wisp_exec_delete(wisp_exec_t *exec) {
  if (!exec) return;
  wisp_trap_delete(exec->trap);
  free(exec->stack);
  free(exec->frames);
  free(exec);
}

void wisp_exec_set_fuel(wisp_exec_t *exec, int64_t fuel) { exec->fuel = fuel < 0 ? FUEL_UNLIMITED : fuel; }
int64_t wisp_exec_fuel(const wisp_exec_t *exec) {
  if (exec->fuel == FUEL_UNLIMITED) return -1;
  return exec->fuel < 0 ? 0 : exec->fuel; /* the last region may overdraw */
}
uint64_t wisp_exec_fuel_used(const wisp_exec_t *exec) { return exec->fuel_used; }
wisp_status_t wisp_exec_status(const wisp_exec_t *exec) { return exec->status; }
wisp_func_t *wisp_exec_suspended_func(const wisp_exec_t *exec) {
  return exec->status == WISP_SUSPENDED ? exec->suspended : NULL;
}

wisp_trap_t *wisp_exec_take_trap(wisp_exec_t *exec) {
  wisp_trap_t *t = exec->trap;
  exec->trap = NULL;
  return t;
}

static wisp_status_t fail_call(wisp_exec_t *exec, wisp_trap_kind_t kind, const char *msg) {
  wisp_trap_delete(exec->trap);
  exec->trap = wisp__trap_new(kind, msg);
  exec->status = WISP_TRAPPED;
  return WISP_TRAPPED;
}

/* Copies results out of the entry frame after the call finished. */
static wisp_status_t finish(wisp_exec_t *exec, wisp_status_t st) {
  if (st == WISP_DONE) {
    wisp_func_t *f = exec->entry;
    for (uint32_t i = 0; i < f->nresults && i < exec->nresults; i++)
      wisp__cell_to_val(f->types[f->nparams + i], &exec->entry_fp[i], &exec->results[i]);
  }
  if (st == WISP_DONE || st == WISP_TRAPPED) exec->active = false;
  return st;
}

wisp_status_t wisp_exec_call(wisp_exec_t *exec, wisp_func_t *f, const wisp_val_t *args, size_t nargs,
                             wisp_val_t *results, size_t nresults) {
  if (exec->active && !exec->in_host_call) {
    /* refused without disturbing the suspended call */
    wisp_trap_delete(exec->trap);
    exec->trap = wisp__trap_new(WISP_TRAP_HOST, "exec is busy: a call is suspended or out of fuel; resume or abort it");
    return WISP_TRAPPED;
  }
  if (nargs != f->nparams || (nresults < f->nresults && results))
    return fail_call(exec, WISP_TRAP_HOST, "wrong number of arguments or results for this function");
  for (size_t i = 0; i < nargs; i++)
    if (args[i].kind != f->types[i]) return fail_call(exec, WISP_TRAP_HOST, "argument type mismatch");
  if (exec->active) {
    /* A host function calling back into the guest: run above the host call's
     * slots and frames, then restore the outer call's state. */
    wisp_exec_t saved = *exec;
    exec->nesting++;
    exec->active = false;
    exec->in_host_call = false;
    wisp_status_t st = wisp_exec_call(exec, f, args, nargs, results, nresults);
    if (st == WISP_OUT_OF_FUEL) {
      wisp_exec_abort(exec);
      wisp_trap_delete(exec->trap);
      exec->trap = wisp__trap_new(WISP_TRAP_ABORTED, "fuel ran out inside a nested call");
      st = WISP_TRAPPED;
    }
    wisp_trap_t *inner_trap = wisp_exec_take_trap(exec);
    int64_t fuel = exec->fuel;
    uint64_t used = exec->fuel_used;
    wisp_trap_delete(saved.trap);
    *exec = saved;
    exec->trap = inner_trap;
    exec->fuel = fuel;
    exec->fuel_used = used;
    return st;
  }
  exec->active = true;
  exec->entry = f;
  exec->results = results;
  exec->nresults = results ? nresults : 0;
  exec->suspended = NULL;
  wisp__cell_t *fp = exec->nesting ? exec->nest_base : exec->stack;
  wisp__frame_t *frame = exec->nesting ? exec->nest_frames : exec->frames;
  exec->entry_fp = fp;
  exec->run_frames = frame;
  uint32_t need = f->nparams > f->nresults ? f->nparams : f->nresults;
  if (fp + need > exec->stack_end || frame >= exec->frames_end)
    return finish(exec, fail_call(exec, WISP_TRAP_STACK_EXHAUSTED, "call stack exhausted"));
  for (size_t i = 0; i < nargs; i++) wisp__val_to_cell(&args[i], &fp[i]);

  if (f->host) {
    wisp_trap_t *trap = NULL;
    exec->host_slots = fp;
    exec->in_host_call = true;
    exec->nest_base = fp + need;
    exec->nest_frames = frame;
    wisp_host_status_t st = call_host(exec, f, NULL, fp, &trap);
    exec->in_host_call = false;
    if (st == WISP_HOST_OK) return finish(exec, exec->status = WISP_DONE);
    if (st == WISP_HOST_SUSPEND && !exec->nesting) {
      exec->suspended = f;
      exec->ip = exit_code;
      exec->fp = fp;
      exec->frame = frame;
      exec->func = NULL;
      return exec->status = WISP_SUSPENDED;
    }
    if (st == WISP_HOST_SUSPEND) trap = wisp__trap_new(WISP_TRAP_HOST, "cannot suspend inside a nested call");
    wisp_trap_delete(exec->trap);
    exec->trap = trap;
    return finish(exec, exec->status = WISP_TRAPPED);
  }
  wisp__code_t *code = func_code(f);
  if (!code) return finish(exec, fail_call(exec, WISP_TRAP_OOM, "out of memory translating a function"));
  if (fp + code->frame_cells > exec->stack_end)
    return finish(exec, fail_call(exec, WISP_TRAP_STACK_EXHAUSTED, "call stack exhausted"));
  memset(fp + code->param_cells, 0, (size_t)code->local_cells * sizeof(wisp__cell_t));
  /* The entry function's first region; with no budget left the call starts
   * out of fuel (continuing runs it without charging it). */
  frame->ret_ip = exit_code;
  frame->fp = fp;
  frame->func = NULL;
  exec->ip = code->words;
  exec->fp = fp;
  exec->frame = frame + 1;
  exec->func = f;
  if (exec->fuel <= 0) return exec->status = WISP_OUT_OF_FUEL;
  exec->fuel -= code->entry_fuel;
  exec->fuel_used += code->entry_fuel;
  return finish(exec, wisp__interp_run(exec));
}

wisp_status_t wisp_exec_resume(wisp_exec_t *exec, const wisp_val_t *host_results, size_t n) {
  if (exec->status != WISP_SUSPENDED || !exec->suspended)
    return fail_call(exec, WISP_TRAP_HOST, "exec is not suspended at a host call");
  wisp_func_t *h = exec->suspended;
  if (n != h->nresults) return fail_call(exec, WISP_TRAP_HOST, "wrong number of results for the suspended host call");
  for (size_t i = 0; i < n; i++) {
    if (host_results[i].kind != h->types[h->nparams + i])
      return fail_call(exec, WISP_TRAP_HOST, "result type mismatch for the suspended host call");
    wisp__val_to_cell(&host_results[i], &exec->host_slots[i]);
  }
  exec->suspended = NULL;
  if (!exec->func) return finish(exec, exec->status = WISP_DONE); /* the entry itself was the host function */
  return finish(exec, wisp__interp_run(exec));
}

wisp_status_t wisp_exec_retry(wisp_exec_t *exec) {
  if (exec->status != WISP_SUSPENDED || !exec->suspended)
    return fail_call(exec, WISP_TRAP_HOST, "exec is not suspended at a host call");
  wisp_func_t *h = exec->suspended;
  /* the host call's arguments are still in its slots: results overwrite them
   * only when it returns them */
  uint32_t need = h->nparams > h->nresults ? h->nparams : h->nresults;
  wisp_trap_t *trap = NULL;
  exec->suspended = NULL;
  exec->in_host_call = true;
  exec->nest_base = exec->host_slots + need;
  exec->nest_frames = exec->frame;
  wisp_host_status_t st = call_host(exec, h, exec->func ? exec->func->inst : NULL, exec->host_slots, &trap);
  exec->in_host_call = false;
  if (st == WISP_HOST_OK) {
    if (!exec->func) return finish(exec, exec->status = WISP_DONE); /* the entry itself was the host function */
    return finish(exec, wisp__interp_run(exec));
  }
  if (st == WISP_HOST_SUSPEND) {
    exec->suspended = h;
    return exec->status = WISP_SUSPENDED;
  }
  if (exec->func) add_backtrace(trap, exec->func, exec->ip, exec->frame, exec->run_frames);
  wisp_trap_delete(exec->trap);
  exec->trap = trap;
  return finish(exec, exec->status = WISP_TRAPPED);
}

wisp_status_t wisp_exec_continue(wisp_exec_t *exec) {
  if (exec->status != WISP_OUT_OF_FUEL) return fail_call(exec, WISP_TRAP_HOST, "exec is not out of fuel");
  return finish(exec, wisp__interp_run(exec));
}

void wisp_exec_abort(wisp_exec_t *exec) {
  if (!exec->active) return;
  wisp_trap_t *trap = wisp__trap_new(WISP_TRAP_ABORTED, "aborted by the embedder");
  if (exec->func) add_backtrace(trap, exec->func, exec->ip, exec->frame, exec->run_frames);
  wisp_trap_delete(exec->trap);
  exec->trap = trap;
  exec->status = WISP_TRAPPED;
  exec->active = false;
  exec->suspended = NULL;
}
