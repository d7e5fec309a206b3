/*
 * strings.c: text processing over 1 MiB of generated words: word and line
 * counting, naive substring search and a word-frequency hash table.
 */
#include "common.h"

#define TEXT_SIZE (1u << 20)
#define TABLE_SIZE 4096 /* power of two, well above the vocabulary */

static char text[TEXT_SIZE];

static const char *const vocabulary[] = {
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "wasm", "module",
    "function", "memory", "table", "global", "import", "export", "stack", "frame", "trap",
    "fuel", "instance", "store", "engine", "request", "response", "header", "body", "route",
    "server", "client", "snapshot", "interpreter", "compile", "validate", "decode", "a",
    "an", "of", "to", "in", "is", "it", "and", "or", "not", "lorem", "ipsum", "dolor",
};
#define NWORDS (sizeof vocabulary / sizeof vocabulary[0])

typedef struct slot {
  uint32_t start, len, count;
} slot_t;
static slot_t table[TABLE_SIZE];

static uint32_t str_len(const char *s) {
  uint32_t n = 0;
  while (s[n]) n++;
  return n;
}

static uint32_t generate(uint32_t seed) {
  uint32_t n = 0;
  while (n + 16 < TEXT_SIZE) {
    const char *w = vocabulary[bench_rand(&seed) % NWORDS];
    for (uint32_t k = 0; w[k]; k++) text[n++] = w[k];
    uint32_t r = bench_rand(&seed) % 16;
    text[n++] = r == 0 ? '\n' : r == 1 ? ',' : ' ';
    if (r == 1) text[n++] = ' ';
  }
  return n;
}

static int is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int same(uint32_t a, uint32_t b, uint32_t len) {
  for (uint32_t i = 0; i < len; i++)
    if (text[a + i] != text[b + i]) return 0;
  return 1;
}

/* Counts each distinct word; returns a checksum of (distinct words, counts). */
static uint32_t word_frequencies(uint32_t n) {
  for (uint32_t i = 0; i < TABLE_SIZE; i++) table[i].count = 0;
  uint32_t i = 0, distinct = 0;
  while (i < n) {
    while (i < n && !is_word_char(text[i])) i++;
    uint32_t start = i, h = 2166136261u;
    while (i < n && is_word_char(text[i])) h = (h ^ (uint8_t)text[i++]) * 16777619u;
    uint32_t len = i - start;
    if (len == 0) break;
    for (uint32_t s = h & (TABLE_SIZE - 1);; s = (s + 1) & (TABLE_SIZE - 1)) {
      if (table[s].count == 0) {
        table[s] = (slot_t){start, len, 1};
        distinct++;
        break;
      }
      if (table[s].len == len && same(table[s].start, start, len)) {
        table[s].count++;
        break;
      }
    }
  }
  uint32_t sum = bench_mix(2166136261u, distinct);
  for (uint32_t s = 0; s < TABLE_SIZE; s++)
    if (table[s].count) sum += table[s].count * (table[s].len + 1);
  return sum;
}

static uint32_t count_matches(uint32_t n, const char *pat) {
  uint32_t m = str_len(pat), count = 0;
  for (uint32_t i = 0; i + m <= n; i++) {
    uint32_t k = 0;
    while (k < m && text[i + k] == pat[k]) k++;
    if (k == m) count++;
  }
  return count;
}

static uint32_t count_words_lines(uint32_t n) {
  uint32_t words = 0, lines = 0;
  int in_word = 0;
  for (uint32_t i = 0; i < n; i++) {
    int w = is_word_char(text[i]);
    if (w && !in_word) words++;
    in_word = w;
    if (text[i] == '\n') lines++;
  }
  return words * 31 + lines;
}

static void to_upper_every_other_line(uint32_t n) {
  int odd = 0;
  for (uint32_t i = 0; i < n; i++) {
    char c = text[i];
    if (c == '\n') odd = !odd;
    else if (odd && c >= 'a' && c <= 'z') text[i] = (char)(c - 32);
  }
}

uint32_t run(void) {
  static const char *const patterns[] = {"the", "interpreter", "fox jumps", "e, a", "snapshot\n"};
  uint32_t sum = 2166136261u;
  for (int rep = 0; rep < 3 * BENCH_SCALE; rep++) {
    uint32_t n = generate(0xC0FFEEu + (uint32_t)rep);
    sum = bench_mix(sum, count_words_lines(n));
    for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) sum = bench_mix(sum, count_matches(n, patterns[p]));
    sum = bench_mix(sum, word_frequencies(n));
    to_upper_every_other_line(n);
    sum = bench_mix(sum, word_frequencies(n));
  }
  return sum;
}
