/*
 * cmd_run.c: `wisp run`, run a WebAssembly module from the command line.
 *
 *   wisp run [OPTIONS] module.wasm [ARGS...]
 *
 * Without --invoke the module is a WASI command: its `_start` export runs with
 * ARGS as its arguments (argv[0] is the module path), the process's stdin,
 * stdout and stderr as fds 0-2, the directories given with --dir preopened
 * (fds 3, 4, ...), the TCP sockets of --listen after them, and only the --env
 * variables in its environment. With --invoke NAME the
 * export NAME is called with ARGS parsed per its parameter types (i32/i64 as
 * decimal integers, f32/f64 as decimal floats, "nan"/"inf" accepted), after
 * `_initialize` if the module exports it (a reactor), and each result is
 * printed on its own line: integers in signed decimal, floats with enough
 * digits to round-trip (%.9g / %.17g).
 *
 * Exit codes (documented in docs/wasi.md):
 *   N     the guest called proc_exit(N), or 0 when _start / the export returned
 *   1     the module could not be read, decoded, validated, linked or instantiated
 *   2     usage error (bad option, bad argument for --invoke)
 *   134   the guest trapped (128 + SIGABRT, as wasmtime does); the trap message
 *         and its backtrace go to stderr
 *   137   the --fuel budget ran out ("fuel exhausted" on stderr; 128 + SIGKILL)
 *   142   the --timeout wall-clock limit passed ("timeout" on stderr; 128 + SIGALRM)
 *
 * Fuel and timeout: the guest runs in slices of fuel (WISP_RUN_SLICE units);
 * between slices the wall clock is checked against --timeout, and the same
 * deadline is given to the WASI host (wisp_wasi_set_deadline) so a guest
 * blocked in poll_oneoff or on a pipe or socket is stopped at it too.
 */
#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "wisp.h"
#include "wisp_component.h"
#include "wisp_wasi.h"

#define WISP_RUN_SLICE 1000000 /* fuel per slice when a timeout is set */

enum {
  EXIT_LOAD = 1,
  EXIT_USAGE = 2,
  EXIT_TRAP = 134,
  EXIT_FUEL = 137,
  EXIT_TIMEOUT = 142,
};

typedef struct run_opts {
  const char *invoke;     /* --invoke NAME, or NULL */
  const char *module_path;
  int nargs;              /* guest arguments after the module path */
  char **args;
  wisp_wasi_preopen_t *dirs;
  size_t ndirs;
  const char **env;
  size_t nenv;
  int64_t fuel;           /* -1: unlimited */
  uint64_t max_memory;    /* bytes; 0: module's own limit */
  int64_t timeout_ms;     /* -1: none */
  const char **listen;    /* --listen HOST:PORT specs */
  size_t nlisten;
  char **owned_env;       /* "KEY=VALUE" strings made for --env KEY */
  size_t nowned;
} run_opts_t;

static void usage(FILE *out) {
  fputs("usage: wisp run [OPTIONS] module.wasm [ARGS...]\n"
        "\n"
        "Runs a WASI command module (its _start export), or with --invoke calls one\n"
        "export and prints its results, one per line.\n"
        "\n"
        "options:\n"
        "  --invoke NAME           call export NAME with ARGS parsed per its parameter types\n"
        "  --dir HOST[::GUEST][:ro]  preopen host directory HOST as GUEST (default: HOST);\n"
        "                          read-write unless :ro is given\n"
        "  --env KEY=VALUE         put KEY=VALUE in the guest environment (repeatable);\n"
        "  --env KEY               pass the host's KEY, if set;\n"
        "                          the host environment is never passed\n"
        "  --fuel N                stop with \"fuel exhausted\" after about N instructions\n"
        "  --max-memory MIB        limit each linear memory to MIB mebibytes\n"
        "  --timeout MS            stop with \"timeout\" after MS milliseconds of wall time\n"
        "  --listen HOST:PORT      hand the guest a TCP socket listening there (sock_accept);\n"
        "                          sockets are numbered after the preopened directories\n"
        "  --help                  show this help\n"
        "\n"
        "exit status: the guest's exit code; 1 load/link error; 2 usage error;\n"
        "134 trap; 137 fuel exhausted; 142 timeout.\n",
        out);
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  if (!*s || *s == '-') return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end) return -1;
  *out = v;
  return 0;
}

/* HOST[::GUEST][:ro|:rw] -> preopen. Strings point into `spec` (argv). */
static int parse_dir(char *spec, wisp_wasi_preopen_t *out) {
  size_t len = strlen(spec);
  out->read_only = false;
  if (len > 3 && strcmp(spec + len - 3, ":ro") == 0) {
    out->read_only = true;
    spec[len - 3] = '\0';
  } else if (len > 3 && strcmp(spec + len - 3, ":rw") == 0) {
    spec[len - 3] = '\0';
  }
  char *sep = strstr(spec, "::");
  out->host_path = spec;
  out->guest_path = spec;
  if (sep) {
    *sep = '\0';
    out->guest_path = sep + 2;
  }
  if (!*out->host_path || !*out->guest_path) return -1;
  return 0;
}

static int parse_opts(int argc, char **argv, run_opts_t *o) {
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || a[1] != '-') break;
    if (strcmp(a, "--") == 0) { i++; break; }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { usage(stdout); exit(0); }
    if (i + 1 >= argc) {
      fprintf(stderr, "wisp run: option %s needs a value\n", a);
      return -1;
    }
    char *v = argv[++i];
    uint64_t n;
    if (strcmp(a, "--invoke") == 0) {
      o->invoke = v;
    } else if (strcmp(a, "--dir") == 0) {
      if (parse_dir(v, &o->dirs[o->ndirs]) < 0) {
        fprintf(stderr, "wisp run: bad --dir '%s' (want HOST[::GUEST][:ro])\n", v);
        return -1;
      }
      o->ndirs++;
    } else if (strcmp(a, "--env") == 0) {
      if (!*v || *v == '=') {
        fprintf(stderr, "wisp run: bad --env '%s' (want KEY=VALUE or KEY)\n", v);
        return -1;
      }
      if (strchr(v, '=')) {
        o->env[o->nenv++] = v;
      } else if (getenv(v)) {
        /* --env KEY: the host's value of KEY, because the user named it */
        size_t size = strlen(v) + 1 + strlen(getenv(v)) + 1;
        char *kv = malloc(size);
        if (!kv) return -1;
        snprintf(kv, size, "%s=%s", v, getenv(v));
        o->owned_env[o->nowned++] = kv;
        o->env[o->nenv++] = kv;
      }
    } else if (strcmp(a, "--fuel") == 0) {
      if (parse_u64(v, &n) < 0 || n > INT64_MAX) goto bad_number;
      o->fuel = (int64_t)n;
    } else if (strcmp(a, "--max-memory") == 0) {
      if (parse_u64(v, &n) < 0 || n == 0 || n > (1u << 20)) goto bad_number;
      o->max_memory = n << 20;
    } else if (strcmp(a, "--listen") == 0) {
      o->listen[o->nlisten++] = v;
    } else if (strcmp(a, "--timeout") == 0) {
      if (parse_u64(v, &n) < 0 || n > INT64_MAX / 1000000) goto bad_number;
      o->timeout_ms = (int64_t)n;
    } else {
      fprintf(stderr, "wisp run: unknown option %s (see wisp run --help)\n", a);
      return -1;
    }
    continue;
  bad_number:
    fprintf(stderr, "wisp run: bad value '%s' for %s\n", v, a);
    return -1;
  }
  if (i >= argc) {
    fprintf(stderr, "wisp run: no module given (see wisp run --help)\n");
    return -1;
  }
  o->module_path = argv[i];
  o->args = argv + i + 1;
  o->nargs = argc - i - 1;
  return 0;
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 1 << 16;
      uint8_t *grown = realloc(buf, cap);
      if (!grown) { free(buf); fclose(f); errno = ENOMEM; return NULL; }
      buf = grown;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  int failed = ferror(f);
  fclose(f);
  if (failed) { free(buf); errno = EIO; return NULL; }
  *len = n;
  return buf;
}

/* Opens a listening TCP socket for "HOST:PORT" ("[V6]:PORT" too); -1 with a message. */
static int listen_on(const char *spec) {
  char host[256];
  const char *colon = strrchr(spec, ':');
  if (!colon || (size_t)(colon - spec) >= sizeof host || !colon[1]) {
    fprintf(stderr, "wisp run: bad --listen '%s' (want HOST:PORT)\n", spec);
    return -1;
  }
  memcpy(host, spec, (size_t)(colon - spec));
  host[colon - spec] = '\0';
  char *h = host;
  size_t hl = strlen(h);
  if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
    h[hl - 1] = '\0';
    h++;
  }
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
  struct addrinfo *res = NULL;
  int rc = getaddrinfo(*h ? h : NULL, colon + 1, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "wisp run: --listen %s: %s\n", spec, gai_strerror(rc));
    return -1;
  }
  int fd = -1, err = 0;
  for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
      err = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) fprintf(stderr, "wisp run: --listen %s: %s\n", spec, strerror(err ? err : EINVAL));
  return fd;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Budget state for running a call in fuel slices. */
typedef struct runner {
  wisp_exec_t *exec;
  int64_t fuel_left;  /* -1: unlimited */
  int64_t deadline;   /* monotonic ms, or -1 */
  int64_t slice;      /* fuel given per slice */
} runner_t;

/* Sets the next slice's fuel; returns false when the budget is spent. */
static bool runner_refill(runner_t *r) {
  if (r->fuel_left == 0) return false;
  int64_t give = r->slice;
  if (r->fuel_left > 0 && (give < 0 || give > r->fuel_left)) give = r->fuel_left;
  if (r->fuel_left > 0) r->fuel_left -= give;
  wisp_exec_set_fuel(r->exec, give);
  return true;
}

static void print_trap(wisp_trap_t *trap) {
  char small[4096];
  size_t need = wisp_trap_format(trap, small, sizeof small);
  if (need < sizeof small) {
    fprintf(stderr, "wisp: trap: %s", small);
  } else {
    char *big = malloc(need + 1);
    if (big) wisp_trap_format(trap, big, need + 1);
    fprintf(stderr, "wisp: trap: %s", big ? big : small);
    free(big);
  }
  if (need == 0 || (need < sizeof small && small[need - 1] != '\n')) fputc('\n', stderr);
}

/* Turns a finished trap into an exit code, reporting it. */
static int trap_exit(wisp_trap_t *trap) {
  int code;
  if (wisp_trap_kind(trap) == WISP_TRAP_EXIT) {
    code = wisp_trap_exit_code(trap);
  } else {
    print_trap(trap);
    code = EXIT_TRAP;
  }
  wisp_trap_delete(trap);
  return code;
}

/* Runs `func` to completion in slices. Returns -1 if it returned normally
 * (results filled), else the process exit code. */
static int run_call(runner_t *r, wisp_func_t *func, const wisp_val_t *args, size_t nargs,
                    wisp_val_t *results, size_t nresults) {
  runner_refill(r);
  wisp_status_t st = wisp_exec_call(r->exec, func, args, nargs, results, nresults);
  for (;;) {
    switch (st) {
      case WISP_DONE:
        return -1;
      case WISP_TRAPPED: {
        wisp_trap_t *trap = wisp_exec_take_trap(r->exec);
        if (!trap) {
          fprintf(stderr, "wisp: trap: (no trap information)\n");
          return EXIT_TRAP;
        }
        if (wisp_trap_kind(trap) == WISP_TRAP_HOST && r->deadline >= 0 && now_ms() >= r->deadline) {
          /* a WASI call was still blocked at the deadline (wisp_wasi_set_deadline) */
          fprintf(stderr, "wisp: timeout: the guest ran longer than the --timeout limit (%s)\n",
                  wisp_trap_message(trap));
          wisp_trap_delete(trap);
          return EXIT_TIMEOUT;
        }
        return trap_exit(trap);
      }
      case WISP_SUSPENDED:
        /* WASI never suspends; another host function would have to. */
        wisp_exec_abort(r->exec);
        fprintf(stderr, "wisp: trap: a host function suspended the guest; wisp run cannot resume it\n");
        return EXIT_TRAP;
      case WISP_OUT_OF_FUEL:
        if (r->deadline >= 0 && now_ms() >= r->deadline) {
          wisp_exec_abort(r->exec);
          fprintf(stderr, "wisp: timeout: the guest ran longer than the --timeout limit\n");
          return EXIT_TIMEOUT;
        }
        if (!runner_refill(r)) {
          wisp_exec_abort(r->exec);
          fprintf(stderr, "wisp: fuel exhausted: the guest used its whole --fuel budget\n");
          return EXIT_FUEL;
        }
        st = wisp_exec_continue(r->exec);
        break;
    }
  }
}

static int parse_arg(const char *s, uint8_t kind, wisp_val_t *out) {
  char *end;
  errno = 0;
  out->kind = kind;
  switch (kind) {
    case WISP_I32: {
      long long v = strtoll(s, &end, 10);
      if (errno || *end || !*s || v < INT32_MIN || v > (long long)UINT32_MAX) return -1;
      out->of.i32 = (int32_t)(uint32_t)v;
      return 0;
    }
    case WISP_I64: {
      if (*s == '-') {
        long long v = strtoll(s, &end, 10);
        if (errno || *end) return -1;
        out->of.i64 = v;
      } else {
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end || !*s) return -1;
        out->of.i64 = (int64_t)v;
      }
      return 0;
    }
    case WISP_F32:
      out->of.f32 = strtof(s, &end);
      return (*end || !*s) ? -1 : 0;
    case WISP_F64:
      out->of.f64 = strtod(s, &end);
      return (*end || !*s) ? -1 : 0;
    default:
      return -1;
  }
}

static void print_result(const wisp_val_t *v) {
  switch (v->kind) {
    case WISP_I32: printf("%" PRId32 "\n", v->of.i32); break;
    case WISP_I64: printf("%" PRId64 "\n", v->of.i64); break;
    case WISP_F32: printf("%.9g\n", (double)v->of.f32); break;
    case WISP_F64: printf("%.17g\n", v->of.f64); break;
    case WISP_FUNCREF: printf(v->of.funcref ? "funcref\n" : "null\n"); break;
    case WISP_EXTERNREF: printf(v->of.externref ? "externref\n" : "null\n"); break;
    case WISP_V128:
      for (int i = 0; i < 16; i++) printf("%02x", v->of.v128[i]);
      putchar('\n');
      break;
    default: printf("?\n"); break;
  }
}

static int find_func(wisp_instance_t *inst, const char *name, wisp_func_t **out) {
  wisp_extern_t ext;
  if (wisp_instance_export(inst, name, strlen(name), &ext) < 0) return -1;
  if (ext.kind != WISP_EXTERN_FUNC) return -2;
  *out = ext.of.func;
  return 0;
}

static int invoke_export(runner_t *r, wisp_instance_t *inst, const run_opts_t *o) {
  wisp_func_t *func;
  int rc = find_func(inst, o->invoke, &func);
  if (rc < 0) {
    fprintf(stderr, "wisp run: %s: %s '%s'\n", o->module_path,
            rc == -1 ? "no export named" : "export is not a function:", o->invoke);
    return EXIT_USAGE;
  }
  const wisp_functype_t *type = wisp_func_type(func);
  if ((uint32_t)o->nargs != type->nparams) {
    fprintf(stderr, "wisp run: export '%s' takes %" PRIu32 " argument(s), %d given\n", o->invoke,
            type->nparams, o->nargs);
    return EXIT_USAGE;
  }
  wisp_val_t *args = calloc(type->nparams + 1, sizeof *args);
  wisp_val_t *results = calloc(type->nresults + 1, sizeof *results);
  int code = EXIT_USAGE;
  if (!args || !results) {
    fprintf(stderr, "wisp run: out of memory\n");
    goto done;
  }
  for (uint32_t i = 0; i < type->nparams; i++) {
    if (parse_arg(o->args[i], type->params[i], &args[i]) < 0) {
      fprintf(stderr, "wisp run: argument %" PRIu32 " '%s' is not a valid %s\n", i + 1, o->args[i],
              wisp_valkind_name(type->params[i]));
      goto done;
    }
  }
  code = run_call(r, func, args, type->nparams, results, type->nresults);
  if (code < 0) {
    for (uint32_t i = 0; i < type->nresults; i++) print_result(&results[i]);
    code = 0;
  }
done:
  free(args);
  free(results);
  return code;
}

int wisp_cli_run_component(const char *path, const uint8_t *bytes, size_t len, int nargs, char **args,
                           const char **env, size_t nenv, const wisp_wasi_preopen_t *dirs, size_t ndirs,
                           bool invoke, size_t nlisten, int64_t fuel, uint64_t max_memory, int64_t timeout_ms);

static int run_module(const run_opts_t *o) {
  int code = EXIT_LOAD;
  size_t len = 0;
  uint8_t *bytes = NULL;
  wisp_engine_t *engine = NULL;
  wisp_module_t *module = NULL;
  wisp_store_t *store = NULL;
  wisp_linker_t *linker = NULL;
  wisp_exec_t *exec = NULL;
  wisp_wasi_t *wasi = NULL;
  const char **wargv = NULL;
  int *sockets = NULL;
  size_t nsockets = 0;
  wisp_error_t err = {0};

  bytes = read_file(o->module_path, &len);
  if (!bytes) {
    fprintf(stderr, "wisp run: cannot read %s: %s\n", o->module_path, strerror(errno));
    goto done;
  }
  if (wisp_is_component(bytes, len)) { /* a wasi:cli/command component: cmd_run_component.c */
    code = wisp_cli_run_component(o->module_path, bytes, len, o->nargs, o->args, o->env, o->nenv, o->dirs, o->ndirs,
                                  o->invoke != NULL, o->nlisten, o->fuel, o->max_memory, o->timeout_ms);
    goto done;
  }
  engine = wisp_engine_new();
  if (!engine) goto nomem;
  if (wisp_module_new(engine, bytes, len, &module, &err) < 0) {
    fprintf(stderr, "wisp run: %s: %s: %s\n", o->module_path, wisp_err_name(err.code), err.message);
    goto done;
  }

  /* The guest sees argv[0] = module path, then ARGS (command mode only). */
  size_t wargc = o->invoke ? 1 : (size_t)o->nargs + 1;
  wargv = calloc(wargc, sizeof *wargv);
  if (!wargv) goto nomem;
  wargv[0] = o->module_path;
  for (size_t i = 1; i < wargc; i++) wargv[i] = o->args[i - 1];

  wisp_wasi_config_t cfg;
  wisp_wasi_config_init(&cfg);
  cfg.argv = wargv;
  cfg.argc = wargc;
  cfg.env = o->env;
  cfg.envc = o->nenv;
  cfg.preopens = o->dirs;
  cfg.npreopens = o->ndirs;
  for (int fd = 0; fd < 3; fd++) cfg.stdio[fd].host_fd = fd;
  sockets = calloc(o->nlisten + 1, sizeof *sockets);
  if (!sockets) goto nomem;
  for (; nsockets < o->nlisten; nsockets++) {
    sockets[nsockets] = listen_on(o->listen[nsockets]);
    if (sockets[nsockets] < 0) goto done;
  }
  cfg.sockets = sockets;
  cfg.nsockets = nsockets;
  if (wisp_wasi_new(&cfg, &wasi, &err) < 0) {
    fprintf(stderr, "wisp run: %s\n", err.message);
    goto done;
  }

  store = wisp_store_new(engine);
  if (!store) goto nomem;
  if (o->max_memory) {
    wisp_store_limits_t limits = {.max_memory_bytes = o->max_memory};
    wisp_store_set_limits(store, &limits);
  }
  linker = wisp_linker_new(store);
  exec = wisp_exec_new(store, NULL);
  if (!linker || !exec) goto nomem;
  if (wisp_wasi_define(wasi, linker) < 0) goto nomem;

  runner_t r = {exec, o->fuel, -1, -1};
  if (o->timeout_ms >= 0) {
    r.deadline = now_ms() + o->timeout_ms;
    wisp_wasi_set_deadline(wasi, r.deadline * 1000000); /* blocked WASI calls end then too */
  }
  if (o->timeout_ms >= 0 || o->fuel >= 0) r.slice = WISP_RUN_SLICE;
  /* The start function (if any) runs with the whole budget; it cannot be sliced. */
  wisp_exec_set_fuel(exec, o->fuel);
  wisp_instance_t *inst = NULL;
  wisp_trap_t *trap = NULL;
  int rc = wisp_linker_instantiate(linker, exec, module, &inst, &trap, &err);
  if (rc == WISP_ERR_TRAP && trap) {
    code = trap_exit(trap);
    goto done;
  }
  if (rc < 0) {
    fprintf(stderr, "wisp run: %s: %s: %s\n", o->module_path, wisp_err_name(rc), err.message);
    goto done;
  }
  if (o->fuel >= 0) {
    uint64_t used = wisp_exec_fuel_used(exec);
    r.fuel_left = used >= (uint64_t)o->fuel ? 0 : o->fuel - (int64_t)used;
  }

  wisp_func_t *entry;
  if (o->invoke) {
    if (find_func(inst, "_initialize", &entry) == 0) {
      code = run_call(&r, entry, NULL, 0, NULL, 0);
      if (code >= 0) goto done;
    }
    code = invoke_export(&r, inst, o);
    goto done;
  }
  if (find_func(inst, "_start", &entry) < 0) {
    fprintf(stderr, "wisp run: %s has no _start function (use --invoke NAME for a library)\n",
            o->module_path);
    goto done;
  }
  code = run_call(&r, entry, NULL, 0, NULL, 0);
  if (code < 0) code = 0;
  goto done;

nomem:
  fprintf(stderr, "wisp run: out of memory\n");
  code = EXIT_LOAD;
done:
  fflush(stdout);
  wisp_exec_delete(exec);
  wisp_linker_delete(linker);
  wisp_store_delete(store);
  wisp_wasi_delete(wasi);
  wisp_module_delete(module);
  wisp_engine_delete(engine);
  for (size_t i = 0; i < nsockets; i++) close(sockets[i]);
  free(sockets);
  free(wargv);
  free(bytes);
  return code;
}

int wisp_cli_run(int argc, char **argv) {
  run_opts_t o = {.fuel = -1, .timeout_ms = -1};
  /* Upper bounds: every option takes one argv slot for its value. */
  o.dirs = calloc((size_t)argc + 1, sizeof *o.dirs);
  o.env = calloc((size_t)argc + 1, sizeof *o.env);
  o.listen = calloc((size_t)argc + 1, sizeof *o.listen);
  o.owned_env = calloc((size_t)argc + 1, sizeof *o.owned_env);
  int code = EXIT_USAGE;
  if (!o.dirs || !o.env || !o.listen || !o.owned_env) {
    fprintf(stderr, "wisp run: out of memory\n");
    goto done;
  }
  if (parse_opts(argc, argv, &o) < 0) goto done;
  code = run_module(&o);
done:
  free(o.dirs);
  free(o.env);
  free(o.listen);
  for (size_t i = 0; i < o.nowned; i++) free(o.owned_env[i]);
  free(o.owned_env);
  return code;
}
