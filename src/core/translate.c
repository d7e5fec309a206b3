/*
 * translate.c: validated WebAssembly function bodies -> threaded internal code
 * (iops.h), once per function, on its first call.
 *
 * The internal code addresses operands by frame slot instead of pushing and
 * popping: a frame is [params | declared locals | operand stack], one 8-byte
 * cell each, and the operand at stack height h lives in slot nlocals + h (its
 * "home"). The translator keeps a compile-time model of the operand stack in
 * which an entry is either materialised in its home slot (TEMP), or still a
 * reference to a local (LOCAL) or a constant (CONST) that no instruction has
 * copied yet. So `local.get a; local.get b; i32.add; local.set c` becomes the
 * single instruction `i32.add c a b`.
 *
 * Rules that keep lazy entries correct:
 *  - before a local is written, pending LOCAL references to it are copied home;
 *  - at every block, loop and if, all pending entries are materialised, so the
 *    stack below a label has one representation on every path into it;
 *  - values passed to a label (br, block end) land in the label's home slots.
 * The module was validated, so this code does not re-check types or indices.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "iops.h"
#include "leb128.h"
#include "opcodes.h"

enum { ENTRY_TEMP, ENTRY_LOCAL, ENTRY_CONST };

typedef struct entry {
  uint8_t type;
  uint8_t kind;
  uint32_t local;   /* ENTRY_LOCAL: the local's slot */
  uint64_t bits;    /* ENTRY_CONST: the value */
} entry_t;

enum { FRAME_BLOCK, FRAME_LOOP, FRAME_IF, FRAME_ELSE, FRAME_FUNC };

typedef struct patchlist {
  uint32_t *pos;    /* offset words to point at the label */
  uint32_t n, cap;
} patchlist_t;

typedef struct cframe {
  uint8_t kind;
  bool unreachable;
  uint32_t height;          /* stack height below the block's params */
  uint32_t nparams, nresults;
  const uint8_t *params, *results;
  uint32_t loop_pos;        /* FRAME_LOOP: the loop's FUEL instruction; back-edges jump just past it */
  uint32_t else_patch;      /* FRAME_IF: the BR_Z offset word to patch at else/end */
  patchlist_t patches;      /* forward branches to the end */
} cframe_t;

typedef struct translator {
  const wisp_module_t *m;
  const uint8_t *p, *end, *base;
  uint32_t nlocals;         /* params + declared locals, = first temp slot */
  uint8_t *local_types;
  /* output */
  uint32_t *words;
  uint32_t nwords, cap;
  uint32_t *offsets;        /* pairs (word pos, wasm offset) */
  uint32_t noffsets, offcap;
  /* operand stack model */
  entry_t *stack;
  uint32_t height, stack_cap, max_height;
  cframe_t *frames;
  uint32_t nframes, frames_cap;
  /* peephole state */
  int64_t last_dst;         /* word position of the last single-result instruction's d, or -1 */
  int64_t last_cmp;         /* word position of the last i32 compare instruction, or -1 */
  uint32_t fuel_pos;        /* imm word of the current FUEL instruction; 0 = the entry region */
  uint32_t entry_fuel;      /* cost of the entry region, charged by the call itself */
  uint32_t fuel_count;      /* wasm instructions since it */
  uint32_t op_offset;       /* wasm offset of the instruction being translated */
  bool oom;
  const int32_t *handlers;
} translator_t;

/* ---- output ------------------------------------------------------------- */

/* Makes room for one more element in a growable array (*items, *cap); on
 * allocation failure sets t->oom and returns false. */
static bool grow(translator_t *t, void **items, uint32_t *cap, uint32_t count, size_t elem, uint32_t first) {
  if (count < *cap) return true;
  uint32_t ncap = *cap ? *cap * 2 : first;
  void *grown = realloc(*items, (size_t)ncap * elem);
  if (!grown) {
    t->oom = true;
    return false;
  }
  *items = grown;
  *cap = ncap;
  return true;
}

static void emit_word(translator_t *t, uint32_t w) {
  if (grow(t, (void **)&t->words, &t->cap, t->nwords, sizeof *t->words, 256)) t->words[t->nwords++] = w;
}

/* Starts an instruction: records its wasm offset for backtraces. */
static uint32_t emit_op(translator_t *t, wisp__iop_t op) {
  if (grow(t, (void **)&t->offsets, &t->offcap, t->noffsets * 2 + 1, sizeof *t->offsets, 128)) {
    t->offsets[t->noffsets * 2] = t->nwords;
    t->offsets[t->noffsets * 2 + 1] = t->op_offset;
    t->noffsets++;
  }
  uint32_t pos = t->nwords;
  emit_word(t, (uint32_t)t->handlers[op]);
  t->last_dst = -1;
  t->last_cmp = -1;
  return pos;
}

/* A placeholder offset word, to be patched to a label. Returns its position. */
static uint32_t emit_offset_slot(translator_t *t) {
  uint32_t pos = t->nwords;
  emit_word(t, 0);
  return pos;
}

static void patch_to(translator_t *t, uint32_t offpos, uint32_t target) {
  if (!t->oom) t->words[offpos] = (uint32_t)((int32_t)target - (int32_t)offpos);
}

static void emit_offset_to(translator_t *t, uint32_t target) {
  uint32_t pos = emit_offset_slot(t);
  patch_to(t, pos, target);
}

static void add_patch(translator_t *t, patchlist_t *pl, uint32_t pos) {
  if (grow(t, (void **)&pl->pos, &pl->cap, pl->n, sizeof *pl->pos, 4)) pl->pos[pl->n++] = pos;
}

/* ---- stack model -------------------------------------------------------- */

static uint32_t home(const translator_t *t, uint32_t pos) { return t->nlocals + pos; }

static void push(translator_t *t, uint8_t type, uint8_t kind, uint32_t local, uint64_t bits) {
  if (!grow(t, (void **)&t->stack, &t->stack_cap, t->height, sizeof *t->stack, 64)) return;
  t->stack[t->height++] = (entry_t){type, kind, local, bits};
  if (t->height > t->max_height) t->max_height = t->height;
}

static void push_temp(translator_t *t, uint8_t type) { push(t, type, ENTRY_TEMP, 0, 0); }

static bool is_64(uint8_t type) { return type != WISP_I32 && type != WISP_F32; }

/* Emits code placing the value of stack entry `pos` in slot `dst`. */
static void copy_entry_to(translator_t *t, uint32_t pos, uint32_t dst) {
  entry_t *e = &t->stack[pos];
  if (e->kind == ENTRY_CONST) {
    emit_op(t, is_64(e->type) ? WISP_IOP_CONST64 : WISP_IOP_CONST32);
    emit_word(t, dst);
    emit_word(t, (uint32_t)e->bits);
    if (is_64(e->type)) emit_word(t, (uint32_t)(e->bits >> 32));
    return;
  }
  uint32_t src = e->kind == ENTRY_LOCAL ? e->local : home(t, pos);
  if (src == dst) return;
  emit_op(t, WISP_IOP_MOV);
  emit_word(t, dst);
  emit_word(t, src);
}

static void materialize(translator_t *t, uint32_t pos) {
  entry_t *e = &t->stack[pos];
  if (e->kind == ENTRY_TEMP) return;
  copy_entry_to(t, pos, home(t, pos));
  e->kind = ENTRY_TEMP;
}

static void materialize_all(translator_t *t) {
  for (uint32_t i = 0; i < t->height; i++) materialize(t, i);
}

/* The slot an operand can be read from; constants are materialised first. */
static uint32_t operand(translator_t *t, uint32_t pos) {
  entry_t *e = &t->stack[pos];
  if (e->kind == ENTRY_CONST) materialize(t, pos);
  return e->kind == ENTRY_LOCAL ? e->local : home(t, pos);
}

/* Before local `slot` is written: copy pending references to it home. */
static void flush_local(translator_t *t, uint32_t slot) {
  for (uint32_t i = 0; i < t->height; i++)
    if (t->stack[i].kind == ENTRY_LOCAL && t->stack[i].local == slot) materialize(t, i);
}

/* ---- instructions with a result ---------------------------------------- */

/* Emits `op d ...` with d the home of the result position; returns the d word. */
static void emit_result_op(translator_t *t, wisp__iop_t op, uint32_t result_pos) {
  emit_op(t, op);
  t->last_dst = t->nwords;
  emit_word(t, home(t, result_pos));
}

static void emit_unary(translator_t *t, wisp__iop_t op, uint8_t result_type) {
  uint32_t a = operand(t, t->height - 1);
  t->height--;
  emit_result_op(t, op, t->height);
  emit_word(t, a);
  push_temp(t, result_type);
}

static bool is_i32_compare(wisp__iop_t op) { return op >= WISP_IOP_I32_EQ && op <= WISP_IOP_I32_GE_U; }

/* The `op d a imm` form of an i32 binary instruction whose right operand is a
 * constant, or WISP_IOP_COUNT. */
static wisp__iop_t immediate_form(wisp__iop_t op) {
  if (is_i32_compare(op)) return (wisp__iop_t)(WISP_IOP_I32_EQ_IMM + (op - WISP_IOP_I32_EQ));
  switch (op) {
    case WISP_IOP_I32_AND: return WISP_IOP_I32_AND_IMM;
    case WISP_IOP_I32_OR: return WISP_IOP_I32_OR_IMM;
    case WISP_IOP_I32_XOR: return WISP_IOP_I32_XOR_IMM;
    case WISP_IOP_I32_SHL: return WISP_IOP_I32_SHL_IMM;
    case WISP_IOP_I32_SHR_S: return WISP_IOP_I32_SHR_S_IMM;
    case WISP_IOP_I32_SHR_U: return WISP_IOP_I32_SHR_U_IMM;
    case WISP_IOP_I32_MUL: return WISP_IOP_I32_MUL_IMM;
    default: return WISP_IOP_COUNT;
  }
}

static void emit_binary(translator_t *t, wisp__iop_t op, uint8_t result_type) {
  wisp__iop_t imm_op = immediate_form(op);
  if (imm_op != WISP_IOP_COUNT && t->stack[t->height - 1].kind == ENTRY_CONST) {
    uint32_t imm = (uint32_t)t->stack[t->height - 1].bits;
    uint32_t a = operand(t, t->height - 2);
    t->height -= 2;
    uint32_t start = t->nwords;
    emit_result_op(t, imm_op, t->height);
    emit_word(t, a);
    emit_word(t, imm);
    if (is_i32_compare(op)) t->last_cmp = start;
    push_temp(t, result_type);
    return;
  }
  uint32_t a = operand(t, t->height - 2);
  uint32_t b = operand(t, t->height - 1);
  t->height -= 2;
  uint32_t start = t->nwords;
  emit_result_op(t, op, t->height);
  emit_word(t, a);
  emit_word(t, b);
  if (is_i32_compare(op)) t->last_cmp = start;
  push_temp(t, result_type);
}

/* ---- blocks and branches ------------------------------------------------ */

static void read_blocktype(translator_t *t, uint32_t *np, uint32_t *nr, const uint8_t **params,
                           const uint8_t **results) {
  static const uint8_t single[256] = {[WISP_I32] = WISP_I32, [WISP_I64] = WISP_I64, [WISP_F32] = WISP_F32,
                                      [WISP_F64] = WISP_F64, [WISP_V128] = WISP_V128,
                                      [WISP_FUNCREF] = WISP_FUNCREF, [WISP_EXTERNREF] = WISP_EXTERNREF};
  uint8_t b = *t->p;
  if (b == 0x40) {
    t->p++;
    *np = *nr = 0;
    *params = *results = NULL;
    return;
  }
  if (wisp__is_valtype(b)) {
    t->p++;
    *np = 0;
    *nr = 1;
    *params = NULL;
    *results = &single[b];
    return;
  }
  int64_t idx = 0;
  wisp__leb_s(&t->p, t->end, 33, &idx);
  const wisp__functype_t *ft = &t->m->types[idx];
  *np = ft->nparams;
  *nr = ft->nresults;
  *params = ft->types;
  *results = ft->types + ft->nparams;
}

static cframe_t *push_frame(translator_t *t, uint8_t kind, uint32_t np, uint32_t nr, const uint8_t *params,
                            const uint8_t *results) {
  if (!grow(t, (void **)&t->frames, &t->frames_cap, t->nframes, sizeof *t->frames, 16)) return NULL;
  cframe_t *f = &t->frames[t->nframes++];
  memset(f, 0, sizeof *f);
  f->kind = kind;
  f->height = t->height - np;
  f->nparams = np;
  f->nresults = nr;
  f->params = params;
  f->results = results;
  return f;
}

/* Values a branch to frame f carries: results, or params for a loop. */
static uint32_t label_arity(const cframe_t *f) { return f->kind == FRAME_LOOP ? f->nparams : f->nresults; }

/* Moves the top `n` values to the label's home slots [f->height, f->height+n). */
static void emit_label_moves(translator_t *t, const cframe_t *f, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) copy_entry_to(t, t->height - n + i, home(t, f->height + i));
}

static bool label_moves_needed(const translator_t *t, const cframe_t *f, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    const entry_t *e = &t->stack[t->height - n + i];
    if (e->kind != ENTRY_TEMP || t->height - n + i != f->height + i) return true;
  }
  return false;
}

/* Emits the offset word of a jump to frame f (backward for loops, else patched later). */
static void emit_jump_offset(translator_t *t, cframe_t *f) {
  if (f->kind == FRAME_LOOP) emit_offset_to(t, f->loop_pos + 2);
  else add_patch(t, &f->patches, emit_offset_slot(t));
}

/* Moves the return values to slots [0, n) and emits RET. */
/* Moves the return values to slots [0, n) and returns. This may run on one
 * path only (a br_if or br_table arm), so it must not change the stack model:
 * it copies, it never materialises. */
static void emit_return(translator_t *t) {
  const cframe_t *fn = &t->frames[0];
  uint32_t n = fn->nresults;
  uint32_t base = t->height - n;
  if (n == 1 && t->stack[base].kind != ENTRY_CONST) {
    /* the common case in one instruction: RET1 copies the value to slot 0 */
    emit_op(t, WISP_IOP_RET1);
    emit_word(t, t->stack[base].kind == ENTRY_LOCAL ? t->stack[base].local : home(t, base));
    return;
  }
  /* A value read from a local below n could be overwritten by an earlier
   * move: copy those to their homes first and move them from there. */
  for (uint32_t i = 0; n > 1 && i < n; i++) {
    const entry_t *e = &t->stack[base + i];
    if (e->kind == ENTRY_LOCAL && e->local < n) copy_entry_to(t, base + i, home(t, base + i));
  }
  for (uint32_t i = 0; i < n; i++) {
    const entry_t *e = &t->stack[base + i];
    if (n > 1 && e->kind == ENTRY_LOCAL && e->local < n) {
      if (home(t, base + i) != i) {
        emit_op(t, WISP_IOP_MOV);
        emit_word(t, i);
        emit_word(t, home(t, base + i));
      }
    } else {
      copy_entry_to(t, base + i, i);
    }
  }
  emit_op(t, WISP_IOP_RET);
}

static void emit_br(translator_t *t, uint32_t depth) {
  cframe_t *f = &t->frames[t->nframes - 1 - depth];
  if (f->kind == FRAME_FUNC) {
    emit_return(t);
    return;
  }
  emit_label_moves(t, f, label_arity(f));
  emit_op(t, WISP_IOP_BR);
  emit_jump_offset(t, f);
}

static const wisp__iop_t negated_cmp[] = {
    [WISP_IOP_BR_I32_EQ] = WISP_IOP_BR_I32_NE,     [WISP_IOP_BR_I32_NE] = WISP_IOP_BR_I32_EQ,
    [WISP_IOP_BR_I32_LT_S] = WISP_IOP_BR_I32_GE_S, [WISP_IOP_BR_I32_LT_U] = WISP_IOP_BR_I32_GE_U,
    [WISP_IOP_BR_I32_GT_S] = WISP_IOP_BR_I32_LE_S, [WISP_IOP_BR_I32_GT_U] = WISP_IOP_BR_I32_LE_U,
    [WISP_IOP_BR_I32_LE_S] = WISP_IOP_BR_I32_GT_S, [WISP_IOP_BR_I32_LE_U] = WISP_IOP_BR_I32_GT_U,
    [WISP_IOP_BR_I32_GE_S] = WISP_IOP_BR_I32_LT_S, [WISP_IOP_BR_I32_GE_U] = WISP_IOP_BR_I32_LT_U,
    [WISP_IOP_BR_I32_EQ_IMM] = WISP_IOP_BR_I32_NE_IMM,     [WISP_IOP_BR_I32_NE_IMM] = WISP_IOP_BR_I32_EQ_IMM,
    [WISP_IOP_BR_I32_LT_S_IMM] = WISP_IOP_BR_I32_GE_S_IMM, [WISP_IOP_BR_I32_LT_U_IMM] = WISP_IOP_BR_I32_GE_U_IMM,
    [WISP_IOP_BR_I32_GT_S_IMM] = WISP_IOP_BR_I32_LE_S_IMM, [WISP_IOP_BR_I32_GT_U_IMM] = WISP_IOP_BR_I32_LE_U_IMM,
    [WISP_IOP_BR_I32_LE_S_IMM] = WISP_IOP_BR_I32_GT_S_IMM, [WISP_IOP_BR_I32_LE_U_IMM] = WISP_IOP_BR_I32_GT_U_IMM,
    [WISP_IOP_BR_I32_GE_S_IMM] = WISP_IOP_BR_I32_LT_S_IMM, [WISP_IOP_BR_I32_GE_U_IMM] = WISP_IOP_BR_I32_LT_U_IMM,
};

static wisp__iop_t handler_to_iop(const translator_t *t, uint32_t word) {
  for (int op = 0; op < WISP_IOP_COUNT; op++)
    if ((uint32_t)t->handlers[op] == word) return (wisp__iop_t)op;
  return WISP_IOP_COUNT;
}

/* Emits a conditional jump on the popped i32 condition, taken when the
 * condition is non-zero (`when_true`) or zero. If the condition was computed
 * by the instruction just emitted (an i32 comparison), that instruction is
 * rewritten into a fused compare-and-branch. Returns the offset word. */
static uint32_t emit_cond_jump(translator_t *t, bool when_true) {
  uint32_t cpos = t->height - 1;
  entry_t *c = &t->stack[cpos];
  if (c->kind == ENTRY_TEMP && t->last_cmp >= 0 && t->words[t->last_cmp + 1] == home(t, cpos)) {
    uint32_t start = (uint32_t)t->last_cmp;
    wisp__iop_t cmp = handler_to_iop(t, t->words[start]);
    wisp__iop_t br = cmp >= WISP_IOP_I32_EQ_IMM && cmp <= WISP_IOP_I32_GE_U_IMM
                         ? (wisp__iop_t)(WISP_IOP_BR_I32_EQ_IMM + (cmp - WISP_IOP_I32_EQ_IMM))
                         : (wisp__iop_t)(WISP_IOP_BR_I32_EQ + (cmp - WISP_IOP_I32_EQ));
    if (!when_true) br = negated_cmp[br];
    /* `cmp d a b` becomes `br a b off` in place (b may be an immediate) */
    t->words[start] = (uint32_t)t->handlers[br];
    t->words[start + 1] = t->words[start + 2];
    t->words[start + 2] = t->words[start + 3];
    t->nwords = start + 3;
    t->height--;
    t->last_cmp = t->last_dst = -1;
    return emit_offset_slot(t);
  }
  uint32_t cond = operand(t, cpos);
  t->height--;
  emit_op(t, when_true ? WISP_IOP_BR_NZ : WISP_IOP_BR_Z);
  emit_word(t, cond);
  return emit_offset_slot(t);
}

static void emit_br_if(translator_t *t, uint32_t depth) {
  cframe_t *f = &t->frames[t->nframes - 1 - depth];
  uint32_t n = f->kind == FRAME_FUNC ? f->nresults : label_arity(f);
  /* the condition is on top; the carried values are below it */
  t->height--;
  bool simple = f->kind != FRAME_FUNC && !label_moves_needed(t, f, n);
  t->height++;
  if (simple) {
    uint32_t off = emit_cond_jump(t, true);
    if (f->kind == FRAME_LOOP) patch_to(t, off, f->loop_pos + 2);
    else add_patch(t, &f->patches, off);
    return;
  }
  uint32_t skip = emit_cond_jump(t, false);
  emit_br(t, depth);
  patch_to(t, skip, t->nwords);
}

static void emit_br_table(translator_t *t, uint32_t *depths, uint32_t n) {
  uint32_t idx = operand(t, t->height - 1);
  t->height--;
  emit_op(t, WISP_IOP_BR_TABLE);
  emit_word(t, idx);
  emit_word(t, n - 1);
  uint32_t first = t->nwords;
  for (uint32_t i = 0; i < n; i++) emit_word(t, 0);
  /* each target gets a stub that moves the values and jumps */
  for (uint32_t i = 0; i < n; i++) {
    patch_to(t, first + i, t->nwords);
    emit_br(t, depths[i]);
  }
}

/* Resets the stack model to `height` + the given types, all in their homes. */
static void reset_stack(translator_t *t, uint32_t height, uint32_t n, const uint8_t *types) {
  t->height = height;
  for (uint32_t i = 0; i < n; i++) push_temp(t, types[i]);
}

static void end_frame(translator_t *t) {
  cframe_t *f = &t->frames[t->nframes - 1];
  if (!f->unreachable)
    for (uint32_t i = 0; i < f->nresults; i++) materialize(t, t->height - f->nresults + i);
  uint32_t here = t->nwords;
  for (uint32_t i = 0; i < f->patches.n; i++) patch_to(t, f->patches.pos[i], here);
  if (f->kind == FRAME_IF) patch_to(t, f->else_patch, here);
  free(f->patches.pos);
  reset_stack(t, f->height, f->nresults, f->results);
  t->nframes--;
  t->last_dst = t->last_cmp = -1;
}

/* ---- the main loop ------------------------------------------------------ */

static uint32_t read_u32(translator_t *t) {
  uint64_t v = 0;
  wisp__leb_u(&t->p, t->end, 32, &v);
  return (uint32_t)v;
}

static int64_t read_s(translator_t *t, unsigned bits) {
  int64_t v = 0;
  wisp__leb_s(&t->p, t->end, bits, &v);
  return v;
}

/* Closes the current fuel region with its cost (instructions + 1). */
static void end_fuel_region(translator_t *t) {
  if (t->fuel_pos) t->words[t->fuel_pos] = t->fuel_count + 1;
  else t->entry_fuel = t->fuel_count + 1;
}

/* Starts a fuel region at a loop header: a FUEL instruction there charges the
 * straight-line code up to the next region on every iteration. */
static void begin_fuel_region(translator_t *t) {
  end_fuel_region(t);
  emit_op(t, WISP_IOP_FUEL);
  t->fuel_pos = t->nwords;
  emit_word(t, 1);
  t->fuel_count = 0;
}

/* Skips the immediates of an instruction in unreachable code. */
static void skip_immediates(translator_t *t, uint32_t code) {
  const wisp__opinfo_t *info = wisp__opinfo(code);
  if (!info) return;
  switch (info->imm) {
    case WISP_IMM_BLOCKTYPE: {
      uint32_t np, nr;
      const uint8_t *ps, *rs;
      read_blocktype(t, &np, &nr, &ps, &rs);
      break;
    }
    case WISP_IMM_BRTABLE: {
      uint32_t n = read_u32(t);
      for (uint32_t i = 0; i <= n; i++) read_u32(t);
      break;
    }
    case WISP_IMM_LABEL: case WISP_IMM_FUNC: case WISP_IMM_LOCAL: case WISP_IMM_GLOBAL: case WISP_IMM_TABLE:
    case WISP_IMM_DATA: case WISP_IMM_ELEM:
      read_u32(t);
      break;
    case WISP_IMM_CALL_INDIRECT: case WISP_IMM_MEMARG: case WISP_IMM_ELEM_TABLE: case WISP_IMM_TABLE_TABLE:
      read_u32(t);
      read_u32(t);
      break;
    case WISP_IMM_DATA_MEM: read_u32(t); t->p++; break;
    case WISP_IMM_MEMIDX: case WISP_IMM_REFTYPE: t->p++; break;
    case WISP_IMM_MEM_MEM: t->p += 2; break;
    case WISP_IMM_I32: read_s(t, 32); break;
    case WISP_IMM_I64: read_s(t, 64); break;
    case WISP_IMM_F32: t->p += 4; break;
    case WISP_IMM_F64: t->p += 8; break;
    case WISP_IMM_SELECT_T: {
      uint32_t n = read_u32(t);
      t->p += n;
      break;
    }
    default: break;
  }
}

static uint32_t read_opcode(translator_t *t) {
  uint32_t code = *t->p++;
  if (code == 0xFC) code = 0xFC00 | read_u32(t);
  return code;
}

static const uint8_t *local_type_of(translator_t *t, uint32_t idx) { return &t->local_types[idx]; }

/* Materialises the arguments (they become the callee's first slots) and pops them. */
static void emit_call(translator_t *t, uint32_t nparams) {
  for (uint32_t i = 0; i < nparams; i++) materialize(t, t->height - nparams + i);
  t->height -= nparams;
}

static void finish_call(translator_t *t, uint32_t nresults, const uint8_t *results) {
  for (uint32_t i = 0; i < nresults; i++) push_temp(t, results[i]);
}

static void translate_memarg_op(translator_t *t, wisp__iop_t iop, bool store, uint8_t type) {
  read_u32(t); /* alignment: a hint */
  uint32_t offset = read_u32(t);
  if (store) {
    uint32_t a = operand(t, t->height - 2);
    uint32_t v = operand(t, t->height - 1);
    t->height -= 2;
    emit_op(t, iop);
    emit_word(t, a);
    emit_word(t, v);
    emit_word(t, offset);
  } else {
    uint32_t a = operand(t, t->height - 1);
    t->height--;
    emit_result_op(t, iop, t->height);
    emit_word(t, a);
    emit_word(t, offset);
    push_temp(t, type);
  }
}

/* Numeric instruction iop for a wasm opcode, or WISP_IOP_COUNT. */
static wisp__iop_t numeric_iop(uint32_t code) {
  switch (code) {
#define WISP__NUM_CASE(name) case WISP_OP_##name: return WISP_IOP_##name;
    WISP_NUMERIC_IOPS(WISP__NUM_CASE)
    WISP_MEMORY_IOPS(WISP__NUM_CASE)
#undef WISP__NUM_CASE
    default: return WISP_IOP_COUNT;
  }
}


/* For i32/i64 add and sub whose right operand is a constant that fits a
 * signed 32-bit addend: the addend (negated for sub). */
static bool add_immediate(const translator_t *t, uint32_t code, int32_t *imm) {
  const entry_t *b = &t->stack[t->height - 1];
  if (b->kind != ENTRY_CONST) return false;
  if (code == WISP_OP_I32_ADD || code == WISP_OP_I32_SUB) {
    uint32_t v = (uint32_t)b->bits;
    if (code == WISP_OP_I32_SUB) v = 0u - v;
    *imm = (int32_t)v; /* i32 arithmetic wraps: any value works */
    return true;
  }
  if (code != WISP_OP_I64_ADD && code != WISP_OP_I64_SUB) return false;
  int64_t v = (int64_t)b->bits;
  if (v < -INT32_MAX || v > INT32_MAX) return false;
  *imm = (int32_t)(code == WISP_OP_I64_SUB ? -v : v);
  return true;
}

/* Translates the instruction whose opcode was just read. Returns false at the
 * function's final end. */
static bool translate_op(translator_t *t, uint32_t code) {
  cframe_t *top = &t->frames[t->nframes - 1];
  switch (code) {
    case WISP_OP_UNREACHABLE:
      emit_op(t, WISP_IOP_UNREACHABLE);
      top->unreachable = true;
      return true;
    case WISP_OP_NOP: return true;
    case WISP_OP_BLOCK: case WISP_OP_LOOP: case WISP_OP_IF: {
      uint32_t np, nr;
      const uint8_t *ps, *rs;
      read_blocktype(t, &np, &nr, &ps, &rs);
      uint32_t else_patch = 0;
      if (code == WISP_OP_IF) {
        /* everything but the condition, so a comparison can still fuse with the jump */
        for (uint32_t i = 0; i + 1 < t->height; i++) materialize(t, i);
        else_patch = emit_cond_jump(t, false);
      } else {
        materialize_all(t);
      }
      cframe_t *f = push_frame(t, code == WISP_OP_BLOCK ? FRAME_BLOCK : code == WISP_OP_LOOP ? FRAME_LOOP : FRAME_IF,
                               np, nr, ps, rs);
      if (!f) return false;
      f->else_patch = else_patch;
      if (code == WISP_OP_LOOP) {
        begin_fuel_region(t);
        f->loop_pos = t->fuel_pos - 1;
      }
      t->last_dst = t->last_cmp = -1;
      return true;
    }
    case WISP_OP_ELSE: {
      if (!top->unreachable) {
        for (uint32_t i = 0; i < top->nresults; i++) materialize(t, t->height - top->nresults + i);
        emit_op(t, WISP_IOP_BR);
        add_patch(t, &top->patches, emit_offset_slot(t));
      }
      patch_to(t, top->else_patch, t->nwords);
      top->kind = FRAME_ELSE;
      top->unreachable = false;
      reset_stack(t, top->height, top->nparams, top->params);
      t->last_dst = t->last_cmp = -1;
      return true;
    }
    case WISP_OP_END:
      if (t->nframes == 1) {
        if (!top->unreachable) emit_return(t);
        return false;
      }
      end_frame(t);
      return true;
    case WISP_OP_BR:
      emit_br(t, read_u32(t));
      top->unreachable = true;
      return true;
    case WISP_OP_BR_IF:
      emit_br_if(t, read_u32(t));
      return true;
    case WISP_OP_BR_TABLE: {
      uint32_t n = read_u32(t) + 1;
      uint32_t *depths = malloc(n * sizeof *depths);
      if (!depths) {
        t->oom = true;
        return false;
      }
      for (uint32_t i = 0; i < n; i++) depths[i] = read_u32(t);
      emit_br_table(t, depths, n);
      free(depths);
      top->unreachable = true;
      return true;
    }
    case WISP_OP_RETURN:
      emit_return(t);
      top->unreachable = true;
      return true;
    case WISP_OP_CALL: {
      uint32_t fi = read_u32(t);
      const wisp__functype_t *ft = wisp__func_type(t->m, fi);
      emit_call(t, ft->nparams);
      emit_op(t, WISP_IOP_CALL);
      emit_word(t, fi);
      emit_word(t, home(t, t->height));
      finish_call(t, ft->nresults, ft->types + ft->nparams);
      return true;
    }
    case WISP_OP_CALL_INDIRECT: {
      uint32_t ti = read_u32(t);
      uint32_t table = read_u32(t);
      const wisp__functype_t *ft = &t->m->types[ti];
      uint32_t idx = operand(t, t->height - 1);
      t->height--;
      emit_call(t, ft->nparams);
      emit_op(t, WISP_IOP_CALL_INDIRECT);
      emit_word(t, ft->canon);
      emit_word(t, table);
      emit_word(t, idx);
      emit_word(t, home(t, t->height));
      finish_call(t, ft->nresults, ft->types + ft->nparams);
      return true;
    }
    case WISP_OP_DROP:
      t->height--;
      return true;
    case WISP_OP_SELECT: case WISP_OP_SELECT_T: {
      if (code == WISP_OP_SELECT_T) {
        uint32_t n = read_u32(t);
        t->p += n;
      }
      uint32_t c = operand(t, t->height - 1);
      uint32_t b = operand(t, t->height - 2);
      uint32_t a = operand(t, t->height - 3);
      uint8_t type = t->stack[t->height - 3].type;
      t->height -= 3;
      emit_result_op(t, WISP_IOP_SELECT, t->height);
      emit_word(t, a);
      emit_word(t, b);
      emit_word(t, c);
      push_temp(t, type);
      return true;
    }
    case WISP_OP_LOCAL_GET: {
      uint32_t x = read_u32(t);
      push(t, *local_type_of(t, x), ENTRY_LOCAL, x, 0);
      return true;
    }
    case WISP_OP_LOCAL_SET: case WISP_OP_LOCAL_TEE: {
      uint32_t x = read_u32(t);
      uint32_t vpos = t->height - 1;
      entry_t v = t->stack[vpos];
      if (v.kind == ENTRY_LOCAL && v.local == x) {
        /* x := x */
      } else {
        bool pending = false;
        for (uint32_t i = 0; i < vpos; i++)
          if (t->stack[i].kind == ENTRY_LOCAL && t->stack[i].local == x) pending = true;
        if (pending) flush_local(t, x);
        if (!pending && v.kind == ENTRY_TEMP && t->last_dst >= 0 && t->words[t->last_dst] == home(t, vpos)) {
          t->words[t->last_dst] = x; /* retarget the producing instruction */
        } else {
          copy_entry_to(t, vpos, x);
        }
      }
      t->height--;
      t->last_dst = t->last_cmp = -1;
      if (code == WISP_OP_LOCAL_TEE) push(t, v.type, ENTRY_LOCAL, x, 0);
      return true;
    }
    case WISP_OP_GLOBAL_GET: {
      uint32_t g = read_u32(t);
      emit_result_op(t, WISP_IOP_GLOBAL_GET, t->height);
      emit_word(t, g);
      push_temp(t, t->m->globals[g].type.type);
      return true;
    }
    case WISP_OP_GLOBAL_SET: {
      uint32_t g = read_u32(t);
      uint32_t s = operand(t, t->height - 1);
      t->height--;
      emit_op(t, WISP_IOP_GLOBAL_SET);
      emit_word(t, g);
      emit_word(t, s);
      return true;
    }
    case WISP_OP_TABLE_GET: {
      uint32_t tb = read_u32(t);
      uint32_t i = operand(t, t->height - 1);
      t->height--;
      emit_result_op(t, WISP_IOP_TABLE_GET, t->height);
      emit_word(t, tb);
      emit_word(t, i);
      push_temp(t, t->m->tables[tb].elem);
      return true;
    }
    case WISP_OP_TABLE_SET: {
      uint32_t tb = read_u32(t);
      uint32_t i = operand(t, t->height - 2), v = operand(t, t->height - 1);
      t->height -= 2;
      emit_op(t, WISP_IOP_TABLE_SET);
      emit_word(t, tb);
      emit_word(t, i);
      emit_word(t, v);
      return true;
    }
    case WISP_OP_MEMORY_SIZE:
      t->p++;
      emit_result_op(t, WISP_IOP_MEMORY_SIZE, t->height);
      push_temp(t, WISP_I32);
      return true;
    case WISP_OP_MEMORY_GROW: {
      t->p++;
      uint32_t n = operand(t, t->height - 1);
      t->height--;
      emit_result_op(t, WISP_IOP_MEMORY_GROW, t->height);
      emit_word(t, n);
      push_temp(t, WISP_I32);
      return true;
    }
    case WISP_OP_I32_CONST: push(t, WISP_I32, ENTRY_CONST, 0, (uint32_t)read_s(t, 32)); return true;
    case WISP_OP_I64_CONST: push(t, WISP_I64, ENTRY_CONST, 0, (uint64_t)read_s(t, 64)); return true;
    case WISP_OP_F32_CONST: {
      uint32_t bits;
      memcpy(&bits, t->p, 4);
      t->p += 4;
      push(t, WISP_F32, ENTRY_CONST, 0, bits);
      return true;
    }
    case WISP_OP_F64_CONST: {
      uint64_t bits;
      memcpy(&bits, t->p, 8);
      t->p += 8;
      push(t, WISP_F64, ENTRY_CONST, 0, bits);
      return true;
    }
    case WISP_OP_REF_NULL: {
      uint8_t type = *t->p++;
      push(t, type, ENTRY_CONST, 0, 0);
      return true;
    }
    case WISP_OP_REF_IS_NULL:
      emit_unary(t, WISP_IOP_REF_IS_NULL, WISP_I32);
      return true;
    case WISP_OP_REF_FUNC: {
      uint32_t f = read_u32(t);
      emit_result_op(t, WISP_IOP_REF_FUNC, t->height);
      emit_word(t, f);
      push_temp(t, WISP_FUNCREF);
      return true;
    }
    case WISP_OP_MEMORY_INIT: case WISP_OP_MEMORY_COPY: case WISP_OP_MEMORY_FILL: case WISP_OP_TABLE_INIT:
    case WISP_OP_TABLE_COPY: case WISP_OP_TABLE_FILL: {
      uint32_t imm1 = 0, imm2 = 0;
      wisp__iop_t iop;
      int nimm;
      switch (code) {
        case WISP_OP_MEMORY_INIT: imm1 = read_u32(t); t->p++; iop = WISP_IOP_MEMORY_INIT; nimm = 1; break;
        case WISP_OP_MEMORY_COPY: t->p += 2; iop = WISP_IOP_MEMORY_COPY; nimm = 0; break;
        case WISP_OP_MEMORY_FILL: t->p++; iop = WISP_IOP_MEMORY_FILL; nimm = 0; break;
        case WISP_OP_TABLE_INIT: imm2 = read_u32(t); imm1 = read_u32(t); iop = WISP_IOP_TABLE_INIT; nimm = 2; break;
        case WISP_OP_TABLE_COPY: imm1 = read_u32(t); imm2 = read_u32(t); iop = WISP_IOP_TABLE_COPY; nimm = 2; break;
        default: imm1 = read_u32(t); iop = WISP_IOP_TABLE_FILL; nimm = 1; break;
      }
      uint32_t a = operand(t, t->height - 3), b = operand(t, t->height - 2), c = operand(t, t->height - 1);
      t->height -= 3;
      emit_op(t, iop);
      if (nimm >= 1) emit_word(t, imm1);
      if (nimm >= 2) emit_word(t, imm2);
      emit_word(t, a);
      emit_word(t, b);
      emit_word(t, c);
      return true;
    }
    case WISP_OP_DATA_DROP: case WISP_OP_ELEM_DROP: {
      uint32_t seg = read_u32(t);
      emit_op(t, code == WISP_OP_DATA_DROP ? WISP_IOP_DATA_DROP : WISP_IOP_ELEM_DROP);
      emit_word(t, seg);
      return true;
    }
    case WISP_OP_TABLE_GROW: {
      uint32_t tb = read_u32(t);
      uint32_t v = operand(t, t->height - 2), n = operand(t, t->height - 1);
      t->height -= 2;
      emit_result_op(t, WISP_IOP_TABLE_GROW, t->height);
      emit_word(t, tb);
      emit_word(t, v);
      emit_word(t, n);
      push_temp(t, WISP_I32);
      return true;
    }
    case WISP_OP_TABLE_SIZE: {
      uint32_t tb = read_u32(t);
      emit_result_op(t, WISP_IOP_TABLE_SIZE, t->height);
      emit_word(t, tb);
      push_temp(t, WISP_I32);
      return true;
    }
    default: break;
  }

  const wisp__opinfo_t *info = wisp__opinfo(code);
  wisp__iop_t iop = numeric_iop(code);
  if (!info || !info->sig || iop == WISP_IOP_COUNT) {
    t->oom = true; /* unreachable for validated, SIMD-free modules */
    return false;
  }
  const char *sig = info->sig;
  const char *arrow = strchr(sig, '>');
  uint32_t nin = (uint32_t)(arrow - sig);
  if (info->imm == WISP_IMM_MEMARG) {
    translate_memarg_op(t, iop, arrow[1] == '\0', wisp__sig_type(arrow[1]));
    return true;
  }
  uint8_t result = wisp__sig_type(arrow[1]);
  /* integer add/sub with a small constant right operand */
  int32_t imm;
  if (nin == 2 && add_immediate(t, code, &imm)) {
    t->height--;
    uint32_t a = operand(t, t->height - 1);
    t->height--;
    emit_result_op(t, result == WISP_I32 ? WISP_IOP_I32_ADD_IMM : WISP_IOP_I64_ADD_IMM, t->height);
    emit_word(t, a);
    emit_word(t, (uint32_t)imm);
    push_temp(t, result);
    return true;
  }
  if (nin == 1) emit_unary(t, iop, result);
  else emit_binary(t, iop, result);
  return true;
}

wisp__code_t *wisp__translate(const wisp_module_t *m, uint32_t index) {
  const wisp__func_t *fn = &m->funcs[index];
  const wisp__functype_t *ft = wisp__func_type(m, index);
  translator_t t = {0};
  t.m = m;
  t.base = m->bytes;
  t.p = m->bytes + fn->body_start;
  t.end = m->bytes + fn->body_end;
  t.nlocals = ft->nparams + fn->nlocals;
  t.handlers = wisp__interp_handlers();
  t.last_dst = t.last_cmp = -1;
  wisp__code_t *code = NULL;
  t.local_types = malloc(t.nlocals + 1);
  if (!t.local_types) goto fail;
  memcpy(t.local_types, ft->types, ft->nparams);
  uint32_t li = ft->nparams;
  for (uint32_t r = 0; r < fn->nlocalruns; r++)
    for (uint32_t k = 0; k < fn->localruns[r].count; k++) t.local_types[li++] = fn->localruns[r].type;

  push_frame(&t, FRAME_FUNC, 0, ft->nresults, NULL, ft->types + ft->nparams);
  t.op_offset = fn->body_start;
  /* the entry region is charged by the call instruction, not a FUEL instruction */
  uint32_t skip_depth = 0;
  while (t.p < t.end && !t.oom) {
    t.op_offset = (uint32_t)(t.p - t.base);
    uint32_t op = read_opcode(&t);
    t.fuel_count++;
    cframe_t *top = &t.frames[t.nframes - 1];
    if (top->unreachable) {
      /* dead code: skip to the matching else/end */
      if (op == WISP_OP_BLOCK || op == WISP_OP_LOOP || op == WISP_OP_IF) {
        skip_depth++;
        skip_immediates(&t, op);
        continue;
      }
      if (skip_depth > 0) {
        if (op == WISP_OP_END) skip_depth--;
        else skip_immediates(&t, op);
        continue;
      }
      if (op != WISP_OP_END && op != WISP_OP_ELSE) {
        skip_immediates(&t, op);
        continue;
      }
    }
    if (!translate_op(&t, op)) break;
  }
  if (t.oom) goto fail;
  end_fuel_region(&t);

  code = calloc(1, sizeof *code);
  if (!code) goto fail;
  code->words = t.words;
  code->nwords = t.nwords;
  code->param_cells = ft->nparams;
  code->entry_fuel = t.entry_fuel;
  code->local_cells = fn->nlocals;
  code->frame_cells = t.nlocals + t.max_height;
  if (code->frame_cells < ft->nresults) code->frame_cells = ft->nresults;
  code->offsets = t.offsets;
  code->noffsets = t.noffsets;
  for (uint32_t i = 0; i < t.nframes; i++) free(t.frames[i].patches.pos);
  free(t.frames);
  free(t.stack);
  free(t.local_types);
  return code;

fail:
  for (uint32_t i = 0; i < t.nframes; i++) free(t.frames[i].patches.pos);
  free(t.frames);
  free(t.stack);
  free(t.local_types);
  free(t.words);
  free(t.offsets);
  return NULL;
}

void wisp__code_free(wisp__code_t *code) {
  if (!code) return;
  free(code->words);
  free(code->offsets);
  free(code);
}

uint32_t wisp__code_offset(const wisp__code_t *code, uint32_t pos) {
  /* the last instruction starting at or before pos */
  uint32_t lo = 0, hi = code->noffsets;
  while (hi - lo > 1) {
    uint32_t mid = (lo + hi) / 2;
    if (code->offsets[mid * 2] <= pos) lo = mid;
    else hi = mid;
  }
  return code->noffsets ? code->offsets[lo * 2 + 1] : 0;
}
