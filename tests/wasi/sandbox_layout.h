/*
 * sandbox_layout.h: the host directory tree the WASI sandbox tests run in,
 * shared by test_wasi_host.c (native) and test_wasi_sandbox.c (guest wasm).
 *
 *   ROOT/outside/secret          "SECRET"   must never be read, changed or removed
 *   ROOT/outside/dir/
 *   ROOT/sandbox/                preopened read-write as "/"
 *   ROOT/sandbox/file            "inside"
 *   ROOT/sandbox/sub/inner       "inner"
 *   ROOT/sandbox/link_in         -> sub/inner
 *   ROOT/sandbox/link_in_dir     -> sub
 *   ROOT/sandbox/link_out_rel    -> ../outside/secret
 *   ROOT/sandbox/link_out_abs    -> ROOT/outside/secret
 *   ROOT/sandbox/link_out_dir    -> ../outside
 *   ROOT/sandbox/sub/link_up     -> ../..
 *   ROOT/sandbox/loop1 <-> loop2, ROOT/sandbox/self -> self
 *   ROOT/sandbox/race/a/b/ok     "fine"; race/a and race/a/b are renamed and race/a
 *                                swapped with race/evil -> ../../outside by the race thread
 *   ROOT/ro/                     preopened read-only as "/ro"
 *   ROOT/ro/data                 "ro-data"
 *   ROOT/ro/rosub/
 *
 * layout_snapshot() records every name, type, size and content under outside/
 * and ro/ so a test can prove afterwards that nothing there changed.
 */
#ifndef WISP_TEST_SANDBOX_LAYOUT_H
#define WISP_TEST_SANDBOX_LAYOUT_H

#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void layout_write(const char *root, const char *rel, const char *text) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  FILE *f = fopen(p, "w");
  if (!f) { perror(p); exit(99); }
  fputs(text, f);
  fclose(f);
}

static void layout_mkdir(const char *root, const char *rel) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  if (mkdir(p, 0755) < 0) { perror(p); exit(99); }
}

static void layout_symlink(const char *root, const char *target, const char *rel) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  if (symlink(target, p) < 0) { perror(p); exit(99); }
}

/* Creates a fresh layout under a new temporary directory; returns its path (static). */
static const char *layout_create(void) {
  static char root[256];
  snprintf(root, sizeof root, "/tmp/wisp-wasi-sandbox-XXXXXX");
  if (!mkdtemp(root)) { perror("mkdtemp"); exit(99); }
  layout_mkdir(root, "outside");
  layout_write(root, "outside/secret", "SECRET");
  layout_mkdir(root, "outside/dir");
  layout_mkdir(root, "sandbox");
  layout_write(root, "sandbox/file", "inside");
  layout_mkdir(root, "sandbox/sub");
  layout_write(root, "sandbox/sub/inner", "inner");
  layout_symlink(root, "sub/inner", "sandbox/link_in");
  layout_symlink(root, "sub", "sandbox/link_in_dir");
  layout_symlink(root, "../outside/secret", "sandbox/link_out_rel");
  char abs[512];
  snprintf(abs, sizeof abs, "%s/outside/secret", root);
  layout_symlink(root, abs, "sandbox/link_out_abs");
  layout_symlink(root, "../outside", "sandbox/link_out_dir");
  layout_symlink(root, "../..", "sandbox/sub/link_up");
  layout_symlink(root, "loop2", "sandbox/loop1");
  layout_symlink(root, "loop1", "sandbox/loop2");
  layout_symlink(root, "self", "sandbox/self");
  layout_mkdir(root, "sandbox/race");
  layout_mkdir(root, "sandbox/race/a");
  layout_mkdir(root, "sandbox/race/a/b");
  layout_write(root, "sandbox/race/a/b/ok", "fine");
  layout_symlink(root, "../../outside", "sandbox/race/evil");
  layout_mkdir(root, "ro");
  layout_write(root, "ro/data", "ro-data");
  layout_mkdir(root, "ro/rosub");
  return root;
}

/* Appends "relpath type size content\n" for everything under dir to *buf. */
static void layout_snap_dir(const char *root, const char *rel, char **buf, size_t *len) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  DIR *d = opendir(p);
  if (!d) return;
  char *names[256];
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) && n < 256) {
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) names[n++] = strdup(de->d_name);
  }
  closedir(d);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (strcmp(names[i], names[j]) > 0) { char *t = names[i]; names[i] = names[j]; names[j] = t; }
  for (int i = 0; i < n; i++) {
    char sub[2048], line[8192], content[256] = "";
    snprintf(sub, sizeof sub, "%s/%s", rel, names[i]);
    snprintf(p, sizeof p, "%s/%s", root, sub);
    struct stat st;
    lstat(p, &st);
    if (S_ISREG(st.st_mode)) {
      int fd = open(p, O_RDONLY);
      ssize_t got = fd >= 0 ? read(fd, content, sizeof content - 1) : 0;
      if (got > 0) content[got] = '\0';
      if (fd >= 0) close(fd);
    }
    int ll = snprintf(line, sizeof line, "%s %o %lld %s\n", sub, (unsigned)st.st_mode,
                      (long long)st.st_size, content);
    *buf = realloc(*buf, *len + (size_t)ll + 1);
    memcpy(*buf + *len, line, (size_t)ll + 1);
    *len += (size_t)ll;
    if (S_ISDIR(st.st_mode)) layout_snap_dir(root, sub, buf, len);
    free(names[i]);
  }
}

/* Owned string describing outside/ and ro/ completely. */
static char *layout_snapshot(const char *root) {
  char *buf = calloc(1, 1);
  size_t len = 0;
  layout_snap_dir(root, "outside", &buf, &len);
  layout_snap_dir(root, "ro", &buf, &len);
  return buf;
}

static void layout_remove(const char *root) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
}

#endif
