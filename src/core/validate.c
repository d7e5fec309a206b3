/*
 * validate.c: the WebAssembly 2.0 validator (module.h: wisp__validate).
 *
 * Two parts. Module-level checks: index ranges, limits, one memory, constant
 * expressions, exports, start, segments; they also fill m->func_declared, the
 * functions that ref.func may name. Function bodies: the spec's validation
 * algorithm (its appendix), an operand stack of value types where 0 is the
 * "unknown" type of unreachable code, and a stack of control frames. Bodies are
 * not decoded before this point, so reading instructions here is also where
 * malformed bytecode is reported (WISP_ERR_MALFORMED): illegal opcodes, bad
 * LEB128 immediates, reserved bytes that must be zero, a body that ends early
 * or continues after its final `end`.
 *
 * A module that is both malformed and invalid must be reported malformed (the
 * spec decodes the whole module before validating it). So once an invalid
 * error is found, the remaining bytecode is still read, without type checks
 * (skim_body), and a malformed error found there replaces the invalid one.
 *
 * Per defined function the validator records max_stack: the largest operand
 * stack height in 8-byte cells (v128 takes 2, every other type 1; the unknown
 * type of unreachable code conservatively 2). The first SIMD instruction met
 * sets m->uses_simd, simd_func, simd_offset and simd_code.
 *
 * Memory: the stacks live in a validator_t that grows them geometrically and is
 * reused from one function to the next; nothing is allocated per instruction.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leb128.h"
#include "module.h"
#include "opcodes.h"
#include "simd_ops.h"

#define TYPE_UNKNOWN 0 /* the bottom type of unreachable code: matches anything */

enum frame_kind { FRAME_FUNC, FRAME_BLOCK, FRAME_LOOP, FRAME_IF, FRAME_ELSE };

/* One control frame: the spec's ctrl_frame. params/results point into a
 * function type or into valtype_bytes (single-result block types), never into
 * the frame stack, so they stay valid when that stack grows. */
typedef struct frame {
  uint8_t kind;              /* enum frame_kind */
  bool unreachable;
  uint32_t height;           /* operand stack size at entry (after params popped) */
  uint32_t cell_height;      /* the same in cells */
  uint32_t nparams, nresults;
  const uint8_t *params, *results;
} frame_t;

/* One decoded instruction: its code, where it starts and its immediates. */
typedef struct instr {
  uint32_t code;             /* see opcodes.h CODE column */
  uint32_t offset;           /* byte offset of the opcode in the binary */
  const wisp__opinfo_t *info;
  uint32_t idx[2];           /* index immediates, in encoding order */
  int64_t blocktype;         /* -0x40 empty, other negative: a valtype byte - 0x80; else type index */
  uint32_t align;            /* memarg: log2 alignment as encoded */
  uint32_t count;            /* br_table label count; select_t type count */
  uint8_t lane;
  uint8_t type;              /* ref.null: reftype; select_t: the first type */
  const uint8_t *vec;        /* br_table labels; shuffle lanes */
} instr_t;

typedef struct validator {
  struct wisp_module *m;
  wisp_error_t *err;
  uint32_t func;             /* current function, in the function index space */
  const uint8_t *p, *end;    /* cursor in the current body */
  const wisp__functype_t *type; /* current function's type */

  uint8_t *vals;             /* operand stack of value types */
  uint32_t nvals, cap_vals;
  uint32_t cells, max_cells;

  frame_t *frames;
  uint32_t nframes, cap_frames;

  uint64_t *local_ends;      /* cumulative local counts per local run (params excluded) */
  uint32_t cap_local_ends;
  uint64_t nlocals;          /* params + declared locals */
} validator_t;

/* valtype_bytes[t] == t: a stable one-element type list for any valtype byte. */
static const uint8_t valtype_bytes[256] = {
    [WISP_I32] = WISP_I32, [WISP_I64] = WISP_I64, [WISP_F32] = WISP_F32, [WISP_F64] = WISP_F64,
    [WISP_V128] = WISP_V128, [WISP_FUNCREF] = WISP_FUNCREF, [WISP_EXTERNREF] = WISP_EXTERNREF,
};

static const char *type_name(uint8_t t) {
  return t == TYPE_UNKNOWN ? "unknown" : wisp_valkind_name(t);
}

static uint32_t cells_of(uint8_t t) {
  return (t == WISP_V128 || t == TYPE_UNKNOWN) ? 2 : 1;
}

static bool is_reftype(uint8_t t) { return t == WISP_FUNCREF || t == WISP_EXTERNREF; }


/* ---- errors --------------------------------------------------------------- */

/* Reports an error in the current body at `offset`: "code section, function N
 * (name), offset 0x..: <what>". Returns `code`. */
__attribute__((format(printf, 4, 5)))
static int body_error(validator_t *v, int code, uint32_t offset, const char *fmt, ...) {
  char what[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  const char *name = v->m->func_names && v->func < v->m->nfuncs ? v->m->func_names[v->func] : NULL;
  return wisp__error(v->err, code, offset, "code section, function %u%s%s%s, offset 0x%x: %s", v->func,
                     name ? " (" : "", name ? name : "", name ? ")" : "", offset, what);
}

static uint32_t cur_offset(const validator_t *v) { return (uint32_t)(v->p - v->m->bytes); }

static int malformed_leb(validator_t *v, int leb_rc, uint32_t offset) {
  if (leb_rc == WISP_LEB_END)
    return body_error(v, WISP_ERR_MALFORMED, offset, "unexpected end of section or function");
  if (leb_rc == WISP_LEB_LONG)
    return body_error(v, WISP_ERR_MALFORMED, offset, "integer representation too long");
  return body_error(v, WISP_ERR_MALFORMED, offset, "integer too large");
}

/* ---- reading immediates ------------------------------------------------------ */

static int read_u32(validator_t *v, uint32_t *out) {
  uint64_t x;
  uint32_t at = cur_offset(v);
  int rc = wisp__leb_u(&v->p, v->end, 32, &x);
  if (rc != WISP_LEB_OK) return malformed_leb(v, rc, at);
  *out = (uint32_t)x;
  return 0;
}

static int read_s(validator_t *v, unsigned bits, int64_t *out) {
  uint32_t at = cur_offset(v);
  int rc = wisp__leb_s(&v->p, v->end, bits, out);
  if (rc != WISP_LEB_OK) return malformed_leb(v, rc, at);
  return 0;
}

static int read_bytes(validator_t *v, size_t n, const uint8_t **out) {
  if ((size_t)(v->end - v->p) < n)
    return body_error(v, WISP_ERR_MALFORMED, cur_offset(v), "unexpected end of section or function");
  *out = v->p;
  v->p += n;
  return 0;
}

static int read_zero_byte(validator_t *v) {
  const uint8_t *b = NULL;
  int rc = read_bytes(v, 1, &b);
  if (rc) return rc;
  if (*b != 0) return body_error(v, WISP_ERR_MALFORMED, cur_offset(v) - 1, "zero byte expected");
  return 0;
}

static int read_blocktype(validator_t *v, int64_t *out) {
  if (v->p >= v->end)
    return body_error(v, WISP_ERR_MALFORMED, cur_offset(v), "unexpected end of section or function");
  uint8_t b = *v->p;
  if (b == 0x40 || wisp__is_valtype(b)) {
    v->p++;
    *out = (int64_t)b - 0x80;
    return 0;
  }
  uint32_t at = cur_offset(v);
  int rc = read_s(v, 33, out);
  if (rc) return rc;
  if (*out < 0) return body_error(v, WISP_ERR_MALFORMED, at, "malformed block type 0x%02x", b);
  return 0;
}

/* Reads the opcode at v->p into ins->code and ins->info. */
static int read_opcode(validator_t *v, instr_t *ins) {
  int rc;
  if (v->p >= v->end)
    return body_error(v, WISP_ERR_MALFORMED, ins->offset, "unexpected end of section or function: END opcode expected");
  uint8_t b = *v->p++;
  uint32_t code = b;
  if (b == 0xFC || b == 0xFD) {
    uint32_t sub;
    if ((rc = read_u32(v, &sub)) != 0) return rc;
    if ((b == 0xFC && sub >= 0x100) || (b == 0xFD && sub >= 0x200))
      return body_error(v, WISP_ERR_MALFORMED, ins->offset, "illegal opcode 0x%02x 0x%x", b, sub);
    code = b == 0xFC ? 0xFC00 | sub : 0x10000 | sub;
  }
  ins->info = wisp__opinfo(code);
  if (!ins->info) {
    if (code > 0xFF)
      return body_error(v, WISP_ERR_MALFORMED, ins->offset, "illegal opcode 0x%02x 0x%x", b, code & 0x1FF);
    return body_error(v, WISP_ERR_MALFORMED, ins->offset, "illegal opcode 0x%02x", b);
  }
  ins->code = code;
  return 0;
}

/* Reads one instruction at v->p into *ins. Every malformed-byte check lives
 * here, shared by validate_body and skim_body; index ranges and typing are
 * the caller's. */
static int read_instr(validator_t *v, instr_t *ins) {
  struct wisp_module *m = v->m;
  int rc;
  memset(ins, 0, sizeof *ins);
  ins->offset = cur_offset(v);
  if ((rc = read_opcode(v, ins)) != 0) return rc;
  const wisp__opinfo_t *info = ins->info;
  const uint8_t *bytes = NULL;
  int64_t s;
  switch ((wisp__imm_t)info->imm) {
    case WISP_IMM_NONE:
      return 0;
    case WISP_IMM_BLOCKTYPE:
      return read_blocktype(v, &ins->blocktype);
    case WISP_IMM_LABEL: case WISP_IMM_FUNC: case WISP_IMM_LOCAL: case WISP_IMM_GLOBAL:
    case WISP_IMM_TABLE: case WISP_IMM_ELEM:
      return read_u32(v, &ins->idx[0]);
    case WISP_IMM_DATA:
      if ((rc = read_u32(v, &ins->idx[0])) != 0) return rc;
      break; /* datacount check below */
    case WISP_IMM_BRTABLE: {
      if ((rc = read_u32(v, &ins->count)) != 0) return rc;
      ins->vec = v->p;
      uint32_t label = 0;
      for (uint32_t i = 0; i < ins->count; i++)
        if ((rc = read_u32(v, &label)) != 0) return rc;
      return read_u32(v, &ins->idx[0]);
    }
    case WISP_IMM_CALL_INDIRECT: case WISP_IMM_ELEM_TABLE: case WISP_IMM_TABLE_TABLE:
      if ((rc = read_u32(v, &ins->idx[0])) != 0) return rc;
      return read_u32(v, &ins->idx[1]);
    case WISP_IMM_MEMARG: case WISP_IMM_MEMARG_LANE:
      if ((rc = read_u32(v, &ins->align)) != 0) return rc;
      if ((rc = read_u32(v, &ins->idx[0])) != 0) return rc; /* offset */
      if (info->imm == WISP_IMM_MEMARG) return 0;
      if ((rc = read_bytes(v, 1, &bytes)) != 0) return rc;
      ins->lane = bytes[0];
      return 0;
    case WISP_IMM_MEMIDX:
      return read_zero_byte(v);
    case WISP_IMM_I32:
      return read_s(v, 32, &s);
    case WISP_IMM_I64:
      return read_s(v, 64, &s);
    case WISP_IMM_F32:
      return read_bytes(v, 4, &bytes);
    case WISP_IMM_F64:
      return read_bytes(v, 8, &bytes);
    case WISP_IMM_V128:
      return read_bytes(v, 16, &bytes);
    case WISP_IMM_SHUFFLE:
      return read_bytes(v, 16, &ins->vec);
    case WISP_IMM_LANE:
      if ((rc = read_bytes(v, 1, &bytes)) != 0) return rc;
      ins->lane = bytes[0];
      return 0;
    case WISP_IMM_REFTYPE:
      if ((rc = read_bytes(v, 1, &bytes)) != 0) return rc;
      if (!is_reftype(bytes[0]))
        return body_error(v, WISP_ERR_MALFORMED, ins->offset + 1, "malformed reference type 0x%02x", bytes[0]);
      ins->type = bytes[0];
      return 0;
    case WISP_IMM_SELECT_T:
      if ((rc = read_u32(v, &ins->count)) != 0) return rc;
      for (uint32_t i = 0; i < ins->count; i++) {
        if ((rc = read_bytes(v, 1, &bytes)) != 0) return rc;
        if (!wisp__is_valtype(bytes[0]))
          return body_error(v, WISP_ERR_MALFORMED, cur_offset(v) - 1, "malformed value type 0x%02x", bytes[0]);
        if (i == 0) ins->type = bytes[0];
      }
      return 0;
    case WISP_IMM_DATA_MEM:
      if ((rc = read_u32(v, &ins->idx[0])) != 0) return rc;
      if ((rc = read_zero_byte(v)) != 0) return rc;
      break; /* datacount check below */
    case WISP_IMM_MEM_MEM:
      if ((rc = read_zero_byte(v)) != 0) return rc;
      return read_zero_byte(v);
  }
  /* memory.init and data.drop: only a module with a data count section may
   * name data segments from code (so that one pass can decode it). Without
   * data segments there is nothing to count: the index is then simply unknown
   * (what text-format spec tests expect: wast2json writes no such section). */
  if (!m->has_datacount && m->ndatas > 0)
    return body_error(v, WISP_ERR_MALFORMED, ins->offset, "data count section required for %s", info->name);
  return 0;
}

/* ---- operand and control stacks -------------------------------------------- */

/* Grows *buf (of *cap elements of `size` bytes) to hold at least `need`. */
static int grow(validator_t *v, void **buf, uint32_t *cap, uint32_t need, size_t size) {
  if (need <= *cap) return 0;
  uint64_t ncap = *cap ? *cap : 64;
  while (ncap < need) ncap *= 2;
  if (ncap > UINT32_MAX) ncap = UINT32_MAX;
  void *grown = realloc(*buf, (size_t)ncap * size);
  if (!grown) return wisp__error(v->err, WISP_ERR_NOMEM, 0, "out of memory validating function %u", v->func);
  *buf = grown;
  *cap = (uint32_t)ncap;
  return 0;
}

static int push(validator_t *v, uint8_t t) {
  if (v->nvals == v->cap_vals) {
    int rc = grow(v, (void **)&v->vals, &v->cap_vals, v->nvals + 1, 1);
    if (rc) return rc;
  }
  v->vals[v->nvals++] = t;
  v->cells += cells_of(t);
  if (v->cells > v->max_cells) v->max_cells = v->cells;
  return 0;
}

static int push_types(validator_t *v, const uint8_t *types, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    int rc = push(v, types[i]);
    if (rc) return rc;
  }
  return 0;
}

/* Pops one value of any type into *out (TYPE_UNKNOWN below the base of an
 * unreachable frame). `expected` only words the error. */
static int pop_any(validator_t *v, const instr_t *ins, uint8_t expected, uint8_t *out) {
  const frame_t *f = &v->frames[v->nframes - 1];
  if (v->nvals == f->height) {
    if (f->unreachable) {
      *out = TYPE_UNKNOWN;
      return 0;
    }
    if (expected == TYPE_UNKNOWN)
      return body_error(v, WISP_ERR_INVALID, ins->offset, "type mismatch: %s expected a value, found nothing",
                        ins->info->name);
    return body_error(v, WISP_ERR_INVALID, ins->offset, "type mismatch: %s expected %s, found nothing",
                      ins->info->name, type_name(expected));
  }
  uint8_t t = v->vals[--v->nvals];
  v->cells -= cells_of(t);
  *out = t;
  return 0;
}

static int pop_expect(validator_t *v, const instr_t *ins, uint8_t expected) {
  uint8_t t = 0;
  int rc = pop_any(v, ins, expected, &t);
  if (rc) return rc;
  if (t != expected && t != TYPE_UNKNOWN && expected != TYPE_UNKNOWN)
    return body_error(v, WISP_ERR_INVALID, ins->offset, "type mismatch: %s expected %s, found %s",
                      ins->info->name, type_name(expected), type_name(t));
  return 0;
}

/* Pops types[n-1] ... types[0]. */
static int pop_types(validator_t *v, const instr_t *ins, const uint8_t *types, uint32_t n) {
  for (uint32_t i = n; i-- > 0;) {
    int rc = pop_expect(v, ins, types[i]);
    if (rc) return rc;
  }
  return 0;
}

/* Checks that the top n values match types without popping them; a value
 * missing below an unreachable frame's base counts as unknown. Equivalent to
 * the spec's push_vals(pop_vals(types)) used by br_table. */
static int peek_types(validator_t *v, const instr_t *ins, const uint8_t *types, uint32_t n) {
  const frame_t *f = &v->frames[v->nframes - 1];
  uint32_t avail = v->nvals - f->height;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t want = types[n - 1 - i];
    if (i >= avail) {
      if (f->unreachable) return 0;
      return body_error(v, WISP_ERR_INVALID, ins->offset, "type mismatch: %s expected %s, found nothing",
                        ins->info->name, type_name(want));
    }
    uint8_t t = v->vals[v->nvals - 1 - i];
    if (t != want && t != TYPE_UNKNOWN)
      return body_error(v, WISP_ERR_INVALID, ins->offset, "type mismatch: %s expected %s, found %s",
                        ins->info->name, type_name(want), type_name(t));
  }
  return 0;
}

static int push_frame(validator_t *v, uint8_t kind, uint32_t nparams, const uint8_t *params,
                      uint32_t nresults, const uint8_t *results) {
  if (v->nframes == v->cap_frames) {
    int rc = grow(v, (void **)&v->frames, &v->cap_frames, v->nframes + 1, sizeof(frame_t));
    if (rc) return rc;
  }
  v->frames[v->nframes++] = (frame_t){
      .kind = kind, .unreachable = false, .height = v->nvals, .cell_height = v->cells,
      .nparams = nparams, .nresults = nresults, .params = params, .results = results};
  return push_types(v, params, nparams);
}

/* Checks the frame's results are exactly what is on the stack above its
 * height, and removes the frame (its results stay popped). */
static int pop_frame(validator_t *v, const instr_t *ins, frame_t *out) {
  frame_t *f = &v->frames[v->nframes - 1];
  int rc = pop_types(v, ins, f->results, f->nresults);
  if (rc) return rc;
  if (v->nvals != f->height)
    return body_error(v, WISP_ERR_INVALID, ins->offset,
                      "type mismatch: block ends with %u more value%s on the stack than its %u result%s",
                      v->nvals - f->height, v->nvals - f->height == 1 ? "" : "s", f->nresults,
                      f->nresults == 1 ? "" : "s");
  *out = *f;
  v->nframes--;
  return 0;
}

static void set_unreachable(validator_t *v) {
  frame_t *f = &v->frames[v->nframes - 1];
  v->nvals = f->height;
  v->cells = f->cell_height;
  f->unreachable = true;
}

/* The types a branch to label `depth` carries. */
static void label_types(const frame_t *f, const uint8_t **types, uint32_t *n) {
  if (f->kind == FRAME_LOOP) {
    *types = f->params;
    *n = f->nparams;
  } else {
    *types = f->results;
    *n = f->nresults;
  }
}

static int get_label(validator_t *v, const instr_t *ins, uint32_t depth, const frame_t **out) {
  if (depth >= v->nframes)
    return body_error(v, WISP_ERR_INVALID, ins->offset, "unknown label %u (%u enclosing blocks)", depth,
                      v->nframes);
  *out = &v->frames[v->nframes - 1 - depth];
  return 0;
}

/* ---- locals ----------------------------------------------------------------- */

static int setup_locals(validator_t *v, const wisp__func_t *f) {
  int rc = grow(v, (void **)&v->local_ends, &v->cap_local_ends, f->nlocalruns, sizeof(uint64_t));
  if (rc) return rc;
  uint64_t total = 0;
  for (uint32_t i = 0; i < f->nlocalruns; i++) {
    total += f->localruns[i].count;
    v->local_ends[i] = total;
  }
  v->nlocals = v->type->nparams + total;
  return 0;
}

static int local_type(validator_t *v, const instr_t *ins, uint32_t idx, uint8_t *out) {
  if (idx >= v->nlocals)
    return body_error(v, WISP_ERR_INVALID, ins->offset, "unknown local %u (function has %llu)", idx,
                      (unsigned long long)v->nlocals);
  if (idx < v->type->nparams) {
    *out = v->type->types[idx];
    return 0;
  }
  uint64_t k = idx - v->type->nparams;
  const wisp__func_t *f = &v->m->funcs[v->func];
  uint32_t lo = 0, hi = f->nlocalruns - 1; /* first run whose end > k */
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (v->local_ends[mid] > k) hi = mid;
    else lo = mid + 1;
  }
  *out = f->localruns[lo].type;
  return 0;
}

/* ---- instructions ------------------------------------------------------------ */

static int need_memory(validator_t *v, const instr_t *ins) {
  if (v->m->nmemories == 0)
    return body_error(v, WISP_ERR_INVALID, ins->offset, "unknown memory 0: %s needs a memory", ins->info->name);
  return 0;
}

static int need_table(validator_t *v, const instr_t *ins, uint32_t idx) {
  if (idx >= v->m->ntables)
    return body_error(v, WISP_ERR_INVALID, ins->offset, "unknown table %u", idx);
  return 0;
}

static int need_elem(validator_t *v, const instr_t *ins, uint32_t idx) {
  if (idx >= v->m->nelems)
    return body_error(v, WISP_ERR_INVALID, ins->offset, "unknown elem segment %u", idx);
  return 0;
}

/* Lane count of a LANE instruction's shape, from its name ("i16x8.replace_lane"). */
static uint32_t shape_lanes(const char *name) {
  const char *x = strchr(name, 'x');
  return x ? (uint32_t)strtoul(x + 1, NULL, 10) : 0;
}

/* The checks an instruction's immediates need beyond decoding: index ranges,
 * memory present, alignment, lane indices, segment and table types. */
static int check_immediates(validator_t *v, const instr_t *ins) {
  struct wisp_module *m = v->m;
  const wisp__opinfo_t *info = ins->info;
  int rc;
  switch ((wisp__imm_t)info->imm) {
    case WISP_IMM_MEMARG: case WISP_IMM_MEMARG_LANE:
      if ((rc = need_memory(v, ins)) != 0) return rc;
      if (ins->align > info->align)
        return body_error(v, WISP_ERR_INVALID, ins->offset,
                          "alignment must not be larger than natural: %s alignment 2^%u exceeds 2^%u",
                          info->name, ins->align, info->align);
      if (info->imm == WISP_IMM_MEMARG_LANE && ins->lane >= (16u >> info->align))
        return body_error(v, WISP_ERR_INVALID, ins->offset, "invalid lane index %u for %s", ins->lane, info->name);
      return 0;
    case WISP_IMM_MEMIDX: case WISP_IMM_MEM_MEM:
      return need_memory(v, ins);
    case WISP_IMM_DATA_MEM:
      if ((rc = need_memory(v, ins)) != 0) return rc;
      /* fallthrough */
    case WISP_IMM_DATA:
      if (ins->idx[0] >= (m->has_datacount ? m->datacount : 0))
        return body_error(v, WISP_ERR_INVALID, ins->offset, "unknown data segment %u", ins->idx[0]);
      return 0;
    case WISP_IMM_ELEM:
      return need_elem(v, ins, ins->idx[0]);
    case WISP_IMM_ELEM_TABLE:
      if ((rc = need_table(v, ins, ins->idx[1])) != 0) return rc;
      if ((rc = need_elem(v, ins, ins->idx[0])) != 0) return rc;
      if (m->elems[ins->idx[0]].type != m->tables[ins->idx[1]].elem)
        return body_error(v, WISP_ERR_INVALID, ins->offset, "type mismatch: table.init of %s segment %u into %s table %u",
                          type_name(m->elems[ins->idx[0]].type), ins->idx[0],
                          type_name(m->tables[ins->idx[1]].elem), ins->idx[1]);
      return 0;
    case WISP_IMM_TABLE_TABLE:
      if ((rc = need_table(v, ins, ins->idx[0])) != 0) return rc;
      if ((rc = need_table(v, ins, ins->idx[1])) != 0) return rc;
      if (m->tables[ins->idx[0]].elem != m->tables[ins->idx[1]].elem)
        return body_error(v, WISP_ERR_INVALID, ins->offset, "type mismatch: table.copy from %s table %u to %s table %u",
                          type_name(m->tables[ins->idx[1]].elem), ins->idx[1],
                          type_name(m->tables[ins->idx[0]].elem), ins->idx[0]);
      return 0;
    case WISP_IMM_TABLE:
      return need_table(v, ins, ins->idx[0]);
    case WISP_IMM_LANE: {
      uint32_t lanes = shape_lanes(info->name);
      if (ins->lane >= lanes)
        return body_error(v, WISP_ERR_INVALID, ins->offset, "invalid lane index %u for %s (%u lanes)", ins->lane,
                          info->name, lanes);
      return 0;
    }
    case WISP_IMM_SHUFFLE:
      for (int i = 0; i < 16; i++)
        if (ins->vec[i] >= 32)
          return body_error(v, WISP_ERR_INVALID, ins->offset, "invalid lane index %u in i8x16.shuffle (must be < 32)",
                            ins->vec[i]);
      return 0;
    default:
      return 0;
  }
}

/* Applies a "params>results" signature from the opcode table. */
static int apply_sig(validator_t *v, const instr_t *ins, const char *sig) {
  const char *arrow = strchr(sig, '>');
  int rc;
  for (const char *c = arrow; c-- > sig;)
    if ((rc = pop_expect(v, ins, wisp__sig_type(*c))) != 0) return rc;
  for (const char *c = arrow + 1; *c; c++)
    if ((rc = push(v, wisp__sig_type(*c))) != 0) return rc;
  return 0;
}

/* Resolves a block type to its params and results. */
static int block_sig(validator_t *v, const instr_t *ins, uint32_t *np, const uint8_t **params,
                     uint32_t *nr, const uint8_t **results) {
  if (ins->blocktype < 0) {
    uint8_t b = (uint8_t)(ins->blocktype + 0x80);
    *np = 0;
    *params = NULL;
    *nr = b == 0x40 ? 0 : 1;
    *results = b == 0x40 ? NULL : &valtype_bytes[b];
    return 0;
  }
  if ((uint64_t)ins->blocktype >= v->m->ntypes)
    return body_error(v, WISP_ERR_INVALID, ins->offset, "unknown type %lld in block type", (long long)ins->blocktype);
  const wisp__functype_t *t = &v->m->types[ins->blocktype];
  *np = t->nparams;
  *params = t->types;
  *nr = t->nresults;
  *results = t->types + t->nparams;
  return 0;
}

static int check_block(validator_t *v, const instr_t *ins, uint8_t kind) {
  uint32_t np = 0, nr = 0;
  const uint8_t *params = NULL, *results = NULL;
  int rc = block_sig(v, ins, &np, &params, &nr, &results);
  if (rc) return rc;
  if (kind == FRAME_IF && (rc = pop_expect(v, ins, WISP_I32)) != 0) return rc;
  if ((rc = pop_types(v, ins, params, np)) != 0) return rc;
  return push_frame(v, kind, np, params, nr, results);
}

static bool same_types(const uint8_t *a, uint32_t na, const uint8_t *b, uint32_t nb) {
  return na == nb && (na == 0 || memcmp(a, b, na) == 0);
}

/* `end`: closes the innermost frame. *done is set when it closed the function. */
static int check_end(validator_t *v, const instr_t *ins, bool *done) {
  frame_t f;
  int rc = pop_frame(v, ins, &f);
  if (rc) return rc;
  if (f.kind == FRAME_IF && !same_types(f.params, f.nparams, f.results, f.nresults))
    return body_error(v, WISP_ERR_INVALID, ins->offset,
                      "type mismatch: if without else must leave its parameters unchanged as results");
  if (v->nframes == 0) {
    *done = true;
    return 0;
  }
  return push_types(v, f.results, f.nresults);
}

static int check_else(validator_t *v, const instr_t *ins) {
  frame_t f;
  if (v->frames[v->nframes - 1].kind != FRAME_IF)
    return body_error(v, WISP_ERR_MALFORMED, ins->offset, "END opcode expected: else without matching if");
  int rc = pop_frame(v, ins, &f);
  if (rc) return rc;
  return push_frame(v, FRAME_ELSE, f.nparams, f.params, f.nresults, f.results);
}

static int check_br_table(validator_t *v, const instr_t *ins) {
  const frame_t *dflt = NULL;
  const uint8_t *types, *ltypes;
  uint32_t n, ln;
  int rc = pop_expect(v, ins, WISP_I32);
  if (rc) return rc;
  if ((rc = get_label(v, ins, ins->idx[0], &dflt)) != 0) return rc;
  label_types(dflt, &types, &n);
  const uint8_t *p = ins->vec;
  for (uint32_t i = 0; i < ins->count; i++) {
    uint64_t depth = 0;
    wisp__leb_u(&p, v->end, 32, &depth); /* already checked by read_instr */
    const frame_t *target = NULL;
    if ((rc = get_label(v, ins, (uint32_t)depth, &target)) != 0) return rc;
    label_types(target, &ltypes, &ln);
    if (ln != n)
      return body_error(v, WISP_ERR_INVALID, ins->offset,
                        "type mismatch: br_table targets carry %u and %u values", ln, n);
    if ((rc = peek_types(v, ins, ltypes, ln)) != 0) return rc;
  }
  if ((rc = pop_types(v, ins, types, n)) != 0) return rc;
  set_unreachable(v);
  return 0;
}

static int check_call(validator_t *v, const instr_t *ins, const wisp__functype_t *t) {
  int rc = pop_types(v, ins, t->types, t->nparams);
  if (rc) return rc;
  return push_types(v, t->types + t->nparams, t->nresults);
}

static int check_select(validator_t *v, const instr_t *ins) {
  uint8_t t1, t2;
  int rc;
  if (ins->code == WISP_OP_SELECT_T && ins->count != 1)
    return body_error(v, WISP_ERR_INVALID, ins->offset, "invalid result arity: select with %u types", ins->count);
  if ((rc = pop_expect(v, ins, WISP_I32)) != 0) return rc;
  if (ins->code == WISP_OP_SELECT_T) {
    if ((rc = pop_expect(v, ins, ins->type)) != 0) return rc;
    if ((rc = pop_expect(v, ins, ins->type)) != 0) return rc;
    return push(v, ins->type);
  }
  if ((rc = pop_any(v, ins, TYPE_UNKNOWN, &t1)) != 0) return rc;
  if ((rc = pop_any(v, ins, TYPE_UNKNOWN, &t2)) != 0) return rc;
  if (is_reftype(t1) || is_reftype(t2))
    return body_error(v, WISP_ERR_INVALID, ins->offset,
                      "type mismatch: select without a type needs numeric or vector operands, found %s",
                      type_name(is_reftype(t1) ? t1 : t2));
  if (t1 != t2 && t1 != TYPE_UNKNOWN && t2 != TYPE_UNKNOWN)
    return body_error(v, WISP_ERR_INVALID, ins->offset, "type mismatch: select operands %s and %s differ",
                      type_name(t2), type_name(t1));
  return push(v, t1 == TYPE_UNKNOWN ? t2 : t1);
}

static int check_global(validator_t *v, const instr_t *ins) {
  uint32_t g = ins->idx[0];
  if (g >= v->m->nglobals) return body_error(v, WISP_ERR_INVALID, ins->offset, "unknown global %u", g);
  const wisp__globaltype_t *gt = &v->m->globals[g].type;
  if (ins->code == WISP_OP_GLOBAL_GET) return push(v, gt->type);
  if (!gt->mutable_)
    return body_error(v, WISP_ERR_INVALID, ins->offset, "global is immutable: global.set of global %u", g);
  return pop_expect(v, ins, gt->type);
}

static int check_local(validator_t *v, const instr_t *ins) {
  uint8_t t = 0;
  int rc = local_type(v, ins, ins->idx[0], &t);
  if (rc) return rc;
  if (ins->code == WISP_OP_LOCAL_GET) return push(v, t);
  if ((rc = pop_expect(v, ins, t)) != 0) return rc;
  return ins->code == WISP_OP_LOCAL_TEE ? push(v, t) : 0;
}

/* Table instructions whose types depend on the table (sig NULL in opcodes.h). */
static int check_table_op(validator_t *v, const instr_t *ins) {
  uint8_t et = v->m->tables[ins->idx[0]].elem; /* range checked by check_immediates */
  int rc;
  switch (ins->code) {
    case WISP_OP_TABLE_GET:
      if ((rc = pop_expect(v, ins, WISP_I32)) != 0) return rc;
      return push(v, et);
    case WISP_OP_TABLE_SET:
      if ((rc = pop_expect(v, ins, et)) != 0) return rc;
      return pop_expect(v, ins, WISP_I32);
    case WISP_OP_TABLE_GROW:
      if ((rc = pop_expect(v, ins, WISP_I32)) != 0) return rc;
      if ((rc = pop_expect(v, ins, et)) != 0) return rc;
      return push(v, WISP_I32);
    default: /* TABLE_FILL */
      if ((rc = pop_expect(v, ins, WISP_I32)) != 0) return rc;
      if ((rc = pop_expect(v, ins, et)) != 0) return rc;
      return pop_expect(v, ins, WISP_I32);
  }
}

/* The instructions that opcodes.h leaves to the validator (sig NULL). */
static int check_special(validator_t *v, const instr_t *ins, bool *done) {
  struct wisp_module *m = v->m;
  const frame_t *label = NULL;
  const uint8_t *types;
  uint32_t n;
  uint8_t t = 0;
  int rc;
  switch (ins->code) {
    case WISP_OP_UNREACHABLE:
      set_unreachable(v);
      return 0;
    case WISP_OP_NOP:
      return 0;
    case WISP_OP_BLOCK: return check_block(v, ins, FRAME_BLOCK);
    case WISP_OP_LOOP: return check_block(v, ins, FRAME_LOOP);
    case WISP_OP_IF: return check_block(v, ins, FRAME_IF);
    case WISP_OP_ELSE: return check_else(v, ins);
    case WISP_OP_END: return check_end(v, ins, done);
    case WISP_OP_BR: case WISP_OP_BR_IF:
      if (ins->code == WISP_OP_BR_IF && (rc = pop_expect(v, ins, WISP_I32)) != 0) return rc;
      if ((rc = get_label(v, ins, ins->idx[0], &label)) != 0) return rc;
      label_types(label, &types, &n);
      if ((rc = pop_types(v, ins, types, n)) != 0) return rc;
      if (ins->code == WISP_OP_BR_IF) return push_types(v, types, n);
      set_unreachable(v);
      return 0;
    case WISP_OP_BR_TABLE: return check_br_table(v, ins);
    case WISP_OP_RETURN:
      if ((rc = pop_types(v, ins, v->type->types + v->type->nparams, v->type->nresults)) != 0) return rc;
      set_unreachable(v);
      return 0;
    case WISP_OP_CALL:
      if (ins->idx[0] >= m->nfuncs)
        return body_error(v, WISP_ERR_INVALID, ins->offset, "unknown function %u", ins->idx[0]);
      return check_call(v, ins, wisp__func_type(m, ins->idx[0]));
    case WISP_OP_CALL_INDIRECT:
      if ((rc = need_table(v, ins, ins->idx[1])) != 0) return rc;
      if (ins->idx[0] >= m->ntypes)
        return body_error(v, WISP_ERR_INVALID, ins->offset, "unknown type %u", ins->idx[0]);
      if (m->tables[ins->idx[1]].elem != WISP_FUNCREF)
        return body_error(v, WISP_ERR_INVALID, ins->offset, "type mismatch: call_indirect through table %u of %s",
                          ins->idx[1], type_name(m->tables[ins->idx[1]].elem));
      if ((rc = pop_expect(v, ins, WISP_I32)) != 0) return rc;
      return check_call(v, ins, &m->types[ins->idx[0]]);
    case WISP_OP_DROP:
      return pop_any(v, ins, TYPE_UNKNOWN, &t);
    case WISP_OP_SELECT: case WISP_OP_SELECT_T:
      return check_select(v, ins);
    case WISP_OP_LOCAL_GET: case WISP_OP_LOCAL_SET: case WISP_OP_LOCAL_TEE:
      return check_local(v, ins);
    case WISP_OP_GLOBAL_GET: case WISP_OP_GLOBAL_SET:
      return check_global(v, ins);
    case WISP_OP_TABLE_GET: case WISP_OP_TABLE_SET: case WISP_OP_TABLE_GROW: case WISP_OP_TABLE_FILL:
      return check_table_op(v, ins);
    case WISP_OP_REF_NULL:
      return push(v, ins->type);
    case WISP_OP_REF_IS_NULL:
      if ((rc = pop_any(v, ins, TYPE_UNKNOWN, &t)) != 0) return rc;
      if (t != TYPE_UNKNOWN && !is_reftype(t))
        return body_error(v, WISP_ERR_INVALID, ins->offset, "type mismatch: ref.is_null expected a reference, found %s",
                          type_name(t));
      return push(v, WISP_I32);
    case WISP_OP_REF_FUNC:
      if (ins->idx[0] >= m->nfuncs)
        return body_error(v, WISP_ERR_INVALID, ins->offset, "unknown function %u", ins->idx[0]);
      if (!m->func_declared[ins->idx[0]])
        return body_error(v, WISP_ERR_INVALID, ins->offset,
                          "undeclared function reference: function %u is not in an element segment, export or global",
                          ins->idx[0]);
      return push(v, WISP_FUNCREF);
    default:
      return body_error(v, WISP_ERR_INVALID, ins->offset, "%s: no validation rule", ins->info->name);
  }
}

/* ---- function bodies ------------------------------------------------------------ */

static void note_simd(validator_t *v, const instr_t *ins) {
  struct wisp_module *m = v->m;
  if (m->uses_simd) return;
  m->uses_simd = true;
  m->simd_func = v->func;
  m->simd_offset = ins->offset;
  m->simd_code = ins->code;
}

static int check_instr(validator_t *v, const instr_t *ins, bool *done) {
  int rc;
  if (ins->code >= 0x10000) note_simd(v, ins);
  if ((rc = check_immediates(v, ins)) != 0) return rc;
  if (ins->info->sig) return apply_sig(v, ins, ins->info->sig);
  return check_special(v, ins, done);
}

/* Validates defined function `fidx` and sets its max_stack. */
static int validate_body(validator_t *v, uint32_t fidx) {
  struct wisp_module *m = v->m;
  wisp__func_t *f = &m->funcs[fidx];
  v->func = fidx;
  v->type = wisp__func_type(m, fidx);
  v->p = m->bytes + f->body_start;
  v->end = m->bytes + f->body_end;
  v->nvals = v->cells = v->max_cells = 0;
  v->nframes = 0;
  int rc = setup_locals(v, f);
  if (rc) return rc;
  const uint8_t *results = v->type->types + v->type->nparams;
  if ((rc = push_frame(v, FRAME_FUNC, 0, NULL, v->type->nresults, results)) != 0) return rc;
  bool done = false;
  instr_t ins;
  while (!done) {
    if ((rc = read_instr(v, &ins)) != 0) return rc;
    if ((rc = check_instr(v, &ins, &done)) != 0) return rc;
  }
  if (v->p != v->end)
    return body_error(v, WISP_ERR_MALFORMED, cur_offset(v),
                      "section size mismatch: %u bytes follow the function's final end",
                      (unsigned)(v->end - v->p));
  f->max_stack = v->max_cells;
  return 0;
}

/* Reads the body of `fidx` for malformed bytecode only (no typing). Used after
 * an invalid error so that a malformed error anywhere still wins. */
static int skim_body(validator_t *v, uint32_t fidx) {
  struct wisp_module *m = v->m;
  const wisp__func_t *f = &m->funcs[fidx];
  v->func = fidx;
  v->p = m->bytes + f->body_start;
  v->end = m->bytes + f->body_end;
  v->nframes = 0;  /* only the kinds are kept, to know where `else` may stand */
  uint8_t kind = FRAME_FUNC;
  instr_t ins;
  int rc;
  while (kind != 0xFF) {
    if ((rc = read_instr(v, &ins)) != 0) return rc;
    switch (ins.code) {
      case WISP_OP_BLOCK: case WISP_OP_LOOP: case WISP_OP_IF:
        if ((rc = grow(v, (void **)&v->frames, &v->cap_frames, v->nframes + 1, sizeof(frame_t))) != 0) return rc;
        v->frames[v->nframes++].kind = kind;
        kind = ins.code == WISP_OP_BLOCK ? FRAME_BLOCK : ins.code == WISP_OP_LOOP ? FRAME_LOOP : FRAME_IF;
        break;
      case WISP_OP_ELSE:
        if (kind != FRAME_IF)
          return body_error(v, WISP_ERR_MALFORMED, ins.offset, "END opcode expected: else without matching if");
        kind = FRAME_ELSE;
        break;
      case WISP_OP_END:
        kind = v->nframes ? v->frames[--v->nframes].kind : 0xFF;
        break;
      default:
        break;
    }
  }
  if (v->p != v->end)
    return body_error(v, WISP_ERR_MALFORMED, cur_offset(v),
                      "section size mismatch: %u bytes follow the function's final end",
                      (unsigned)(v->end - v->p));
  return 0;
}

/* After an invalid error (already in *v->err) at function `from`, looks for a
 * malformed one from `from` on; keeps the invalid error if there is none. */
static int prefer_malformed(validator_t *v, uint32_t from, int invalid_rc) {
  wisp_error_t saved = *v->err;
  for (uint32_t i = from; i < v->m->nfuncs; i++) {
    int rc = skim_body(v, i);
    if (rc == WISP_ERR_MALFORMED) return rc;
  }
  *v->err = saved;
  return invalid_rc;
}

/* ---- module-level checks ---------------------------------------------------------- */

/* A constant expression: in 2.0 one of t.const, v128.const, ref.null, ref.func,
 * or global.get of an imported immutable global (the only globals a constant
 * expression can see). `where` names the section and entry for the message. */
static int check_const(struct wisp_module *m, const wisp__constexpr_t *ce, uint8_t expected, const char *where,
                       wisp_error_t *err) {
  uint8_t t = 0;
  switch (ce->op) {
    case WISP_OP_I32_CONST: t = WISP_I32; break;
    case WISP_OP_I64_CONST: t = WISP_I64; break;
    case WISP_OP_F32_CONST: t = WISP_F32; break;
    case WISP_OP_F64_CONST: t = WISP_F64; break;
    case WISP_OP_V128_CONST: t = WISP_V128; break;
    case WISP_OP_REF_NULL: t = ce->type; break;
    case WISP_OP_REF_FUNC:
      if (ce->u.index >= m->nfuncs)
        return wisp__error(err, WISP_ERR_INVALID, ce->offset, "%s, offset 0x%x: unknown function %u", where,
                           ce->offset, ce->u.index);
      t = WISP_FUNCREF;
      break;
    case WISP_OP_GLOBAL_GET:
      if (ce->u.index >= m->nglobal_imports)
        return wisp__error(err, WISP_ERR_INVALID, ce->offset,
                           "%s, offset 0x%x: unknown global %u (a constant expression sees only the %u imported globals)",
                           where, ce->offset, ce->u.index, m->nglobal_imports);
      if (m->globals[ce->u.index].type.mutable_)
        return wisp__error(err, WISP_ERR_INVALID, ce->offset,
                           "%s, offset 0x%x: constant expression required: global %u is mutable", where, ce->offset,
                           ce->u.index);
      t = m->globals[ce->u.index].type.type;
      break;
    case WISP_OP_END:
      return wisp__error(err, WISP_ERR_INVALID, ce->offset,
                         "%s, offset 0x%x: type mismatch: empty constant expression, expected %s", where, ce->offset,
                         type_name(expected));
    default: {
      const wisp__opinfo_t *info = wisp__opinfo(ce->op);
      return wisp__error(err, WISP_ERR_INVALID, ce->offset, "%s, offset 0x%x: constant expression required, found %s",
                         where, ce->offset, info ? info->name : "a non-constant instruction");
    }
  }
  if (t != expected)
    return wisp__error(err, WISP_ERR_INVALID, ce->offset, "%s, offset 0x%x: type mismatch: expected %s, found %s",
                       where, ce->offset, type_name(expected), type_name(t));
  return 0;
}

static int check_table_limits(const wisp__limits_t *l, const char *where, wisp_error_t *err) {
  if (l->has_max && l->min > l->max)
    return wisp__error(err, WISP_ERR_INVALID, 0, "%s: size minimum must not be greater than maximum (%llu > %llu)",
                       where, (unsigned long long)l->min, (unsigned long long)l->max);
  return 0;
}

static int check_memory_limits(const wisp__limits_t *l, const char *where, wisp_error_t *err) {
  if (l->min > 65536 || (l->has_max && l->max > 65536))
    return wisp__error(err, WISP_ERR_INVALID, 0, "%s: memory size must be at most 65536 pages (4GiB), found %llu",
                       where, (unsigned long long)(l->min > 65536 ? l->min : l->max));
  return check_table_limits(l, where, err);
}

/* Function type indices, limits, and the one-memory rule. */
static int check_entities(struct wisp_module *m, wisp_error_t *err) {
  char where[64];
  int rc;
  for (uint32_t i = 0; i < m->nfuncs; i++)
    if (m->funcs[i].type_index >= m->ntypes)
      return wisp__error(err, WISP_ERR_INVALID, 0, "%s section, function %u: unknown type %u",
                         i < m->nfunc_imports ? "import" : "function", i, m->funcs[i].type_index);
  for (uint32_t i = 0; i < m->ntables; i++) {
    snprintf(where, sizeof where, "%s section, table %u", i < m->ntable_imports ? "import" : "table", i);
    if ((rc = check_table_limits(&m->tables[i].limits, where, err)) != 0) return rc;
  }
  for (uint32_t i = 0; i < m->nmemories; i++) {
    snprintf(where, sizeof where, "%s section, memory %u", i < m->nmemory_imports ? "import" : "memory", i);
    if ((rc = check_memory_limits(&m->memories[i], where, err)) != 0) return rc;
  }
  if (m->nmemories > 1)
    return wisp__error(err, WISP_ERR_INVALID, 0, "%s section: multiple memories (%u); WebAssembly 2.0 allows one",
                       m->nmemory_imports > 1 || m->nmemory_imports == m->nmemories ? "import" : "memory",
                       m->nmemories);
  return 0;
}

static int check_globals(struct wisp_module *m, wisp_error_t *err) {
  char where[64];
  for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
    snprintf(where, sizeof where, "global section, global %u", i);
    int rc = check_const(m, &m->globals[i].init, m->globals[i].type.type, where, err);
    if (rc) return rc;
  }
  return 0;
}

static int compare_exports(const void *a, const void *b) {
  const wisp__export_t *x = *(const wisp__export_t *const *)a;
  const wisp__export_t *y = *(const wisp__export_t *const *)b;
  if (x->name_len != y->name_len) return x->name_len < y->name_len ? -1 : 1;
  return memcmp(x->name, y->name, x->name_len);
}

static int check_exports(struct wisp_module *m, wisp_error_t *err) {
  static const char *const kinds[] = {"function", "table", "memory", "global"};
  for (uint32_t i = 0; i < m->nexports; i++) {
    const wisp__export_t *ex = &m->exports[i];
    uint32_t n = ex->kind == WISP_EXTERN_FUNC ? m->nfuncs : ex->kind == WISP_EXTERN_TABLE ? m->ntables
               : ex->kind == WISP_EXTERN_MEMORY ? m->nmemories : m->nglobals;
    if (ex->kind > WISP_EXTERN_GLOBAL)
      return wisp__error(err, WISP_ERR_INVALID, 0, "export section, export %u: bad kind %u", i, ex->kind);
    if (ex->index >= n)
      return wisp__error(err, WISP_ERR_INVALID, 0, "export section, export %u \"%.*s\": unknown %s %u", i,
                         (int)ex->name_len, ex->name, kinds[ex->kind], ex->index);
  }
  if (m->nexports < 2) return 0;
  /* Duplicate names: sort by (length, bytes), compare neighbours. */
  const wisp__export_t **order = malloc(m->nexports * sizeof *order);
  if (!order) return wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory checking export names");
  for (uint32_t i = 0; i < m->nexports; i++) order[i] = &m->exports[i];
  qsort(order, m->nexports, sizeof *order, compare_exports);
  int rc = 0;
  for (uint32_t i = 1; i < m->nexports && rc == 0; i++) {
    const wisp__export_t *a = order[i - 1], *b = order[i];
    if (a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0)
      rc = wisp__error(err, WISP_ERR_INVALID, 0, "export section: duplicate export name \"%.*s\"", (int)a->name_len,
                       a->name);
  }
  free(order);
  return rc;
}

static int check_start(struct wisp_module *m, wisp_error_t *err) {
  if (!m->has_start) return 0;
  if (m->start >= m->nfuncs)
    return wisp__error(err, WISP_ERR_INVALID, 0, "start section: unknown function %u", m->start);
  const wisp__functype_t *t = wisp__func_type(m, m->start);
  if (t->nparams != 0 || t->nresults != 0)
    return wisp__error(err, WISP_ERR_INVALID, 0,
                       "start section: start function %u must take no parameters and return nothing", m->start);
  return 0;
}

static int check_elems(struct wisp_module *m, wisp_error_t *err) {
  char where[64];
  int rc;
  for (uint32_t i = 0; i < m->nelems; i++) {
    const wisp__elem_t *e = &m->elems[i];
    snprintf(where, sizeof where, "element section, segment %u", i);
    if (e->mode == WISP_SEG_ACTIVE) {
      if (e->table >= m->ntables)
        return wisp__error(err, WISP_ERR_INVALID, e->section_offset, "%s, offset 0x%x: unknown table %u", where,
                           e->section_offset, e->table);
      if (m->tables[e->table].elem != e->type)
        return wisp__error(err, WISP_ERR_INVALID, e->section_offset,
                           "%s, offset 0x%x: type mismatch: %s segment for %s table %u", where, e->section_offset,
                           type_name(e->type), type_name(m->tables[e->table].elem), e->table);
      if ((rc = check_const(m, &e->offset, WISP_I32, where, err)) != 0) return rc;
    }
    for (uint32_t j = 0; j < e->count; j++)
      if ((rc = check_const(m, &e->items[j], e->type, where, err)) != 0) return rc;
  }
  return 0;
}

static int check_datas(struct wisp_module *m, wisp_error_t *err) {
  char where[64];
  for (uint32_t i = 0; i < m->ndatas; i++) {
    const wisp__data_t *d = &m->datas[i];
    if (d->mode != WISP_SEG_ACTIVE) continue;
    snprintf(where, sizeof where, "data section, segment %u", i);
    if (d->memory >= m->nmemories)
      return wisp__error(err, WISP_ERR_INVALID, d->section_offset, "%s, offset 0x%x: unknown memory %u", where,
                         d->section_offset, d->memory);
    int rc = check_const(m, &d->offset, WISP_I32, where, err);
    if (rc) return rc;
  }
  return 0;
}

static void declare(struct wisp_module *m, const wisp__constexpr_t *ce) {
  if (ce->op == WISP_OP_REF_FUNC && ce->u.index < m->nfuncs) m->func_declared[ce->u.index] = 1;
}

/* The functions ref.func may name in bodies: those referenced by exports,
 * element segments and global initialisers. */
static int mark_declared(struct wisp_module *m, wisp_error_t *err) {
  m->func_declared = wisp__arena_alloc(&m->arena, m->nfuncs ? m->nfuncs : 1);
  if (!m->func_declared) return wisp__error(err, WISP_ERR_NOMEM, 0, "out of memory");
  for (uint32_t i = 0; i < m->nexports; i++)
    if (m->exports[i].kind == WISP_EXTERN_FUNC && m->exports[i].index < m->nfuncs)
      m->func_declared[m->exports[i].index] = 1;
  for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) declare(m, &m->globals[i].init);
  for (uint32_t i = 0; i < m->nelems; i++)
    for (uint32_t j = 0; j < m->elems[i].count; j++) declare(m, &m->elems[i].items[j]);
  return 0;
}

/* ---- entry point ------------------------------------------------------------------ */

int wisp__validate(struct wisp_module *m, wisp_error_t *err) {
  wisp_error_t local_err;
  if (!err) err = &local_err;
  validator_t v = {.m = m, .err = err};
  int rc = mark_declared(m, err);
  if (rc) return rc;
  m->uses_simd = false;
  rc = check_entities(m, err);
  if (rc == 0) rc = check_globals(m, err);
  if (rc == 0) rc = check_exports(m, err);
  if (rc == 0) rc = check_start(m, err);
  if (rc == 0) rc = check_elems(m, err);
  if (rc == 0) rc = check_datas(m, err);
  if (rc == WISP_ERR_INVALID) {
    /* function types may be out of range here: only skim the bytecode */
    rc = prefer_malformed(&v, m->nfunc_imports, rc);
  } else if (rc == 0) {
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
      rc = validate_body(&v, i);
      if (rc == WISP_ERR_INVALID) rc = prefer_malformed(&v, i, rc);
      if (rc) break;
    }
  }
  free(v.vals);
  free(v.frames);
  free(v.local_ends);
  return rc;
}
