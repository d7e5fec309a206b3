/*
 * tar.c: the USTAR reader and writer of deploy bundles (see tar.h).
 *
 * Header layout (POSIX.1-1988 ustar, 512 bytes): name[100] mode[8] uid[8]
 * gid[8] size[12] mtime[12] chksum[8] typeflag[1] linkname[100] magic[6]
 * version[2] uname[32] gname[32] devmajor[8] devminor[8] prefix[155].
 */
#include "tar.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512

static bool all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

/* An octal field: digits, then NULs or spaces. -1 if malformed. */
static int64_t octal(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n && p[i] == ' ') i++;
  if (i == n || p[i] < '0' || p[i] > '7') return -1;
  int64_t v = 0;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
    if (v > (INT64_MAX >> 3)) return -1;
    v = v * 8 + (p[i] - '0');
  }
  for (; i < n; i++)
    if (p[i] != 0 && p[i] != ' ') return -1;
  return v;
}

static size_t field_len(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n && p[i]) i++;
  return i;
}

/* Normalises and checks a name; 0 or -1 with the reason. */
static int check_name(char *name, bool is_dir, const char **why) {
  while (name[0] == '.' && name[1] == '/') memmove(name, name + 2, strlen(name + 2) + 1);
  size_t n = strlen(name);
  if (is_dir)
    while (n && name[n - 1] == '/') name[--n] = '\0';
  if (n == 0 || (is_dir && strcmp(name, ".") == 0)) {
    *why = is_dir ? NULL : "empty name";
    return is_dir ? 0 : -1;
  }
  if (name[0] == '/') {
    *why = "absolute path";
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c < 0x20 || c > 0x7e || c == '\\') {
      *why = "name is not printable ASCII (or has a backslash)";
      return -1;
    }
  }
  const char *p = name;
  while (*p) {
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    if (len == 0) {
      *why = "empty path component";
      return -1;
    }
    if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
      *why = "'.' or '..' in the path (path traversal)";
      return -1;
    }
    p += len + (slash ? 1 : 0);
    if (slash && !*p) {
      *why = "trailing '/' on a file";
      return -1;
    }
  }
  return 0;
}

const tar_entry_t *tar_find(const tar_entry_t *entries, size_t count, const char *name) {
  for (size_t i = 0; i < count; i++)
    if (strcmp(entries[i].name, name) == 0) return &entries[i];
  return NULL;
}

int tar_read(const uint8_t *data, size_t len, size_t max_entry_size, tar_entry_t **out, size_t *count,
             char *err, size_t err_size) {
  *out = NULL;
  *count = 0;
  tar_entry_t *entries = NULL;
  size_t n = 0, cap = 0, pos = 0, index = 0;
  if (len % BLOCK != 0) {
    snprintf(err, err_size, "bundle: not a tar archive (its size %zu is not a multiple of 512)", len);
    return -1;
  }
  for (;; index++) {
    if (pos + BLOCK > len) {
      snprintf(err, err_size, "bundle: truncated tar archive (no end-of-archive marker)");
      goto fail;
    }
    const uint8_t *h = data + pos;
    if (all_zero(h, BLOCK)) {
      if (!all_zero(data + pos, len - pos)) {
        snprintf(err, err_size, "bundle: data after the end-of-archive marker at offset %zu", pos);
        goto fail;
      }
      break;
    }
    char name[TAR_MAX_NAME + 2];
    size_t plen = field_len(h + 345, 155), nlen = field_len(h, 100);
    if (plen)
      snprintf(name, sizeof name, "%.*s/%.*s", (int)plen, (const char *)h + 345, (int)nlen, (const char *)h);
    else
      snprintf(name, sizeof name, "%.*s", (int)nlen, (const char *)h);
    if (memcmp(h + 257, "ustar", 5) != 0) {
      snprintf(err, err_size,
               "bundle: entry %zu ('%.100s'): not a ustar header (bad magic); is this a tar file?", index,
               name);
      goto fail;
    }
    int64_t sum = octal(h + 148, 8);
    int64_t want = 0;
    for (size_t i = 0; i < BLOCK; i++) want += (i >= 148 && i < 156) ? ' ' : h[i];
    if (sum != want) {
      snprintf(err, err_size, "bundle: entry %zu ('%.100s'): header checksum mismatch (corrupt archive)",
               index, name);
      goto fail;
    }
    int64_t size = octal(h + 124, 12);
    if (size < 0) {
      snprintf(err, err_size, "bundle: entry '%s': malformed size field", name);
      goto fail;
    }
    char type = (char)h[156];
    bool is_dir = type == '5';
    if (type == '1' || type == '2') {
      snprintf(err, err_size, "bundle: entry '%s': links are not allowed in a bundle", name);
      goto fail;
    }
    if (type != '0' && type != '\0' && !is_dir) {
      snprintf(
          err, err_size,
          "bundle: entry '%s': entry type '%c' is not allowed (only regular files and directories; write "
          "the archive in plain ustar format)",
          name, type >= 0x20 && type < 0x7f ? type : '?');
      goto fail;
    }
    const char *why = NULL;
    if (strlen(name) > TAR_MAX_NAME || check_name(name, is_dir, &why) < 0) {
      snprintf(err, err_size, "bundle: entry '%s': %s", name, why ? why : "name too long");
      goto fail;
    }
    pos += BLOCK;
    if ((uint64_t)size > len - pos) {
      snprintf(err, err_size, "bundle: entry '%s': its size (%lld bytes) runs past the end of the archive",
               name, (long long)size);
      goto fail;
    }
    if (is_dir) {
      if (size != 0) {
        snprintf(err, err_size, "bundle: directory entry '%s' has data", name);
        goto fail;
      }
      continue;
    }
    if ((uint64_t)size > max_entry_size) {
      snprintf(err, err_size, "bundle: entry '%s' is %lld bytes, more than the limit of %zu", name,
               (long long)size, max_entry_size);
      goto fail;
    }
    if (tar_find(entries, n, name)) {
      snprintf(err, err_size, "bundle: entry '%s' appears twice", name);
      goto fail;
    }
    if (n == TAR_MAX_ENTRIES) {
      snprintf(err, err_size, "bundle: more than %d entries", TAR_MAX_ENTRIES);
      goto fail;
    }
    if (n == cap) {
      cap = cap ? cap * 2 : 8;
      tar_entry_t *grown = realloc(entries, cap * sizeof *grown);
      if (!grown) {
        snprintf(err, err_size, "out of memory");
        goto fail;
      }
      entries = grown;
    }
    size_t name_len = strlen(name);
    if (name_len >= sizeof entries[n].name) { /* the checks above keep it shorter; never truncate */
      snprintf(err, err_size, "bundle: an entry name is longer than %d bytes", TAR_MAX_NAME);
      goto fail;
    }
    memcpy(entries[n].name, name, name_len + 1);
    entries[n].data = data + pos;
    entries[n].size = (size_t)size;
    n++;
    size_t padded = ((size_t)size + BLOCK - 1) / BLOCK * BLOCK;
    if (padded > len - pos) {
      snprintf(err, err_size, "bundle: entry '%s': truncated data", name);
      goto fail;
    }
    pos += padded;
  }
  *out = entries;
  *count = n;
  return 0;
fail:
  free(entries);
  return -1;
}

/* ---- writer ------------------------------------------------------------------ */

static uint8_t *grow(tar_writer_t *w, size_t more) {
  if (w->failed) return NULL;
  if (w->len + more > w->cap) {
    size_t cap = w->cap ? w->cap : 1 << 16;
    while (cap < w->len + more) cap *= 2;
    uint8_t *b = realloc(w->buf, cap);
    if (!b) {
      w->failed = 1;
      return NULL;
    }
    w->buf = b;
    w->cap = cap;
  }
  uint8_t *p = w->buf + w->len;
  memset(p, 0, more);
  w->len += more;
  return p;
}

void tar_write_file(tar_writer_t *w, const char *name, const void *data, size_t size) {
  size_t nl = strlen(name);
  const char *base = name;
  size_t prefix_len = 0;
  if (nl > 100) { /* split at a '/' so that the rest fits in name[100] */
    const char *cut = NULL;
    for (const char *p = name; *p; p++)
      if (*p == '/' && (size_t)(p - name) <= 155 && strlen(p + 1) <= 100 && p > name) {
        cut = p;
        break;
      }
    if (!cut) {
      w->failed = 1;
      return;
    }
    prefix_len = (size_t)(cut - name);
    base = cut + 1;
  }
  uint8_t *h = grow(w, BLOCK);
  if (!h) return;
  memcpy(h, base, strlen(base));
  memcpy(h + 100, "0000644", 7);
  memcpy(h + 108, "0000000", 7);
  memcpy(h + 116, "0000000", 7);
  snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
  memcpy(h + 136, "00000000000", 11);
  h[156] = '0';
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memcpy(h + 345, name, prefix_len);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < BLOCK; i++) sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
  h[155] = ' ';
  size_t padded = (size + BLOCK - 1) / BLOCK * BLOCK;
  uint8_t *d = grow(w, padded);
  if (d && size) memcpy(d, data, size);
}

int tar_finish(tar_writer_t *w) {
  grow(w, 2 * BLOCK);
  return w->failed ? -1 : 0;
}

void tar_writer_free(tar_writer_t *w) {
  free(w->buf);
  *w = (tar_writer_t){0};
}
