/*
 * test_wasi_host.c: native tests of the WASI preview1 host (src/wasi/), run
 * without the interpreter: the host sources are included here, the few
 * engine entry points they call are stubbed, and every WASI function is
 * called the way a guest would call it, with a fake linear memory.
 *
 * Covers: the capability sandbox (escapes through `..`, absolute paths,
 * symlinks inside and pointing outside, symlink loops, writes to a read-only
 * preopen, directories renamed and swapped for symlinks during resolution),
 * then args, environ, clocks, random, in-memory stdio callbacks, file I/O,
 * seek/tell, readdir, rights, renumber, poll_oneoff, sockets handed in by the
 * embedder (send, recv, shutdown, accept) and proc_exit.
 * Each check prints "ok NAME" or "FAIL NAME: ..."; the exit status is the
 * number of failures (0 = pass).
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "../../src/wasi/wasi.c"
#include "../../src/wasi/wasi_fs.c"
#include "../../src/wasi/wasi_path.c"
#include "sandbox_layout.h"

/* ---- engine stubs ---------------------------------------------------------- */

#define MEM_SIZE (1u << 20)
static uint8_t mem[MEM_SIZE];
struct wisp_call { int exited, code, trapped; char message[128]; };
struct wisp_memory { int unused; };
static struct wisp_memory the_memory;

wisp_memory_t *wisp_call_memory(wisp_call_t *call, uint32_t index) { return index == 0 ? &the_memory : NULL; }
/* one store for every call: what wisp_wasi_attach set */
struct wisp_store { void *data; };
static struct wisp_store the_store;
wisp_store_t *wisp_call_store(wisp_call_t *call) { return &the_store; }
void *wisp_store_data(const wisp_store_t *store) { return store->data; }
void wisp_store_set_data(wisp_store_t *store, void *data) { store->data = data; }
uint8_t *wisp_memory_data(wisp_memory_t *m) { return mem; }
uint64_t wisp_memory_size(const wisp_memory_t *m) { return MEM_SIZE; }
wisp_host_status_t wisp_call_exit(wisp_call_t *call, int code) {
  call->exited = 1;
  call->code = code;
  return WISP_HOST_TRAP;
}

wisp_host_status_t wisp_call_trap(wisp_call_t *call, const char *message) {
  call->trapped = 1;
  snprintf(call->message, sizeof call->message, "%s", message);
  return WISP_HOST_TRAP;
}

typedef struct def_rec {
  char name[64];
  char params[16];
  uint32_t nresults;
  wisp_host_fn_t fn;
  void *env;
} def_rec_t;
static def_rec_t defs[192];
static int ndefs, def_base; /* call() looks up functions from defs[def_base] on */

/* exec stubs for wisp_wasi_resume */
struct wisp_exec { wisp_status_t status; int resumed, aborted; wisp_val_t result; };
wisp_status_t wisp_exec_status(const wisp_exec_t *exec) { return exec->status; }
wisp_status_t wisp_exec_resume(wisp_exec_t *exec, const wisp_val_t *results, size_t n) {
  exec->resumed++;
  if (n == 1) exec->result = results[0];
  return exec->status = WISP_DONE;
}
void wisp_exec_abort(wisp_exec_t *exec) {
  exec->aborted = 1;
  exec->status = WISP_TRAPPED;
}

int wisp_linker_define_func(wisp_linker_t *linker, const char *module, const char *name,
                            const wisp_functype_t *type, wisp_host_fn_t fn, void *env) {
  if (strcmp(module, WISP_WASI_MODULE) != 0 || ndefs == 192) return WISP_ERR_ARG;
  def_rec_t *d = &defs[ndefs++];
  snprintf(d->name, sizeof d->name, "%s", name);
  for (uint32_t i = 0; i < type->nparams; i++) d->params[i] = type->params[i] == WISP_I64 ? 'I' : 'i';
  d->nresults = type->nresults;
  d->fn = fn;
  d->env = env;
  return 0;
}

/* ---- calling WASI functions ------------------------------------------------ */

static int failures;
static struct wisp_call last_call;
static wisp_host_status_t last_status;

/* Calls `name` with integer arguments (u32 for i32 params, u64 for i64). */
static int call(const char *name, ...) {
  for (int i = def_base; i < ndefs; i++) {
    if (strcmp(defs[i].name, name)) continue;
    wisp_val_t args[16], res[1] = {{0}};
    va_list ap;
    va_start(ap, name);
    for (int k = 0; defs[i].params[k]; k++) {
      if (defs[i].params[k] == 'I') args[k] = (wisp_val_t){.kind = WISP_I64, .of.i64 = (int64_t)va_arg(ap, uint64_t)};
      else args[k] = (wisp_val_t){.kind = WISP_I32, .of.i32 = (int32_t)va_arg(ap, uint32_t)};
    }
    va_end(ap);
    memset(&last_call, 0, sizeof last_call);
    last_status = defs[i].fn(&last_call, defs[i].env, args, res);
    return defs[i].nresults ? res[0].of.i32 : 0;
  }
  printf("FAIL no function %s\n", name);
  failures++;
  return -1;
}

/* Guest strings live from 0x10000 on; each call to S() places a new one. */
static uint32_t str_next = 0x10000;
static uint32_t put_str(const char *s) {
  uint32_t p = str_next, n = (uint32_t)strlen(s);
  memcpy(mem + p, s, n);
  str_next += n + 8;
  if (str_next > 0x80000) str_next = 0x10000;
  return p;
}
#define S(s) put_str(s), (uint32_t)strlen(s)

#define OUT 0x100   /* u32/u64 results */
#define IOV 0x200   /* one iovec */
#define BUF 0x1000  /* data buffer, 4 KiB */
#define U32(p) wasi_get_u32(&(wasi_ctx_t){.mem = mem, .mem_size = MEM_SIZE}, (p))
#define U64(p) wasi_get_u64(&(wasi_ctx_t){.mem = mem, .mem_size = MEM_SIZE}, (p))

static void check_errno(const char *what, int got, int want) {
  if (got == want) {
    printf("ok %s\n", what);
  } else {
    printf("FAIL %s: errno %d, want %d\n", what, got, want);
    failures++;
  }
}

static void check(const char *what, int cond) {
  printf("%s %s\n", cond ? "ok" : "FAIL", what);
  if (!cond) failures++;
}

#define RIGHTS_READ (R_FD_READ | R_FD_SEEK | R_FD_TELL | R_FD_FILESTAT_GET | R_FD_READDIR)
#define RIGHTS_RW (RIGHTS_READ | R_FD_WRITE | R_FD_FILESTAT_SET_SIZE)

/* path_open; on success the new fd is at OUT. */
static int open_at(uint32_t dir, const char *path, uint32_t lookup, uint32_t oflags, uint64_t rights) {
  return call("path_open", dir, lookup, S(path), oflags, (uint64_t)rights, (uint64_t)rights, 0u, (uint32_t)OUT);
}

/* Reads up to 4095 bytes of fd into a static string. */
static const char *read_all(uint32_t fd) {
  static char text[4096];
  wasi_put_u32(&(wasi_ctx_t){.mem = mem, .mem_size = MEM_SIZE}, IOV, BUF);
  wasi_put_u32(&(wasi_ctx_t){.mem = mem, .mem_size = MEM_SIZE}, IOV + 4, 4095);
  if (call("fd_read", fd, (uint32_t)IOV, 1u, (uint32_t)(OUT + 8)) != 0) return "<read failed>";
  uint32_t n = U32(OUT + 8);
  memcpy(text, mem + BUF, n);
  text[n] = '\0';
  return text;
}

static int write_str(uint32_t fd, const char *s) {
  size_t n = strlen(s);
  memcpy(mem + BUF, s, n);
  wasi_put_u32(&(wasi_ctx_t){.mem = mem, .mem_size = MEM_SIZE}, IOV, BUF);
  wasi_put_u32(&(wasi_ctx_t){.mem = mem, .mem_size = MEM_SIZE}, IOV + 4, (uint32_t)n);
  return call("fd_write", fd, (uint32_t)IOV, 1u, (uint32_t)(OUT + 8));
}

/* ---- stdout capture through the callback interface -------------------------- */

static int sock_peer, sock_listener;
static wisp_wasi_t *c_wasi;
static char captured[256];
static size_t ncaptured;
static int64_t capture_write(void *ctx, const uint8_t *buf, size_t len) {
  size_t room = sizeof captured - 1 - ncaptured;
  if (len > room) len = room;
  memcpy(captured + ncaptured, buf, len);
  ncaptured += len;
  return (int64_t)len;
}
static const char *stdin_text = "typed input";
static size_t stdin_pos;
static int64_t feed_read(void *ctx, uint8_t *buf, size_t len) {
  size_t left = strlen(stdin_text) - stdin_pos;
  if (len > left) len = left;
  memcpy(buf, stdin_text + stdin_pos, len);
  stdin_pos += len;
  return (int64_t)len;
}

/* ---- the race: directories renamed and swapped during resolution ------------ */

static volatile int race_stop;
static char race_root[300];

static void *race_thread(void *arg) {
  char a[400], evil[400], b[400], moved[400];
  snprintf(a, sizeof a, "%s/sandbox/race/a", race_root);
  snprintf(evil, sizeof evil, "%s/sandbox/race/evil", race_root);
  snprintf(b, sizeof b, "%s/sandbox/race/a/b", race_root);
  snprintf(moved, sizeof moved, "%s/sandbox/race/b_moved", race_root);
  while (!race_stop) {
    renameat2(AT_FDCWD, a, AT_FDCWD, evil, RENAME_EXCHANGE); /* a becomes the link outside */
    renameat2(AT_FDCWD, a, AT_FDCWD, evil, RENAME_EXCHANGE); /* and back */
    if (rename(b, moved) == 0) rename(moved, b);
  }
  return NULL;
}

static void race_checks(const char *root) {
  snprintf(race_root, sizeof race_root, "%s", root);
  pthread_t t;
  pthread_create(&t, NULL, race_thread, NULL);
  static const char *paths[] = {"race/a/secret", "race/a/b/../../../outside/secret",
                                "race/a/b/../../../../outside/secret", "race/evil/secret",
                                "race/a/b/../../evil/secret", "race/a/b/ok"};
  int opened = 0, leaked = 0, bad_errno = 0, i;
  /* go on until race/a/b/ok opened once: the renaming thread may be preempted
   * in one state for a whole time slice on a busy machine */
  for (i = 0; i < 4000 || (opened == 0 && i < 400000); i++) {
    const char *p = paths[i % 6];
    int rc = open_at(3, p, 1, 0, RIGHTS_READ);
    if (rc == 0) {
      opened++;
      uint32_t fd = U32(OUT);
      if (strstr(read_all(fd), "SECRET")) leaked++;
      call("fd_close", fd);
    } else if (rc != E_NOENT && rc != E_NOTCAPABLE && rc != E_NOTDIR && rc != E_LOOP) {
      bad_errno++;
      if (bad_errno < 4) printf("  race: %s -> errno %d\n", p, rc);
    }
  }
  race_stop = 1;
  pthread_join(t, NULL);
  printf("  race: %d opens during renames, %d opened, %d leaked\n", i, opened, leaked);
  check("race: no open reached outside/secret", leaked == 0);
  check("race: race/a/b/ok opened at least once (the walk really ran)", opened > 0);
  check("race: failures are NOENT/NOTCAPABLE/NOTDIR/LOOP only", bad_errno == 0);
}

/* ---- random paths: whatever resolves, resolves inside ------------------------------ */

/* 20,000 random paths made of real names, links that point in and out, loops,
 * `.`, `..` and empty components, followed or not: every successful
 * resolution must hand back a directory beneath the sandbox (checked through
 * /proc/self/fd), and every failure must be an errno the walk documents. */
static void random_path_checks(const char *root) {
  static const char *parts[] = {"sub", "..", ".", "", "link_in_dir", "link_out_dir", "link_out_abs",
                                "sub/link_up", "link_up", "loop1", "self", "file", "inner",
                                "race", "race/a", "b", "nope", "link_in", "../sandbox", "link_out_rel"};
  const int nparts = (int)(sizeof parts / sizeof parts[0]);
  char sandbox[512], real[512];
  snprintf(sandbox, sizeof sandbox, "%s/sandbox", root);
  if (!realpath(sandbox, real)) return;
  size_t rlen = strlen(real);
  int base = open(sandbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  unsigned seed = 12345;
  int ok = 0, escaped = 0, odd = 0, inside = 0;
  for (int i = 0; i < 20000; i++) {
    char path[256] = "";
    int n = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 6;
    for (int k = 0; k < n; k++) {
      const char *p = parts[((seed = seed * 1103515245u + 12345u) >> 16) % (unsigned)nparts];
      if (k) strcat(path, "/");
      strcat(path, p);
    }
    bool follow = ((seed >> 20) & 1) != 0;
    wasi_resolved_t r;
    int rc = wasi__resolve(base, path, (uint32_t)strlen(path), follow, &r);
    if (rc == 0) {
      char link[64], where[600];
      snprintf(link, sizeof link, "/proc/self/fd/%d", r.dirfd);
      ssize_t wl = readlink(link, where, sizeof where - 1);
      where[wl > 0 ? wl : 0] = '\0';
      bool in = wl > 0 && strncmp(where, real, rlen) == 0 && (where[rlen] == '\0' || where[rlen] == '/');
      if (!in) {
        if (escaped++ < 5) printf("  ESCAPE: %s -> %s\n", path, where);
      } else {
        inside++;
      }
      if (strchr(r.name, '/') || !r.name[0] || !strcmp(r.name, "..")) odd++;
      wasi__resolved_close(&r);
      ok++;
    } else if (rc != E_NOTCAPABLE && rc != E_NOENT && rc != E_NOTDIR && rc != E_LOOP) {
      if (odd++ < 5) printf("  unexpected errno %d for %s\n", rc, path);
    }
  }
  close(base);
  printf("  random paths: 20000 resolved, %d succeeded (%d inside), %d escaped\n", ok, inside, escaped);
  check("random paths: nothing resolves outside the sandbox", escaped == 0 && ok > 1000);
  check("random paths: names and errnos as documented", odd == 0);
}

/* ---- sandbox checks ----------------------------------------------------------- */

static void sandbox_checks(const char *root) {
  /* escapes */
  check_errno("open ../outside/secret", open_at(3, "../outside/secret", 1, 0, RIGHTS_READ), E_NOTCAPABLE);
  check_errno("open sub/../../outside/secret", open_at(3, "sub/../../outside/secret", 1, 0, RIGHTS_READ), E_NOTCAPABLE);
  check_errno("open ..", open_at(3, "..", 1, 0, RIGHTS_READ), E_NOTCAPABLE);
  check_errno("open absolute /etc/passwd", open_at(3, "/etc/passwd", 1, 0, RIGHTS_READ), E_NOTCAPABLE);
  check_errno("open link_out_rel (follow)", open_at(3, "link_out_rel", 1, 0, RIGHTS_READ), E_NOTCAPABLE);
  check_errno("open link_out_abs (follow)", open_at(3, "link_out_abs", 1, 0, RIGHTS_READ), E_NOTCAPABLE);
  check_errno("open link_out_dir/secret", open_at(3, "link_out_dir/secret", 0, 0, RIGHTS_READ), E_NOTCAPABLE);
  check_errno("open sub/link_up/outside/secret", open_at(3, "sub/link_up/outside/secret", 0, 0, RIGHTS_READ), E_NOTCAPABLE);
  check_errno("open link_out_rel (nofollow) is a link", open_at(3, "link_out_rel", 0, 0, RIGHTS_READ), E_LOOP);
  check_errno("create through link_out_dir", open_at(3, "link_out_dir/newfile", 0, 1, RIGHTS_RW), E_NOTCAPABLE);
  check_errno("create dangling follow link_out_abs", open_at(3, "link_out_abs", 1, 1, RIGHTS_RW), E_NOTCAPABLE);
  check_errno("mkdir ../escape", call("path_create_directory", 3u, S("../escape")), E_NOTCAPABLE);
  check_errno("mkdir link_out_dir/x", call("path_create_directory", 3u, S("link_out_dir/x")), E_NOTCAPABLE);
  check_errno("rename file -> ../outside/stolen", call("path_rename", 3u, S("file"), 3u, S("../outside/stolen")), E_NOTCAPABLE);
  check_errno("rename file -> link_out_dir/stolen", call("path_rename", 3u, S("file"), 3u, S("link_out_dir/stolen")), E_NOTCAPABLE);
  check_errno("link file -> link_out_dir/hard", call("path_link", 3u, 0u, S("file"), 3u, S("link_out_dir/hard")), E_NOTCAPABLE);
  check_errno("link link_out_rel (follow) -> here", call("path_link", 3u, 1u, S("link_out_rel"), 3u, S("stolen")), E_NOTCAPABLE);
  check_errno("unlink ../outside/secret", call("path_unlink_file", 3u, S("../outside/secret")), E_NOTCAPABLE);
  check_errno("unlink link_out_dir/secret", call("path_unlink_file", 3u, S("link_out_dir/secret")), E_NOTCAPABLE);
  check_errno("rmdir link_out_dir/dir", call("path_remove_directory", 3u, S("link_out_dir/dir")), E_NOTCAPABLE);
  check_errno("symlink to absolute target", call("path_symlink", S("/etc"), 3u, S("abs_link")), E_NOTCAPABLE);
  check_errno("filestat link_out_abs (follow)", call("path_filestat_get", 3u, 1u, S("link_out_abs"), (uint32_t)BUF), E_NOTCAPABLE);
  check_errno("filestat link_out_abs (nofollow)", call("path_filestat_get", 3u, 0u, S("link_out_abs"), (uint32_t)BUF), 0);
  check("filestat nofollow says symlink", mem[BUF + 16] == FT_SYMBOLIC_LINK);
  check_errno("set times through link_out_dir", call("path_filestat_set_times", 3u, 0u, S("link_out_dir/secret"), 0ull, 0ull, (uint32_t)FST_MTIM_NOW), E_NOTCAPABLE);

  /* symlinks that stay inside work */
  check_errno("open link_in (follow)", open_at(3, "link_in", 1, 0, RIGHTS_READ), 0);
  check("link_in reads sub/inner", strcmp(read_all(U32(OUT)), "inner") == 0);
  call("fd_close", U32(OUT));
  check_errno("open link_in_dir/inner", open_at(3, "link_in_dir/inner", 0, 0, RIGHTS_READ), 0);
  call("fd_close", U32(OUT));
  check_errno("open sub/../file", open_at(3, "sub/../file", 0, 0, RIGHTS_READ), 0);
  check("sub/../file reads file", strcmp(read_all(U32(OUT)), "inside") == 0);
  call("fd_close", U32(OUT));
  check_errno("open ./sub/./inner", open_at(3, "./sub/./inner", 0, 0, RIGHTS_READ), 0);
  call("fd_close", U32(OUT));

  /* a directory fd is its own sandbox: .. from it cannot climb */
  check_errno("open sub as dir", open_at(3, "sub", 0, 2, R_DIR_BASE), 0);
  uint32_t sub = U32(OUT);
  check_errno("from sub: ../file", open_at(sub, "../file", 0, 0, RIGHTS_READ), E_NOTCAPABLE);
  check_errno("from sub: inner", open_at(sub, "inner", 0, 0, RIGHTS_READ), 0);
  call("fd_close", U32(OUT));
  call("fd_close", sub);

  /* loops */
  check_errno("open loop1 (follow)", open_at(3, "loop1", 1, 0, RIGHTS_READ), E_LOOP);
  check_errno("open loop1/x", open_at(3, "loop1/x", 0, 0, RIGHTS_READ), E_LOOP);
  check_errno("open self (follow)", open_at(3, "self", 1, 0, RIGHTS_READ), E_LOOP);
  check_errno("filestat self (follow)", call("path_filestat_get", 3u, 1u, S("self"), (uint32_t)BUF), E_LOOP);

  /* removing a link inside the sandbox removes the link, never its target */
  check_errno("unlink link_out_rel itself", call("path_unlink_file", 3u, S("link_out_rel")), 0);

  /* read-only preopen */
  check_errno("ro: open data read-only", open_at(4, "data", 0, 0, RIGHTS_READ), 0);
  uint32_t rofd = U32(OUT);
  check("ro: data reads ro-data", strcmp(read_all(rofd), "ro-data") == 0);
  check_errno("ro: truncate read-only fd", call("fd_filestat_set_size", rofd, 0ull), E_NOTCAPABLE);
  call("fd_close", rofd);
  check_errno("ro: open data for writing", open_at(4, "data", 0, 0, RIGHTS_RW), E_ROFS);
  check_errno("ro: open data O_TRUNC", open_at(4, "data", 0, 8, RIGHTS_READ), E_ROFS);
  check_errno("ro: create new", open_at(4, "new", 0, 1, RIGHTS_RW), E_ROFS);
  check_errno("ro: mkdir", call("path_create_directory", 4u, S("d")), E_ROFS);
  check_errno("ro: unlink data", call("path_unlink_file", 4u, S("data")), E_ROFS);
  check_errno("ro: rmdir rosub", call("path_remove_directory", 4u, S("rosub")), E_ROFS);
  check_errno("ro: rename data", call("path_rename", 4u, S("data"), 4u, S("data2")), E_ROFS);
  check_errno("ro: rename into ro", call("path_rename", 3u, S("file"), 4u, S("file")), E_ROFS);
  check_errno("ro: rename out of ro", call("path_rename", 4u, S("data"), 3u, S("data")), E_ROFS);
  check_errno("ro: link into ro", call("path_link", 3u, 0u, S("file"), 4u, S("hard")), E_ROFS);
  check_errno("ro: symlink", call("path_symlink", S("data"), 4u, S("l")), E_ROFS);
  check_errno("ro: set times", call("path_filestat_set_times", 4u, 0u, S("data"), 0ull, 0ull, (uint32_t)FST_MTIM_NOW), E_ROFS);
  check_errno("ro: open rosub dir", open_at(4, "rosub", 0, 2, R_DIR_BASE), 0);
  uint32_t rosub = U32(OUT);
  check_errno("ro: create beneath an opened subdir", open_at(rosub, "x", 0, 1, RIGHTS_RW), E_ROFS);
  call("fd_close", rosub);
  check_errno("ro: escape from /ro", open_at(4, "../sandbox/file", 0, 0, RIGHTS_READ), E_NOTCAPABLE);
}

/* ---- everything else ------------------------------------------------------- */

static void other_checks(void) {
  wasi_ctx_t mc = {.mem = mem, .mem_size = MEM_SIZE};

  /* args and environ */
  check_errno("args_sizes_get", call("args_sizes_get", (uint32_t)OUT, (uint32_t)OUT + 4), 0);
  check("argc 2, 11 bytes", U32(OUT) == 2 && U32(OUT + 4) == 11);
  check_errno("args_get", call("args_get", (uint32_t)BUF, (uint32_t)BUF + 64), 0);
  check("argv strings", strcmp((char *)mem + U32(BUF), "prog") == 0 && strcmp((char *)mem + U32(BUF + 4), "arg 1") == 0);
  check_errno("environ_sizes_get", call("environ_sizes_get", (uint32_t)OUT, (uint32_t)OUT + 4), 0);
  check("one variable", U32(OUT) == 1 && U32(OUT + 4) == 4);
  check_errno("environ_get", call("environ_get", (uint32_t)BUF, (uint32_t)BUF + 64), 0);
  check("K=V", strcmp((char *)mem + U32(BUF), "K=V") == 0);
  check_errno("args_get out of bounds", call("args_get", (uint32_t)MEM_SIZE - 2, (uint32_t)BUF), E_FAULT);

  /* clocks */
  for (uint32_t id = 0; id < 4; id++) {
    char what[64];
    snprintf(what, sizeof what, "clock %u res and time", id);
    int rc = call("clock_res_get", id, (uint32_t)OUT);
    rc |= call("clock_time_get", id, 1ull, (uint32_t)OUT + 8);
    check(what, rc == 0 && U64(OUT) > 0 && U64(OUT + 8) > 0);
  }
  check_errno("clock id 4", call("clock_time_get", 4u, 1ull, (uint32_t)OUT), E_INVAL);
  check_errno("clock_res id 9", call("clock_res_get", 9u, (uint32_t)OUT), E_INVAL);

  /* random */
  memset(mem + BUF, 0, 64);
  check_errno("random_get", call("random_get", (uint32_t)BUF, 64u), 0);
  int nonzero = 0;
  for (int i = 0; i < 64; i++) nonzero += mem[BUF + i] != 0;
  check("random bytes", nonzero > 32);
  check_errno("random_get zero length", call("random_get", (uint32_t)BUF, 0u), 0);

  /* stdio through callbacks */
  check_errno("fd_write to stdout callback", write_str(1, "hello"), 0);
  check("captured hello", ncaptured == 5 && memcmp(captured, "hello", 5) == 0);
  check("stdin callback", strcmp(read_all(0), "typed input") == 0);
  check("stdin at end", strcmp(read_all(0), "") == 0);
  check_errno("stderr null stream write", write_str(2, "dropped"), 0);
  check_errno("write to fd 99", write_str(99, "x"), E_BADF);
  check_errno("seek on stdout", call("fd_seek", 1u, 0ull, 0u, (uint32_t)OUT), E_SPIPE);

  /* files: create, write, seek, tell, pread, pwrite, size, readdir */
  check_errno("create sub/new.txt", open_at(3, "sub/new.txt", 0, 1 | 4, R_FILE_BASE), 0);
  uint32_t fd = U32(OUT);
  check_errno("create sub/new.txt again O_EXCL", open_at(3, "sub/new.txt", 0, 1 | 4, RIGHTS_RW), E_EXIST);
  check_errno("write", write_str(fd, "0123456789"), 0);
  check_errno("tell", call("fd_tell", fd, (uint32_t)OUT), 0);
  check("tell 10", U64(OUT) == 10);
  check_errno("seek 2", call("fd_seek", fd, 2ull, 0u, (uint32_t)OUT), 0);
  check("read after seek", strcmp(read_all(fd), "23456789") == 0);
  check_errno("seek bad whence", call("fd_seek", fd, 0ull, 7u, (uint32_t)OUT), E_INVAL);
  memcpy(mem + BUF, "AB", 2);
  wasi_put_u32(&mc, IOV, BUF);
  wasi_put_u32(&mc, IOV + 4, 2);
  check_errno("pwrite at 4", call("fd_pwrite", fd, (uint32_t)IOV, 1u, 4ull, (uint32_t)OUT), 0);
  wasi_put_u32(&mc, IOV + 4, 6);
  check_errno("pread at 2", call("fd_pread", fd, (uint32_t)IOV, 1u, 2ull, (uint32_t)OUT), 0);
  check("pread data", U32(OUT) == 6 && memcmp(mem + BUF, "23AB67", 6) == 0);
  check_errno("filestat", call("fd_filestat_get", fd, (uint32_t)BUF), 0);
  check("size 10 regular", U64(BUF + 32) == 10 && mem[BUF + 16] == FT_REGULAR_FILE);
  check_errno("set size 3", call("fd_filestat_set_size", fd, 3ull), 0);
  call("fd_filestat_get", fd, (uint32_t)BUF);
  check("size 3", U64(BUF + 32) == 3);
  check_errno("allocate to 100", call("fd_allocate", fd, 0ull, 100ull), 0);
  call("fd_filestat_get", fd, (uint32_t)BUF);
  check("size 100", U64(BUF + 32) == 100);
  check_errno("advise", call("fd_advise", fd, 0ull, 0ull, 1u), 0);
  check_errno("advise bad", call("fd_advise", fd, 0ull, 0ull, 9u), E_INVAL);
  check_errno("set times both atim flags", call("fd_filestat_set_times", fd, 0ull, 0ull, (uint32_t)(FST_ATIM | FST_ATIM_NOW)), E_INVAL);
  check_errno("set times", call("fd_filestat_set_times", fd, 1000000000ull, 2000000000ull, (uint32_t)(FST_ATIM | FST_MTIM)), 0);
  call("fd_filestat_get", fd, (uint32_t)BUF);
  check("mtim set", U64(BUF + 48) == 2000000000ull);
  check_errno("sync", call("fd_sync", fd), 0);
  check_errno("datasync", call("fd_datasync", fd), 0);

  /* rights */
  check_errno("fdstat_get", call("fd_fdstat_get", fd, (uint32_t)BUF), 0);
  check("fdstat regular file", mem[BUF] == FT_REGULAR_FILE);
  check_errno("drop write right", call("fd_fdstat_set_rights", fd, (uint64_t)(R_FD_READ | R_FD_SEEK), 0ull), 0);
  check_errno("write without right", write_str(fd, "x"), E_BADF);
  check_errno("regain write right", call("fd_fdstat_set_rights", fd, (uint64_t)RIGHTS_RW, 0ull), E_NOTCAPABLE);

  /* renumber */
  check_errno("open file", open_at(3, "file", 0, 0, RIGHTS_READ), 0);
  uint32_t fd2 = U32(OUT);
  check_errno("renumber fd2 -> fd", call("fd_renumber", fd2, fd), 0);
  check("renumbered fd reads file", strcmp(read_all(fd), "inside") == 0);
  check_errno("old number is closed", call("fd_close", fd2), E_BADF);
  check_errno("renumber to closed", call("fd_renumber", fd, 77u), E_BADF);
  check_errno("close", call("fd_close", fd), 0);
  check_errno("close twice", call("fd_close", fd), E_BADF);

  /* directories as descriptors */
  check_errno("read from a directory", read_all(3)[0] == '<' ? E_BADF : 0, E_BADF);
  check_errno("seek on a directory", call("fd_seek", 3u, 0ull, 1u, (uint32_t)OUT), E_BADF);
  check_errno("readdir on a file", call("fd_readdir", 0u, (uint32_t)BUF, 4096u, 0ull, (uint32_t)OUT), E_NOTDIR);
  check_errno("prestat fd 3", call("fd_prestat_get", 3u, (uint32_t)OUT), 0);
  check("prestat name length 1", U32(OUT + 4) == 1);
  check_errno("prestat_dir_name", call("fd_prestat_dir_name", 3u, (uint32_t)BUF, 1u), 0);
  check("preopen is /", mem[BUF] == '/');
  check_errno("prestat fd 0", call("fd_prestat_get", 0u, (uint32_t)OUT), E_BADF);
  check_errno("prestat fd 5 (none)", call("fd_prestat_get", 5u, (uint32_t)OUT), E_BADF);

  /* readdir of sub: . .. inner link_up new.txt */
  check_errno("open sub", open_at(3, "sub", 0, 2, R_DIR_BASE), 0);
  uint32_t sub = U32(OUT);
  check_errno("readdir", call("fd_readdir", sub, (uint32_t)BUF, 4096u, 0ull, (uint32_t)OUT), 0);
  uint32_t used = U32(OUT), pos = 0;
  int seen = 0, count = 0;
  uint64_t second_cookie = 0;
  while (pos + 24 <= used) {
    uint32_t nl = U32(BUF + pos + 16);
    char name[64] = {0};
    memcpy(name, mem + BUF + pos + 24, nl < 63 ? nl : 63);
    if (count == 1) second_cookie = U64(BUF + pos);
    if (!strcmp(name, "inner") && mem[BUF + pos + 20] == FT_REGULAR_FILE) seen |= 1;
    if (!strcmp(name, "link_up") && mem[BUF + pos + 20] == FT_SYMBOLIC_LINK) seen |= 2;
    if (!strcmp(name, "new.txt")) seen |= 4;
    if (!strcmp(name, ".")) seen |= 8;
    count++;
    pos += 24 + nl;
  }
  check("readdir lists . inner link_up new.txt with types", seen == 15 && count == 5);
  check_errno("readdir from cookie", call("fd_readdir", sub, (uint32_t)BUF, 4096u, second_cookie, (uint32_t)OUT), 0);
  check("readdir from second cookie returns 3 entries", U32(OUT) > 0 && U32(OUT) < used);
  check_errno("readdir small buffer", call("fd_readdir", sub, (uint32_t)BUF, 30u, 0ull, (uint32_t)OUT), 0);
  check("small buffer filled", U32(OUT) == 30);
  /* list it 40 bytes at a time, continuing from the last complete entry, as wasi-libc does */
  uint64_t ck = 0;
  int pieces = 0, listed = 0;
  for (int guard = 0; guard < 50; guard++) {
    check_errno(guard ? "readdir continue" : "readdir 40-byte buffer", call("fd_readdir", sub, (uint32_t)BUF, 40u, ck, (uint32_t)OUT), 0);
    uint32_t got = U32(OUT), p = 0;
    pieces++;
    while (p + 24 <= got && p + 24 + U32(BUF + p + 16) <= got) {
      ck = U64(BUF + p);
      listed++;
      p += 24 + U32(BUF + p + 16);
    }
    if (got < 40) break;
  }
  check("40-byte pieces list all 5 entries once", listed == 5 && pieces > 2);
  call("fd_close", sub);

  /* path operations inside */
  check_errno("mkdir made", call("path_create_directory", 3u, S("made")), 0);
  check_errno("mkdir made again", call("path_create_directory", 3u, S("made")), E_EXIST);
  check_errno("symlink made/l -> ../file", call("path_symlink", S("../file"), 3u, S("made/l")), 0);
  check_errno("readlink made/l", call("path_readlink", 3u, S("made/l"), (uint32_t)BUF, 64u, (uint32_t)OUT), 0);
  check("readlink text", U32(OUT) == 7 && memcmp(mem + BUF, "../file", 7) == 0);
  check_errno("readlink truncated", call("path_readlink", 3u, S("made/l"), (uint32_t)BUF, 3u, (uint32_t)OUT), 0);
  check("readlink truncated to 3", U32(OUT) == 3);
  check_errno("open made/l follows inside", open_at(3, "made/l", 1, 0, RIGHTS_READ), 0);
  check("made/l reads file", strcmp(read_all(U32(OUT)), "inside") == 0);
  call("fd_close", U32(OUT));
  check_errno("rmdir non-empty", call("path_remove_directory", 3u, S("made")), E_NOTEMPTY);
  check_errno("unlink made/l", call("path_unlink_file", 3u, S("made/l")), 0);
  check_errno("unlink a directory", call("path_unlink_file", 3u, S("made")), E_ISDIR);
  check_errno("link file -> made/hard", call("path_link", 3u, 0u, S("file"), 3u, S("made/hard")), 0);
  check_errno("rename made/hard -> made/h2", call("path_rename", 3u, S("made/hard"), 3u, S("made/h2")), 0);
  check_errno("unlink made/h2", call("path_unlink_file", 3u, S("made/h2")), 0);
  check_errno("rmdir made/ (trailing slash)", call("path_remove_directory", 3u, S("made/")), 0);
  check_errno("unlink file/ (trailing slash on a file)", call("path_unlink_file", 3u, S("file/")), E_NOTDIR);
  check_errno("unlink link_in_dir/ (a link to a directory)", call("path_unlink_file", 3u, S("link_in_dir/")), E_NOTDIR);
  check_errno("rmdir link_in_dir/ (a link to a directory)", call("path_remove_directory", 3u, S("link_in_dir/")), E_NOTDIR);
  check_errno("rmdir sub/ (non-empty)", call("path_remove_directory", 3u, S("sub/")), E_NOTEMPTY);
  check_errno("open missing", open_at(3, "nope", 0, 0, RIGHTS_READ), E_NOENT);
  check_errno("open file/ as dir", open_at(3, "file/", 0, 0, RIGHTS_READ), E_NOTDIR);
  check_errno("open empty path", open_at(3, "", 0, 0, RIGHTS_READ), E_NOENT);
  check_errno("path op on a file fd", call("path_create_directory", 0u, S("x")), E_NOTDIR);
  char fifo[400];
  snprintf(fifo, sizeof fifo, "%s/sandbox/fifo", race_root);
  check("mkfifo", mkfifo(fifo, 0644) == 0);
  check_errno("open a FIFO without a writer does not hang", open_at(3, "fifo", 0, 0, RIGHTS_READ), 0);
  check_errno("close FIFO", call("fd_close", U32(OUT)), 0);
  check_errno("unlink FIFO", call("path_unlink_file", 3u, S("fifo")), 0);

  /* poll_oneoff: a 10 ms relative clock */
  uint32_t in = BUF, out = BUF + 256;
  memset(mem + in, 0, 48);
  wasi_put_u64(&mc, in, 42);
  mem[in + 8] = 0;
  wasi_put_u32(&mc, in + 16, 1);
  wasi_put_u64(&mc, in + 24, 10000000);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  check_errno("poll_oneoff clock", call("poll_oneoff", in, out, 1u, (uint32_t)OUT), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  check("poll waited about 10 ms, one clock event", U32(OUT) == 1 && U64(out) == 42 && mem[out + 10] == 0 && ms >= 9);
  /* clock + stdout write: the write is ready at once */
  memset(mem + in + 48, 0, 48);
  wasi_put_u64(&mc, in + 48, 7);
  mem[in + 48 + 8] = 2;
  wasi_put_u32(&mc, in + 48 + 16, 1);
  wasi_put_u64(&mc, in + 24, 5000000000ull);
  check_errno("poll_oneoff clock + fd_write", call("poll_oneoff", in, out, 2u, (uint32_t)OUT), 0);
  check("fd event first, no wait", U32(OUT) == 1 && U64(out) == 7 && mem[out + 10] == 2);
  check_errno("poll_oneoff no subscriptions", call("poll_oneoff", in, out, 0u, (uint32_t)OUT), E_INVAL);

  /* sockets handed in: fd 5 is one end of a socketpair, fd 6 a TCP listener */
  check_errno("fdstat of socket", call("fd_fdstat_get", 5u, (uint32_t)BUF), 0);
  check("socket filetype stream", mem[BUF] == FT_SOCKET_STREAM);
  memcpy(mem + BUF, "ping", 4);
  wasi_put_u32(&mc, IOV, BUF);
  wasi_put_u32(&mc, IOV + 4, 4);
  check_errno("sock_send", call("sock_send", 5u, (uint32_t)IOV, 1u, 0u, (uint32_t)OUT), 0);
  char got[8] = {0};
  check("peer received ping", read(sock_peer, got, sizeof got) == 4 && !memcmp(got, "ping", 4));
  check("peer sent pong", write(sock_peer, "pong!", 5) == 5);
  wasi_put_u32(&mc, IOV + 4, 16);
  check_errno("sock_recv", call("sock_recv", 5u, (uint32_t)IOV, 1u, 0u, (uint32_t)OUT, (uint32_t)OUT + 4), 0);
  check("received pong!", U32(OUT) == 5 && memcmp(mem + BUF, "pong!", 5) == 0);
  /* poll_oneoff on the socket: nothing to read -> the 20 ms clock fires; data -> fd event */
  uint32_t pin = BUF + 512, pout = BUF + 1024;
  memset(mem + pin, 0, 96);
  wasi_put_u64(&mc, pin, 1);
  mem[pin + 8] = 1; /* fd_read */
  wasi_put_u32(&mc, pin + 16, 5);
  wasi_put_u64(&mc, pin + 48, 2);
  mem[pin + 48 + 8] = 0; /* clock */
  wasi_put_u32(&mc, pin + 48 + 16, 1);
  wasi_put_u64(&mc, pin + 48 + 24, 20000000);
  check_errno("poll socket + clock", call("poll_oneoff", pin, pout, 2u, (uint32_t)OUT), 0);
  check("only the clock fired", U32(OUT) == 1 && U64(pout) == 2);
  check("peer writes abc", write(sock_peer, "abc", 3) == 3);
  check_errno("poll socket with data", call("poll_oneoff", pin, pout, 2u, (uint32_t)OUT), 0);
  check("socket readable with 3 bytes", U32(OUT) == 1 && U64(pout) == 1 && mem[pout + 10] == 1 && U64(pout + 16) == 3);
  wasi_put_u32(&mc, IOV + 4, 16);
  check_errno("drain abc", call("sock_recv", 5u, (uint32_t)IOV, 1u, 0u, (uint32_t)OUT, (uint32_t)OUT + 4), 0);
  /* a deadline ends blocked calls with a trap */
  struct timespec d0, d1;
  clock_gettime(CLOCK_MONOTONIC, &d0);
  wisp_wasi_set_deadline(c_wasi, (int64_t)d0.tv_sec * 1000000000 + d0.tv_nsec + 30000000);
  call("sock_recv", 5u, (uint32_t)IOV, 1u, 0u, (uint32_t)OUT, (uint32_t)OUT + 4);
  clock_gettime(CLOCK_MONOTONIC, &d1);
  long waited = (d1.tv_sec - d0.tv_sec) * 1000 + (d1.tv_nsec - d0.tv_nsec) / 1000000;
  check("deadline: blocked sock_recv traps after about 30 ms",
        last_call.trapped && strstr(last_call.message, "deadline exceeded while blocked in sock_recv") &&
        waited >= 29 && waited < 1000);
  call("fd_read", 5u, (uint32_t)IOV, 1u, (uint32_t)OUT);
  check("deadline passed: fd_read traps at once", last_call.trapped && strstr(last_call.message, "fd_read"));
  wasi_put_u64(&mc, pin + 48 + 24, 5000000000ull); /* clock 5 s */
  clock_gettime(CLOCK_MONOTONIC, &d0);
  wisp_wasi_set_deadline(c_wasi, (int64_t)d0.tv_sec * 1000000000 + d0.tv_nsec + 20000000);
  call("poll_oneoff", pin, pout, 2u, (uint32_t)OUT);
  check("deadline: poll_oneoff of 5 s traps after the deadline",
        last_call.trapped && strstr(last_call.message, "poll_oneoff"));
  wisp_wasi_set_deadline(c_wasi, -1);
  check_errno("write to stdout callback ignores the deadline", write_str(1, ""), 0);
  /* two clocks: only the earlier one is reported; an absolute realtime clock */
  wasi_put_u64(&mc, pin, 3);
  mem[pin + 8] = 0;
  wasi_put_u32(&mc, pin + 16, 1);
  wasi_put_u64(&mc, pin + 24, 5000000);
  wasi_put_u64(&mc, pin + 48 + 24, 500000000);
  check_errno("poll two clocks", call("poll_oneoff", pin, pout, 2u, (uint32_t)OUT), 0);
  check("the 5 ms clock only", U32(OUT) == 1 && U64(pout) == 3);
  struct timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  wasi_put_u32(&mc, pin + 16, 0);
  wasi_put_u64(&mc, pin + 24, (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec + 10000000ull);
  wasi_put_u16(&mc, pin + 40, 1); /* abstime */
  check_errno("poll absolute realtime", call("poll_oneoff", pin, pout, 1u, (uint32_t)OUT), 0);
  clock_gettime(CLOCK_REALTIME, &t1);
  check("absolute clock fired at its time", U32(OUT) == 1 && U64(pout) == 3 &&
        (uint64_t)t1.tv_sec * 1000000000ull + (uint64_t)t1.tv_nsec >= U64(pin + 24));
  check_errno("sock_recv bad flags", call("sock_recv", 5u, (uint32_t)IOV, 1u, 8u, (uint32_t)OUT, (uint32_t)OUT + 4), E_INVAL);
  check_errno("sock_shutdown write side", call("sock_shutdown", 5u, 2u), 0);
  check("peer sees end of stream", read(sock_peer, got, sizeof got) == 0);
  check_errno("sock_shutdown bad how", call("sock_shutdown", 5u, 9u), E_INVAL);
  int client = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr;
  socklen_t alen = sizeof addr;
  getsockname(sock_listener, (struct sockaddr *)&addr, &alen);
  check("client connects", connect(client, (struct sockaddr *)&addr, sizeof addr) == 0);
  check_errno("sock_accept", call("sock_accept", 6u, 0u, (uint32_t)OUT), 0);
  uint32_t conn = U32(OUT);
  memcpy(mem + BUF, "hi", 2);
  wasi_put_u32(&mc, IOV + 4, 2);
  check_errno("fd_write on accepted socket", call("fd_write", conn, (uint32_t)IOV, 1u, (uint32_t)OUT), 0);
  check("client reads hi", read(client, got, sizeof got) == 2 && !memcmp(got, "hi", 2));
  close(client);
  int wrc = 0;
  for (int k = 0; k < 5 && wrc == 0; k++) {
    wrc = write_str(conn, "late");
    nanosleep(&(struct timespec){0, 2000000}, NULL);
  }
  check("fd_write to a socket whose peer left fails (EPIPE/ECONNRESET), and no SIGPIPE killed us",
        wrc == E_PIPE || wrc == E_CONNRESET);
  check_errno("close accepted socket", call("fd_close", conn), 0);
  check_errno("sock_accept on a non-listening socket", call("sock_accept", 5u, 0u, (uint32_t)OUT), E_INVAL);
  check_errno("sock_accept on a file fd", call("sock_accept", 3u, 0u, (uint32_t)OUT), E_NOTSOCK);
  check_errno("sock_shutdown on a file fd", call("sock_shutdown", 0u, 3u), E_NOTSOCK);
  check_errno("sock_shutdown on a bad fd", call("sock_shutdown", 99u, 3u), E_BADF);
  check_errno("sched_yield", call("sched_yield"), 0);
  check_errno("proc_raise", call("proc_raise", 6u), E_NOSYS);

  /* proc_exit unwinds through wisp_call_exit */
  call("proc_exit", 7u);
  check("proc_exit(7) asks the engine to exit with 7", last_call.exited && last_call.code == 7);
}

/* ---- suspend mode: blocking calls suspend the guest, wisp_wasi_resume retries ---- */

static int stdin_ready;
static int64_t trickle_read(void *ctx, uint8_t *buf, size_t len) {
  if (!stdin_ready) return -WISP_WASI_EAGAIN;
  memcpy(buf, "late", 4);
  stdin_ready = 0;
  return 4;
}

static void suspend_checks(void) {
  wasi_ctx_t mc = {.mem = mem, .mem_size = MEM_SIZE};
  wisp_wasi_config_t cfg;
  wisp_wasi_config_init(&cfg);
  cfg.suspend = true;
  cfg.stdio[0] = (wisp_wasi_stream_t){.host_fd = -1, .read = trickle_read};
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0) return;
  cfg.sockets = &pair[0];
  cfg.nsockets = 1; /* fd 3 */
  wisp_wasi_t *w;
  wisp_error_t err;
  if (wisp_wasi_new(&cfg, &w, &err) < 0 || wisp_wasi_define(w, NULL) < 0) {
    check("suspend: wisp_wasi_new", 0);
    return;
  }
  def_base = ndefs - 46;
  struct wisp_exec ex = {.status = WISP_SUSPENDED};
  int64_t wake = 0;

  /* a read with no data yet suspends; the retry completes once data arrived */
  wasi_put_u32(&mc, IOV, BUF);
  wasi_put_u32(&mc, IOV + 4, 16);
  wasi_put_u32(&mc, OUT, 99);
  call("fd_read", 0u, (uint32_t)IOV, 1u, (uint32_t)OUT);
  check("suspend: empty stream read suspends", last_status == WISP_HOST_SUSPEND);
  check("suspend: wait for the embedder (wake -1)", wisp_wasi_suspended(w, &wake) && wake == -1);
  check("suspend: early retry stays suspended", wisp_wasi_resume(w, &ex) == WISP_SUSPENDED && !ex.resumed);
  stdin_ready = 1;
  check("suspend: retry with data resumes the exec", wisp_wasi_resume(w, &ex) == WISP_DONE && ex.resumed == 1);
  check("suspend: result errno 0, 4 bytes read", ex.result.of.i32 == 0 && U32(OUT) == 4 && !memcmp(mem + BUF, "late", 4));
  check("suspend: nothing pending after", !wisp_wasi_suspended(w, NULL));
  check("suspend: a stream wait has no host fd", wisp_wasi_suspended_fd(w, NULL) == -1);

  /* a socket with no data: suspended on that descriptor, for POLLIN */
  short events = 0;
  call("sock_recv", 3u, (uint32_t)IOV, 1u, 0u, (uint32_t)OUT, (uint32_t)OUT + 4);
  check("suspend: empty socket read suspends", last_status == WISP_HOST_SUSPEND);
  check("suspend: waits on the socket for POLLIN", wisp_wasi_suspended_fd(w, &events) == pair[0] && events == POLLIN);
  check("suspend: retried within 10 ms", wisp_wasi_suspended(w, &wake) && wake > 0 && wake - wasi__mono_ns() <= 10000000);
  ex = (struct wisp_exec){.status = WISP_SUSPENDED};
  check("suspend: still nothing", wisp_wasi_resume(w, &ex) == WISP_SUSPENDED);
  check("suspend: peer writes", write(pair[1], "xyz", 3) == 3);
  check("suspend: the retry reads it", wisp_wasi_resume(w, &ex) == WISP_DONE && ex.result.of.i32 == 0 && U32(OUT) == 3);

  /* a 200 ms sleep suspends with its wake time; relative clocks count from the first try */
  uint32_t in = BUF + 512, out = BUF + 1024;
  memset(mem + in, 0, 48);
  wasi_put_u64(&mc, in, 5);
  wasi_put_u32(&mc, in + 16, 1);
  wasi_put_u64(&mc, in + 24, 200000000);
  int64_t t0 = wasi__mono_ns();
  call("poll_oneoff", in, out, 1u, (uint32_t)OUT);
  check("suspend: sleeping poll_oneoff suspends at once", last_status == WISP_HOST_SUSPEND && wasi__mono_ns() - t0 < 100000000);
  check("suspend: wake time is the clock's", wisp_wasi_suspended(w, &wake) && wake >= t0 + 200000000 && wake < t0 + 300000000);
  ex = (struct wisp_exec){.status = WISP_SUSPENDED};
  check("suspend: too early, still suspended", wisp_wasi_resume(w, &ex) == WISP_SUSPENDED);
  struct timespec nap = {0, 205000000};
  nanosleep(&nap, NULL);
  check("suspend: after the clock, resumed", wisp_wasi_resume(w, &ex) == WISP_DONE && ex.result.of.i32 == 0);
  check("suspend: one clock event written", U32(OUT) == 1 && U64(out) == 5);

  /* a deadline passed while suspended aborts the exec (the clock: 5 s, never due first) */
  wasi_put_u64(&mc, in + 24, 5000000000ull);
  call("poll_oneoff", in, out, 1u, (uint32_t)OUT);
  wisp_wasi_set_deadline(w, wasi__mono_ns() + 5000000);
  wisp_wasi_suspended(w, &wake);
  ex = (struct wisp_exec){.status = WISP_SUSPENDED};
  nanosleep(&(struct timespec){0, 8000000}, NULL);
  check("suspend: deadline passed, the exec is aborted", wisp_wasi_resume(w, &ex) == WISP_TRAPPED && ex.aborted);
  def_base = 0;
  wisp_wasi_delete(w);
  close(pair[0]);
  close(pair[1]);
}

/* ---- random calls: nothing crashes, nothing outside changes ----------------------- */

static uint32_t rnd_state = 2463534242u;
static uint32_t rnd(void) {
  rnd_state ^= rnd_state << 13;
  rnd_state ^= rnd_state >> 17;
  rnd_state ^= rnd_state << 5;
  return rnd_state;
}

/* An argument a confused or hostile guest might pass. */
static uint64_t random_arg(char kind) {
  static const char *paths[] = {"sub", "file", "..", "link_out_dir/x", "new", "sub/inner", "loop1",
                                "link_in", "d/e", "/abs", "ro-x", "race/a/b", "."};
  switch (rnd() % 8) {
    case 0: return rnd() % 8;                     /* a descriptor number or small flag */
    case 1: return rnd();                         /* anything */
    case 2: return MEM_SIZE - rnd() % 64;         /* near the end of memory */
    case 3: return put_str(paths[rnd() % 13]);    /* a path (its length is the next arg, often) */
    case 4: return rnd() % 40;                    /* a plausible length */
    case 5: return BUF + (rnd() % 64) * 8;        /* inside the scratch area */
    case 6: return kind == 'I' ? ((uint64_t)rnd() << 32 | rnd()) : rnd() % 4096;
    default: return 0;
  }
}

static void random_call_checks(const char *root) {
  char sandbox[400], ro[400];
  snprintf(sandbox, sizeof sandbox, "%s/sandbox", root);
  snprintf(ro, sizeof ro, "%s/ro", root);
  wisp_wasi_preopen_t pre[] = {{sandbox, "/", false}, {ro, "/ro", true}};
  wisp_wasi_config_t cfg;
  wisp_wasi_config_init(&cfg);
  cfg.preopens = pre;
  cfg.npreopens = 2;
  cfg.suspend = true; /* nothing may block */
  cfg.stdio[1] = (wisp_wasi_stream_t){.host_fd = -1, .write = capture_write};
  int calls = 0, crashed_defs = 0, succeeded = 0;
  for (int round = 0; round < 25; round++) {
    wisp_wasi_t *w;
    wisp_error_t err;
    if (wisp_wasi_new(&cfg, &w, &err) < 0 || wisp_wasi_define(w, NULL) < 0) {
      check("random calls: setup", 0);
      return;
    }
    def_base = ndefs - 46;
    for (int i = 0; i < 2000; i++) {
      def_rec_t *d = &defs[def_base + (int)(rnd() % 46)];
      if (!strcmp(d->name, "proc_exit")) continue;
      wisp_val_t args[16], res[1] = {{0}};
      for (int k = 0; d->params[k]; k++) {
        uint64_t v = random_arg(d->params[k]);
        args[k] = d->params[k] == 'I' ? (wisp_val_t){.kind = WISP_I64, .of.i64 = (int64_t)v}
                                      : (wisp_val_t){.kind = WISP_I32, .of.i32 = (int32_t)(uint32_t)v};
      }
      /* keep scratch memory random too */
      for (int k = 0; k < 8; k++) mem[BUF + rnd() % 512] = (uint8_t)rnd();
      memset(&last_call, 0, sizeof last_call);
      wisp_host_status_t st = d->fn(&last_call, d->env, args, res);
      if (st == WISP_HOST_OK && d->nresults && (res[0].of.i32 < 0 || res[0].of.i32 > 76)) crashed_defs++;
      if (st == WISP_HOST_OK && d->nresults && res[0].of.i32 == 0) succeeded++;
      if (st == WISP_HOST_SUSPEND) {
        struct wisp_exec ex = {.status = WISP_SUSPENDED};
        wisp_wasi_set_deadline(w, 0); /* give up at once */
        wisp_wasi_resume(w, &ex);
        wisp_wasi_set_deadline(w, -1);
      }
      ncaptured = 0;
      calls++;
    }
    def_base = 0;
    wisp_wasi_delete(w);
    ndefs -= 46;
  }
  printf("  random calls: %d made, %d succeeded\n", calls, succeeded);
  check("random calls: every result is a preview1 errno", crashed_defs == 0);
}

int main(void) {
  const char *root = layout_create();
  char sandbox[400], ro[400];
  snprintf(sandbox, sizeof sandbox, "%s/sandbox", root);
  snprintf(ro, sizeof ro, "%s/ro", root);
  char *before = layout_snapshot(root);

  static const char *argv[] = {"prog", "arg 1"};
  static const char *env[] = {"K=V"};
  wisp_wasi_preopen_t pre[] = {{sandbox, "/", false}, {ro, "/ro", true}};
  wisp_wasi_config_t cfg;
  wisp_wasi_config_init(&cfg);
  cfg.argv = argv;
  cfg.argc = 2;
  cfg.env = env;
  cfg.envc = 1;
  cfg.preopens = pre;
  cfg.npreopens = 2;
  cfg.stdio[0] = (wisp_wasi_stream_t){.host_fd = -1, .read = feed_read};
  cfg.stdio[1] = (wisp_wasi_stream_t){.host_fd = -1, .write = capture_write};
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0) return 99;
  sock_peer = pair[1];
  sock_listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(sock_listener, (struct sockaddr *)&any, sizeof any) < 0 || listen(sock_listener, 4) < 0) return 99;
  int sockets[] = {pair[0], sock_listener};
  cfg.sockets = sockets;
  cfg.nsockets = 2;
  wisp_wasi_t *wasi = NULL;
  wisp_error_t err;
  if (wisp_wasi_new(&cfg, &wasi, &err) < 0) {
    printf("FAIL wisp_wasi_new: %s\n", err.message);
    return 1;
  }
  if (wisp_wasi_define(wasi, NULL) < 0) {
    printf("FAIL wisp_wasi_define\n");
    return 1;
  }
  check("every preview1 function is defined (46)", ndefs == 46);
  c_wasi = wasi;

  random_path_checks(root);
  sandbox_checks(root);
  race_checks(root);
  other_checks();
  suspend_checks();

  random_call_checks(root);
  char *after = layout_snapshot(root);
  check("nothing outside the sandbox or in the read-only preopen changed", strcmp(before, after) == 0);
  if (strcmp(before, after)) printf("before:\n%safter:\n%s", before, after);
  free(before);
  free(after);

  wisp_wasi_t *bad = NULL;
  wisp_wasi_preopen_t missing = {"/nonexistent/wisp", "/", false};
  cfg.preopens = &missing;
  cfg.npreopens = 1;
  cfg.nsockets = 0;
  check("a missing preopen is an error with a message",
        wisp_wasi_new(&cfg, &bad, &err) == WISP_ERR_ARG && strstr(err.message, "/nonexistent/wisp"));

  wisp_wasi_delete(wasi);
  close(pair[0]);
  close(pair[1]);
  close(sock_listener);
  layout_remove(root);
  printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}
