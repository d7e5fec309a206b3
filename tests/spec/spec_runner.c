/*
 * spec_runner.c: runs the WebAssembly core spec test suite against wisp.
 *
 * One run handles one .wast file: it converts the file with wabt's wast2json
 * into a work directory (a JSON script plus one .wasm per module), then executes
 * the script's commands in order and counts each as passed, failed or skipped.
 * `--total` instead sums the results files of a whole suite run.
 *
 *   spec_runner [-v] [--work-dir DIR] [--results FILE] [--wast2json PATH] --wast FILE.wast
 *   spec_runner [-v] [--results FILE] --json FILE.json      (already converted)
 *   spec_runner --total RESULTS_DIR NAME...                  (sum NAME.result files)
 *
 * --fuel-slice N runs every call with N fuel and continues it each time it runs
 * out; results must not change (this exercises suspend/continue everywhere).
 *
 * Invariants:
 * - One engine per process; one store, linker and exec per .wast file. Every
 *   instance of a file lives in its store, so registered instances can share
 *   functions, tables, memories and globals. Modules are kept until the store is
 *   gone: an instance (even one whose instantiation trapped half way, whose
 *   functions may already sit in a shared table) must not outlive its module.
 * - Nothing an engine returns stops the file: a module that fails to load makes
 *   the commands that use it fail, one by one.
 * - The exit status is non-zero iff a command failed (or the script could not be
 *   converted or read).
 *
 * SIMD (files named simd_*): the engine validates SIMD but refuses to run it. A
 * module the engine refuses with WISP_ERR_UNSUPPORTED is validated only (a pass
 * if valid) and commands that would execute it are skipped; assert_invalid and
 * assert_malformed use wisp_module_validate and count for real.
 *
 * Value conventions of wast2json: integers and float bit patterns are unsigned
 * decimal strings; "nan:canonical" / "nan:arithmetic" are result patterns;
 * externref N is passed to the engine as the opaque pointer N + 1 (so that
 * ref.extern 0 differs from ref.null); an expected funcref other than null
 * (wast2json writes no value, or a number, for `ref.func`) means any non-null
 * reference.
 */
#include <errno.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "wisp.h"

extern char **environ;

#define MAX_REASONS        8
#define MAX_FAILURES_SHOWN 300

static const char SKIP_TEXT_MODULE[] = "text-format module; wisp reads binaries";
static const char SKIP_SIMD[] = "SIMD execution not implemented yet";

/* ---- counts ---------------------------------------------------------------- */

typedef struct skip_reason {
  char text[128];
  unsigned count;
} skip_reason_t;

typedef struct counts {
  unsigned passed, failed, skipped;
  skip_reason_t reasons[MAX_REASONS];
  unsigned nreasons;
  int *failed_lines; /* .wast line of each failure, for --selftest; malloc'd, may be NULL */
  unsigned nfailed_lines;
} counts_t;

static void counts_add_skip(counts_t *c, const char *reason, unsigned n) {
  c->skipped += n;
  for (unsigned i = 0; i < c->nreasons; i++) {
    if (strcmp(c->reasons[i].text, reason) == 0) {
      c->reasons[i].count += n;
      return;
    }
  }
  unsigned i = c->nreasons < MAX_REASONS ? c->nreasons++ : MAX_REASONS - 1;
  snprintf(c->reasons[i].text, sizeof c->reasons[i].text, "%s", reason);
  c->reasons[i].count += n;
}

/* Appends "(N reason, M reason)" to out, or nothing when nothing was skipped. */
static void counts_format_reasons(const counts_t *c, char *out, size_t size) {
  size_t len = 0;
  out[0] = 0;
  for (unsigned i = 0; i < c->nreasons && len < size; i++) {
    len +=
        snprintf(out + len, size - len, "%s%u: %s", i ? "; " : " (", c->reasons[i].count, c->reasons[i].text);
  }
  if (c->nreasons && len < size) snprintf(out + len, size - len, ")");
}

/* What a command (or an action inside one) came to. Commands end passed,
 * failed or skipped (already counted); actions end returned or trapped, or
 * failed / skipped (already counted). */
typedef enum outcome {
  OUTCOME_PASSED,
  OUTCOME_FAILED,
  OUTCOME_SKIPPED,
  OUTCOME_RETURNED, /* action: results are set */
  OUTCOME_TRAPPED,  /* action: trap is set */
} outcome_t;

/* ---- per-file state ------------------------------------------------------- */

typedef enum mod_state {
  MOD_NONE,      /* no module yet */
  MOD_READY,     /* instantiated: commands run against it */
  MOD_FAILED,    /* load or instantiation failed: commands using it fail */
  MOD_SIMD_ONLY, /* valid SIMD module the engine cannot run: commands using it are skipped */
} mod_state_t;

typedef struct mod_ref {
  mod_state_t state;
  wisp_instance_t *instance; /* MOD_READY only */
} mod_ref_t;

typedef struct named_mod {
  char *name; /* "$name" as wast2json writes it */
  mod_ref_t ref;
} named_mod_t;

typedef struct runner {
  const char *name;     /* the test's name: the .wast file name without extension */
  const char *json_dir; /* where the .wasm files of the script are */
  bool simd_file, verbose;
  int64_t fuel_slice;  /* > 0: run calls in fuel slices of this size, continuing each (--fuel-slice) */
  int line;            /* of the current command in the .wast */
  const char *command; /* type of the current command */

  wisp_engine_t *engine; /* borrowed */
  wisp_store_t *store;
  wisp_linker_t *linker;
  wisp_exec_t *exec;

  wisp_module_t **modules; /* every loaded module, deleted after the store */
  size_t nmodules, modules_cap;
  named_mod_t *named;
  size_t nnamed, named_cap;
  mod_ref_t current;

  counts_t counts;
  unsigned failures_shown;
  unsigned failed_lines_cap; /* of counts.failed_lines */
  unsigned other_class;      /* rejections as invalid that the spec calls malformed, or the reverse */
} runner_t;

static outcome_t pass(runner_t *r) {
  r->counts.passed++;
  if (r->verbose) printf("  %s.wast:%d: %s: ok\n", r->name, r->line, r->command);
  return OUTCOME_PASSED;
}

/* Remembers the line of a failure (for --selftest); on allocation failure the
 * list just stops growing. */
static void record_failed_line(runner_t *r) {
  if (r->counts.nfailed_lines == r->failed_lines_cap) {
    unsigned cap = r->failed_lines_cap ? 2 * r->failed_lines_cap : 64;
    int *grown = realloc(r->counts.failed_lines, cap * sizeof *grown);
    if (!grown) return;
    r->counts.failed_lines = grown;
    r->failed_lines_cap = cap;
  }
  r->counts.failed_lines[r->counts.nfailed_lines++] = r->line;
}

/* A pass where the engine's own message is worth seeing next to the spec's (-v). */
static outcome_t pass_with_message(runner_t *r, const char *spec_text, const char *engine_text) {
  r->counts.passed++;
  if (r->verbose)
    printf("  %s.wast:%d: %s: ok: spec \"%s\", wisp \"%s\"\n", r->name, r->line, r->command, spec_text,
           engine_text);
  return OUTCOME_PASSED;
}

static outcome_t fail(runner_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static outcome_t fail(runner_t *r, const char *fmt, ...) {
  r->counts.failed++;
  record_failed_line(r);
  if (!r->verbose && r->failures_shown >= MAX_FAILURES_SHOWN) return OUTCOME_FAILED;
  r->failures_shown++;
  va_list ap;
  va_start(ap, fmt);
  printf("  FAIL %s.wast:%d: %s: ", r->name, r->line, r->command);
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  return OUTCOME_FAILED;
}

static outcome_t skip(runner_t *r, const char *reason) {
  counts_add_skip(&r->counts, reason, 1);
  if (r->verbose) printf("  %s.wast:%d: %s: skipped: %s\n", r->name, r->line, r->command, reason);
  return OUTCOME_SKIPPED;
}

static int keep_module(runner_t *r, wisp_module_t *module) {
  if (r->nmodules == r->modules_cap) {
    size_t cap = r->modules_cap ? r->modules_cap * 2 : 16;
    wisp_module_t **grown = realloc(r->modules, cap * sizeof *grown);
    if (!grown) return -1;
    r->modules = grown;
    r->modules_cap = cap;
  }
  r->modules[r->nmodules++] = module;
  return 0;
}

static void bind_name(runner_t *r, const char *name, mod_ref_t ref) {
  for (size_t i = 0; i < r->nnamed; i++) {
    if (strcmp(r->named[i].name, name) == 0) {
      r->named[i].ref = ref;
      return;
    }
  }
  if (r->nnamed == r->named_cap) {
    size_t cap = r->named_cap ? r->named_cap * 2 : 8;
    named_mod_t *grown = realloc(r->named, cap * sizeof *grown);
    if (!grown) return;
    r->named = grown;
    r->named_cap = cap;
  }
  char *copy = strdup(name);
  if (!copy) return;
  r->named[r->nnamed++] = (named_mod_t){copy, ref};
}

/* The module a command names (NULL: the current one). *found is false for an unknown name. */
static mod_ref_t lookup_module(runner_t *r, const char *name, bool *found) {
  *found = true;
  if (!name) return r->current;
  for (size_t i = 0; i < r->nnamed; i++) {
    if (strcmp(r->named[i].name, name) == 0) return r->named[i].ref;
  }
  *found = false;
  return (mod_ref_t){MOD_NONE, NULL};
}

/* ---- values --------------------------------------------------------------- */

typedef enum match {
  MATCH_EXACT,
  MATCH_NAN_CANONICAL,
  MATCH_NAN_ARITHMETIC,
  MATCH_NONNULL, /* funcref: any non-null reference */
} match_t;

/* An expected result: exact bits or a pattern, per lane for v128. */
typedef struct expected {
  wisp_val_t val;
  match_t match;
  uint8_t lane_kind; /* v128: the lane type as a wisp_valkind_t, or 8/16 for i8/i16 lanes */
  unsigned nlanes;
  match_t lane_match[16];
} expected_t;

static uint8_t kind_from_name(const char *name) {
  static const struct {
    const char *name;
    uint8_t kind;
  } kinds[] = {{"i32", WISP_I32},
               {"i64", WISP_I64},
               {"f32", WISP_F32},
               {"f64", WISP_F64},
               {"v128", WISP_V128},
               {"funcref", WISP_FUNCREF},
               {"externref", WISP_EXTERNREF}};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    if (strcmp(name, kinds[i].name) == 0) return kinds[i].kind;
  }
  return 0;
}

/* Parses a decimal integer as wast2json prints it (unsigned, or signed for some lanes). */
static int parse_u64(const char *text, uint64_t *out) {
  if (!text || !*text) return -1;
  char *end;
  errno = 0;
  if (text[0] == '-')
    *out = (uint64_t)strtoll(text, &end, 10);
  else
    *out = strtoull(text, &end, 10);
  return (*end || errno) ? -1 : 0;
}

static match_t nan_pattern(const char *text) {
  if (strcmp(text, "nan:canonical") == 0) return MATCH_NAN_CANONICAL;
  if (strcmp(text, "nan:arithmetic") == 0) return MATCH_NAN_ARITHMETIC;
  return MATCH_EXACT;
}

static int lane_shape(const char *lane_type, uint8_t *kind, unsigned *nlanes, unsigned *width) {
  static const struct {
    const char *name;
    uint8_t kind;
    unsigned width;
  } shapes[] = {{"i8", 8, 1},         {"i16", 16, 2},       {"i32", WISP_I32, 4},
                {"i64", WISP_I64, 8}, {"f32", WISP_F32, 4}, {"f64", WISP_F64, 8}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    if (strcmp(lane_type, shapes[i].name) == 0) {
      *kind = shapes[i].kind;
      *width = shapes[i].width;
      *nlanes = 16 / shapes[i].width;
      return 0;
    }
  }
  return -1;
}

/* Parses one value of a command ({"type": T, "value": V}) into *out. Patterns
 * (NaN kinds, a funcref without value) are allowed only when `allow_patterns`. */
static int parse_value(json_t *json, bool allow_patterns, expected_t *out, char *why, size_t why_size) {
  memset(out, 0, sizeof *out);
  const char *type = json_string_value(json_object_get(json, "type"));
  uint8_t kind = type ? kind_from_name(type) : 0;
  if (!kind) {
    snprintf(why, why_size, "unknown value type '%s'", type ? type : "(none)");
    return -1;
  }
  out->val.kind = kind;
  json_t *value = json_object_get(json, "value");
  const char *text = json_string_value(value);
  uint64_t bits = 0;
  switch (kind) {
    case WISP_I32:
    case WISP_I64:
    case WISP_F32:
    case WISP_F64:
      if (text && (kind == WISP_F32 || kind == WISP_F64) && nan_pattern(text) != MATCH_EXACT) {
        if (!allow_patterns) break;
        out->match = nan_pattern(text);
        return 0;
      }
      if (parse_u64(text, &bits) != 0) break;
      if (kind == WISP_I32)
        out->val.of.i32 = (int32_t)(uint32_t)bits;
      else if (kind == WISP_I64)
        out->val.of.i64 = (int64_t)bits;
      else if (kind == WISP_F32) {
        uint32_t b32 = (uint32_t)bits;
        memcpy(&out->val.of.f32, &b32, 4);
      } else
        memcpy(&out->val.of.f64, &bits, 8);
      return 0;
    case WISP_FUNCREF:
    case WISP_EXTERNREF:
      if (text && strcmp(text, "null") == 0) return 0; /* the union is zeroed: NULL */
      if (kind == WISP_FUNCREF && allow_patterns) {
        /* (ref.func) in a .wast: wast2json writes no value or a number; any non-null funcref matches. */
        out->match = MATCH_NONNULL;
        return 0;
      }
      if (kind == WISP_EXTERNREF && parse_u64(text, &bits) == 0) {
        out->val.of.externref = (void *)(uintptr_t)(bits + 1);
        return 0;
      }
      break;
    case WISP_V128: {
      const char *lane_type = json_string_value(json_object_get(json, "lane_type"));
      unsigned width = 0;
      if (!lane_type || lane_shape(lane_type, &out->lane_kind, &out->nlanes, &width) != 0) break;
      if (!json_is_array(value) || json_array_size(value) != out->nlanes) break;
      for (unsigned i = 0; i < out->nlanes; i++) {
        const char *lane = json_string_value(json_array_get(value, i));
        if (!lane) goto bad;
        out->lane_match[i] = nan_pattern(lane);
        if (out->lane_match[i] != MATCH_EXACT) {
          if (!allow_patterns) goto bad;
          continue;
        }
        uint64_t lane_bits;
        if (parse_u64(lane, &lane_bits) != 0) goto bad;
        for (unsigned b = 0; b < width; b++)
          out->val.of.v128[i * width + b] = (uint8_t)(lane_bits >> (8 * b));
      }
      return 0;
    }
  }
bad:
  snprintf(why, why_size, "cannot read %s value %s", type, text ? text : "(not a string)");
  return -1;
}

static bool f32_matches(uint32_t bits, match_t match, uint32_t want) {
  switch (match) {
    case MATCH_NAN_CANONICAL: return (bits & 0x7fffffffu) == 0x7fc00000u;
    case MATCH_NAN_ARITHMETIC: return (bits & 0x7fc00000u) == 0x7fc00000u;
    default: return bits == want;
  }
}

static bool f64_matches(uint64_t bits, match_t match, uint64_t want) {
  switch (match) {
    case MATCH_NAN_CANONICAL: return (bits & 0x7fffffffffffffffull) == 0x7ff8000000000000ull;
    case MATCH_NAN_ARITHMETIC: return (bits & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
    default: return bits == want;
  }
}

static bool v128_matches(const uint8_t *got, const expected_t *want) {
  unsigned width = 16 / want->nlanes;
  for (unsigned i = 0; i < want->nlanes; i++) {
    const uint8_t *g = got + i * width, *w = want->val.of.v128 + i * width;
    if (want->lane_kind == WISP_F32) {
      uint32_t gb, wb;
      memcpy(&gb, g, 4);
      memcpy(&wb, w, 4);
      if (!f32_matches(gb, want->lane_match[i], wb)) return false;
    } else if (want->lane_kind == WISP_F64) {
      uint64_t gb, wb;
      memcpy(&gb, g, 8);
      memcpy(&wb, w, 8);
      if (!f64_matches(gb, want->lane_match[i], wb)) return false;
    } else if (memcmp(g, w, width) != 0) {
      return false;
    }
  }
  return true;
}

static bool value_matches(const wisp_val_t *got, const expected_t *want) {
  if (got->kind != want->val.kind) return false;
  switch (got->kind) {
    case WISP_I32: return got->of.i32 == want->val.of.i32;
    case WISP_I64: return got->of.i64 == want->val.of.i64;
    case WISP_F32: {
      uint32_t gb, wb;
      memcpy(&gb, &got->of.f32, 4);
      memcpy(&wb, &want->val.of.f32, 4);
      return f32_matches(gb, want->match, wb);
    }
    case WISP_F64: {
      uint64_t gb, wb;
      memcpy(&gb, &got->of.f64, 8);
      memcpy(&wb, &want->val.of.f64, 8);
      return f64_matches(gb, want->match, wb);
    }
    case WISP_FUNCREF:
      if (want->match == MATCH_NONNULL) return got->of.funcref != NULL;
      return got->of.funcref == want->val.of.funcref;
    case WISP_EXTERNREF: return got->of.externref == want->val.of.externref;
    case WISP_V128: return v128_matches(got->of.v128, want);
    default: return false;
  }
}

/* Writes a value as "i32:42", "f32:1.5 (0x3fc00000)", "externref:3", ... */
static size_t format_value(char *buf, size_t size, const wisp_val_t *v, match_t match) {
  const char *kind = wisp_valkind_name(v->kind);
  if (match == MATCH_NAN_CANONICAL) return snprintf(buf, size, "%s:nan:canonical", kind);
  if (match == MATCH_NAN_ARITHMETIC) return snprintf(buf, size, "%s:nan:arithmetic", kind);
  if (match == MATCH_NONNULL) return snprintf(buf, size, "%s:ref.func", kind);
  switch (v->kind) {
    case WISP_I32: return snprintf(buf, size, "i32:%" PRId32, v->of.i32);
    case WISP_I64: return snprintf(buf, size, "i64:%" PRId64, v->of.i64);
    case WISP_F32: {
      uint32_t bits;
      memcpy(&bits, &v->of.f32, 4);
      return snprintf(buf, size, "f32:%.9g (0x%08" PRIx32 ")", (double)v->of.f32, bits);
    }
    case WISP_F64: {
      uint64_t bits;
      memcpy(&bits, &v->of.f64, 8);
      return snprintf(buf, size, "f64:%.17g (0x%016" PRIx64 ")", v->of.f64, bits);
    }
    case WISP_FUNCREF:
      return v->of.funcref ? snprintf(buf, size, "funcref:%p", (void *)v->of.funcref)
                           : snprintf(buf, size, "funcref:null");
    case WISP_EXTERNREF:
      if (!v->of.externref) return snprintf(buf, size, "externref:null");
      return snprintf(buf, size, "externref:%" PRIuPTR, (uintptr_t)v->of.externref - 1);
    case WISP_V128: {
      size_t len = snprintf(buf, size, "v128:0x");
      for (int i = 15; i >= 0 && len < size; i--)
        len += snprintf(buf + len, size - len, "%02x", v->of.v128[i]);
      return len;
    }
    default: return snprintf(buf, size, "<kind 0x%02x>", v->kind);
  }
}

/* "(i32:1, f32:...)": the `expects` patterns when given, else the values `vals`. */
static void format_values(char *buf, size_t size, const wisp_val_t *vals, const expected_t *expects,
                          size_t n) {
  size_t len = snprintf(buf, size, "(");
  for (size_t i = 0; i < n && len < size; i++) {
    if (i) len += snprintf(buf + len, size - len, ", ");
    if (len >= size) break;
    if (expects)
      len += format_value(buf + len, size - len, &expects[i].val, expects[i].match);
    else
      len += format_value(buf + len, size - len, &vals[i], MATCH_EXACT);
  }
  if (len < size) snprintf(buf + len, size - len, ")");
}

/* ---- the spectest host module --------------------------------------------- */

typedef struct print_func {
  const char *name;
  wisp_functype_t type;
} print_func_t;

static const uint8_t T_I32[] = {WISP_I32}, T_I64[] = {WISP_I64}, T_F32[] = {WISP_F32}, T_F64[] = {WISP_F64},
                     T_I32_F32[] = {WISP_I32, WISP_F32}, T_F64_F64[] = {WISP_F64, WISP_F64};

static const print_func_t print_funcs[] = {
    {"print", {0, 0, NULL, NULL}},
    {"print_i32", {1, 0, T_I32, NULL}},
    {"print_i64", {1, 0, T_I64, NULL}},
    {"print_f32", {1, 0, T_F32, NULL}},
    {"print_f64", {1, 0, T_F64, NULL}},
    {"print_i32_f32", {2, 0, T_I32_F32, NULL}},
    {"print_f64_f64", {2, 0, T_F64_F64, NULL}},
};

static wisp_host_status_t spectest_print(wisp_call_t *call, void *env, const wisp_val_t *args,
                                         wisp_val_t *results) {
  const print_func_t *f = env;
  char buf[256];
  format_values(buf, sizeof buf, args, NULL, f->type.nparams);
  printf("spectest.%s%s\n", f->name, buf);
  return WISP_HOST_OK;
}

static int define_spectest(runner_t *r) {
  for (size_t i = 0; i < sizeof print_funcs / sizeof print_funcs[0]; i++) {
    if (wisp_linker_define_func(r->linker, "spectest", print_funcs[i].name, &print_funcs[i].type,
                                spectest_print, (void *)&print_funcs[i]) != 0)
      return -1;
  }
  wisp_val_t values[4] = {{.kind = WISP_I32, .of.i32 = 666},
                          {.kind = WISP_I64, .of.i64 = 666},
                          {.kind = WISP_F32, .of.f32 = 666.6f},
                          {.kind = WISP_F64, .of.f64 = 666.6}};
  const char *names[4] = {"global_i32", "global_i64", "global_f32", "global_f64"};
  for (int i = 0; i < 4; i++) {
    wisp_extern_t ext = {.kind = WISP_EXTERN_GLOBAL,
                         .of.global = wisp_global_new(r->store, &values[i], false)};
    if (!ext.of.global || wisp_linker_define(r->linker, "spectest", names[i], &ext) != 0) return -1;
  }
  wisp_limits_t table_limits = {10, 20, true};
  wisp_val_t null_func = {.kind = WISP_FUNCREF, .of.funcref = NULL};
  wisp_extern_t table = {.kind = WISP_EXTERN_TABLE,
                         .of.table = wisp_table_new(r->store, WISP_FUNCREF, &table_limits, &null_func)};
  if (!table.of.table || wisp_linker_define(r->linker, "spectest", "table", &table) != 0) return -1;
  wisp_limits_t memory_limits = {1, 2, true};
  wisp_extern_t memory = {.kind = WISP_EXTERN_MEMORY, .of.memory = wisp_memory_new(r->store, &memory_limits)};
  if (!memory.of.memory || wisp_linker_define(r->linker, "spectest", "memory", &memory) != 0) return -1;
  return 0;
}

/* ---- modules ---------------------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = NULL;
  if (fseek(f, 0, SEEK_END) != 0) goto done;
  long size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) goto done;
  buf = malloc(size ? (size_t)size : 1);
  if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
    free(buf);
    buf = NULL;
  }
  *len = (size_t)size;
done:
  fclose(f);
  return buf;
}

static uint8_t *read_command_module(runner_t *r, json_t *cmd, size_t *len) {
  const char *file = json_string_value(json_object_get(cmd, "filename"));
  if (!file) {
    fail(r, "command has no filename");
    return NULL;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", r->json_dir, file);
  uint8_t *bytes = read_file(path, len);
  if (!bytes) fail(r, "cannot read %s: %s", path, strerror(errno));
  return bytes;
}

static const char *error_text(int rc, const wisp_error_t *err) {
  return err->message[0] ? err->message : wisp_err_name(rc);
}

/* Loads a binary module of a command for execution. Returns 0 and *out (kept by
 * the runner); 1 for a valid SIMD module the engine cannot run (counted as
 * skipped by the caller where it matters); -1 after counting a failure. */
static int load_module(runner_t *r, json_t *cmd, wisp_module_t **out) {
  size_t len = 0;
  uint8_t *bytes = read_command_module(r, cmd, &len);
  if (!bytes) return -1;
  wisp_error_t err = {0};
  int rc = wisp_module_new(r->engine, bytes, len, out, &err);
  if (rc == WISP_ERR_UNSUPPORTED && r->simd_file) {
    wisp_error_t verr = {0};
    int vrc = wisp_module_validate(r->engine, bytes, len, &verr);
    free(bytes);
    if (vrc == 0) return 1;
    fail(r, "module does not validate: %s: %s", wisp_err_name(vrc), error_text(vrc, &verr));
    return -1;
  }
  free(bytes);
  if (rc != 0) {
    fail(r, "module does not load: %s: %s", wisp_err_name(rc), error_text(rc, &err));
    return -1;
  }
  if (keep_module(r, *out) != 0) {
    wisp_module_delete(*out);
    fail(r, "out of memory");
    return -1;
  }
  return 0;
}

/* Instantiates through the linker. Returns the wisp_err_t code; *trap (owned) on WISP_ERR_TRAP. */
static int instantiate(runner_t *r, wisp_module_t *module, wisp_instance_t **out, wisp_trap_t **trap,
                       wisp_error_t *err) {
  *out = NULL;
  *trap = NULL;
  memset(err, 0, sizeof *err);
  return wisp_linker_instantiate(r->linker, r->exec, module, out, trap, err);
}

static outcome_t cmd_module(runner_t *r, json_t *cmd) {
  const char *name = json_string_value(json_object_get(cmd, "name"));
  mod_ref_t ref = {MOD_FAILED, NULL};
  outcome_t outcome = OUTCOME_FAILED;
  wisp_module_t *module = NULL;
  int rc = load_module(r, cmd, &module);
  if (rc == 1) {
    ref.state = MOD_SIMD_ONLY;
    outcome = pass(r); /* it validates: the part of the command that can be checked */
  } else if (rc == 0) {
    wisp_instance_t *instance;
    wisp_trap_t *trap;
    wisp_error_t err;
    rc = instantiate(r, module, &instance, &trap, &err);
    if (rc == 0) {
      ref = (mod_ref_t){MOD_READY, instance};
      outcome = pass(r);
    } else if (trap) {
      fail(r, "instantiation trapped: %s", wisp_trap_message(trap));
      wisp_trap_delete(trap);
    } else {
      fail(r, "instantiation failed: %s: %s", wisp_err_name(rc), error_text(rc, &err));
    }
  }
  r->current = ref;
  if (name) bind_name(r, name, ref);
  return outcome;
}

static outcome_t cmd_register(runner_t *r, json_t *cmd) {
  const char *name = json_string_value(json_object_get(cmd, "name"));
  const char *as = json_string_value(json_object_get(cmd, "as"));
  bool found;
  mod_ref_t ref = lookup_module(r, name, &found);
  if (!as) return fail(r, "register without \"as\"");
  switch (ref.state) {
    case MOD_SIMD_ONLY: return skip(r, SKIP_SIMD);
    case MOD_READY:
      if (wisp_linker_define_instance(r->linker, as, ref.instance) != 0)
        return fail(r, "defining the exports of %s as \"%s\" failed", name ? name : "the module", as);
      return pass(r);
    default:
      return fail(r, "cannot register %s as \"%s\": %s", name ? name : "the current module", as,
                  found ? "it failed to load" : "no such module");
  }
}

/* Loads a module that must be rejected (assert_invalid / assert_malformed). */
static outcome_t cmd_assert_rejected(runner_t *r, json_t *cmd, int expected_code) {
  const char *module_type = json_string_value(json_object_get(cmd, "module_type"));
  const char *text = json_string_value(json_object_get(cmd, "text"));
  if (module_type && strcmp(module_type, "binary") != 0) return skip(r, SKIP_TEXT_MODULE);
  size_t len = 0;
  uint8_t *bytes = read_command_module(r, cmd, &len);
  if (!bytes) return OUTCOME_FAILED;
  wisp_error_t err = {0};
  int rc;
  if (r->simd_file) {
    rc = wisp_module_validate(r->engine, bytes, len, &err);
  } else {
    wisp_module_t *module = NULL;
    rc = wisp_module_new(r->engine, bytes, len, &module, &err);
    if (rc == 0) wisp_module_delete(module);
  }
  free(bytes);
  if (rc == 0) return fail(r, "module loaded, expected it to be rejected with \"%s\"", text ? text : "");
  if (rc == WISP_ERR_UNSUPPORTED)
    return fail(r, "module was refused as unsupported (%s), expected it to be rejected with \"%s\"",
                error_text(rc, &err), text ? text : "");
  if (rc != expected_code) r->other_class++;
  if (r->verbose && rc != expected_code)
    printf("  note %s.wast:%d: %s: rejected as %s, not %s: %s (expected \"%s\")\n", r->name, r->line,
           r->command, wisp_err_name(rc), wisp_err_name(expected_code), error_text(rc, &err),
           text ? text : "");
  return pass_with_message(r, text ? text : "", error_text(rc, &err));
}

static outcome_t cmd_assert_unlinkable(runner_t *r, json_t *cmd, bool expect_trap) {
  const char *text = json_string_value(json_object_get(cmd, "text"));
  if (!text) text = "";
  wisp_module_t *module = NULL;
  int rc = load_module(r, cmd, &module);
  if (rc == 1) return skip(r, SKIP_SIMD);
  if (rc != 0) return OUTCOME_FAILED;
  wisp_instance_t *instance;
  wisp_trap_t *trap;
  wisp_error_t err;
  rc = instantiate(r, module, &instance, &trap, &err);
  if (rc == 0) return fail(r, "module instantiated, expected \"%s\"", text);
  outcome_t outcome;
  if (expect_trap) {
    if (!trap) {
      outcome = fail(r, "expected a trap \"%s\", got %s: %s", text, wisp_err_name(rc), error_text(rc, &err));
    } else if (!strstr(wisp_trap_message(trap), text)) {
      outcome = fail(r, "expected a trap \"%s\", got trap \"%s\"", text, wisp_trap_message(trap));
    } else {
      outcome = pass(r);
    }
  } else if (rc != WISP_ERR_LINK) {
    outcome = fail(r, "expected a link error \"%s\", got %s: %s", text, wisp_err_name(rc),
                   trap ? wisp_trap_message(trap) : error_text(rc, &err));
  } else {
    outcome = pass_with_message(r, text, error_text(rc, &err));
  }
  if (trap) wisp_trap_delete(trap);
  return outcome;
}

/* ---- actions ---------------------------------------------------------------- */

typedef struct action_result {
  wisp_val_t results[64];
  size_t nresults;
  wisp_trap_t *trap;
  char what[256]; /* "invoke f(i32:1)" for messages */
} action_result_t;

static void exec_recover(runner_t *r) {
  wisp_status_t status = wisp_exec_status(r->exec);
  if (status == WISP_SUSPENDED || status == WISP_OUT_OF_FUEL) wisp_exec_abort(r->exec);
  if (wisp_exec_status(r->exec) == WISP_TRAPPED) {
    wisp_trap_t *trap = wisp_exec_take_trap(r->exec);
    if (trap) wisp_trap_delete(trap);
  }
}

static outcome_t run_invoke(runner_t *r, wisp_instance_t *instance, json_t *action, const char *field,
                            size_t field_len, action_result_t *res) {
  json_t *args_json = json_object_get(action, "args");
  size_t nargs = json_array_size(args_json);
  wisp_val_t args[64];
  char why[256];
  if (nargs > 64) return fail(r, "too many arguments");
  for (size_t i = 0; i < nargs; i++) {
    expected_t arg;
    if (parse_value(json_array_get(args_json, i), false, &arg, why, sizeof why) != 0)
      return fail(r, "argument %zu: %s", i, why);
    args[i] = arg.val;
  }
  char argbuf[192];
  format_values(argbuf, sizeof argbuf, args, NULL, nargs);
  snprintf(res->what, sizeof res->what, "invoke \"%.*s\"%s", (int)field_len, field, argbuf);

  wisp_extern_t ext;
  if (wisp_instance_export(instance, field, field_len, &ext) != 0 || ext.kind != WISP_EXTERN_FUNC)
    return fail(r, "%s: no exported function of that name", res->what);
  const wisp_functype_t *type = wisp_func_type(ext.of.func);
  if (type->nparams != nargs) return fail(r, "%s: function takes %u arguments", res->what, type->nparams);
  if (type->nresults > 64) return fail(r, "%s: too many results", res->what);
  res->nresults = type->nresults;
  wisp_exec_set_fuel(r->exec, r->fuel_slice > 0 ? r->fuel_slice : -1);
  wisp_status_t status = wisp_exec_call(r->exec, ext.of.func, args, nargs, res->results, res->nresults);
  uint64_t used = wisp_exec_fuel_used(r->exec);
  while (status == WISP_OUT_OF_FUEL && r->fuel_slice > 0) {
    wisp_exec_set_fuel(r->exec, r->fuel_slice);
    status = wisp_exec_continue(r->exec);
    uint64_t now_used = wisp_exec_fuel_used(r->exec);
    if (status == WISP_OUT_OF_FUEL && now_used == used) {
      exec_recover(r);
      return fail(r, "%s: no progress with a fuel slice of %" PRId64 " (out of fuel again, no fuel used)",
                  res->what, r->fuel_slice);
    }
    used = now_used;
  }
  wisp_exec_set_fuel(r->exec, -1);
  switch (status) {
    case WISP_DONE: return OUTCOME_RETURNED;
    case WISP_TRAPPED:
      res->trap = wisp_exec_take_trap(r->exec);
      if (!res->trap) return fail(r, "%s: trapped but no trap was given", res->what);
      return OUTCOME_TRAPPED;
    default:
      exec_recover(r);
      return fail(r, "%s: call ended with status %d (suspended or out of fuel)", res->what, (int)status);
  }
}

/* Runs the "action" of a command against its module. */
static outcome_t run_action(runner_t *r, json_t *cmd, action_result_t *res) {
  memset(res, 0, sizeof *res);
  json_t *action = json_object_get(cmd, "action");
  const char *type = json_string_value(json_object_get(action, "type"));
  const char *module = json_string_value(json_object_get(action, "module"));
  json_t *field_json = json_object_get(action, "field");
  const char *field = json_string_value(field_json);
  if (!type || !field) return fail(r, "malformed action");
  size_t field_len = json_string_length(field_json);
  bool found;
  mod_ref_t ref = lookup_module(r, module, &found);
  if (ref.state == MOD_SIMD_ONLY) return skip(r, SKIP_SIMD);
  if (ref.state != MOD_READY) {
    return fail(r, "%s \"%s\": %s", type, field,
                !found                  ? "no such module"
                : ref.state == MOD_NONE ? "no module defined"
                                        : "its module failed"),
           OUTCOME_FAILED;
  }
  if (strcmp(type, "invoke") == 0) return run_invoke(r, ref.instance, action, field, field_len, res);
  if (strcmp(type, "get") == 0) {
    snprintf(res->what, sizeof res->what, "get \"%s\"", field);
    wisp_extern_t ext;
    if (wisp_instance_export(ref.instance, field, field_len, &ext) != 0 || ext.kind != WISP_EXTERN_GLOBAL)
      return fail(r, "%s: no exported global of that name", res->what);
    wisp_global_get(ext.of.global, &res->results[0]);
    res->nresults = 1;
    return OUTCOME_RETURNED;
  }
  return fail(r, "unknown action type \"%s\"", type);
}

static outcome_t cmd_action(runner_t *r, json_t *cmd) {
  action_result_t res;
  outcome_t outcome = run_action(r, cmd, &res);
  if (outcome == OUTCOME_TRAPPED) {
    outcome = fail(r, "%s: trapped: %s", res.what, wisp_trap_message(res.trap));
    wisp_trap_delete(res.trap);
  } else if (outcome == OUTCOME_RETURNED) {
    outcome = pass(r);
  }
  return outcome;
}

static outcome_t cmd_assert_return(runner_t *r, json_t *cmd) {
  json_t *expected_json = json_object_get(cmd, "expected");
  size_t nexpected = json_array_size(expected_json);
  expected_t expected[64];
  char why[256];
  if (nexpected > 64) return fail(r, "too many expected values");
  for (size_t i = 0; i < nexpected; i++) {
    if (parse_value(json_array_get(expected_json, i), true, &expected[i], why, sizeof why) != 0)
      return fail(r, "expected value %zu: %s", i, why);
  }
  action_result_t res;
  outcome_t outcome = run_action(r, cmd, &res);
  if (outcome == OUTCOME_TRAPPED) {
    outcome = fail(r, "%s: trapped \"%s\"", res.what, wisp_trap_message(res.trap));
    wisp_trap_delete(res.trap);
    return outcome;
  }
  if (outcome != OUTCOME_RETURNED) return outcome;
  bool ok = res.nresults == nexpected;
  for (size_t i = 0; ok && i < nexpected; i++) ok = value_matches(&res.results[i], &expected[i]);
  if (ok) return pass(r);
  char want[512], got[512];
  format_values(want, sizeof want, NULL, expected, nexpected);
  format_values(got, sizeof got, res.results, NULL, res.nresults);
  return fail(r, "%s: expected %s, got %s", res.what, want, got);
}

/* assert_trap and assert_exhaustion: the action must trap with a message containing "text". */
static outcome_t cmd_assert_trap(runner_t *r, json_t *cmd) {
  const char *text = json_string_value(json_object_get(cmd, "text"));
  if (!text) text = "";
  action_result_t res;
  outcome_t outcome = run_action(r, cmd, &res);
  if (outcome == OUTCOME_RETURNED) {
    char got[512];
    format_values(got, sizeof got, res.results, NULL, res.nresults);
    return fail(r, "%s: expected trap \"%s\", returned %s", res.what, text, got);
  }
  if (outcome != OUTCOME_TRAPPED) return outcome;
  const char *message = wisp_trap_message(res.trap);
  if (!message) message = "";
  if (strstr(message, text))
    outcome = pass(r);
  else
    outcome = fail(r, "%s: expected trap \"%s\", got trap \"%s\"", res.what, text, message);
  wisp_trap_delete(res.trap);
  return outcome;
}

/* ---- one script --------------------------------------------------------------- */

static outcome_t run_command(runner_t *r, json_t *cmd) {
  const char *type = json_string_value(json_object_get(cmd, "type"));
  r->line = (int)json_integer_value(json_object_get(cmd, "line"));
  r->command = type ? type : "(no type)";
  if (!type) return fail(r, "command without a type");
  if (strcmp(type, "module") == 0) return cmd_module(r, cmd);
  if (strcmp(type, "register") == 0) return cmd_register(r, cmd);
  if (strcmp(type, "action") == 0) return cmd_action(r, cmd);
  if (strcmp(type, "assert_return") == 0) return cmd_assert_return(r, cmd);
  if (strcmp(type, "assert_trap") == 0) return cmd_assert_trap(r, cmd);
  if (strcmp(type, "assert_exhaustion") == 0) return cmd_assert_trap(r, cmd);
  if (strcmp(type, "assert_invalid") == 0) return cmd_assert_rejected(r, cmd, WISP_ERR_INVALID);
  if (strcmp(type, "assert_malformed") == 0) return cmd_assert_rejected(r, cmd, WISP_ERR_MALFORMED);
  if (strcmp(type, "assert_unlinkable") == 0) return cmd_assert_unlinkable(r, cmd, false);
  if (strcmp(type, "assert_uninstantiable") == 0) return cmd_assert_unlinkable(r, cmd, true);
  return fail(r, "unknown command type");
}

/* Runs every command of a converted script. Returns -1 if the script could not
 * be read or the runtime objects could not be made (nothing was counted then). */
static int run_script(wisp_engine_t *engine, const char *name, const char *json_path, bool verbose,
                      int64_t fuel_slice, counts_t *counts) {
  json_error_t jerr;
  json_t *root = json_load_file(json_path, JSON_ALLOW_NUL, &jerr);
  if (!root) {
    fprintf(stderr, "spec/%s: cannot read %s: line %d: %s\n", name, json_path, jerr.line, jerr.text);
    return -1;
  }
  char *dir = strdup(json_path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash) *slash = 0;
  runner_t r = {.name = name, .json_dir = slash ? dir : ".", .verbose = verbose, .engine = engine};
  r.simd_file = strncmp(name, "simd_", 5) == 0;
  r.fuel_slice = fuel_slice;
  int rc = -1;
  r.store = wisp_store_new(engine);
  if (!r.store) goto done;
  r.linker = wisp_linker_new(r.store);
  r.exec = wisp_exec_new(r.store, NULL);
  if (!r.linker || !r.exec) goto done;
  wisp_exec_set_fuel(r.exec, -1);
  if (define_spectest(&r) != 0) {
    fprintf(stderr, "spec/%s: cannot define the spectest module\n", name);
    goto done;
  }
  json_t *commands = json_object_get(root, "commands");
  for (size_t i = 0; i < json_array_size(commands); i++) {
    run_command(&r, json_array_get(commands, i));
    fflush(stdout);
  }
  if (r.failures_shown < r.counts.failed)
    printf("  ... %u more failures (run with -v to see all)\n", r.counts.failed - r.failures_shown);
  if (r.other_class)
    printf(
        "  note: %u modules were rightly rejected but as invalid where the spec says malformed, or the "
        "reverse (-v lists them)\n",
        r.other_class);
  *counts = r.counts;
  r.counts.failed_lines = NULL; /* now the caller's */
  rc = 0;
done:
  if (r.linker) wisp_linker_delete(r.linker);
  if (r.exec) wisp_exec_delete(r.exec);
  if (r.store) wisp_store_delete(r.store);
  for (size_t i = 0; i < r.nmodules; i++) wisp_module_delete(r.modules[i]);
  for (size_t i = 0; i < r.nnamed; i++) free(r.named[i].name);
  free(r.modules);
  free(r.named);
  free(r.counts.failed_lines);
  free(dir);
  json_decref(root);
  return rc;
}

/* ---- conversion, results files, totals ---------------------------------------- */

static int run_wast2json(const char *tool, const char *wast, const char *json_path) {
  char *argv[] = {(char *)tool, (char *)wast, "-o", (char *)json_path, NULL};
  pid_t pid;
  int rc = posix_spawnp(&pid, tool, NULL, NULL, argv, environ);
  if (rc != 0) {
    fprintf(stderr, "cannot run %s: %s\n", tool, strerror(rc));
    return -1;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "%s %s failed (status 0x%x)\n", tool, wast, status);
    return -1;
  }
  return 0;
}

static int make_dirs(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* Empties and removes a temporary directory made by this run (flat: wast2json writes no subdirectories). */
static void remove_dir(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    char file[4096];
    while ((e = readdir(d))) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      snprintf(file, sizeof file, "%s/%s", path, e->d_name);
      unlink(file);
    }
    closedir(d);
  }
  rmdir(path);
}

static int write_results(const char *path, const char *name, const counts_t *c, double seconds) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = 0;
    make_dirs(dir);
  }
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  fprintf(f, "name %s\npassed %u\nfailed %u\nskipped %u\nseconds %.3f\n", name, c->passed, c->failed,
          c->skipped, seconds);
  for (unsigned i = 0; i < c->nreasons; i++)
    fprintf(f, "skip %u %s\n", c->reasons[i].count, c->reasons[i].text);
  return fclose(f) == 0 ? 0 : -1;
}

static int read_results(const char *path, counts_t *total, double *seconds) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[512];
  unsigned n;
  double s;
  int off;
  int found = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (sscanf(line, "passed %u", &n) == 1)
      total->passed += n, found |= 1;
    else if (sscanf(line, "failed %u", &n) == 1)
      total->failed += n, found |= 2;
    else if (sscanf(line, "seconds %lf", &s) == 1)
      *seconds += s;
    else if (sscanf(line, "skip %u %n", &n, &off) == 1)
      counts_add_skip(total, line + off, n);
  }
  fclose(f);
  return found == 3 ? 0 : -1;
}

/* spec/total: sums RESULTS_DIR/NAME.result for every NAME. */
static int run_total(const char *dir, char **names, int nnames) {
  counts_t total = {0};
  double seconds = 0, slowest_seconds = 0;
  const char *slowest = NULL;
  int missing = 0;
  for (int i = 0; i < nnames; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.result", dir, names[i]);
    counts_t c = {0};
    double file_seconds = 0;
    if (read_results(path, &c, &file_seconds) != 0) {
      printf("spec/%s: no results (%s missing or incomplete: did the test run to the end?)\n", names[i],
             path);
      missing++;
      continue;
    }
    if (c.failed) printf("spec/%s: %u failed\n", names[i], c.failed);
    seconds += file_seconds;
    if (file_seconds > slowest_seconds) {
      slowest_seconds = file_seconds;
      slowest = names[i];
    }
    total.passed += c.passed;
    total.failed += c.failed;
    for (unsigned k = 0; k < c.nreasons; k++) counts_add_skip(&total, c.reasons[k].text, c.reasons[k].count);
  }
  char reasons[1024];
  counts_format_reasons(&total, reasons, sizeof reasons);
  printf("spec total: %u passed, %u failed, %u skipped%s\n", total.passed, total.failed, total.skipped,
         reasons);
  printf("spec total: %d files, %d without results, %.2f s (slowest: %s, %.2f s)\n", nnames, missing, seconds,
         slowest ? slowest : "-", slowest_seconds);
  return missing || total.failed ? 1 : 0;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void) {
  fprintf(stderr,
          "usage: spec_runner [-v] [--fuel-slice N] [--work-dir DIR] [--results FILE] [--wast2json PATH]\n"
          "                   --wast FILE.wast\n"
          "       spec_runner [-v] [--fuel-slice N] [--results FILE] --json FILE.json\n"
          "       spec_runner --total RESULTS_DIR NAME...\n");
}

/* The test name of a path: its file name without directory and extension. */
static char *test_name(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  char *name = strdup(base);
  if (!name) return NULL;
  char *dot = strrchr(name, '.');
  if (dot && dot != name) *dot = 0;
  return name;
}

typedef struct options {
  const char *wast, *json, *work_dir, *results, *wast2json;
  bool verbose;
  int64_t fuel_slice;
  bool selftest;
  const char *total_dir; /* --total: sum the results of these names */
  char **total_names;
  int total_count;
} options_t;

/* Returns 0, or -1 after printing the usage. */
static int parse_args(int argc, char **argv, options_t *o) {
  *o = (options_t){.wast2json = "wast2json"};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has_value = i + 1 < argc;
    if (strcmp(a, "-v") == 0) {
      o->verbose = true;
    } else if (strcmp(a, "--total") == 0 && has_value) {
      o->total_dir = argv[i + 1];
      o->total_names = argv + i + 2;
      o->total_count = argc - i - 2;
      return 0;
    } else if (strcmp(a, "--wast") == 0 && has_value) {
      o->wast = argv[++i];
    } else if (strcmp(a, "--json") == 0 && has_value) {
      o->json = argv[++i];
    } else if (strcmp(a, "--work-dir") == 0 && has_value) {
      o->work_dir = argv[++i];
    } else if (strcmp(a, "--results") == 0 && has_value) {
      o->results = argv[++i];
    } else if (strcmp(a, "--wast2json") == 0 && has_value) {
      o->wast2json = argv[++i];
    } else if (strcmp(a, "--selftest") == 0) {
      o->selftest = true;
    } else if (strcmp(a, "--fuel-slice") == 0 && has_value) {
      o->fuel_slice = strtoll(argv[++i], NULL, 10);
    } else if (a[0] != '-' && !o->wast && !o->json) {
      size_t n = strlen(a);
      if (n > 5 && strcmp(a + n - 5, ".json") == 0)
        o->json = a;
      else
        o->wast = a;
    } else {
      usage();
      return -1;
    }
  }
  if (!o->wast == !o->json) {
    usage();
    return -1;
  }
  return 0;
}

/* Converts o->wast into o->work_dir (a fresh temporary directory when not
 * given: *temp_dir is then set and must be removed) and points *json_path at
 * the script. */
static int convert_wast(const options_t *o, const char *name, char *temp_dir, bool *made_temp,
                        char *json_path, size_t json_path_size) {
  const char *dir = o->work_dir;
  if (!dir) {
    if (!mkdtemp(temp_dir)) {
      fprintf(stderr, "cannot make a temporary directory: %s\n", strerror(errno));
      return -1;
    }
    *made_temp = true;
    dir = temp_dir;
  } else if (make_dirs(dir) != 0) {
    fprintf(stderr, "cannot make %s: %s\n", dir, strerror(errno));
    return -1;
  }
  snprintf(json_path, json_path_size, "%s/%s.json", dir, name);
  return run_wast2json(o->wast2json, o->wast, json_path);
}

/* --selftest: the .wast marks each command that must fail with a line
 * starting ";; FAIL" just above it. Returns 0 iff exactly those commands
 * failed and something passed. */
static int check_selftest(const char *wast, const counts_t *counts) {
  FILE *f = fopen(wast, "r");
  if (!f) return -1;
  char line[1024];
  int number = 0, bad = 0;
  bool marked = false;
  unsigned nmarked = 0;
  while (fgets(line, sizeof line, f)) {
    number++;
    bool failed = false;
    for (unsigned i = 0; i < counts->nfailed_lines; i++) failed |= counts->failed_lines[i] == number;
    if (marked != failed) {
      printf("  selftest: line %d %s\n", number,
             marked ? "is marked to fail but did not" : "failed unmarked");
      bad++;
    }
    nmarked += marked;
    marked = strncmp(line, ";; FAIL", 7) == 0;
  }
  fclose(f);
  if (counts->nfailed_lines != counts->failed) bad++;
  printf("  selftest: %u marked commands, %u failures, %d mismatches\n", nmarked, counts->failed, bad);
  return bad || counts->passed == 0 ? -1 : 0;
}

/* Runs one file. Returns the exit status: 0 all passed, 1 some failed, 2 could not run. */
static int run_file(const options_t *o, const char *name) {
  int status = 2;
  char temp_dir[] = "/tmp/wisp-spec-XXXXXX";
  char json_path[4096];
  bool made_temp = false;
  const char *json = o->json;
  wisp_engine_t *engine = NULL;
  counts_t counts = {0};
  double start = now_seconds();
  if (o->wast) {
    if (convert_wast(o, name, temp_dir, &made_temp, json_path, sizeof json_path) != 0) goto done;
    json = json_path;
  }
  engine = wisp_engine_new();
  if (!engine || run_script(engine, name, json, o->verbose, o->fuel_slice, &counts) != 0) goto done;
  double seconds = now_seconds() - start;
  char slice[64] = "";
  if (o->fuel_slice > 0) snprintf(slice, sizeof slice, ", fuel slices of %" PRId64, o->fuel_slice);
  printf("spec/%s: %u passed, %u failed, %u skipped (%.2f s%s)\n", name, counts.passed, counts.failed,
         counts.skipped, seconds, slice);
  for (unsigned i = 0; i < counts.nreasons; i++)
    printf("  skipped %u: %s\n", counts.reasons[i].count, counts.reasons[i].text);
  status = counts.failed ? 1 : 0;
  if (o->selftest) status = o->wast && check_selftest(o->wast, &counts) == 0 ? 0 : 1;
  if (o->results && write_results(o->results, name, &counts, seconds) != 0) status = 2;
done:
  if (engine) wisp_engine_delete(engine);
  if (made_temp) remove_dir(temp_dir);
  free(counts.failed_lines);
  return status;
}

int main(int argc, char **argv) {
  options_t o;
  if (parse_args(argc, argv, &o) != 0) return 2;
  if (o.total_dir) return run_total(o.total_dir, o.total_names, o.total_count);
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* `spec_runner ... | head` must not kill the run before it removes its temporary directory. */
  signal(SIGPIPE, SIG_IGN);
  /* A stale results file must not count for this run if it stops early. */
  if (o.results) unlink(o.results);
  char *name = test_name(o.wast ? o.wast : o.json);
  if (!name) return 2;
  int status = run_file(&o, name);
  free(name);
  return status;
}
