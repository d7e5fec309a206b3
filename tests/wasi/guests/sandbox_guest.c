/*
 * sandbox_guest.c: a WASI command that tries to leave its sandbox. Run by
 * test_wasi_sandbox.c in the layout of sandbox_layout.h with fd 3 = "/"
 * (read-write) and fd 4 = "/ro" (read-only). Uses the raw preview1 calls so
 * every errno is the host's own. Prints "ok NAME" / "FAIL NAME ..." and
 * exits with the number of failures. With argument "race" it only hammers
 * the paths that the host's rename thread is changing, and fails if any open
 * ever reads outside/secret.
 */
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

#define ROOT 3
#define RO 4
#define R_READ (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_FILESTAT_GET)
#define R_WRITE (R_READ | __WASI_RIGHTS_FD_WRITE)

static int failures;

static void expect(const char *what, int got, int want) {
  if (got == want) {
    printf("ok %s\n", what);
  } else {
    printf("FAIL %s: errno %d, want %d\n", what, got, want);
    failures++;
  }
}

static int open_at(int dir, const char *path, int follow, int oflags, __wasi_rights_t rights,
                   __wasi_fd_t *fd) {
  return __wasi_path_open(dir, follow ? __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW : 0, path, oflags,
                          rights, rights, 0, fd);
}

static int try_open(int dir, const char *path, int follow, int oflags, __wasi_rights_t rights) {
  __wasi_fd_t fd;
  int rc = open_at(dir, path, follow, oflags, rights, &fd);
  if (rc == 0) (void)__wasi_fd_close(fd);
  return rc;
}

/* Reads a small file into buf; 0 or errno. */
static int slurp(int dir, const char *path, char *buf, size_t size) {
  __wasi_fd_t fd;
  int rc = open_at(dir, path, 1, 0, R_READ, &fd);
  if (rc) return rc;
  __wasi_iovec_t iov = {(uint8_t *)buf, size - 1};
  __wasi_size_t n = 0;
  rc = __wasi_fd_read(fd, &iov, 1, &n);
  buf[rc ? 0 : n] = '\0';
  (void)__wasi_fd_close(fd);
  return rc;
}

static int race(void) {
  static const char *paths[] = {"race/a/secret", "race/a/b/../../../outside/secret",
                                "race/a/b/../../../../outside/secret", "race/evil/secret",
                                "race/a/b/ok"};
  int opened = 0, leaked = 0, i;
  /* On a busy machine the renaming thread may sit preempted in one state for
   * a whole time slice, so go on until race/a/b/ok was seen at least once. */
  for (i = 0; i < 3000 || (opened == 0 && i < 300000); i++) {
    char buf[64];
    if (slurp(ROOT, paths[i % 5], buf, sizeof buf) == 0) {
      opened++;
      if (strstr(buf, "SECRET")) leaked++;
    }
  }
  printf("race: %d opens, %d opened, %d leaked\n", i, opened, leaked);
  return leaked || opened == 0 ? 1 : 0; /* race/a/b/ok must open sometimes */
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "race") == 0) return race();
  const int CAP = __WASI_ERRNO_NOTCAPABLE, ROFS = __WASI_ERRNO_ROFS, LOOP = __WASI_ERRNO_LOOP;
  __wasi_filestat_t st;
  char buf[64];

  expect("open ../outside/secret", try_open(ROOT, "../outside/secret", 1, 0, R_READ), CAP);
  expect("open sub/../../outside/secret", try_open(ROOT, "sub/../../outside/secret", 1, 0, R_READ), CAP);
  expect("open absolute /etc/passwd", try_open(ROOT, "/etc/passwd", 1, 0, R_READ), CAP);
  expect("open link_out_rel", try_open(ROOT, "link_out_rel", 1, 0, R_READ), CAP);
  expect("open link_out_abs", try_open(ROOT, "link_out_abs", 1, 0, R_READ), CAP);
  expect("open link_out_dir/secret", try_open(ROOT, "link_out_dir/secret", 0, 0, R_READ), CAP);
  expect("open sub/link_up/outside/secret", try_open(ROOT, "sub/link_up/outside/secret", 0, 0, R_READ), CAP);
  expect("open link_out_rel nofollow", try_open(ROOT, "link_out_rel", 0, 0, R_READ), LOOP);
  expect("create link_out_dir/newfile", try_open(ROOT, "link_out_dir/newfile", 0, __WASI_OFLAGS_CREAT, R_WRITE), CAP);
  expect("mkdir ../escape", __wasi_path_create_directory(ROOT, "../escape"), CAP);
  expect("rename file -> ../outside/stolen", __wasi_path_rename(ROOT, "file", ROOT, "../outside/stolen"), CAP);
  expect("link file -> link_out_dir/hard", __wasi_path_link(ROOT, 0, "file", ROOT, "link_out_dir/hard"), CAP);
  expect("unlink link_out_dir/secret", __wasi_path_unlink_file(ROOT, "link_out_dir/secret"), CAP);
  expect("symlink to /etc", __wasi_path_symlink("/etc", ROOT, "abs"), CAP);
  expect("filestat link_out_abs follow", __wasi_path_filestat_get(ROOT, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "link_out_abs", &st), CAP);
  expect("open loop1", try_open(ROOT, "loop1", 1, 0, R_READ), LOOP);
  expect("open loop1/x", try_open(ROOT, "loop1/x", 0, 0, R_READ), LOOP);
  expect("open self", try_open(ROOT, "self", 1, 0, R_READ), LOOP);

  expect("read link_in", slurp(ROOT, "link_in", buf, sizeof buf), 0);
  expect("link_in is sub/inner", strcmp(buf, "inner"), 0);
  expect("read link_in_dir/inner", slurp(ROOT, "link_in_dir/inner", buf, sizeof buf), 0);
  expect("read sub/../file", slurp(ROOT, "sub/../file", buf, sizeof buf), 0);
  expect("sub/../file is file", strcmp(buf, "inside"), 0);
  expect("unlink link_out_rel (the link)", __wasi_path_unlink_file(ROOT, "link_out_rel"), 0);

  expect("ro: read data", slurp(RO, "data", buf, sizeof buf), 0);
  expect("ro: open data for writing", try_open(RO, "data", 0, 0, R_WRITE), ROFS);
  expect("ro: create", try_open(RO, "new", 0, __WASI_OFLAGS_CREAT, R_WRITE), ROFS);
  expect("ro: truncate", try_open(RO, "data", 0, __WASI_OFLAGS_TRUNC, R_READ), ROFS);
  expect("ro: mkdir", __wasi_path_create_directory(RO, "d"), ROFS);
  expect("ro: unlink", __wasi_path_unlink_file(RO, "data"), ROFS);
  expect("ro: rmdir", __wasi_path_remove_directory(RO, "rosub"), ROFS);
  expect("ro: rename", __wasi_path_rename(RO, "data", RO, "data2"), ROFS);
  expect("ro: rename into", __wasi_path_rename(ROOT, "file", RO, "file"), ROFS);
  expect("ro: symlink", __wasi_path_symlink("data", RO, "l"), ROFS);
  expect("ro: escape", try_open(RO, "../sandbox/file", 0, 0, R_READ), CAP);

  /* The libc view of the same sandbox: fopen resolves against the preopens. */
  expect("libc: fopen /../outside/secret fails", fopen("/../outside/secret", "r") == NULL, 1);
  expect("libc: fopen /ro/data for writing fails", fopen("/ro/data", "w") == NULL, 1);
  FILE *f = fopen("/sub/inner", "r");
  expect("libc: fopen /sub/inner", f != NULL, 1);
  if (f) fclose(f);

  printf("%d failure(s)\n", failures);
  return failures;
}
