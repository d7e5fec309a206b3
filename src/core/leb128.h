/*
 * leb128.h: bounds-checked readers for the binary format's LEB128 integers.
 *
 * Each reader takes a cursor [*p, end), advances *p past the number on success
 * and returns 0. On failure it returns -1 and leaves *p unchanged; the caller
 * reports "unexpected end" when *p == end, otherwise "integer representation
 * too long" or "integer too large" as the spec's malformed tests name them:
 *   LEB_END      ran past `end`
 *   LEB_LONG     more bytes than ceil(N/7)
 *   LEB_LARGE    unused bits of the final byte are not a sign/zero extension
 */
#ifndef WISP_LEB128_H
#define WISP_LEB128_H

#include <stdint.h>

enum { WISP_LEB_OK = 0, WISP_LEB_END = -1, WISP_LEB_LONG = -2, WISP_LEB_LARGE = -3 };

/* Unsigned, at most `bits` (32 or 64) wide. */
static inline int wisp__leb_u(const uint8_t **p, const uint8_t *end, unsigned bits, uint64_t *out) {
  const uint8_t *q = *p;
  uint64_t result = 0;
  unsigned shift = 0;
  unsigned maxbytes = (bits + 6) / 7;
  for (unsigned i = 0;; i++) {
    if (q >= end) return WISP_LEB_END;
    if (i >= maxbytes) return WISP_LEB_LONG;
    uint8_t byte = *q++;
    if (i == maxbytes - 1) {
      /* final permitted byte: continuation bit set means too long; the bits
       * beyond `bits` must be zero */
      if (byte & 0x80) return WISP_LEB_LONG;
      unsigned used = bits - shift; /* value bits left */
      if (used < 7 && (byte >> used) != 0) return WISP_LEB_LARGE;
    }
    result |= (uint64_t)(byte & 0x7F) << shift;
    shift += 7;
    if (!(byte & 0x80)) break;
  }
  *out = result;
  *p = q;
  return WISP_LEB_OK;
}

/* Signed, at most `bits` (32, 33 or 64) wide. */
static inline int wisp__leb_s(const uint8_t **p, const uint8_t *end, unsigned bits, int64_t *out) {
  const uint8_t *q = *p;
  uint64_t result = 0;
  unsigned shift = 0;
  unsigned maxbytes = (bits + 6) / 7;
  uint8_t byte;
  for (unsigned i = 0;; i++) {
    if (q >= end) return WISP_LEB_END;
    if (i >= maxbytes) return WISP_LEB_LONG;
    byte = *q++;
    if (i == maxbytes - 1) {
      if (byte & 0x80) return WISP_LEB_LONG;
      unsigned used = bits - shift; /* value bits in this byte, including sign */
      if (used < 7) {
        /* bits [used-1, 6] must all equal the sign bit */
        unsigned top = (byte & 0x7F) >> (used - 1);
        if (top != 0 && top != (0x7Fu >> (used - 1)))
          return WISP_LEB_LARGE;
      }
    }
    result |= (uint64_t)(byte & 0x7F) << shift;
    shift += 7;
    if (!(byte & 0x80)) break;
  }
  if (shift < 64 && (byte & 0x40)) result |= ~(uint64_t)0 << shift;
  *out = (int64_t)result;
  *p = q;
  return WISP_LEB_OK;
}

#endif
