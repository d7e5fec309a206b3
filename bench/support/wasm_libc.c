/*
 * wasm_libc.c: the few libc functions a kernel built with -nostdlib for wasm32
 * may still reference (clang turns struct copies and zeroing loops into
 * memcpy/memset calls). Linked into the .wasm builds only; native builds use
 * the system libc.
 */
#include <stddef.h>

void *memset(void *dst, int c, size_t n) {
  unsigned char *d = dst;
  while (n--) *d++ = (unsigned char)c;
  return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  while (n--) *d++ = *s++;
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (d < s) {
    while (n--) *d++ = *s++;
  } else {
    while (n--) d[n] = s[n];
  }
  return dst;
}
