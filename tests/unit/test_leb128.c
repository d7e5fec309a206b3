/*
 * test_leb128.c: the LEB128 readers of leb128.h on the edge cases the binary
 * format's malformed tests use: extreme values, non-minimal encodings,
 * encodings one byte too long, unused bits of the final byte, truncation.
 * A failed read must leave the cursor where it was.
 */
#include <inttypes.h>
#include <stdio.h>

#include "leb128.h"

static int passed, failed;

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (cond) {                                                           \
      passed++;                                                           \
    } else {                                                              \
      failed++;                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                     \
  } while (0)

/* Reads an unsigned number of `bits` from bytes[0..len); checks the result
 * code, the value on success and how far the cursor moved. */
static void expect_u(unsigned bits, const uint8_t *bytes, size_t len, int want_rc, uint64_t want) {
  const uint8_t *p = bytes;
  uint64_t v = 0xDEADBEEF;
  int rc = wisp__leb_u(&p, bytes + len, bits, &v);
  if (rc != want_rc) fprintf(stderr, "  u%u: rc %d, expected %d\n", bits, rc, want_rc);
  CHECK(rc == want_rc);
  if (want_rc == WISP_LEB_OK) {
    if (v != want) fprintf(stderr, "  u%u: value %" PRIu64 ", expected %" PRIu64 "\n", bits, v, want);
    CHECK(v == want);
    CHECK(p == bytes + len);
  } else {
    CHECK(p == bytes);
  }
}

static void expect_s(unsigned bits, const uint8_t *bytes, size_t len, int want_rc, int64_t want) {
  const uint8_t *p = bytes;
  int64_t v = 0x5EADBEEF;
  int rc = wisp__leb_s(&p, bytes + len, bits, &v);
  if (rc != want_rc) fprintf(stderr, "  s%u: rc %d, expected %d\n", bits, rc, want_rc);
  CHECK(rc == want_rc);
  if (want_rc == WISP_LEB_OK) {
    if (v != want) fprintf(stderr, "  s%u: value %" PRId64 ", expected %" PRId64 "\n", bits, v, want);
    CHECK(v == want);
    CHECK(p == bytes + len);
  } else {
    CHECK(p == bytes);
  }
}

#define U(bits, rc, want, ...) \
  expect_u(bits, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}), rc, want)
#define S(bits, rc, want, ...) \
  expect_s(bits, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}), rc, want)

static void test_u32(void) {
  U(32, WISP_LEB_OK, 0, 0x00);
  U(32, WISP_LEB_OK, 127, 0x7F);
  U(32, WISP_LEB_OK, 128, 0x80, 0x01);
  U(32, WISP_LEB_OK, 624485, 0xE5, 0x8E, 0x26);
  U(32, WISP_LEB_OK, UINT32_MAX, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F);
  /* non-minimal but within 5 bytes: allowed */
  U(32, WISP_LEB_OK, 2, 0x82, 0x00);
  U(32, WISP_LEB_OK, 2, 0x82, 0x80, 0x80, 0x80, 0x00);
  U(32, WISP_LEB_OK, 0, 0x80, 0x80, 0x80, 0x80, 0x00);
  /* six bytes: too long, even when the value is small */
  U(32, WISP_LEB_LONG, 0, 0x82, 0x80, 0x80, 0x80, 0x80, 0x00);
  U(32, WISP_LEB_LONG, 0, 0x80, 0x80, 0x80, 0x80, 0x80);
  /* unused bits of the fifth byte set */
  U(32, WISP_LEB_LARGE, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F);
  U(32, WISP_LEB_LARGE, 0, 0x82, 0x80, 0x80, 0x80, 0x70);
  U(32, WISP_LEB_LARGE, 0, 0x82, 0x80, 0x80, 0x80, 0x40);
  U(32, WISP_LEB_LARGE, 0, 0x80, 0x80, 0x80, 0x80, 0x10);
  /* truncated */
  U(32, WISP_LEB_END, 0, 0x80);
  U(32, WISP_LEB_END, 0, 0xFF, 0xFF, 0xFF, 0xFF);
  expect_u(32, (const uint8_t[]){0x05}, 0, WISP_LEB_END, 0);
  /* reading stops at the first byte without continuation bit */
  const uint8_t two[] = {0x05, 0x06};
  const uint8_t *p = two;
  uint64_t v;
  CHECK(wisp__leb_u(&p, two + 2, 32, &v) == WISP_LEB_OK && v == 5 && p == two + 1);
}

static void test_u64(void) {
  U(64, WISP_LEB_OK, UINT64_MAX, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01);
  U(64, WISP_LEB_OK, (uint64_t)1 << 63, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01);
  U(64, WISP_LEB_OK, 0x100000000ull, 0x80, 0x80, 0x80, 0x80, 0x10);
  U(64, WISP_LEB_LARGE, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02);
  U(64, WISP_LEB_LONG, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
  U(64, WISP_LEB_END, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80);
}

static void test_s32(void) {
  S(32, WISP_LEB_OK, 0, 0x00);
  S(32, WISP_LEB_OK, 63, 0x3F);
  S(32, WISP_LEB_OK, -64, 0x40);
  S(32, WISP_LEB_OK, -1, 0x7F);
  S(32, WISP_LEB_OK, 64, 0xC0, 0x00);
  S(32, WISP_LEB_OK, -128, 0x80, 0x7F);
  S(32, WISP_LEB_OK, -123456, 0xC0, 0xBB, 0x78);
  S(32, WISP_LEB_OK, INT32_MAX, 0xFF, 0xFF, 0xFF, 0xFF, 0x07);
  S(32, WISP_LEB_OK, INT32_MIN, 0x80, 0x80, 0x80, 0x80, 0x78);
  /* non-minimal encodings of 0 and -1 within 5 bytes */
  S(32, WISP_LEB_OK, 0, 0x80, 0x00);
  S(32, WISP_LEB_OK, -1, 0xFF, 0x7F);
  S(32, WISP_LEB_OK, 0, 0x80, 0x80, 0x80, 0x80, 0x00);
  S(32, WISP_LEB_OK, -1, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F);
  /* too long */
  S(32, WISP_LEB_LONG, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
  S(32, WISP_LEB_LONG, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F);
  /* unused bits must sign-extend bit 31 */
  S(32, WISP_LEB_LARGE, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F); /* 2^32-1 */
  S(32, WISP_LEB_LARGE, 0, 0x80, 0x80, 0x80, 0x80, 0x70); /* -2^32 + ... */
  S(32, WISP_LEB_LARGE, 0, 0x80, 0x80, 0x80, 0x80, 0x08); /* 2^31 */
  S(32, WISP_LEB_LARGE, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x77); /* -2^31-1 */
  S(32, WISP_LEB_END, 0, 0xFF);
  S(32, WISP_LEB_END, 0, 0x80, 0x80, 0x80, 0x80);
}

static void test_s33(void) {
  /* block types: 0x40 is the empty type (-64), type indices are non-negative */
  S(33, WISP_LEB_OK, -64, 0x40);
  S(33, WISP_LEB_OK, 5, 0x05);
  S(33, WISP_LEB_OK, 4294967295ll, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F);
  S(33, WISP_LEB_OK, -4294967296ll, 0x80, 0x80, 0x80, 0x80, 0x70);
  S(33, WISP_LEB_OK, 2147483648ll, 0x80, 0x80, 0x80, 0x80, 0x08);
  S(33, WISP_LEB_LARGE, 0, 0x80, 0x80, 0x80, 0x80, 0x10); /* 2^32 needs 34 bits */
  S(33, WISP_LEB_LARGE, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x6F);
  S(33, WISP_LEB_LONG, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
  S(33, WISP_LEB_END, 0, 0x80, 0x80);
}

static void test_s64(void) {
  S(64, WISP_LEB_OK, INT64_MAX, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00);
  S(64, WISP_LEB_OK, INT64_MIN, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F);
  S(64, WISP_LEB_OK, -1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F);
  S(64, WISP_LEB_OK, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
  S(64, WISP_LEB_OK, 0x100000000ll, 0x80, 0x80, 0x80, 0x80, 0x10);
  S(64, WISP_LEB_OK, -0x100000000ll, 0x80, 0x80, 0x80, 0x80, 0x70);
  S(64, WISP_LEB_LARGE, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01);
  S(64, WISP_LEB_LARGE, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7E);
  S(64, WISP_LEB_LARGE, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x41);
  S(64, WISP_LEB_LONG, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
  S(64, WISP_LEB_LONG, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F);
  S(64, WISP_LEB_END, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF);
}

int main(void) {
  test_u32();
  test_u64();
  test_s32();
  test_s33();
  test_s64();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
