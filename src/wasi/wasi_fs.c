/*
 * wasi_fs.c: the fd_* and path_* functions of WASI preview1.
 *
 * Descriptor rules: a file operation on a directory is E_BADF, a directory
 * operation on a non-directory is E_NOTDIR, a missing right is E_NOTCAPABLE,
 * and a mutation beneath a read-only preopen is E_ROFS. Paths are resolved by
 * wasi__resolve (wasi_path.c) and the final step is one *at() call that does
 * not follow a final symbolic link.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wasi_internal.h"

#define FILESTAT_SIZE 64
#define FST_ATIM 1
#define FST_ATIM_NOW 2
#define FST_MTIM 4
#define FST_MTIM_NOW 8
#define OFLAG_CREAT 1
#define OFLAG_DIRECTORY 2
#define OFLAG_EXCL 4
#define OFLAG_TRUNC 8
#define LOOKUP_FOLLOW 1

/* ---- descriptor helpers --------------------------------------------------- */

static int get_fd(wasi_ctx_t *c, uint32_t fd, uint64_t rights, wasi_fd_t **out) {
  return wasi__fd_get(c->wasi, fd, rights, out);
}

/* A descriptor that is not a directory. */
static int get_file(wasi_ctx_t *c, uint32_t fd, uint64_t rights, wasi_fd_t **out) {
  wisp_wasi_t *w = c->wasi;
  if (fd >= w->nfds || w->fds[fd].kind == WASI_FD_FREE) return E_BADF;
  if (w->fds[fd].kind == WASI_FD_DIR) return E_BADF;
  return wasi__fd_get(w, fd, rights, out);
}

static int get_dir(wasi_ctx_t *c, uint32_t fd, uint64_t rights, wasi_fd_t **out) {
  wisp_wasi_t *w = c->wasi;
  if (fd >= w->nfds || w->fds[fd].kind == WASI_FD_FREE) return E_BADF;
  if (w->fds[fd].kind != WASI_FD_DIR) return E_NOTDIR;
  return wasi__fd_get(w, fd, rights, out);
}

/* Resolves a guest path given as (ptr, len) in guest memory. */
static int resolve(wasi_ctx_t *c, wasi_fd_t *dir, uint32_t ptr, uint32_t len, bool follow,
                   wasi_resolved_t *out) {
  out->dirfd = -1;
  if (!wasi_mem_ok(c, ptr, len)) return E_FAULT;
  return wasi__resolve(dir->host, (const char *)c->mem + ptr, len, follow, out);
}

/* Resolves a path naming the entry itself (rmdir, unlink): trailing slashes
 * are stripped before the walk so a final symlink is never followed, and
 * reported in out->trailing_slash. */
static int resolve_entry(wasi_ctx_t *c, wasi_fd_t *dir, uint32_t ptr, uint32_t len,
                         wasi_resolved_t *out) {
  out->dirfd = -1;
  if (!wasi_mem_ok(c, ptr, len)) return E_FAULT;
  const char *path = (const char *)c->mem + ptr;
  uint32_t n = len;
  while (n > 1 && path[n - 1] == '/') n--;
  int rc = wasi__resolve(dir->host, path, n, false, out);
  if (rc == 0) out->trailing_slash = n < len;
  return rc;
}

static bool is_link_at(int dirfd, const char *name) {
  struct stat st;
  return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

static void put_filestat(wasi_ctx_t *c, uint32_t p, const struct stat *st) {
  memset(c->mem + p, 0, FILESTAT_SIZE);
  wasi_put_u64(c, p, (uint64_t)st->st_dev);
  wasi_put_u64(c, p + 8, (uint64_t)st->st_ino);
  wasi_put_u8(c, p + 16, wasi__filetype_of_mode(st->st_mode));
  wasi_put_u64(c, p + 24, (uint64_t)st->st_nlink);
  wasi_put_u64(c, p + 32, (uint64_t)st->st_size);
  wasi_put_u64(c, p + 40, (uint64_t)st->st_atim.tv_sec * 1000000000ull + (uint64_t)st->st_atim.tv_nsec);
  wasi_put_u64(c, p + 48, (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec);
  wasi_put_u64(c, p + 56, (uint64_t)st->st_ctim.tv_sec * 1000000000ull + (uint64_t)st->st_ctim.tv_nsec);
}

/* fst_flags + times -> utimensat's two timespecs; E_INVAL on conflicting flags. */
static int make_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]) {
  if (fst & ~0xFu) return E_INVAL;
  if ((fst & FST_ATIM) && (fst & FST_ATIM_NOW)) return E_INVAL;
  if ((fst & FST_MTIM) && (fst & FST_MTIM_NOW)) return E_INVAL;
  ts[0].tv_nsec = UTIME_OMIT;
  ts[1].tv_nsec = UTIME_OMIT;
  ts[0].tv_sec = ts[1].tv_sec = 0;
  if (fst & FST_ATIM) ts[0] = (struct timespec){(time_t)(atim / 1000000000ull), (long)(atim % 1000000000ull)};
  if (fst & FST_ATIM_NOW) ts[0].tv_nsec = UTIME_NOW;
  if (fst & FST_MTIM) ts[1] = (struct timespec){(time_t)(mtim / 1000000000ull), (long)(mtim % 1000000000ull)};
  if (fst & FST_MTIM_NOW) ts[1].tv_nsec = UTIME_NOW;
  return E_SUCCESS;
}

/* ---- plain descriptor operations ------------------------------------------ */

static int f_fd_advise(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  int rc = get_file(c, ARG_U32(0), R_FD_ADVISE, &e);
  if (rc) return rc;
  static const int advice[] = {POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                               POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
  uint32_t a = ARG_U32(3);
  if (a > 5) return E_INVAL;
  if ((int64_t)ARG_U64(1) < 0 || (int64_t)ARG_U64(2) < 0) return E_INVAL;
  if (e->host < 0 || e->filetype != FT_REGULAR_FILE) return E_SUCCESS; /* advice is a hint */
  int err = posix_fadvise(e->host, (off_t)ARG_U64(1), (off_t)ARG_U64(2), advice[a]);
  return err ? wasi__errno(err) : E_SUCCESS;
}

static int f_fd_allocate(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  int rc = get_file(c, ARG_U32(0), R_FD_ALLOCATE, &e);
  if (rc) return rc;
  int64_t off = (int64_t)ARG_U64(1), len = (int64_t)ARG_U64(2);
  if (off < 0 || len < 0 || off > INT64_MAX - len) return E_INVAL;
  if (e->host < 0) return E_BADF;
  struct stat st;
  if (fstat(e->host, &st) < 0) return wasi__errno(errno);
  if (off + len <= st.st_size) return E_SUCCESS;
  int err = posix_fallocate(e->host, off, len);
  if (err == EOPNOTSUPP || err == EINVAL) err = ftruncate(e->host, off + len) < 0 ? errno : 0;
  return err ? wasi__errno(err) : E_SUCCESS;
}

static int f_fd_close(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  int rc = get_fd(c, ARG_U32(0), 0, &e);
  if (rc) return rc;
  wasi__fd_release(e);
  return E_SUCCESS;
}

static int f_fd_datasync(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  int rc = get_file(c, ARG_U32(0), R_FD_DATASYNC, &e);
  if (rc) return rc;
  if (e->host < 0) return E_SUCCESS;
  return fdatasync(e->host) < 0 ? wasi__errno(errno) : E_SUCCESS;
}

static int f_fd_sync(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  int rc = get_fd(c, ARG_U32(0), R_FD_SYNC, &e);
  if (rc) return rc;
  if (e->host < 0) return E_SUCCESS;
  if (fsync(e->host) < 0 && errno != EINVAL && errno != EROFS) return wasi__errno(errno);
  return E_SUCCESS;
}

static int f_fd_fdstat_get(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  uint32_t p = ARG_U32(1);
  int rc = get_fd(c, ARG_U32(0), 0, &e);
  if (rc) return rc;
  if (!wasi_mem_ok(c, p, 24)) return E_FAULT;
  uint16_t flags = e->fdflags;
  if (e->host >= 0) {
    int fl = fcntl(e->host, F_GETFL);
    if (fl >= 0) {
      flags &= (uint16_t)~(FDFLAG_APPEND | FDFLAG_NONBLOCK);
      if (fl & O_APPEND) flags |= FDFLAG_APPEND;
      if (fl & O_NONBLOCK) flags |= FDFLAG_NONBLOCK;
    }
  }
  memset(c->mem + p, 0, 24);
  wasi_put_u8(c, p, e->filetype);
  wasi_put_u16(c, p + 2, flags);
  wasi_put_u64(c, p + 8, e->rights_base);
  wasi_put_u64(c, p + 16, e->rights_inheriting);
  return E_SUCCESS;
}

static int f_fd_fdstat_set_flags(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  uint32_t flags = ARG_U32(1);
  int rc = get_fd(c, ARG_U32(0), R_FD_FDSTAT_SET_FLAGS, &e);
  if (rc) return rc;
  if (flags & ~0x1Fu) return E_INVAL;
  if (e->host >= 0) {
    int fl = fcntl(e->host, F_GETFL);
    if (fl < 0) return wasi__errno(errno);
    fl &= ~(O_APPEND | O_NONBLOCK);
    if (flags & FDFLAG_APPEND) fl |= O_APPEND;
    if (flags & FDFLAG_NONBLOCK) fl |= O_NONBLOCK;
    if (fcntl(e->host, F_SETFL, fl) < 0) return wasi__errno(errno);
  }
  e->fdflags = (uint16_t)flags;
  return E_SUCCESS;
}

static int f_fd_fdstat_set_rights(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  int rc = get_fd(c, ARG_U32(0), 0, &e);
  if (rc) return rc;
  uint64_t base = ARG_U64(1), inh = ARG_U64(2);
  if ((base & ~e->rights_base) || (inh & ~e->rights_inheriting)) return E_NOTCAPABLE;
  e->rights_base = base;
  e->rights_inheriting = inh;
  return E_SUCCESS;
}

static int f_fd_filestat_get(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  uint32_t p = ARG_U32(1);
  int rc = get_fd(c, ARG_U32(0), R_FD_FILESTAT_GET, &e);
  if (rc) return rc;
  if (!wasi_mem_ok(c, p, FILESTAT_SIZE)) return E_FAULT;
  struct stat st;
  if (e->host < 0) {
    memset(&st, 0, sizeof st);
    st.st_mode = S_IFCHR;
  } else if (fstat(e->host, &st) < 0) {
    return wasi__errno(errno);
  }
  put_filestat(c, p, &st);
  if (e->host >= 0) wasi_put_u8(c, p + 16, e->filetype);
  return E_SUCCESS;
}

static int f_fd_filestat_set_size(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  int rc = get_file(c, ARG_U32(0), R_FD_FILESTAT_SET_SIZE, &e);
  if (rc) return rc;
  if ((int64_t)ARG_U64(1) < 0) return E_INVAL;
  if (e->read_only) return E_ROFS;
  if (e->host < 0) return E_BADF;
  return ftruncate(e->host, (off_t)ARG_U64(1)) < 0 ? wasi__errno(errno) : E_SUCCESS;
}

static int f_fd_filestat_set_times(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  int rc = get_fd(c, ARG_U32(0), R_FD_FILESTAT_SET_TIMES, &e);
  if (rc) return rc;
  struct timespec ts[2];
  if ((rc = make_times(ARG_U64(1), ARG_U64(2), ARG_U32(3), ts))) return rc;
  if (e->read_only) return E_ROFS;
  if (e->host < 0) return E_BADF;
  return futimens(e->host, ts) < 0 ? wasi__errno(errno) : E_SUCCESS;
}

/* Reads from a callback or null stream. */
static int stream_read(wasi_fd_t *e, struct iovec *iov, int n, uint64_t *total) {
  *total = 0;
  if (!e->stream.read) {
    if (e->stream.write) return E_BADF;
    return E_SUCCESS; /* null stream: end of input */
  }
  for (int i = 0; i < n; i++) {
    int64_t got = e->stream.read(e->stream.ctx, iov[i].iov_base, iov[i].iov_len);
    if (got < 0) return *total ? E_SUCCESS : (int)-got;
    *total += (uint64_t)got;
    if ((size_t)got < iov[i].iov_len) break;
  }
  return E_SUCCESS;
}

static int stream_write(wasi_fd_t *e, struct iovec *iov, int n, uint64_t *total) {
  *total = 0;
  for (int i = 0; i < n; i++) {
    if (!e->stream.write) {
      if (e->stream.read) return E_BADF;
      *total += iov[i].iov_len; /* null stream: discard */
      continue;
    }
    int64_t put = e->stream.write(e->stream.ctx, iov[i].iov_base, iov[i].iov_len);
    if (put < 0) return *total ? E_SUCCESS : (int)-put;
    *total += (uint64_t)put;
    if ((size_t)put < iov[i].iov_len) break;
  }
  return E_SUCCESS;
}

static int do_rw(wasi_ctx_t *c, const wisp_val_t *args, bool write, bool positional) {
  wasi_fd_t *e;
  uint64_t rights = (write ? R_FD_WRITE : R_FD_READ) | (positional ? R_FD_SEEK : 0);
  int rc = get_file(c, ARG_U32(0), 0, &e);
  if (rc) return rc;
  /* Reading a descriptor not open for reading (or writing one not open for
   * writing) is EBADF, as POSIX and the other preview1 hosts report it. */
  if (!(e->rights_base & (write ? R_FD_WRITE : R_FD_READ))) return E_BADF;
  if ((e->rights_base & rights) != rights) {
    if (positional && e->kind != WASI_FD_FILE) return E_SPIPE;
    return E_NOTCAPABLE;
  }
  uint32_t outp = positional ? ARG_U32(4) : ARG_U32(3);
  if (!wasi_mem_ok(c, outp, 4)) return E_FAULT;
  struct iovec iov[1024];
  int n;
  if ((rc = wasi__iovecs(c, ARG_U32(1), ARG_U32(2), iov, &n))) return rc;
  int64_t off = positional ? (int64_t)ARG_U64(3) : 0;
  if (off < 0) return E_INVAL;
  uint64_t total = 0;
  if (e->host < 0) {
    if (positional) return E_SPIPE;
    rc = write ? stream_write(e, iov, n, &total) : stream_read(e, iov, n, &total);
    if (rc == E_AGAIN && c->wasi->suspend && !(e->fdflags & FDFLAG_NONBLOCK)) {
      c->wasi->pending.wake_ns = wasi__wake_time(c->wasi, -1); /* the embedder knows when */
      return WASI_SUSPEND;
    }
    if (rc) return rc;
  } else {
    ssize_t got;
    if ((rc = wasi__wait_ready(c->wasi, e, write ? POLLOUT : POLLIN))) return rc;
    do {
      if (write && positional)
        /* POSIX pwrite writes at the offset even in append mode; Linux needs the flag. */
        got = pwritev2(e->host, iov, n, off, (e->fdflags & FDFLAG_APPEND) ? RWF_NOAPPEND : 0);
      else if (write && e->kind == WASI_FD_SOCKET)
        /* never SIGPIPE: a peer that went away is EPIPE for the guest, not death for the host */
        got = sendmsg(e->host, &(struct msghdr){.msg_iov = iov, .msg_iovlen = (size_t)n}, MSG_NOSIGNAL);
      else if (write)
        got = writev(e->host, iov, n);
      else if (positional)
        got = preadv(e->host, iov, n, off);
      else
        got = readv(e->host, iov, n);
    } while (got < 0 && errno == EINTR);
    if (got < 0 && write && positional && errno == EOPNOTSUPP)
      got = pwritev(e->host, iov, n, off);
    if (got < 0) {
      if (errno == EISDIR) return E_BADF;
      return wasi__errno(errno);
    }
    total = (uint64_t)got;
  }
  wasi_put_u32(c, outp, (uint32_t)total);
  return E_SUCCESS;
}

static int f_fd_read(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) { return do_rw(c, args, false, false); }
static int f_fd_write(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) { return do_rw(c, args, true, false); }
static int f_fd_pread(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) { return do_rw(c, args, false, true); }
static int f_fd_pwrite(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) { return do_rw(c, args, true, true); }

static int f_fd_seek(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  int64_t off = (int64_t)ARG_U64(1);
  uint32_t whence = ARG_U32(2), p = ARG_U32(3);
  uint64_t need = (off == 0 && whence == 1) ? R_FD_TELL : R_FD_SEEK;
  int rc = get_file(c, ARG_U32(0), 0, &e);
  if (rc) return rc;
  if (e->host < 0 || e->kind == WASI_FD_SOCKET || e->filetype == FT_CHARACTER_DEVICE ||
      e->filetype == FT_UNKNOWN)
    return E_SPIPE; /* not seekable, whatever the rights say */
  if ((e->rights_base & need) != need && (e->rights_base & R_FD_SEEK) == 0) return E_NOTCAPABLE;
  int hw;
  switch (whence) {
    case 0: hw = SEEK_SET; break;
    case 1: hw = SEEK_CUR; break;
    case 2: hw = SEEK_END; break;
    default: return E_INVAL;
  }
  if (!wasi_mem_ok(c, p, 8)) return E_FAULT;
  off_t r = lseek(e->host, off, hw);
  if (r < 0) return wasi__errno(errno);
  wasi_put_u64(c, p, (uint64_t)r);
  return E_SUCCESS;
}

static int f_fd_tell(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  uint32_t p = ARG_U32(1);
  int rc = get_file(c, ARG_U32(0), 0, &e);
  if (rc) return rc;
  if (e->host < 0 || e->kind == WASI_FD_SOCKET || e->filetype == FT_CHARACTER_DEVICE ||
      e->filetype == FT_UNKNOWN)
    return E_SPIPE;
  if (!(e->rights_base & (R_FD_TELL | R_FD_SEEK))) return E_NOTCAPABLE;
  if (!wasi_mem_ok(c, p, 8)) return E_FAULT;
  off_t r = lseek(e->host, 0, SEEK_CUR);
  if (r < 0) return wasi__errno(errno);
  wasi_put_u64(c, p, (uint64_t)r);
  return E_SUCCESS;
}

static int f_fd_prestat_get(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  uint32_t p = ARG_U32(1);
  int rc = get_fd(c, ARG_U32(0), 0, &e);
  if (rc) return rc;
  if (!e->preopen_name) return E_BADF;
  if (!wasi_mem_ok(c, p, 8)) return E_FAULT;
  wasi_put_u32(c, p, 0); /* tag 0: dir, and padding */
  wasi_put_u32(c, p + 4, (uint32_t)strlen(e->preopen_name));
  return E_SUCCESS;
}

static int f_fd_prestat_dir_name(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  uint32_t p = ARG_U32(1), len = ARG_U32(2);
  int rc = get_fd(c, ARG_U32(0), 0, &e);
  if (rc) return rc;
  if (!e->preopen_name) return E_BADF;
  size_t n = strlen(e->preopen_name);
  if (len < n) return E_NAMETOOLONG;
  if (!wasi_mem_ok(c, p, n)) return E_FAULT;
  memcpy(c->mem + p, e->preopen_name, n);
  return E_SUCCESS;
}

static int f_fd_renumber(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *from, *to;
  int rc = get_fd(c, ARG_U32(0), 0, &from);
  if (rc) return rc;
  if ((rc = get_fd(c, ARG_U32(1), 0, &to))) return rc;
  if (from == to) return E_SUCCESS;
  wasi__fd_release(to);
  *to = *from;
  memset(from, 0, sizeof *from);
  from->kind = WASI_FD_FREE;
  from->host = -1;
  return E_SUCCESS;
}

static uint8_t dirent_type(int dfd, const struct dirent *de) {
  switch (de->d_type) {
    case DT_REG: return FT_REGULAR_FILE;
    case DT_DIR: return FT_DIRECTORY;
    case DT_LNK: return FT_SYMBOLIC_LINK;
    case DT_CHR: return FT_CHARACTER_DEVICE;
    case DT_BLK: return FT_BLOCK_DEVICE;
    case DT_SOCK: return FT_SOCKET_STREAM;
    default: {
      struct stat st;
      if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) return wasi__filetype_of_mode(st.st_mode);
      return FT_UNKNOWN;
    }
  }
}

/* The directory stream of `e` positioned at `cookie` (entry index): the
 * cached one when the guest continues where the last call stopped, else a
 * fresh one skipped forward. NULL with errno on failure. */
static DIR *dir_at_cookie(wasi_fd_t *e, uint64_t cookie) {
  if (e->dir && e->dir_next == cookie) return e->dir;
  if (e->dir) closedir(e->dir);
  e->dir = NULL;
  int dfd = openat(e->host, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return NULL;
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return NULL;
  }
  uint64_t index = 0;
  while (index < cookie && readdir(d)) index++;
  e->dir = d;
  e->dir_next = index;
  return d;
}

/* fd_readdir: the cookie of entry i is i + 1 (valid while the directory is
 * not modified, the preview1 contract). The stream stays open between calls
 * so a listing continued from the last complete entry costs no rescan; an
 * entry that does not fit is written partly (the buffer is then full, which
 * tells the guest to call again) and read again next time. */
static int f_fd_readdir(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *e;
  uint32_t buf = ARG_U32(1), len = ARG_U32(2), usedp = ARG_U32(4);
  uint64_t cookie = ARG_U64(3);
  int rc = get_dir(c, ARG_U32(0), R_FD_READDIR, &e);
  if (rc) return rc;
  if (!wasi_mem_ok(c, buf, len) || !wasi_mem_ok(c, usedp, 4)) return E_FAULT;
  DIR *d = dir_at_cookie(e, cookie);
  if (!d) return wasi__errno(errno);
  uint32_t used = 0;
  while (used < len) {
    long pos = telldir(d);
    struct dirent *de = readdir(d);
    if (!de) break;
    uint64_t index = e->dir_next + 1, ino = de->d_ino;
    uint32_t nl = (uint32_t)strlen(de->d_name);
    uint8_t hdr[24] = {0};
    memcpy(hdr, &index, 8);
    memcpy(hdr + 8, &ino, 8);
    memcpy(hdr + 16, &nl, 4);
    hdr[20] = dirent_type(dirfd(d), de);
    uint32_t n = len - used < 24 ? len - used : 24;
    memcpy(c->mem + buf + used, hdr, n);
    used += n;
    n = len - used < nl ? len - used : nl;
    memcpy(c->mem + buf + used, de->d_name, n);
    used += n;
    if (n < nl || used == len) {
      if (n < nl) seekdir(d, pos); /* cut short: deliver it again */
      else e->dir_next = index;
      break;
    }
    e->dir_next = index;
  }
  wasi_put_u32(c, usedp, used);
  return E_SUCCESS;
}

/* ---- path operations ------------------------------------------------------ */

static bool is_dir_at(int dirfd, const char *name, bool follow) {
  struct stat st;
  return fstatat(dirfd, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static bool exists_at(int dirfd, const char *name) {
  struct stat st;
  return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int f_path_create_directory(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *d;
  wasi_resolved_t r;
  int rc = get_dir(c, ARG_U32(0), R_PATH_CREATE_DIRECTORY, &d);
  if (rc) return rc;
  if ((rc = resolve(c, d, ARG_U32(1), ARG_U32(2), false, &r))) return rc;
  if (d->read_only) rc = exists_at(r.dirfd, r.name) ? E_EXIST : E_ROFS;
  else if (mkdirat(r.dirfd, r.name, 0777) < 0) rc = wasi__errno(errno);
  wasi__resolved_close(&r);
  return rc;
}

static int f_path_filestat_get(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *d;
  wasi_resolved_t r;
  uint32_t p = ARG_U32(4);
  int rc = get_dir(c, ARG_U32(0), R_PATH_FILESTAT_GET, &d);
  if (rc) return rc;
  if (!wasi_mem_ok(c, p, FILESTAT_SIZE)) return E_FAULT;
  if ((rc = resolve(c, d, ARG_U32(2), ARG_U32(3), ARG_U32(1) & LOOKUP_FOLLOW, &r))) return rc;
  struct stat st;
  if (fstatat(r.dirfd, r.name, &st, AT_SYMLINK_NOFOLLOW) < 0) rc = wasi__errno(errno);
  else if (r.trailing_slash && !S_ISDIR(st.st_mode)) rc = E_NOTDIR;
  else put_filestat(c, p, &st);
  wasi__resolved_close(&r);
  return rc;
}

static int f_path_filestat_set_times(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *d;
  wasi_resolved_t r;
  struct timespec ts[2];
  int rc = get_dir(c, ARG_U32(0), R_PATH_FILESTAT_SET_TIMES, &d);
  if (rc) return rc;
  if ((rc = make_times(ARG_U64(4), ARG_U64(5), ARG_U32(6), ts))) return rc;
  if ((rc = resolve(c, d, ARG_U32(2), ARG_U32(3), ARG_U32(1) & LOOKUP_FOLLOW, &r))) return rc;
  if (d->read_only) rc = E_ROFS;
  else if (utimensat(r.dirfd, r.name, ts, AT_SYMLINK_NOFOLLOW) < 0) rc = wasi__errno(errno);
  wasi__resolved_close(&r);
  return rc;
}

static int f_path_link(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *od, *nd;
  wasi_resolved_t ro, rn = {.dirfd = -1};
  int rc = get_dir(c, ARG_U32(0), R_PATH_LINK_SOURCE, &od);
  if (rc) return rc;
  if ((rc = get_dir(c, ARG_U32(4), R_PATH_LINK_TARGET, &nd))) return rc;
  if ((rc = resolve(c, od, ARG_U32(2), ARG_U32(3), ARG_U32(1) & LOOKUP_FOLLOW, &ro))) return rc;
  if ((rc = resolve(c, nd, ARG_U32(5), ARG_U32(6), false, &rn))) goto done;
  if (nd->read_only) {
    rc = E_ROFS;
  } else if (ro.trailing_slash) {
    /* "file/" names a directory that is not there; directories cannot be linked */
    rc = is_dir_at(ro.dirfd, ro.name, false) ? E_PERM : (exists_at(ro.dirfd, ro.name) ? E_NOTDIR : E_NOENT);
  } else if (rn.trailing_slash) {
    rc = exists_at(rn.dirfd, rn.name) ? E_EXIST : E_NOENT; /* as linkat(2) reports it */
  } else if (linkat(ro.dirfd, ro.name, rn.dirfd, rn.name, 0) < 0) {
    rc = wasi__errno(errno);
  }
done:
  wasi__resolved_close(&ro);
  wasi__resolved_close(&rn);
  return rc;
}

/* Host open(2) flags for path_open. O_NOFOLLOW always: a final symlink was
 * already followed by the walk when the guest asked for that. O_NONBLOCK
 * always, so opening a FIFO cannot hang the thread; open_entry clears it
 * again unless the guest asked for it. */
static int open_flags(uint32_t oflags, uint32_t fdflags, bool want_read, bool want_write,
                      bool trailing_slash) {
  int hf = O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
  if ((oflags & OFLAG_DIRECTORY) || trailing_slash) hf |= O_DIRECTORY;
  if (oflags & OFLAG_CREAT) hf |= O_CREAT;
  if (oflags & OFLAG_EXCL) hf |= O_EXCL;
  if (oflags & OFLAG_TRUNC) hf |= O_TRUNC;
  if (fdflags & FDFLAG_APPEND) hf |= O_APPEND;
  if (fdflags & FDFLAG_DSYNC) hf |= O_DSYNC;
  if (fdflags & FDFLAG_SYNC) hf |= O_SYNC;
  if (fdflags & FDFLAG_RSYNC) hf |= O_RSYNC;
  if (want_write) hf |= want_read ? O_RDWR : O_WRONLY;
  else hf |= O_RDONLY;
  return hf;
}

/* Fills the table entry of `fd`, just opened beneath directory `d`: its kind
 * from fstat, its rights the requested ones within what `d` may hand on. */
static int open_entry(int fd, const wasi_fd_t *d, uint64_t base, uint64_t inh, uint32_t fdflags,
                      wasi_fd_t *ne) {
  struct stat st;
  if (fstat(fd, &st) < 0) return wasi__errno(errno);
  if (!(fdflags & FDFLAG_NONBLOCK)) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  }
  *ne = (wasi_fd_t){.owned = true, .read_only = d->read_only, .host = fd,
                    .fdflags = (uint16_t)fdflags, .filetype = wasi__filetype_of_mode(st.st_mode)};
  if (S_ISDIR(st.st_mode)) {
    ne->kind = WASI_FD_DIR;
    ne->rights_base = base & d->rights_inheriting & R_DIR_BASE;
    ne->rights_inheriting = inh & d->rights_inheriting;
  } else {
    ne->kind = WASI_FD_FILE;
    ne->rights_base = base & d->rights_inheriting & (R_FILE_BASE | R_SOCK_BASE);
    if (!S_ISREG(st.st_mode)) ne->rights_base &= ~(R_FD_SEEK | R_FD_TELL);
  }
  return E_SUCCESS;
}

static int f_path_open(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *d;
  wasi_resolved_t r;
  uint32_t dirflags = ARG_U32(1), oflags = ARG_U32(4), fdflags = ARG_U32(7), fdp = ARG_U32(8);
  uint64_t base = ARG_U64(5), inh = ARG_U64(6);
  uint64_t need = R_PATH_OPEN;
  if (oflags & OFLAG_CREAT) need |= R_PATH_CREATE_FILE;
  if (oflags & OFLAG_TRUNC) need |= R_PATH_FILESTAT_SET_SIZE;
  int rc = get_dir(c, ARG_U32(0), need, &d);
  if (rc) return rc;
  if ((oflags & ~0xFu) || (fdflags & ~0x1Fu)) return E_INVAL;
  if ((oflags & OFLAG_DIRECTORY) && (oflags & OFLAG_TRUNC)) return E_INVAL;
  if (!wasi_mem_ok(c, fdp, 4)) return E_FAULT;
  /* The access mode follows the rights asked for, as wasi-libc computes them. */
  bool want_write = (base & (R_FD_WRITE | R_FD_DATASYNC | R_FD_ALLOCATE | R_FD_FILESTAT_SET_SIZE)) ||
                    (fdflags & FDFLAG_APPEND);
  bool want_read = (base & (R_FD_READ | R_FD_READDIR)) != 0;
  if ((rc = resolve(c, d, ARG_U32(2), ARG_U32(3), dirflags & LOOKUP_FOLLOW, &r))) return rc;

  if (d->read_only && (want_write || (oflags & (OFLAG_CREAT | OFLAG_TRUNC)))) {
    /* Report what a read-only mount would: EEXIST for O_EXCL on an existing name. */
    rc = ((oflags & OFLAG_CREAT) && (oflags & OFLAG_EXCL) && exists_at(r.dirfd, r.name)) ? E_EXIST : E_ROFS;
    wasi__resolved_close(&r);
    return rc;
  }
  int hf = open_flags(oflags, fdflags, want_read, want_write, r.trailing_slash);
  int fd;
  do {
    fd = openat(r.dirfd, r.name, hf, 0666);
  } while (fd < 0 && errno == EINTR);
  rc = fd < 0 ? wasi__errno(errno) : E_SUCCESS;
  wasi__resolved_close(&r);
  if (rc) return rc;
  wasi_fd_t ne;
  uint32_t gfd;
  if ((rc = open_entry(fd, d, base, inh, fdflags, &ne)) || (rc = wasi__fd_add(c->wasi, &ne, &gfd))) {
    close(fd);
    return rc;
  }
  wasi_put_u32(c, fdp, gfd);
  return E_SUCCESS;
}

static int f_path_readlink(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *d;
  wasi_resolved_t r;
  uint32_t buf = ARG_U32(3), len = ARG_U32(4), usedp = ARG_U32(5);
  int rc = get_dir(c, ARG_U32(0), R_PATH_READLINK, &d);
  if (rc) return rc;
  if (!wasi_mem_ok(c, buf, len) || !wasi_mem_ok(c, usedp, 4)) return E_FAULT;
  if ((rc = resolve(c, d, ARG_U32(1), ARG_U32(2), false, &r))) return rc;
  char target[PATH_MAX];
  ssize_t n = readlinkat(r.dirfd, r.name, target, sizeof target);
  if (n < 0) {
    rc = wasi__errno(errno);
  } else if (r.trailing_slash) {
    rc = E_NOTDIR;
  } else {
    uint32_t put = (uint32_t)n < len ? (uint32_t)n : len;
    memcpy(c->mem + buf, target, put);
    wasi_put_u32(c, usedp, put);
  }
  wasi__resolved_close(&r);
  return rc;
}

static int f_path_remove_directory(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *d;
  wasi_resolved_t r;
  int rc = get_dir(c, ARG_U32(0), R_PATH_REMOVE_DIRECTORY, &d);
  if (rc) return rc;
  if ((rc = resolve_entry(c, d, ARG_U32(1), ARG_U32(2), &r))) return rc;
  if (d->read_only) rc = E_ROFS;
  else if (r.trailing_slash && is_link_at(r.dirfd, r.name)) rc = E_NOTDIR; /* as rmdir(2) */
  else if (unlinkat(r.dirfd, r.name, AT_REMOVEDIR) < 0) rc = wasi__errno(errno);
  wasi__resolved_close(&r);
  return rc;
}

static int f_path_rename(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *od, *nd;
  wasi_resolved_t ro, rn = {.dirfd = -1};
  int rc = get_dir(c, ARG_U32(0), R_PATH_RENAME_SOURCE, &od);
  if (rc) return rc;
  if ((rc = get_dir(c, ARG_U32(3), R_PATH_RENAME_TARGET, &nd))) return rc;
  if ((rc = resolve(c, od, ARG_U32(1), ARG_U32(2), false, &ro))) return rc;
  if ((rc = resolve(c, nd, ARG_U32(4), ARG_U32(5), false, &rn))) goto done;
  if (od->read_only || nd->read_only) {
    rc = E_ROFS;
  } else if ((ro.trailing_slash || rn.trailing_slash) && !is_dir_at(ro.dirfd, ro.name, false)) {
    rc = exists_at(ro.dirfd, ro.name) ? E_NOTDIR : E_NOENT;
  } else if (renameat(ro.dirfd, ro.name, rn.dirfd, rn.name) < 0) {
    rc = wasi__errno(errno);
  }
done:
  wasi__resolved_close(&ro);
  wasi__resolved_close(&rn);
  return rc;
}

static int f_path_symlink(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *d;
  wasi_resolved_t r;
  uint32_t tp = ARG_U32(0), tl = ARG_U32(1);
  int rc = get_dir(c, ARG_U32(2), R_PATH_SYMLINK, &d);
  if (rc) return rc;
  if (!wasi_mem_ok(c, tp, tl)) return E_FAULT;
  if (tl >= PATH_MAX) return E_NAMETOOLONG;
  char target[PATH_MAX];
  memcpy(target, c->mem + tp, tl);
  target[tl] = '\0';
  if (memchr(target, '\0', tl)) return E_INVAL;
  if ((rc = resolve(c, d, ARG_U32(3), ARG_U32(4), false, &r))) return rc;
  if (tl > 0 && target[0] == '/') rc = E_NOTCAPABLE; /* would name a host path */
  else if (d->read_only) rc = exists_at(r.dirfd, r.name) ? E_EXIST : E_ROFS;
  else if (r.trailing_slash) rc = exists_at(r.dirfd, r.name) ? E_EXIST : E_NOENT;
  else if (symlinkat(target, r.dirfd, r.name) < 0) rc = wasi__errno(errno);
  wasi__resolved_close(&r);
  return rc;
}

static int f_path_unlink_file(wasi_ctx_t *c, const wisp_val_t *args, wisp_val_t *res) {
  wasi_fd_t *d;
  wasi_resolved_t r;
  int rc = get_dir(c, ARG_U32(0), R_PATH_UNLINK_FILE, &d);
  if (rc) return rc;
  if ((rc = resolve_entry(c, d, ARG_U32(1), ARG_U32(2), &r))) return rc;
  if (d->read_only) rc = E_ROFS;
  else if (r.trailing_slash) rc = is_dir_at(r.dirfd, r.name, false) ? E_ISDIR : (exists_at(r.dirfd, r.name) ? E_NOTDIR : E_NOENT);
  else if (unlinkat(r.dirfd, r.name, 0) < 0) rc = wasi__errno(errno);
  wasi__resolved_close(&r);
  return rc;
}

const wasi_func_def_t wasi__fs_funcs[] = {
    {"fd_advise", "iIIi", "i", f_fd_advise},
    {"fd_allocate", "iII", "i", f_fd_allocate},
    {"fd_close", "i", "i", f_fd_close},
    {"fd_datasync", "i", "i", f_fd_datasync},
    {"fd_fdstat_get", "ii", "i", f_fd_fdstat_get},
    {"fd_fdstat_set_flags", "ii", "i", f_fd_fdstat_set_flags},
    {"fd_fdstat_set_rights", "iII", "i", f_fd_fdstat_set_rights},
    {"fd_filestat_get", "ii", "i", f_fd_filestat_get},
    {"fd_filestat_set_size", "iI", "i", f_fd_filestat_set_size},
    {"fd_filestat_set_times", "iIIi", "i", f_fd_filestat_set_times},
    {"fd_pread", "iiiIi", "i", f_fd_pread},
    {"fd_prestat_get", "ii", "i", f_fd_prestat_get},
    {"fd_prestat_dir_name", "iii", "i", f_fd_prestat_dir_name},
    {"fd_pwrite", "iiiIi", "i", f_fd_pwrite},
    {"fd_read", "iiii", "i", f_fd_read},
    {"fd_readdir", "iiiIi", "i", f_fd_readdir},
    {"fd_renumber", "ii", "i", f_fd_renumber},
    {"fd_seek", "iIii", "i", f_fd_seek},
    {"fd_sync", "i", "i", f_fd_sync},
    {"fd_tell", "ii", "i", f_fd_tell},
    {"fd_write", "iiii", "i", f_fd_write},
    {"path_create_directory", "iii", "i", f_path_create_directory},
    {"path_filestat_get", "iiiii", "i", f_path_filestat_get},
    {"path_filestat_set_times", "iiiiIIi", "i", f_path_filestat_set_times},
    {"path_link", "iiiiiii", "i", f_path_link},
    {"path_open", "iiiiiIIii", "i", f_path_open},
    {"path_readlink", "iiiiii", "i", f_path_readlink},
    {"path_remove_directory", "iii", "i", f_path_remove_directory},
    {"path_rename", "iiiiii", "i", f_path_rename},
    {"path_symlink", "iiiii", "i", f_path_symlink},
    {"path_unlink_file", "iii", "i", f_path_unlink_file},
};
const size_t wasi__fs_nfuncs = sizeof wasi__fs_funcs / sizeof wasi__fs_funcs[0];
