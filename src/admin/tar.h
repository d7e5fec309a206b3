/*
 * tar.h: the deploy bundle format: a strict reader and a small writer of
 * POSIX USTAR archives (regular files and directories only).
 *
 * The reader refuses, with a message naming the entry: a bad header
 * checksum or magic, absolute names, "." or ".." components, empty
 * components, names that are not printable ASCII, links and every other
 * entry type (devices, FIFOs, pax or GNU extension headers), an entry larger
 * than the per-entry limit, a size running past the end, the same name twice,
 * more than TAR_MAX_ENTRIES entries, and a missing end-of-archive marker or
 * data after it. Entries point into the caller's buffer (no copy).
 */
#ifndef WISP_ADMIN_TAR_H
#define WISP_ADMIN_TAR_H

#include <stddef.h>
#include <stdint.h>

#define TAR_MAX_ENTRIES 1024
#define TAR_MAX_NAME    255

typedef struct tar_entry {
  char name[TAR_MAX_NAME + 1]; /* normalised: no leading "./", no trailing '/' */
  const uint8_t *data;
  size_t size;
} tar_entry_t;

/* Reads the archive in data[0..len): regular files go to *entries (malloc'd
 * array, the caller frees it; directories are skipped), *count set. 0, or -1
 * with a message in err. */
int tar_read(const uint8_t *data, size_t len, size_t max_entry_size, tar_entry_t **entries /* OUT */,
             size_t *count /* OUT */, char *err, size_t err_size);

/* The entry named name, or NULL. */
const tar_entry_t *tar_find(const tar_entry_t *entries, size_t count, const char *name);

/* A growing archive in memory. */
typedef struct tar_writer {
  uint8_t *buf;
  size_t len, cap;
  int failed; /* out of memory or a name too long */
} tar_writer_t;

/* Appends a regular file (mode 0644); name up to 255 bytes (split into the
 * ustar prefix and name fields at a '/'). */
void tar_write_file(tar_writer_t *w, const char *name, const void *data, size_t size);
/* Appends the end-of-archive marker. 0, or -1 if anything failed. */
int tar_finish(tar_writer_t *w);
void tar_writer_free(tar_writer_t *w);

#endif
