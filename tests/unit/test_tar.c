/*
 * test_tar.c: the deploy bundle's ustar reader and writer (src/admin/tar.c):
 * round trips (short names, names split into the prefix field, empty and
 * multi-block files), each refusal the reader promises (with its message),
 * and every single-byte change of a valid archive's headers and every
 * truncation read without a crash (run under ASan in CI).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/tar.c"

static int failures;

#define CHECK(cond, ...)                           \
  do {                                             \
    if (!(cond)) {                                 \
      printf("FAIL: %s:%d: ", __FILE__, __LINE__); \
      printf(__VA_ARGS__);                         \
      printf("\n");                                \
      failures++;                                  \
    }                                              \
  } while (0)

/* Recomputes a header's checksum after the test edited it. */
static void fix_checksum(uint8_t *h) {
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < 512; i++) sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
  h[155] = ' ';
}

static void expect_refused(const uint8_t *data, size_t len, const char *want, const char *what) {
  tar_entry_t *e = NULL;
  size_t n = 0;
  char err[512] = "";
  int rc = tar_read(data, len, 1 << 20, &e, &n, err, sizeof err);
  CHECK(rc < 0, "%s: accepted", what);
  CHECK(strstr(err, want) != NULL, "%s: message '%s' lacks '%s'", what, err, want);
  CHECK(e == NULL && n == 0, "%s: entries returned on failure", what);
  free(e);
}

int main(void) {
  /* Round trip. */
  char long_name[240];
  memset(long_name, 'a', sizeof long_name);
  memcpy(long_name + 150, "/", 1); /* prefix 150 bytes, name 88 */
  long_name[sizeof long_name - 1] = '\0';
  static uint8_t big[5000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7);
  tar_writer_t w = {0};
  tar_write_file(&w, "wisp.toml", "name = 1\n", 9);
  tar_write_file(&w, "dir/empty.txt", "", 0);
  tar_write_file(&w, long_name, big, sizeof big);
  CHECK(tar_finish(&w) == 0, "writer failed");
  CHECK(w.len % 512 == 0, "archive size %zu", w.len);
  tar_entry_t *e = NULL;
  size_t n = 0;
  char err[512] = "";
  CHECK(tar_read(w.buf, w.len, 1 << 20, &e, &n, err, sizeof err) == 0, "read back: %s", err);
  CHECK(n == 3, "3 entries, got %zu", n);
  const tar_entry_t *t = tar_find(e, n, "wisp.toml");
  CHECK(t && t->size == 9 && memcmp(t->data, "name = 1\n", 9) == 0, "wisp.toml content");
  t = tar_find(e, n, "dir/empty.txt");
  CHECK(t && t->size == 0, "empty file");
  t = tar_find(e, n, long_name);
  CHECK(t && t->size == sizeof big && memcmp(t->data, big, sizeof big) == 0, "long name split into prefix");
  free(e);
  /* A name with no '/' to split at is refused by the writer. */
  tar_writer_t w2 = {0};
  char flat[150];
  memset(flat, 'b', sizeof flat - 1);
  flat[sizeof flat - 1] = '\0';
  tar_write_file(&w2, flat, "x", 1);
  CHECK(tar_finish(&w2) < 0, "unsplittable long name accepted by the writer");
  tar_writer_free(&w2);

  /* Refusals, each from a copy of the valid archive. */
  size_t len = w.len;
  uint8_t *c = malloc(len);
  memcpy(c, w.buf, len);
  c[100] ^= 1; /* mode field, checksum not fixed */
  expect_refused(c, len, "checksum", "bad checksum");
  memcpy(c, w.buf, len);
  memcpy(c + 257, "ustaX", 5);
  fix_checksum(c);
  expect_refused(c, len, "magic", "bad magic");
  const char *names[] = {"../x", "a/../b", "/etc/passwd", "a//b", "./.", "a/./b", "bad\\name"};
  const char *whys[] = {"traversal", "traversal", "absolute", "empty path component",
                        "traversal", "traversal", "printable"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    memcpy(c, w.buf, len);
    memset(c, 0, 100);
    memcpy(c, names[i], strlen(names[i]));
    fix_checksum(c);
    expect_refused(c, len, whys[i], names[i]);
  }
  const char types[] = {'1', '2', '3', '4', '6', 'x', 'g', 'L'};
  for (size_t i = 0; i < sizeof types; i++) {
    memcpy(c, w.buf, len);
    c[156] = (uint8_t)types[i];
    fix_checksum(c);
    expect_refused(c, len, types[i] == '1' || types[i] == '2' ? "links" : "entry type", "entry type");
  }
  memcpy(c, w.buf, len);
  expect_refused(c, len - 1024, "end-of-archive", "no end marker");
  expect_refused(c, len - 100, "multiple of 512", "odd size");
  expect_refused(c, 512 * 4, "past the end", "truncated in a file's data");
  tar_entry_t *few = NULL;
  CHECK(tar_read(w.buf, w.len, 100, &few, &n, err, sizeof err) < 0 && strstr(err, "more than the limit"),
        "oversized entry: %s", err);
  free(few);
  uint8_t *tail = calloc(1, len + 512);
  memcpy(tail, w.buf, len);
  tail[len + 10] = 1;
  expect_refused(tail, len + 512, "after the end-of-archive", "data after the end");
  free(tail);
  tar_writer_t d = {0};
  tar_write_file(&d, "x", "1", 1);
  tar_write_file(&d, "./x", "2", 1);
  tar_finish(&d);
  expect_refused(d.buf, d.len, "twice", "duplicate");
  tar_writer_free(&d);

  /* Every byte of the first two headers changed (with and without a fixed
   * checksum), and every truncation: an answer each time, never a crash. */
  size_t accepted = 0, refused = 0;
  for (size_t pos = 0; pos < len; pos++) {
    if (pos >= 1024 && pos % 512 != 0 && pos % 97 != 0) continue;
    for (int fix = 0; fix < 2; fix++) {
      memcpy(c, w.buf, len);
      c[pos] ^= 0xA5;
      if (fix && pos < 1024 && (pos < 148 || pos >= 156)) fix_checksum(c + (pos / 512) * 512);
      tar_entry_t *m = NULL;
      size_t mn = 0;
      if (tar_read(c, len, 1 << 20, &m, &mn, err, sizeof err) == 0)
        accepted++;
      else
        refused++;
      free(m);
    }
  }
  for (size_t cut = 0; cut < len; cut += 512) {
    tar_entry_t *m = NULL;
    size_t mn = 0;
    if (tar_read(w.buf, cut, 1 << 20, &m, &mn, err, sizeof err) == 0)
      accepted++;
    else
      refused++;
    free(m);
  }
  CHECK(refused > 0, "mutants: none refused");
  printf("tar: mutants and truncations: %zu read, %zu refused\n", accepted, refused);
  free(c);
  tar_writer_free(&w);
  if (failures) {
    printf("%d check(s) failed\n", failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}
