/*
 * toml.c: a TOML 1.0 reader (see toml.h for what it accepts and rejects).
 *
 * One pass over the text, recursive descent for values. Every node, key and
 * string lives in the document's arena, so wisp_toml_free is one walk over a
 * list of blocks. Invariants of the tree while parsing:
 *   - a table's flags say how it came to be: IMPLICIT (made as the parent of a
 *     [header] and not yet defined itself), DEFINED (made by its own [header]),
 *     DOTTED (made by a dotted key such as a.b = 1), INLINE (written { ... },
 *     closed to every later change);
 *   - dotted keys may only walk through tables that dotted keys made, or
 *     that exist only as the parent of a [header] (those become DOTTED, so
 *     no [header] may define them afterwards);
 *   - a [header] may walk through any non-inline table, and through an array
 *     of tables into its last element, but may define a table only once;
 *   - [[header]] may only append to arrays that [[header]] made.
 * Nesting of arrays and inline tables is limited to MAX_DEPTH, so hostile
 * input cannot exhaust the C stack.
 */
#include "toml.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH     64 /* arrays and inline tables nested in each other */
#define MAX_KEY_PARTS 64 /* parts in one dotted key */

/* ---- arena -------------------------------------------------------------- */

typedef struct arena_block {
  struct arena_block *next;
  size_t cap, used;
  _Alignas(16) unsigned char data[];
} arena_block_t;

typedef struct arena {
  arena_block_t *head;
} arena_t;

/* Zeroed, 16-byte aligned memory that lives until arena_free, or NULL. */
static void *arena_alloc(arena_t *arena, size_t size) {
  size = (size + 15) & ~(size_t)15;
  arena_block_t *block = arena->head;
  if (!block || block->cap - block->used < size) {
    size_t cap = size > 8192 ? size : 8192;
    block = malloc(sizeof *block + cap);
    if (!block) return NULL;
    block->cap = cap;
    block->used = 0;
    block->next = arena->head;
    arena->head = block;
  }
  void *at = block->data + block->used;
  block->used += size;
  memset(at, 0, size);
  return at;
}

static void arena_free(arena_t *arena) {
  arena_block_t *block = arena->head;
  while (block) {
    arena_block_t *next = block->next;
    free(block);
    block = next;
  }
  arena->head = NULL;
}

/* ---- tree --------------------------------------------------------------- */

enum {
  TABLE_IMPLICIT = 1,
  TABLE_DEFINED = 2,
  TABLE_DOTTED = 4,
  TABLE_INLINE = 8,
};

typedef struct entry {
  char *key;
  size_t key_length;
  wisp_toml_node_t *value;
} entry_t;

struct wisp_toml_node {
  wisp_toml_type_t type;
  unsigned line, column;
  union {
    struct {
      entry_t *entries;
      size_t count, cap;
      uint32_t *index; /* open addressing; slot = entry number + 1, 0 empty */
      size_t index_cap;
      unsigned flags;
    } table;
    struct {
      wisp_toml_node_t **items;
      size_t count, cap;
      bool of_tables;
    } array;
    struct {
      char *data;
      size_t length;
      wisp_toml_datetime_kind_t kind;
    } string;
    int64_t integer;
    double real;
    bool boolean;
  } as;
};

struct wisp_toml_doc {
  arena_t arena;
  wisp_toml_node_t *root;
};

static uint32_t hash_key(const char *key, size_t length) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < length; i++) {
    h ^= (unsigned char)key[i];
    h *= 16777619u;
  }
  return h;
}

static entry_t *table_find(const wisp_toml_node_t *table, const char *key, size_t length) {
  if (table->as.table.index) {
    size_t mask = table->as.table.index_cap - 1;
    size_t slot = hash_key(key, length) & mask;
    for (;;) {
      uint32_t at = table->as.table.index[slot];
      if (at == 0) return NULL;
      entry_t *e = &table->as.table.entries[at - 1];
      if (e->key_length == length && memcmp(e->key, key, length) == 0) return e;
      slot = (slot + 1) & mask;
    }
  }
  for (size_t i = 0; i < table->as.table.count; i++) {
    entry_t *e = &table->as.table.entries[i];
    if (e->key_length == length && memcmp(e->key, key, length) == 0) return e;
  }
  return NULL;
}

static void index_put(wisp_toml_node_t *table, size_t entry_number) {
  size_t mask = table->as.table.index_cap - 1;
  entry_t *e = &table->as.table.entries[entry_number];
  size_t slot = hash_key(e->key, e->key_length) & mask;
  while (table->as.table.index[slot] != 0) slot = (slot + 1) & mask;
  table->as.table.index[slot] = (uint32_t)(entry_number + 1);
}

/* Adds key (copied into the arena) -> value. The caller checked that key is
 * absent. Returns 0, or -2 when out of memory. */
static int table_add(arena_t *arena, wisp_toml_node_t *table, const char *key, size_t length,
                     wisp_toml_node_t *value) {
  if (table->as.table.count == table->as.table.cap) {
    size_t cap = table->as.table.cap ? table->as.table.cap * 2 : 4;
    entry_t *entries = arena_alloc(arena, cap * sizeof *entries);
    if (!entries) return -2;
    if (table->as.table.count)
      memcpy(entries, table->as.table.entries, table->as.table.count * sizeof *entries);
    table->as.table.entries = entries;
    table->as.table.cap = cap;
  }
  char *copy = arena_alloc(arena, length + 1);
  if (!copy) return -2;
  memcpy(copy, key, length);
  entry_t *e = &table->as.table.entries[table->as.table.count++];
  e->key = copy;
  e->key_length = length;
  e->value = value;
  size_t count = table->as.table.count;
  if (count < 8) return 0;
  if (count * 2 > table->as.table.index_cap) {
    size_t cap = table->as.table.index_cap ? table->as.table.index_cap * 2 : 32;
    uint32_t *index = arena_alloc(arena, cap * sizeof *index);
    if (!index) return -2;
    table->as.table.index = index;
    table->as.table.index_cap = cap;
    for (size_t i = 0; i < count; i++) index_put(table, i);
  } else {
    index_put(table, count - 1);
  }
  return 0;
}

static int array_push(arena_t *arena, wisp_toml_node_t *array, wisp_toml_node_t *item) {
  if (array->as.array.count == array->as.array.cap) {
    size_t cap = array->as.array.cap ? array->as.array.cap * 2 : 4;
    wisp_toml_node_t **items = arena_alloc(arena, cap * sizeof *items);
    if (!items) return -2;
    if (array->as.array.count) memcpy(items, array->as.array.items, array->as.array.count * sizeof *items);
    array->as.array.items = items;
    array->as.array.cap = cap;
  }
  array->as.array.items[array->as.array.count++] = item;
  return 0;
}

/* ---- parser state and errors -------------------------------------------- */

typedef struct key_part {
  const char *text; /* in the arena (quoted keys) or the input (bare keys) */
  size_t length;
  size_t offset; /* where the part starts in the input */
} key_part_t;

typedef struct key {
  key_part_t parts[MAX_KEY_PARTS];
  size_t count;
} dotted_key_t;

typedef struct parser {
  const char *text;
  size_t length;
  size_t pos;
  wisp_toml_doc_t *doc;
  wisp_toml_error_t *error;
  int failed; /* 0, -1 or -2: the first failure wins */
  unsigned depth;
  /* line/column cache for locate(): the line of offset `at` starts at
   * line_start. Offsets asked for are mostly increasing. */
  size_t at, line_start;
  unsigned line;
  /* scratch buffer where string values are unescaped */
  char *buf;
  size_t buf_length, buf_cap;
} parser_t;

static void locate(parser_t *p, size_t offset, unsigned *line, unsigned *column) {
  if (offset > p->length) offset = p->length;
  /* Backwards (a dotted key's tables are made after its value was read):
   * the distance is short, so walk it rather than rescan from the start,
   * which would make many dotted keys quadratic. */
  bool crossed_newline = false;
  while (p->at > offset) {
    p->at--;
    if (p->text[p->at] == '\n') {
      p->line--;
      crossed_newline = true;
    }
  }
  if (crossed_newline) {
    p->line_start = p->at;
    while (p->line_start > 0 && p->text[p->line_start - 1] != '\n') p->line_start--;
  }
  for (; p->at < offset; p->at++) {
    if (p->text[p->at] == '\n') {
      p->line++;
      p->line_start = p->at + 1;
    }
  }
  *line = p->line;
  *column = (unsigned)(offset - p->line_start + 1);
}

/* Records an error at input offset `at` and returns -1. */
__attribute__((format(printf, 3, 4))) static int fail(parser_t *p, size_t at, const char *fmt, ...) {
  if (p->failed) return p->failed;
  p->failed = -1;
  if (!p->error) return -1;
  unsigned line, column;
  locate(p, at, &line, &column);
  char message[200];
  va_list args;
  va_start(args, fmt);
  vsnprintf(message, sizeof message, fmt, args);
  va_end(args);
  p->error->line = line;
  p->error->column = column;
  snprintf(p->error->message, sizeof p->error->message, "line %u, column %u: %s", line, column, message);
  return -1;
}

static int fail_nomem(parser_t *p) {
  if (p->failed) return p->failed;
  p->failed = -2;
  if (p->error) {
    p->error->line = 0;
    p->error->column = 0;
    snprintf(p->error->message, sizeof p->error->message, "out of memory");
  }
  return -2;
}

static wisp_toml_node_t *new_node(parser_t *p, wisp_toml_type_t type, size_t offset) {
  wisp_toml_node_t *node = arena_alloc(&p->doc->arena, sizeof *node);
  if (!node) {
    fail_nomem(p);
    return NULL;
  }
  node->type = type;
  locate(p, offset, &node->line, &node->column);
  return node;
}

/* Describes the byte at offset for a message: 'x', end of file, newline... */
static const char *describe(parser_t *p, size_t offset, char buf[32]) {
  if (offset >= p->length) return "end of file";
  unsigned char c = (unsigned char)p->text[offset];
  if (c == '\n') return "end of line";
  if (c == '\r') return "carriage return";
  if (c < 0x20 || c == 0x7f)
    snprintf(buf, 32, "control character U+%04X", c);
  else if (c >= 0x80) { /* the input is valid UTF-8: show the character */
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    if (n > p->length - offset) n = p->length - offset;
    snprintf(buf, 32, "'%.*s'", (int)n, p->text + offset);
  } else
    snprintf(buf, 32, "'%c'", c);
  return buf;
}

/* Writes a key path (parts [0, count)) for messages, quoting parts that are
 * not bare keys. */
static const char *key_name(const dotted_key_t *key, size_t count, char *out, size_t size) {
  size_t used = 0;
  out[0] = 0;
  for (size_t i = 0; i < count && used + 1 < size; i++) {
    const key_part_t *part = &key->parts[i];
    bool bare = part->length > 0;
    for (size_t j = 0; j < part->length; j++) {
      unsigned char c = (unsigned char)part->text[j];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
            c == '-'))
        bare = false;
    }
    int n = snprintf(out + used, size - used, "%s%s%.*s%s", i ? "." : "", bare ? "" : "\"",
                     (int)(part->length > 60 ? 60 : part->length), part->text, bare ? "" : "\"");
    if (n < 0) break;
    used += (size_t)n;
  }
  return out;
}

static int peek(const parser_t *p) { return p->pos < p->length ? (unsigned char)p->text[p->pos] : -1; }

static int peek_at(const parser_t *p, size_t ahead) {
  return p->pos + ahead < p->length ? (unsigned char)p->text[p->pos + ahead] : -1;
}

static bool is_bare_key_char(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* A control character that may not appear raw in strings or comments. */
static bool is_forbidden_control(int c) { return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f; }

static void skip_ws(parser_t *p) {
  while (p->pos < p->length && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t')) p->pos++;
}

/* At '#': consumes the comment up to (not including) the end of line. */
static int skip_comment(parser_t *p) {
  if (peek(p) != '#') return 0;
  while (p->pos < p->length) {
    int c = (unsigned char)p->text[p->pos];
    if (c == '\n') return 0;
    if (c == '\r') {
      if (peek_at(p, 1) == '\n') return 0;
      return fail(p, p->pos, "carriage return not followed by a newline");
    }
    if (is_forbidden_control(c)) return fail(p, p->pos, "control character U+%04X in a comment", c);
    p->pos++;
  }
  return 0;
}

/* Consumes a newline (LF or CRLF) if one is next. Returns 1 if it did,
 * 0 if not, -1 on a bare CR. */
static int eat_newline(parser_t *p) {
  int c = peek(p);
  if (c == '\n') {
    p->pos++;
    return 1;
  }
  if (c == '\r') {
    if (peek_at(p, 1) == '\n') {
      p->pos += 2;
      return 1;
    }
    return fail(p, p->pos, "carriage return not followed by a newline");
  }
  return 0;
}

/* After a key/value pair or a header: whitespace, a comment, then the end of
 * the line or of the file. */
static int expect_line_end(parser_t *p, const char *after) {
  skip_ws(p);
  if (skip_comment(p)) return -1;
  if (p->pos >= p->length) return 0;
  int r = eat_newline(p);
  if (r < 0) return -1;
  if (r == 0) {
    char buf[32];
    return fail(p, p->pos, "expected the end of the line after %s, found %s", after,
                describe(p, p->pos, buf));
  }
  return 0;
}

/* Inside arrays: whitespace, newlines and comments in any number. */
static int skip_ws_comments_newlines(parser_t *p) {
  for (;;) {
    skip_ws(p);
    if (skip_comment(p)) return -1;
    int r = eat_newline(p);
    if (r < 0) return -1;
    if (r == 0) return 0;
  }
}

/* ---- UTF-8 -------------------------------------------------------------- */

/* Checks that the whole input is UTF-8 without overlongs or surrogates. */
static int check_utf8(parser_t *p) {
  const unsigned char *s = (const unsigned char *)p->text;
  size_t n = p->length;
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t extra;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
      cp = c & 0x1f;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      cp = c & 0x0f;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      cp = c & 0x07;
      min = 0x10000;
    } else {
      return fail(p, i, "invalid UTF-8 byte 0x%02X", c);
    }
    for (size_t k = 1; k <= extra; k++) {
      if (i + k >= n || (s[i + k] & 0xc0) != 0x80) return fail(p, i, "invalid UTF-8 sequence");
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return fail(p, i, "invalid UTF-8 sequence (overlong or not a scalar value)");
    i += extra + 1;
  }
  return 0;
}

/* ---- strings ------------------------------------------------------------ */

static int buf_put(parser_t *p, const char *data, size_t length) {
  if (length == 0) return 0;
  if (p->buf_cap - p->buf_length < length) {
    size_t cap = p->buf_cap ? p->buf_cap : 256;
    while (cap - p->buf_length < length) cap *= 2;
    char *grown = realloc(p->buf, cap);
    if (!grown) return fail_nomem(p);
    p->buf = grown;
    p->buf_cap = cap;
  }
  memcpy(p->buf + p->buf_length, data, length);
  p->buf_length += length;
  return 0;
}

static int buf_put_codepoint(parser_t *p, uint32_t cp) {
  char out[4];
  size_t n;
  if (cp < 0x80) {
    out[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    n = 2;
  } else if (cp < 0x10000) {
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    n = 3;
  } else {
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    n = 4;
  }
  return buf_put(p, out, n);
}

static int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* At the u or U of \uXXXX / \UXXXXXXXX (the backslash is at start): decodes
 * a Unicode scalar value into the buffer. */
static int parse_unicode_escape(parser_t *p, size_t start) {
  int c = peek(p);
  size_t digits = c == 'u' ? 4 : 8;
  uint32_t cp = 0;
  for (size_t i = 1; i <= digits; i++) {
    int h = hex_value(peek_at(p, i));
    if (h < 0) return fail(p, start, "escape \\%c needs %zu hexadecimal digits", c, digits);
    if (cp <= 0x10ffff) cp = cp * 16 + (uint32_t)h; /* past that, only keep scanning */
  }
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return fail(p, start, "escape \\%c%.*s is not a Unicode scalar value", c, (int)digits,
                p->text + p->pos + 1);
  p->pos += digits + 1;
  return buf_put_codepoint(p, cp);
}

/* After a backslash in a multi-line basic string: if only whitespace follows
 * up to the end of the line, skips it and all whitespace and newlines after
 * it and returns 1; otherwise consumes nothing and returns 0; -1 on error. */
static int skip_line_ending_backslash(parser_t *p) {
  size_t save = p->pos;
  skip_ws(p);
  int r = eat_newline(p);
  if (r <= 0) {
    if (r == 0) p->pos = save;
    return r;
  }
  for (;;) {
    skip_ws(p);
    r = eat_newline(p);
    if (r <= 0) return r < 0 ? -1 : 1;
  }
}

/* At a backslash inside a basic string: decodes one escape into the buffer.
 * In a multi-line string a backslash ending a line removes the newline and
 * all whitespace and newlines after it. */
static int parse_escape(parser_t *p, bool multiline) {
  static const char simple_from[] = "btnfr\"\\";
  static const char simple_to[] = "\b\t\n\f\r\"\\";
  size_t start = p->pos;
  p->pos++; /* the backslash */
  int c = peek(p);
  const char *simple = c > 0 ? strchr(simple_from, c) : NULL;
  if (simple) {
    p->pos++;
    return buf_put(p, &simple_to[simple - simple_from], 1);
  }
  if (c == 'u' || c == 'U') return parse_unicode_escape(p, start);
  if (multiline) {
    int r = skip_line_ending_backslash(p);
    if (r != 0) return r < 0 ? -1 : 0;
  }
  char buf[32];
  if (c == -1 || c < 0x20 || c >= 0x7f)
    return fail(p, start, "invalid escape sequence: backslash before %s", describe(p, p->pos, buf));
  return fail(p, start, "invalid escape sequence '\\%c'", c);
}

/* At a quote inside a multi-line string: up to two quotes are content, the
 * next three end the string. Returns 1 when the string ended, 0 when the
 * quotes were content, -1 on error. */
static int multiline_quotes(parser_t *p, char quote) {
  size_t run = 0;
  while (peek_at(p, run) == quote) run++;
  if (run > 5) return fail(p, p->pos + 5, "too many quotes at the end of a multi-line string");
  size_t content = run >= 3 ? run - 3 : run;
  if (buf_put(p, p->text + p->pos, content)) return -1;
  p->pos += run;
  return run >= 3;
}

/* Appends the longest run of plain characters at the current position. */
static int plain_run(parser_t *p, char quote) {
  size_t run = 1;
  while (p->pos + run < p->length) {
    int d = (unsigned char)p->text[p->pos + run];
    if (d == quote || d == '\\' || d == '\n' || d == '\r' || is_forbidden_control(d)) break;
    run++;
  }
  if (buf_put(p, p->text + p->pos, run)) return -1;
  p->pos += run;
  return 0;
}

/* Parses a string at the current position (a quote) into the scratch buffer.
 * allow_multiline is false for keys. */
static int parse_string_raw(parser_t *p, bool allow_multiline) {
  size_t start = p->pos;
  char quote = p->text[p->pos];
  bool literal = quote == '\'';
  bool multiline = peek_at(p, 1) == quote && peek_at(p, 2) == quote;
  p->buf_length = 0;
  if (multiline && !allow_multiline) return fail(p, start, "a multi-line string cannot be a key");
  p->pos += multiline ? 3 : 1;
  if (multiline && eat_newline(p) < 0) return -1; /* a newline right after """ is trimmed */
  for (;;) {
    if (p->pos >= p->length) return fail(p, start, "unterminated string (it starts here)");
    int c = (unsigned char)p->text[p->pos];
    int r = 0;
    if (c == quote && !multiline) {
      p->pos++;
      return 0;
    } else if (c == quote) {
      r = multiline_quotes(p, quote);
      if (r == 1) return 0;
    } else if (c == '\\' && !literal) {
      r = parse_escape(p, multiline);
    } else if ((c == '\n' || c == '\r') && !multiline) {
      return fail(p, start, "unterminated string (it starts here and the line ends)");
    } else if (c == '\n' || c == '\r') {
      r = eat_newline(p);
      if (r > 0) r = buf_put(p, "\n", 1);
    } else if (is_forbidden_control(c)) {
      return fail(p, p->pos, "control character U+%04X in a string must be escaped", c);
    } else {
      r = plain_run(p, quote);
    }
    if (r < 0) return -1;
  }
}

/* Copies the scratch buffer into the arena as a NUL-terminated string. */
static char *buf_copy(parser_t *p) {
  char *copy = arena_alloc(&p->doc->arena, p->buf_length + 1);
  if (!copy) {
    fail_nomem(p);
    return NULL;
  }
  if (p->buf_length) memcpy(copy, p->buf, p->buf_length);
  return copy;
}

/* ---- keys --------------------------------------------------------------- */

#define BARE_KEY_HINT " (bare keys use only A-Z a-z 0-9 _ -; quote other keys)"

/* A character someone may have meant as part of a key, as opposed to the
 * whitespace and punctuation that may follow a key. */
static bool looks_like_key_char(int c) {
  return c >= 0x80 || (c > 0x20 && c < 0x7f && !strchr("=.[]{},#", c));
}

/* Parses a (possibly dotted) key, with whitespace around the dots. */
static int parse_key(parser_t *p, dotted_key_t *key) {
  key->count = 0;
  for (;;) {
    skip_ws(p);
    if (key->count == MAX_KEY_PARTS)
      return fail(p, p->pos, "key has more than %d dotted parts", MAX_KEY_PARTS);
    key_part_t *part = &key->parts[key->count];
    part->offset = p->pos;
    int c = peek(p);
    if (c == '"' || c == '\'') {
      if (parse_string_raw(p, false)) return -1;
      part->text = buf_copy(p);
      if (!part->text) return -2;
      part->length = p->buf_length;
    } else if (is_bare_key_char(c)) {
      part->text = p->text + p->pos;
      while (is_bare_key_char(peek(p))) p->pos++;
      part->length = (size_t)(p->text + p->pos - part->text);
      if (looks_like_key_char(peek(p))) {
        char buf[32];
        return fail(p, p->pos, "invalid character %s in bare key '%.*s'%s", describe(p, p->pos, buf),
                    (int)(part->length > 40 ? 40 : part->length), part->text, BARE_KEY_HINT);
      }
    } else {
      char buf[32];
      const char *hint = looks_like_key_char(c) ? BARE_KEY_HINT : "";
      if (key->count == 0)
        return fail(p, p->pos, "expected a key, found %s%s", describe(p, p->pos, buf), hint);
      return fail(p, p->pos, "expected a key after '.', found %s%s", describe(p, p->pos, buf), hint);
    }
    key->count++;
    skip_ws(p);
    if (peek(p) != '.') return 0;
    p->pos++;
  }
}

/* ---- numbers and date-times --------------------------------------------- */

static bool is_base_digit(int c, int base) {
  switch (base) {
    case 2: return c == '0' || c == '1';
    case 8: return c >= '0' && c <= '7';
    case 10: return is_digit(c);
    default: return hex_value(c) >= 0;
  }
}

/* Scans digits of `base` with single underscores between digits, starting at
 * s[*i] and stopping at the first other character. Returns false when there
 * is no digit or an underscore is misplaced. */
static bool scan_digits(const char *s, size_t n, size_t *i, int base) {
  size_t start = *i;
  if (*i >= n || !is_base_digit((unsigned char)s[*i], base)) return false;
  while (*i < n) {
    int c = (unsigned char)s[*i];
    if (is_base_digit(c, base)) {
      (*i)++;
    } else if (c == '_') {
      if (*i + 1 >= n || !is_base_digit((unsigned char)s[*i + 1], base)) return false;
      (*i)++;
    } else {
      break;
    }
  }
  return *i > start;
}

static int parse_integer_token(parser_t *p, size_t at, const char *s, size_t n, wisp_toml_node_t *node) {
  size_t i = 0;
  bool negative = false;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    i++;
  }
  int base = 10;
  if (n - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b')) {
    base = s[i + 1] == 'x' ? 16 : s[i + 1] == 'o' ? 8 : 2;
    if (i > 0) return fail(p, at, "a sign is not allowed on a hexadecimal, octal or binary integer");
    i += 2;
  }
  size_t digits_start = i;
  if (!scan_digits(s, n, &i, base) || i != n)
    return fail(p, at, "invalid number '%.*s'", (int)(n > 40 ? 40 : n), s);
  if (base == 10 && s[digits_start] == '0' && n - digits_start > 1)
    return fail(p, at, "leading zeros are not allowed in '%.*s'", (int)(n > 40 ? 40 : n), s);
  /* accumulate as a negative number so INT64_MIN fits */
  int64_t value = 0;
  for (size_t k = digits_start; k < n; k++) {
    if (s[k] == '_') continue;
    int d = hex_value((unsigned char)s[k]);
    if (value < (INT64_MIN + d) / base)
      return fail(p, at, "integer '%.*s' does not fit in 64 bits", (int)(n > 40 ? 40 : n), s);
    value = value * base - d;
  }
  if (!negative) {
    if (value == INT64_MIN)
      return fail(p, at, "integer '%.*s' does not fit in 64 bits", (int)(n > 40 ? 40 : n), s);
    value = -value;
  }
  node->type = WISP_TOML_INTEGER;
  node->as.integer = value;
  return 0;
}

static int parse_float_token(parser_t *p, size_t at, const char *s, size_t n, wisp_toml_node_t *node) {
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') i++;
  if (n - i == 3 && (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0)) {
    double v = s[i] == 'i' ? HUGE_VAL : NAN;
    node->type = WISP_TOML_FLOAT;
    node->as.real = s[0] == '-' ? -v : v;
    return 0;
  }
  size_t int_start = i;
  bool ok = scan_digits(s, n, &i, 10);
  if (ok && s[int_start] == '0' && i - int_start > 1)
    return fail(p, at, "leading zeros are not allowed in '%.*s'", (int)(n > 40 ? 40 : n), s);
  if (ok && i < n && s[i] == '.') {
    i++;
    ok = scan_digits(s, n, &i, 10);
  }
  if (ok && i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    ok = scan_digits(s, n, &i, 10);
  }
  if (!ok || i != n) return fail(p, at, "invalid number '%.*s'", (int)(n > 40 ? 40 : n), s);
  char clean[128];
  size_t used = 0;
  for (size_t k = 0; k < n; k++) {
    if (s[k] == '_') continue;
    if (used + 1 >= sizeof clean) return fail(p, at, "float '%.40s...' is too long", s);
    clean[used++] = s[k];
  }
  clean[used] = 0;
  errno = 0;
  char *end;
  double v = strtod(clean, &end);
  if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL))
    return fail(p, at, "float '%.*s' is out of range", (int)(n > 40 ? 40 : n), s);
  node->type = WISP_TOML_FLOAT;
  node->as.real = v;
  return 0;
}

static bool digits_at(const char *s, size_t n, size_t i, size_t count) {
  if (i + count > n) return false;
  for (size_t k = 0; k < count; k++)
    if (!is_digit((unsigned char)s[i + k])) return false;
  return true;
}

static int two_digits(const char *s, size_t i) { return (s[i] - '0') * 10 + (s[i + 1] - '0'); }

static bool leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Validates HH:MM:SS(.fraction) at s[*i]. */
static bool scan_time(const char *s, size_t n, size_t *i) {
  size_t k = *i;
  if (!digits_at(s, n, k, 2) || k + 2 >= n || s[k + 2] != ':' || !digits_at(s, n, k + 3, 2) || k + 5 >= n ||
      s[k + 5] != ':' || !digits_at(s, n, k + 6, 2))
    return false;
  if (two_digits(s, k) > 23 || two_digits(s, k + 3) > 59 || two_digits(s, k + 6) > 60) return false;
  k += 8;
  if (k < n && s[k] == '.') {
    k++;
    if (!digits_at(s, n, k, 1)) return false;
    while (k < n && is_digit((unsigned char)s[k])) k++;
  }
  *i = k;
  return true;
}

static int parse_datetime_token(parser_t *p, size_t at, const char *s, size_t n, wisp_toml_node_t *node) {
  size_t i = 0;
  wisp_toml_datetime_kind_t kind;
  bool bad = false;
  if (n >= 3 && s[2] == ':') {
    bad = !scan_time(s, n, &i);
    kind = WISP_TOML_LOCAL_TIME;
  } else {
    if (!digits_at(s, n, 0, 4) || n < 10 || s[4] != '-' || !digits_at(s, n, 5, 2) || s[7] != '-' ||
        !digits_at(s, n, 8, 2))
      return fail(p, at, "invalid date '%.*s'", (int)(n > 40 ? 40 : n), s);
    int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + two_digits(s, 2);
    int month = two_digits(s, 5), day = two_digits(s, 8);
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1 || day > days[month - 1] + (month == 2 && leap_year(year)))
      return fail(p, at, "invalid date '%.*s': no such day", (int)(n > 40 ? 40 : n), s);
    i = 10;
    kind = WISP_TOML_LOCAL_DATE;
    if (i < n) {
      if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') {
        bad = true;
      } else {
        i++;
        bad = !scan_time(s, n, &i);
        kind = WISP_TOML_LOCAL_DATETIME;
        if (!bad && i < n) {
          kind = WISP_TOML_OFFSET_DATETIME;
          if (s[i] == 'Z' || s[i] == 'z') {
            i++;
          } else if ((s[i] == '+' || s[i] == '-') && digits_at(s, n, i + 1, 2) && i + 3 < n &&
                     s[i + 3] == ':' && digits_at(s, n, i + 4, 2) && two_digits(s, i + 1) <= 23 &&
                     two_digits(s, i + 4) <= 59) {
            i += 6;
          } else {
            bad = true;
          }
        }
      }
    }
  }
  if (bad || i != n) return fail(p, at, "invalid date-time '%.*s'", (int)(n > 40 ? 40 : n), s);
  char *copy = arena_alloc(&p->doc->arena, n + 1);
  if (!copy) return fail_nomem(p);
  memcpy(copy, s, n);
  node->type = WISP_TOML_DATETIME;
  node->as.string.data = copy;
  node->as.string.length = n;
  node->as.string.kind = kind;
  return 0;
}

static bool is_token_char(int c) { return is_bare_key_char(c) || c == '+' || c == '.' || c == ':'; }

/* A bare value: boolean, number or date-time. */
static int parse_bare_value(parser_t *p, wisp_toml_node_t *node) {
  size_t at = p->pos;
  while (is_token_char(peek(p))) p->pos++;
  /* a date followed by a space and a time is one date-time */
  if (p->pos - at == 10 && p->text[at + 4] == '-' && peek(p) == ' ' && is_digit(peek_at(p, 1)) &&
      is_digit(peek_at(p, 2)) && peek_at(p, 3) == ':') {
    p->pos++;
    while (is_token_char(peek(p))) p->pos++;
  }
  const char *s = p->text + at;
  size_t n = p->pos - at;
  if (n == 0) {
    char buf[32];
    return fail(p, at, "expected a value, found %s", describe(p, at, buf));
  }
  if (n == 4 && memcmp(s, "true", 4) == 0) {
    node->type = WISP_TOML_BOOL;
    node->as.boolean = true;
    return 0;
  }
  if (n == 5 && memcmp(s, "false", 5) == 0) {
    node->type = WISP_TOML_BOOL;
    node->as.boolean = false;
    return 0;
  }
  size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
  if (n - i == 3 && (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0))
    return parse_float_token(p, at, s, n, node);
  if (i == n || !is_digit((unsigned char)s[i]))
    return fail(p, at, "invalid value '%.*s' (strings need quotes)", (int)(n > 40 ? 40 : n), s);
  if (i == 0 && n >= 3 && (s[2] == ':' || (n >= 5 && s[4] == '-' && digits_at(s, n, 0, 4))))
    return parse_datetime_token(p, at, s, n, node);
  bool is_float = false;
  bool prefixed = n - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b');
  for (size_t k = i; k < n && !prefixed; k++)
    if (s[k] == '.' || s[k] == 'e' || s[k] == 'E') is_float = true;
  if (is_float) return parse_float_token(p, at, s, n, node);
  return parse_integer_token(p, at, s, n, node);
}

/* ---- values, arrays and inline tables ----------------------------------- */

static wisp_toml_node_t *parse_value(parser_t *p);
static const char *article(const wisp_toml_node_t *node);
static wisp_toml_node_t *add_table(parser_t *p, wisp_toml_node_t *parent, const key_part_t *key,
                                   size_t offset, unsigned flags);
static int insert_dotted(parser_t *p, wisp_toml_node_t *table, const dotted_key_t *key,
                         wisp_toml_node_t *value);

static wisp_toml_node_t *parse_array(parser_t *p) {
  wisp_toml_node_t *array = new_node(p, WISP_TOML_ARRAY, p->pos);
  if (!array) return NULL;
  p->pos++; /* '[' */
  for (;;) {
    if (skip_ws_comments_newlines(p)) return NULL;
    if (peek(p) == ']') break;
    wisp_toml_node_t *item = parse_value(p);
    if (!item) return NULL;
    if (array_push(&p->doc->arena, array, item)) {
      fail_nomem(p);
      return NULL;
    }
    if (skip_ws_comments_newlines(p)) return NULL;
    if (peek(p) == ',') {
      p->pos++;
      continue;
    }
    if (peek(p) == ']') break;
    char buf[32];
    fail(p, p->pos, "expected ',' or ']' in an array, found %s", describe(p, p->pos, buf));
    return NULL;
  }
  p->pos++; /* ']' */
  return array;
}

/* Closes an inline table and the tables its dotted keys made. */
static void seal_table(wisp_toml_node_t *table) {
  table->as.table.flags |= TABLE_INLINE;
  for (size_t i = 0; i < table->as.table.count; i++) {
    wisp_toml_node_t *v = table->as.table.entries[i].value;
    if (v->type == WISP_TOML_TABLE && !(v->as.table.flags & TABLE_INLINE)) seal_table(v);
  }
}

static wisp_toml_node_t *parse_inline_table(parser_t *p) {
  wisp_toml_node_t *table = new_node(p, WISP_TOML_TABLE, p->pos);
  if (!table) return NULL;
  table->as.table.flags = TABLE_DEFINED;
  p->pos++; /* '{' */
  skip_ws(p);
  if (peek(p) == '}') {
    p->pos++;
    seal_table(table);
    return table;
  }
  dotted_key_t key;
  for (;;) {
    skip_ws(p);
    if (peek(p) == '\n' || peek(p) == '\r') {
      fail(p, p->pos, "an inline table must be on one line (TOML 1.0)");
      return NULL;
    }
    if (parse_key(p, &key)) return NULL;
    if (peek(p) != '=') {
      char buf[32];
      fail(p, p->pos, "expected '=' after a key, found %s", describe(p, p->pos, buf));
      return NULL;
    }
    p->pos++;
    skip_ws(p);
    wisp_toml_node_t *value = parse_value(p);
    if (!value) return NULL;
    if (insert_dotted(p, table, &key, value)) return NULL;
    skip_ws(p);
    int c = peek(p);
    if (c == ',') {
      p->pos++;
      skip_ws(p);
      if (peek(p) == '}') {
        fail(p, p->pos, "a trailing comma is not allowed in an inline table");
        return NULL;
      }
      continue;
    }
    if (c == '}') break;
    if (c == '\n' || c == '\r' || c == '#') {
      fail(p, p->pos, "an inline table must be on one line (TOML 1.0)");
      return NULL;
    }
    char buf[32];
    fail(p, p->pos, "expected ',' or '}' in an inline table, found %s", describe(p, p->pos, buf));
    return NULL;
  }
  p->pos++; /* '}' */
  seal_table(table);
  return table;
}

static wisp_toml_node_t *parse_value(parser_t *p) {
  int c = peek(p);
  if (c == '[' || c == '{') {
    if (p->depth >= MAX_DEPTH) {
      fail(p, p->pos, "arrays and inline tables nested more than %d deep", MAX_DEPTH);
      return NULL;
    }
    p->depth++;
    wisp_toml_node_t *node = c == '[' ? parse_array(p) : parse_inline_table(p);
    p->depth--;
    return node;
  }
  wisp_toml_node_t *node = new_node(p, WISP_TOML_STRING, p->pos);
  if (!node) return NULL;
  if (c == '"' || c == '\'') {
    if (parse_string_raw(p, true)) return NULL;
    node->as.string.data = buf_copy(p);
    if (!node->as.string.data) return NULL;
    node->as.string.length = p->buf_length;
    return node;
  }
  if (parse_bare_value(p, node)) return NULL;
  return node;
}

/* ---- placing keys and tables -------------------------------------------- */

/* key = value inside `table` (the current section or an inline table). */
static int insert_dotted(parser_t *p, wisp_toml_node_t *table, const dotted_key_t *key,
                         wisp_toml_node_t *value) {
  char name[256];
  wisp_toml_node_t *t = table;
  for (size_t i = 0; i + 1 < key->count; i++) {
    const key_part_t *part = &key->parts[i];
    entry_t *e = table_find(t, part->text, part->length);
    if (!e) {
      t = add_table(p, t, part, part->offset, TABLE_DOTTED);
      if (!t) return -2;
      continue;
    }
    wisp_toml_node_t *v = e->value;
    if (v->type != WISP_TOML_TABLE)
      return fail(p, part->offset, "key '%s' is already defined (line %u) as %s %s, not a table",
                  key_name(key, i + 1, name, sizeof name), v->line, article(v), wisp_toml_type_name(v->type));
    if (v->as.table.flags & TABLE_INLINE)
      return fail(p, part->offset, "cannot add keys to inline table '%s' (line %u)",
                  key_name(key, i + 1, name, sizeof name), v->line);
    /* a table that only exists as the parent of a [header] may be given
     * keys this way; from then on it counts as made by dotted keys */
    if (v->as.table.flags == TABLE_IMPLICIT) v->as.table.flags = TABLE_DOTTED;
    if (!(v->as.table.flags & TABLE_DOTTED))
      return fail(p, part->offset,
                  "cannot add keys to table '%s' with dotted keys: it is defined by a [header] (line %u)",
                  key_name(key, i + 1, name, sizeof name), v->line);
    t = v;
  }
  const key_part_t *last = &key->parts[key->count - 1];
  entry_t *e = table_find(t, last->text, last->length);
  if (e)
    return fail(p, last->offset, "duplicate key '%s' (first defined on line %u)",
                key_name(key, key->count, name, sizeof name), e->value->line);
  if (table_add(&p->doc->arena, t, last->text, last->length, value)) return fail_nomem(p);
  return 0;
}

/* "an" before "integer" and "array", "a" before the other type names. */
static const char *article(const wisp_toml_node_t *node) {
  return node->type == WISP_TOML_INTEGER || node->type == WISP_TOML_ARRAY ? "an" : "a";
}

/* Adds a new empty table under key in parent; NULL when out of memory. */
static wisp_toml_node_t *add_table(parser_t *p, wisp_toml_node_t *parent, const key_part_t *key,
                                   size_t offset, unsigned flags) {
  wisp_toml_node_t *table = new_node(p, WISP_TOML_TABLE, offset);
  if (!table) return NULL;
  table->as.table.flags = flags;
  if (table_add(&p->doc->arena, parent, key->text, key->length, table)) {
    fail_nomem(p);
    return NULL;
  }
  return table;
}

/* Walks the parts of a header key but the last, creating IMPLICIT tables as
 * needed and stepping into the last element of arrays of tables. Returns the
 * table the last part goes in, or NULL. */
static wisp_toml_node_t *walk_header(parser_t *p, const dotted_key_t *key, size_t header_offset) {
  char name[256];
  wisp_toml_node_t *t = p->doc->root;
  for (size_t i = 0; i + 1 < key->count; i++) {
    const key_part_t *part = &key->parts[i];
    entry_t *e = table_find(t, part->text, part->length);
    if (!e) {
      t = add_table(p, t, part, header_offset, TABLE_IMPLICIT);
      if (!t) return NULL;
      continue;
    }
    wisp_toml_node_t *v = e->value;
    if (v->type == WISP_TOML_TABLE && !(v->as.table.flags & TABLE_INLINE)) {
      t = v;
    } else if (v->type == WISP_TOML_ARRAY && v->as.array.of_tables) {
      t = v->as.array.items[v->as.array.count - 1];
    } else if (v->type == WISP_TOML_TABLE) {
      fail(p, part->offset, "cannot extend inline table '%s' (line %u) with a [header]",
           key_name(key, i + 1, name, sizeof name), v->line);
      return NULL;
    } else {
      fail(p, part->offset, "key '%s' is already defined (line %u) as %s %s, not a table",
           key_name(key, i + 1, name, sizeof name), v->line, article(v), wisp_toml_type_name(v->type));
      return NULL;
    }
  }
  return t;
}

/* [key]: defines a new table, or one that so far only existed as a parent. */
static wisp_toml_node_t *define_table(parser_t *p, wisp_toml_node_t *parent, const dotted_key_t *key,
                                      size_t header_offset) {
  const key_part_t *last = &key->parts[key->count - 1];
  entry_t *e = table_find(parent, last->text, last->length);
  if (!e) return add_table(p, parent, last, header_offset, TABLE_DEFINED);
  wisp_toml_node_t *v = e->value;
  if (v->type == WISP_TOML_TABLE && v->as.table.flags == TABLE_IMPLICIT) {
    v->as.table.flags = TABLE_DEFINED;
    locate(p, header_offset, &v->line, &v->column);
    return v;
  }
  char name[256];
  key_name(key, key->count, name, sizeof name);
  if (v->type == WISP_TOML_TABLE)
    fail(p, header_offset, "table [%s] is already defined (line %u)", name, v->line);
  else if (v->type == WISP_TOML_ARRAY && v->as.array.of_tables)
    fail(p, header_offset, "[%s] is already an array of tables (line %u); use [[%s]]", name, v->line, name);
  else
    fail(p, header_offset, "key '%s' is already defined (line %u) as %s %s", name, v->line, article(v),
         wisp_toml_type_name(v->type));
  return NULL;
}

/* [[key]]: appends a new table to an array of tables, creating the array. */
static wisp_toml_node_t *append_table(parser_t *p, wisp_toml_node_t *parent, const dotted_key_t *key,
                                      size_t header_offset) {
  const key_part_t *last = &key->parts[key->count - 1];
  entry_t *e = table_find(parent, last->text, last->length);
  wisp_toml_node_t *list;
  char name[256];
  key_name(key, key->count, name, sizeof name);
  if (!e) {
    list = new_node(p, WISP_TOML_ARRAY, header_offset);
    if (!list) return NULL;
    list->as.array.of_tables = true;
    if (table_add(&p->doc->arena, parent, last->text, last->length, list)) {
      fail_nomem(p);
      return NULL;
    }
  } else if (e->value->type == WISP_TOML_ARRAY && e->value->as.array.of_tables) {
    list = e->value;
  } else if (e->value->type == WISP_TOML_ARRAY) {
    fail(p, header_offset, "cannot append to static array '%s' (line %u) with [[%s]]", name, e->value->line,
         name);
    return NULL;
  } else {
    fail(p, header_offset, "key '%s' is already defined (line %u) as a %s, not an array of tables", name,
         e->value->line, wisp_toml_type_name(e->value->type));
    return NULL;
  }
  wisp_toml_node_t *table = new_node(p, WISP_TOML_TABLE, header_offset);
  if (!table) return NULL;
  table->as.table.flags = TABLE_DEFINED;
  if (array_push(&p->doc->arena, list, table)) {
    fail_nomem(p);
    return NULL;
  }
  return table;
}

/* Resolves a [header] or [[header]] and returns the table that following
 * key/value pairs go into, or NULL. */
static wisp_toml_node_t *open_section(parser_t *p, const dotted_key_t *key, bool array,
                                      size_t header_offset) {
  wisp_toml_node_t *parent = walk_header(p, key, header_offset);
  if (!parent) return NULL;
  return array ? append_table(p, parent, key, header_offset) : define_table(p, parent, key, header_offset);
}

/* At '[': a [table] or [[array of tables]] header line. */
static wisp_toml_node_t *parse_header(parser_t *p) {
  size_t start = p->pos;
  p->pos++;
  bool array = peek(p) == '[';
  if (array) p->pos++;
  dotted_key_t key;
  if (parse_key(p, &key)) return NULL;
  if (peek(p) != ']') {
    char buf[32];
    fail(p, p->pos, "expected ']' to close the table header, found %s", describe(p, p->pos, buf));
    return NULL;
  }
  p->pos++;
  if (array) {
    if (peek(p) != ']') {
      char buf[32];
      fail(p, p->pos, "expected ']]' to close the array-of-tables header, found %s",
           describe(p, p->pos, buf));
      return NULL;
    }
    p->pos++;
  }
  if (expect_line_end(p, "a table header")) return NULL;
  return open_section(p, &key, array, start);
}

static int parse_document(parser_t *p) {
  if (check_utf8(p)) return -1;
  if (p->length >= 3 && memcmp(p->text, "\xEF\xBB\xBF", 3) == 0) p->pos = 3;
  wisp_toml_node_t *current = p->doc->root;
  dotted_key_t key;
  while (p->pos < p->length) {
    skip_ws(p);
    int c = peek(p);
    if (c == -1) break;
    if (c == '#' || c == '\n' || c == '\r') {
      if (expect_line_end(p, "a comment")) return -1;
      continue;
    }
    if (c == '[') {
      current = parse_header(p);
      if (!current) return p->failed;
      continue;
    }
    if (parse_key(p, &key)) return -1;
    if (peek(p) != '=') {
      char buf[32];
      return fail(p, p->pos, "expected '=' after a key, found %s", describe(p, p->pos, buf));
    }
    p->pos++;
    skip_ws(p);
    wisp_toml_node_t *value = parse_value(p);
    if (!value) return p->failed;
    if (insert_dotted(p, current, &key, value)) return -1;
    if (expect_line_end(p, "a value")) return -1;
  }
  return 0;
}

/* ---- public API --------------------------------------------------------- */

int wisp_toml_parse(const char *text, size_t length, wisp_toml_doc_t **out, wisp_toml_error_t *error) {
  *out = NULL;
  if (error) {
    error->line = 0;
    error->column = 0;
    error->message[0] = 0;
  }
  parser_t p = {.text = text, .length = length, .error = error, .line = 1};
  wisp_toml_doc_t *doc = calloc(1, sizeof *doc);
  if (!doc) return fail_nomem(&p);
  p.doc = doc;
  doc->root = new_node(&p, WISP_TOML_TABLE, 0);
  if (doc->root) {
    doc->root->as.table.flags = TABLE_DEFINED;
    parse_document(&p);
  }
  free(p.buf);
  if (p.failed) {
    wisp_toml_free(doc);
    return p.failed;
  }
  *out = doc;
  return 0;
}

void wisp_toml_free(wisp_toml_doc_t *doc) {
  if (!doc) return;
  arena_free(&doc->arena);
  free(doc);
}

const wisp_toml_node_t *wisp_toml_root(const wisp_toml_doc_t *doc) { return doc ? doc->root : NULL; }

wisp_toml_type_t wisp_toml_type(const wisp_toml_node_t *node) { return node->type; }
unsigned wisp_toml_line(const wisp_toml_node_t *node) { return node ? node->line : 0; }
unsigned wisp_toml_column(const wisp_toml_node_t *node) { return node ? node->column : 0; }

const char *wisp_toml_type_name(wisp_toml_type_t type) {
  switch (type) {
    case WISP_TOML_TABLE: return "table";
    case WISP_TOML_ARRAY: return "array";
    case WISP_TOML_STRING: return "string";
    case WISP_TOML_INTEGER: return "integer";
    case WISP_TOML_FLOAT: return "float";
    case WISP_TOML_BOOL: return "boolean";
    case WISP_TOML_DATETIME: return "datetime";
  }
  return "value";
}

size_t wisp_toml_table_count(const wisp_toml_node_t *table) {
  return table && table->type == WISP_TOML_TABLE ? table->as.table.count : 0;
}

const char *wisp_toml_table_key(const wisp_toml_node_t *table, size_t i, size_t *length) {
  if (i >= wisp_toml_table_count(table)) return NULL;
  if (length) *length = table->as.table.entries[i].key_length;
  return table->as.table.entries[i].key;
}

const wisp_toml_node_t *wisp_toml_table_value(const wisp_toml_node_t *table, size_t i) {
  if (i >= wisp_toml_table_count(table)) return NULL;
  return table->as.table.entries[i].value;
}

const wisp_toml_node_t *wisp_toml_table_get(const wisp_toml_node_t *table, const char *key) {
  if (!table || table->type != WISP_TOML_TABLE) return NULL;
  entry_t *e = table_find(table, key, strlen(key));
  return e ? e->value : NULL;
}

bool wisp_toml_table_is_inline(const wisp_toml_node_t *table) {
  return table && table->type == WISP_TOML_TABLE && (table->as.table.flags & TABLE_INLINE) != 0;
}

size_t wisp_toml_array_count(const wisp_toml_node_t *array) {
  return array && array->type == WISP_TOML_ARRAY ? array->as.array.count : 0;
}

const wisp_toml_node_t *wisp_toml_array_at(const wisp_toml_node_t *array, size_t i) {
  if (i >= wisp_toml_array_count(array)) return NULL;
  return array->as.array.items[i];
}

bool wisp_toml_array_is_tables(const wisp_toml_node_t *array) {
  return array && array->type == WISP_TOML_ARRAY && array->as.array.of_tables;
}

const char *wisp_toml_string(const wisp_toml_node_t *node, size_t *length) {
  if (!node || (node->type != WISP_TOML_STRING && node->type != WISP_TOML_DATETIME)) {
    if (length) *length = 0;
    return NULL;
  }
  if (length) *length = node->as.string.length;
  return node->as.string.data;
}

int64_t wisp_toml_integer(const wisp_toml_node_t *node) {
  return node && node->type == WISP_TOML_INTEGER ? node->as.integer : 0;
}

double wisp_toml_float(const wisp_toml_node_t *node) {
  return node && node->type == WISP_TOML_FLOAT ? node->as.real : 0.0;
}

bool wisp_toml_bool(const wisp_toml_node_t *node) {
  return node && node->type == WISP_TOML_BOOL && node->as.boolean;
}

wisp_toml_datetime_kind_t wisp_toml_datetime_kind(const wisp_toml_node_t *node) {
  return node && node->type == WISP_TOML_DATETIME ? node->as.string.kind : WISP_TOML_LOCAL_DATE;
}
