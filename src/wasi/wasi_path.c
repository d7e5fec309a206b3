/*
 * wasi_path.c: sandboxed resolution of guest paths.
 *
 * A guest path is resolved beneath a host directory descriptor (a preopen or
 * a directory the guest opened beneath one), one component at a time:
 *
 * - each intermediate directory is opened with
 *   openat(cur, name, O_PATH | O_NOFOLLOW | O_DIRECTORY), which either yields
 *   a descriptor of a real directory or fails: the kernel never follows a
 *   link for us, so nothing we hold can point outside the sandbox;
 * - the descriptors opened so far are kept on a stack, and `..` pops it
 *   instead of asking the filesystem for a parent: `..` at the bottom is an
 *   escape, and renaming a directory while we walk cannot move us out;
 * - a symbolic link met on the way is read with readlinkat and its target is
 *   spliced in front of the rest of the path and walked the same way; an
 *   absolute target is an escape; more than WASI_MAX_LINKS links is E_LOOP;
 * - an absolute guest path is an escape.
 *
 * The walk ends with a descriptor of the directory that contains the final
 * component plus that component's name; callers apply the operation with an
 * *at() call and AT_SYMLINK_NOFOLLOW / O_NOFOLLOW, so a final component
 * swapped for a link after the walk is refused by the kernel, not followed.
 * No decision here is made by string inspection of the whole path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wasi_internal.h"

#define WASI_MAX_LINKS 40
#define WASI_MAX_DEPTH 256 /* directories held open at once during one walk */
#define WASI_ESCAPE E_NOTCAPABLE

typedef struct walk {
  int base;                   /* not owned */
  int stack[WASI_MAX_DEPTH];  /* owned descriptors, innermost last */
  int depth;
} walk_t;

static int walk_cur(const walk_t *w) { return w->depth ? w->stack[w->depth - 1] : w->base; }

static void walk_close(walk_t *w) {
  while (w->depth > 0) close(w->stack[--w->depth]);
}

/* Hands the current directory to `out` as an owned descriptor. */
static int walk_finish(walk_t *w, const char *name, size_t len, wasi_resolved_t *out) {
  if (len >= sizeof out->name) return E_NAMETOOLONG;
  int fd;
  if (w->depth > 0) {
    fd = w->stack[--w->depth];
  } else {
    fd = fcntl(w->base, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return wasi__errno(errno);
  }
  memcpy(out->name, name, len);
  out->name[len] = '\0';
  out->dirfd = fd;
  return E_SUCCESS;
}

/* Replaces the unwalked part `rest` by `target` + "/" + `rest`. */
static int splice_link(char **path, const char *target, size_t tlen, const char *rest) {
  size_t rlen = strlen(rest);
  char *np = malloc(tlen + 1 + rlen + 1);
  if (!np) return E_NOMEM;
  memcpy(np, target, tlen);
  np[tlen] = '/';
  memcpy(np + tlen + 1, rest, rlen + 1);
  if (rlen == 0) np[tlen] = '\0';
  free(*path);
  *path = np;
  return E_SUCCESS;
}

static int walk(walk_t *w, char **pathp, bool follow_final, bool trailing, wasi_resolved_t *out) {
  int links = 0;
  size_t pos = 0;
  for (;;) {
    char *path = *pathp;
    while (path[pos] == '/') pos++;
    const char *comp = path + pos;
    size_t clen = strcspn(comp, "/");
    const char *rest = comp + clen;
    while (*rest == '/') rest++;
    bool last = *rest == '\0';
    if (clen == 0) return walk_finish(w, ".", 1, out); /* names the directory itself */
    if (clen == 1 && comp[0] == '.') {
      if (last) return walk_finish(w, ".", 1, out);
      pos = (size_t)(rest - path);
      continue;
    }
    if (clen == 2 && comp[0] == '.' && comp[1] == '.') {
      if (w->depth == 0) return WASI_ESCAPE;
      close(w->stack[--w->depth]);
      if (last) return walk_finish(w, ".", 1, out);
      pos = (size_t)(rest - path);
      continue;
    }
    if (clen > NAME_MAX) return E_NAMETOOLONG;
    char name[NAME_MAX + 1];
    memcpy(name, comp, clen);
    name[clen] = '\0';
    if (last && !follow_final && !trailing) return walk_finish(w, name, clen, out);

    int cur = walk_cur(w);
    int fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      if (last) {
        close(fd);
        return walk_finish(w, name, clen, out);
      }
      if (w->depth == WASI_MAX_DEPTH) {
        close(fd);
        return E_NAMETOOLONG;
      }
      w->stack[w->depth++] = fd;
      pos = (size_t)(rest - path);
      continue;
    }
    int err = errno;
    if (err == ENOTDIR || err == ELOOP) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(cur, name, target, sizeof target);
      if (n >= 0) {
        if (++links > WASI_MAX_LINKS) return E_LOOP;
        if (n == 0) return E_NOENT;
        if ((size_t)n >= sizeof target) return E_NAMETOOLONG;
        if (target[0] == '/') return WASI_ESCAPE;
        /* A link as the last component with a trailing slash keeps it. */
        int rc = splice_link(pathp, target, (size_t)n, last && trailing ? "" : rest);
        if (rc) return rc;
        pos = 0;
        continue;
      }
      if (last) return walk_finish(w, name, clen, out); /* an existing non-directory */
      return E_NOTDIR;
    }
    if (err == ENOENT && last) return walk_finish(w, name, clen, out);
    return wasi__errno(err);
  }
}

int wasi__resolve(int base, const char *path, uint32_t len, bool follow_final,
                  wasi_resolved_t *out) {
  out->dirfd = -1;
  out->name[0] = '\0';
  out->trailing_slash = false;
  if (len == 0) return E_NOENT;
  if (memchr(path, '\0', len)) return E_INVAL;
  if (path[0] == '/') return WASI_ESCAPE;
  if (len >= PATH_MAX) return E_NAMETOOLONG;
  char *copy = malloc(len + 1);
  if (!copy) return E_NOMEM;
  memcpy(copy, path, len);
  copy[len] = '\0';
  size_t end = len;
  while (end > 0 && copy[end - 1] == '/') end--;
  out->trailing_slash = end < len;
  walk_t w = {.base = base};
  int rc = walk(&w, &copy, follow_final, out->trailing_slash, out);
  walk_close(&w);
  free(copy);
  if (rc) {
    if (out->dirfd >= 0) close(out->dirfd);
    out->dirfd = -1;
  }
  return rc;
}

void wasi__resolved_close(wasi_resolved_t *r) {
  if (r->dirfd >= 0) close(r->dirfd);
  r->dirfd = -1;
}
