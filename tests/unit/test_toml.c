/*
 * test_toml.c: the TOML reader accepts every TOML 1.0 feature with the right
 * values and line numbers, and rejects what TOML forbids, naming the line.
 *
 * The reader's source is included here (as h2o's unit tests do) with its
 * allocator replaced, so that every allocation can be made to fail in turn.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Allocations left before the next one fails; -1 means never fail. */
static long alloc_budget = -1;
static long alloc_calls;

static bool take_allocation(void) {
  alloc_calls++;
  if (alloc_budget == 0) return false;
  if (alloc_budget > 0) alloc_budget--;
  return true;
}
static void *test_malloc(size_t size) { return take_allocation() ? malloc(size) : NULL; }
static void *test_calloc(size_t count, size_t size) { return take_allocation() ? calloc(count, size) : NULL; }
static void *test_realloc(void *p, size_t size) { return take_allocation() ? realloc(p, size) : NULL; }

#define malloc  test_malloc
#define calloc  test_calloc
#define realloc test_realloc
#include "manifest/toml.c"
#undef malloc
#undef calloc
#undef realloc

static int passed, failed;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      passed++;                                                                \
    } else {                                                                   \
      failed++;                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

/* Parses text that must be valid; NULL (and a failure) otherwise. */
static wisp_toml_doc_t *parse_ok(const char *text, int line) {
  wisp_toml_doc_t *doc = NULL;
  wisp_toml_error_t error;
  if (wisp_toml_parse(text, strlen(text), &doc, &error) != 0) {
    failed++;
    fprintf(stderr, "%s:%d: unexpected parse error: %s\n", __FILE__, line, error.message);
    return NULL;
  }
  passed++;
  return doc;
}

/* text must fail to parse, with the error on want_line (and want_column when
 * it is not 0) and a message containing want_text. */
static void bad_at(const char *text, size_t length, unsigned want_line, unsigned want_column,
                   const char *want_text, int line) {
  wisp_toml_doc_t *doc = (wisp_toml_doc_t *)1;
  wisp_toml_error_t error;
  int r = wisp_toml_parse(text, length, &doc, &error);
  if (r != -1 || doc != NULL) {
    failed++;
    fprintf(stderr, "%s:%d: expected a parse error, got %d\n", __FILE__, line, r);
    wisp_toml_free(doc == (wisp_toml_doc_t *)1 ? NULL : doc);
    return;
  }
  char expect_prefix[64];
  snprintf(expect_prefix, sizeof expect_prefix, "line %u, column %u: ", error.line, error.column);
  if (error.line != want_line || (want_column && error.column != want_column) ||
      strncmp(error.message, expect_prefix, strlen(expect_prefix)) != 0 ||
      (want_text && !strstr(error.message, want_text))) {
    failed++;
    fprintf(stderr, "%s:%d: wanted an error on line %u col %u with '%s', got '%s'\n", __FILE__, line,
            want_line, want_column, want_text ? want_text : "", error.message);
    return;
  }
  passed++;
}

#define OK(text)                        parse_ok(text, __LINE__)
#define BAD(text, want_line, want_text) bad_at(text, strlen(text), want_line, 0, want_text, __LINE__)
#define BAD_COL(text, want_line, want_col, want_text) \
  bad_at(text, strlen(text), want_line, want_col, want_text, __LINE__)

/* Follows a path of keys separated by '/' (so keys may hold dots). */
static const wisp_toml_node_t *get(const wisp_toml_doc_t *doc, const char *path) {
  const wisp_toml_node_t *node = wisp_toml_root(doc);
  char part[128];
  while (node && *path) {
    size_t n = strcspn(path, "/");
    memcpy(part, path, n);
    part[n] = 0;
    if (wisp_toml_type(node) == WISP_TOML_ARRAY) {
      node = wisp_toml_array_at(node, (size_t)atoi(part));
    } else {
      node = wisp_toml_table_get(node, part);
    }
    path += n;
    if (*path == '/') path++;
  }
  return node;
}

static bool is_string(const wisp_toml_doc_t *doc, const char *path, const char *want) {
  const wisp_toml_node_t *node = get(doc, path);
  if (!node || wisp_toml_type(node) != WISP_TOML_STRING) return false;
  size_t length;
  const char *s = wisp_toml_string(node, &length);
  return length == strlen(want) && memcmp(s, want, length) == 0;
}

static bool is_int(const wisp_toml_doc_t *doc, const char *path, int64_t want) {
  const wisp_toml_node_t *node = get(doc, path);
  return node && wisp_toml_type(node) == WISP_TOML_INTEGER && wisp_toml_integer(node) == want;
}

static bool is_float(const wisp_toml_doc_t *doc, const char *path, double want) {
  const wisp_toml_node_t *node = get(doc, path);
  return node && wisp_toml_type(node) == WISP_TOML_FLOAT && wisp_toml_float(node) == want;
}

static void test_scalars(void) {
  wisp_toml_doc_t *doc =
      OK("# a comment\n"
         "int1 = +99\nint2 = 42\nint3 = 0\nint4 = -17\n"
         "int5 = 1_000\nint6 = 5_349_221\nint7 = -0\nint8 = +0\n"
         "hex1 = 0xDEADBEEF\nhex2 = 0xdead_beef\noct = 0o755\n"
         "bin = 0b1101_0110\nmax = 9223372036854775807\n"
         "min = -9223372036854775808\nhexmax = 0x7FFFFFFFFFFFFFFF\n"
         "hexzero = 0x0000_00ff\n"
         "flt1 = +1.0\nflt2 = 3.1415\nflt3 = -0.01\nflt4 = 5e+22\n"
         "flt5 = 1e06\nflt6 = -2E-2\nflt7 = 6.626e-34\n"
         "flt8 = 224_617.445_991_228\nflt9 = 1e1_0\n"
         "sf1 = inf\nsf2 = +inf\nsf3 = -inf\nsf4 = nan\nsf5 = +nan\nsf6 = -nan\n"
         "t = true\nf = false # trailing comment\n");
  if (!doc) return;
  CHECK(is_int(doc, "int1", 99));
  CHECK(is_int(doc, "int2", 42));
  CHECK(is_int(doc, "int3", 0));
  CHECK(is_int(doc, "int4", -17));
  CHECK(is_int(doc, "int5", 1000));
  CHECK(is_int(doc, "int6", 5349221));
  CHECK(is_int(doc, "int7", 0));
  CHECK(is_int(doc, "int8", 0));
  CHECK(is_int(doc, "hex1", 0xDEADBEEF));
  CHECK(is_int(doc, "hex2", 0xdeadbeef));
  CHECK(is_int(doc, "oct", 0755));
  CHECK(is_int(doc, "bin", 0xd6));
  CHECK(is_int(doc, "max", INT64_MAX));
  CHECK(is_int(doc, "min", INT64_MIN));
  CHECK(is_int(doc, "hexmax", INT64_MAX));
  CHECK(is_int(doc, "hexzero", 255));
  CHECK(is_float(doc, "flt1", 1.0));
  CHECK(is_float(doc, "flt2", 3.1415));
  CHECK(is_float(doc, "flt3", -0.01));
  CHECK(is_float(doc, "flt4", 5e22));
  CHECK(is_float(doc, "flt5", 1e6));
  CHECK(is_float(doc, "flt6", -2e-2));
  CHECK(is_float(doc, "flt7", 6.626e-34));
  CHECK(is_float(doc, "flt8", 224617.445991228));
  CHECK(is_float(doc, "flt9", 1e10));
  CHECK(is_float(doc, "sf1", INFINITY));
  CHECK(is_float(doc, "sf2", INFINITY));
  CHECK(is_float(doc, "sf3", -INFINITY));
  CHECK(isnan(wisp_toml_float(get(doc, "sf4"))) && wisp_toml_type(get(doc, "sf4")) == WISP_TOML_FLOAT);
  CHECK(isnan(wisp_toml_float(get(doc, "sf5"))));
  CHECK(isnan(wisp_toml_float(get(doc, "sf6"))));
  CHECK(wisp_toml_type(get(doc, "t")) == WISP_TOML_BOOL && wisp_toml_bool(get(doc, "t")));
  CHECK(wisp_toml_type(get(doc, "f")) == WISP_TOML_BOOL && !wisp_toml_bool(get(doc, "f")));
  CHECK(wisp_toml_line(get(doc, "int1")) == 2 && wisp_toml_column(get(doc, "int1")) == 8);
  CHECK(wisp_toml_line(get(doc, "f")) == 34);
  /* accessors on the wrong type give zero values */
  CHECK(wisp_toml_integer(get(doc, "t")) == 0);
  CHECK(wisp_toml_string(get(doc, "int1"), NULL) == NULL);
  wisp_toml_free(doc);
}

static void test_datetimes(void) {
  wisp_toml_doc_t *doc =
      OK("odt1 = 1979-05-27T07:32:00Z\n"
         "odt2 = 1979-05-27T00:32:00-07:00\n"
         "odt3 = 1979-05-27T00:32:00.999999+07:30\n"
         "odt4 = 1979-05-27 07:32:00z\n"
         "ldt1 = 1979-05-27T07:32:00\n"
         "ldt2 = 1979-05-27t00:32:00.999999\n"
         "ld1 = 1979-05-27\n"
         "lt1 = 07:32:00\n"
         "lt2 = 00:32:00.999999\n"
         "leap = 2024-02-29\n"
         "leapsec = 1990-12-31T23:59:60Z\n"
         "arr = [1979-05-27, 1979-05-27 07:32:00]\n");
  if (!doc) return;
  const wisp_toml_node_t *n = get(doc, "odt2");
  CHECK(wisp_toml_type(n) == WISP_TOML_DATETIME);
  CHECK(wisp_toml_datetime_kind(n) == WISP_TOML_OFFSET_DATETIME);
  CHECK(strcmp(wisp_toml_string(n, NULL), "1979-05-27T00:32:00-07:00") == 0);
  CHECK(wisp_toml_datetime_kind(get(doc, "odt1")) == WISP_TOML_OFFSET_DATETIME);
  CHECK(wisp_toml_datetime_kind(get(doc, "odt3")) == WISP_TOML_OFFSET_DATETIME);
  CHECK(strcmp(wisp_toml_string(get(doc, "odt4"), NULL), "1979-05-27 07:32:00z") == 0);
  CHECK(wisp_toml_datetime_kind(get(doc, "ldt1")) == WISP_TOML_LOCAL_DATETIME);
  CHECK(wisp_toml_datetime_kind(get(doc, "ldt2")) == WISP_TOML_LOCAL_DATETIME);
  CHECK(wisp_toml_datetime_kind(get(doc, "ld1")) == WISP_TOML_LOCAL_DATE);
  CHECK(wisp_toml_datetime_kind(get(doc, "lt1")) == WISP_TOML_LOCAL_TIME);
  CHECK(wisp_toml_datetime_kind(get(doc, "lt2")) == WISP_TOML_LOCAL_TIME);
  CHECK(wisp_toml_type(get(doc, "leap")) == WISP_TOML_DATETIME);
  CHECK(wisp_toml_type(get(doc, "leapsec")) == WISP_TOML_DATETIME);
  CHECK(wisp_toml_datetime_kind(get(doc, "arr/1")) == WISP_TOML_LOCAL_DATETIME);
  CHECK(wisp_toml_array_count(get(doc, "arr")) == 2);
  wisp_toml_free(doc);
}

static void test_strings(void) {
  wisp_toml_doc_t *doc =
      OK("basic = \"I'm a string. \\\"You can quote me\\\". Name\\tJos\\u00E9\\nLocation\\tSF.\"\n"
         "esc = \"\\b\\t\\n\\f\\r\\\"\\\\\"\n"
         "u4 = \"\\u00e9\\u20AC\"\n"
         "u8 = \"\\U0001F600\\U0010FFFF\"\n"
         "nul = \"a\\u0000b\"\n"
         "utf8 = \"h\xC3\xA9llo \xE2\x82\xAC\"\n"
         "tab = \"a\tb\"\n"
         "ml1 = \"\"\"\nRoses are red\nViolets are blue\"\"\"\n"
         "ml2 = \"\"\"\nThe quick brown \\\n\n\n  fox jumps over \\\n    the lazy dog.\"\"\"\n"
         "ml3 = \"\"\"\\\n       The quick brown \\\n       fox.\\\n       \"\"\"\n"
         "ml4 = \"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"\n"
         "ml5 = \"\"\"Here are fifteen quotation marks: \"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\".\"\"\"\n"
         "ml6 = \"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"\n"
         "ml7 = \"\"\"a\"\"\"\"\"\n"
         "ml8 = \"\"\"line-end backslash with spaces \\   \n  next\"\"\"\n"
         "lit1 = 'C:\\Users\\nodejs\\templates'\n"
         "lit2 = '<\\i\\c*\\s*>'\n"
         "lit3 = 'Tom \"Dubs\" Preston-Werner'\n"
         "mll1 = '''I [dw]on't need \\d{2} apples'''\n"
         "mll2 = '''\nThe first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is "
         "preserved.\n'''\n"
         "mll3 = '''Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"'''\n"
         "mll4 = ''''That,' she said, 'is still pointless.''''\n"
         "empty = \"\"\n"
         "empty2 = ''\n");
  if (!doc) return;
  CHECK(is_string(doc, "basic", "I'm a string. \"You can quote me\". Name\tJos\xC3\xA9\nLocation\tSF."));
  CHECK(is_string(doc, "esc", "\b\t\n\f\r\"\\"));
  CHECK(is_string(doc, "u4", "\xC3\xA9\xE2\x82\xAC"));
  CHECK(is_string(doc, "u8", "\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF"));
  size_t length;
  const char *s = wisp_toml_string(get(doc, "nul"), &length);
  CHECK(length == 3 && memcmp(s, "a\0b", 3) == 0 && s[3] == 0);
  CHECK(is_string(doc, "utf8", "h\xC3\xA9llo \xE2\x82\xAC"));
  CHECK(is_string(doc, "tab", "a\tb"));
  CHECK(is_string(doc, "ml1", "Roses are red\nViolets are blue"));
  CHECK(is_string(doc, "ml2", "The quick brown fox jumps over the lazy dog."));
  CHECK(is_string(doc, "ml3", "The quick brown fox."));
  CHECK(is_string(doc, "ml4", "Here are two quotation marks: \"\". Simple enough."));
  CHECK(is_string(doc, "ml5", "Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"."));
  CHECK(is_string(doc, "ml6", "\"This,\" she said, \"is just a pointless statement.\""));
  CHECK(is_string(doc, "ml7", "a\"\""));
  CHECK(is_string(doc, "ml8", "line-end backslash with spaces next"));
  CHECK(is_string(doc, "lit1", "C:\\Users\\nodejs\\templates"));
  CHECK(is_string(doc, "lit2", "<\\i\\c*\\s*>"));
  CHECK(is_string(doc, "lit3", "Tom \"Dubs\" Preston-Werner"));
  CHECK(is_string(doc, "mll1", "I [dw]on't need \\d{2} apples"));
  CHECK(is_string(
      doc, "mll2",
      "The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n"));
  CHECK(is_string(doc, "mll3", "Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\""));
  CHECK(is_string(doc, "mll4", "'That,' she said, 'is still pointless.'"));
  CHECK(is_string(doc, "empty", ""));
  CHECK(is_string(doc, "empty2", ""));
  CHECK(wisp_toml_line(get(doc, "ml3")) == 17);
  CHECK(wisp_toml_line(get(doc, "ml4")) == 21);
  wisp_toml_free(doc);

  /* CRLF line endings, also inside multi-line strings */
  doc = OK("a = \"\"\"x\r\ny\"\"\"\r\nb = 'z' # c\r\n\r\n[t]\r\nc = 1\r\n");
  if (doc) {
    CHECK(is_string(doc, "a", "x\ny"));
    CHECK(is_string(doc, "b", "z"));
    CHECK(is_int(doc, "t/c", 1));
    CHECK(wisp_toml_line(get(doc, "t/c")) == 6);
    wisp_toml_free(doc);
  }
  /* a byte-order mark is skipped */
  doc =
      OK("\xEF\xBB\xBF"
         "a = 1\n");
  if (doc) {
    CHECK(is_int(doc, "a", 1));
    wisp_toml_free(doc);
  }
}

static void test_keys(void) {
  wisp_toml_doc_t *doc =
      OK("key = 1\nbare_key = 2\nbare-key = 3\n1234 = 4\n"
         "\"127.0.0.1\" = 5\n\"character encoding\" = 6\n"
         "\"\xca\x8e\xc7\x9d\xca\x9e\" = 7\n'key2' = 8\n'quoted \"value\"' = 9\n"
         "\"\" = 10\n"
         "physical.color = \"orange\"\nphysical.shape = \"round\"\n"
         "site.\"google.com\" = true\n"
         "fruit . flavor = \"banana\"\n"
         "3.14159 = \"pi\"\n"
         "\"esc\\u0041\" = 11\n");
  if (!doc) return;
  CHECK(is_int(doc, "key", 1));
  CHECK(is_int(doc, "bare_key", 2));
  CHECK(is_int(doc, "bare-key", 3));
  CHECK(is_int(doc, "1234", 4));
  CHECK(is_int(doc, "127.0.0.1", 5));
  CHECK(is_int(doc, "character encoding", 6));
  CHECK(is_int(doc, "\xca\x8e\xc7\x9d\xca\x9e", 7));
  CHECK(is_int(doc, "key2", 8));
  CHECK(is_int(doc, "quoted \"value\"", 9));
  CHECK(wisp_toml_integer(wisp_toml_table_get(wisp_toml_root(doc), "")) == 10);
  CHECK(is_string(doc, "physical/color", "orange"));
  CHECK(is_string(doc, "physical/shape", "round"));
  CHECK(wisp_toml_bool(get(doc, "site/google.com")));
  CHECK(is_string(doc, "fruit/flavor", "banana"));
  CHECK(is_string(doc, "3/14159", "pi"));
  CHECK(is_int(doc, "escA", 11));
  /* keys come back in text order */
  const wisp_toml_node_t *root = wisp_toml_root(doc);
  CHECK(wisp_toml_table_count(root) == 15);
  CHECK(strcmp(wisp_toml_table_key(root, 0, NULL), "key") == 0);
  CHECK(strcmp(wisp_toml_table_key(root, 10, NULL), "physical") == 0);
  CHECK(strcmp(wisp_toml_table_key(root, 14, NULL), "escA") == 0);
  CHECK(wisp_toml_table_key(root, 15, NULL) == NULL);
  CHECK(wisp_toml_table_value(root, 15) == NULL);
  CHECK(wisp_toml_table_get(root, "missing") == NULL);
  /* the table a dotted key made remembers that key's line */
  CHECK(wisp_toml_line(get(doc, "physical")) == 11);
  wisp_toml_free(doc);
}

static void test_tables(void) {
  wisp_toml_doc_t *doc =
      OK("top = 0\n"
         "[table-1]\nkey1 = \"some string\"\nkey2 = 123\n"
         "[table-2]\nkey1 = \"another string\"\n"
         "[dog.\"tater.man\"]\ntype.name = \"pug\"\n"
         "[ j . \"k\" . 'l' ]\nm = 1\n"
         "[x.y.z.w]\n[x]\nv = 2\n"
         "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n"
         "[fruit.apple.texture]\nsmooth = true\n"
         "[empty]\n"
         "[p.q.r]\n[p]\nq.s = 3\n"); /* q exists only as a parent: dotted keys may extend it */
  if (!doc) return;
  CHECK(is_int(doc, "top", 0));
  CHECK(is_string(doc, "table-1/key1", "some string"));
  CHECK(is_int(doc, "table-1/key2", 123));
  CHECK(is_string(doc, "table-2/key1", "another string"));
  CHECK(is_string(doc, "dog/tater.man/type/name", "pug"));
  CHECK(is_int(doc, "j/k/l/m", 1));
  CHECK(wisp_toml_type(get(doc, "x/y/z/w")) == WISP_TOML_TABLE);
  CHECK(is_int(doc, "x/v", 2));
  CHECK(wisp_toml_line(get(doc, "x")) == 12); /* defined by [x], not made by [x.y.z.w] */
  CHECK(wisp_toml_line(get(doc, "x/y")) == 11);
  CHECK(wisp_toml_bool(get(doc, "fruit/apple/taste/sweet")));
  CHECK(wisp_toml_bool(get(doc, "fruit/apple/texture/smooth")));
  CHECK(wisp_toml_table_count(get(doc, "empty")) == 0);
  CHECK(wisp_toml_type(get(doc, "empty")) == WISP_TOML_TABLE);
  CHECK(wisp_toml_line(get(doc, "table-2")) == 5);
  CHECK(!wisp_toml_table_is_inline(get(doc, "table-1")));
  CHECK(is_int(doc, "p/q/s", 3));
  CHECK(wisp_toml_type(get(doc, "p/q/r")) == WISP_TOML_TABLE);
  wisp_toml_free(doc);
}

static void test_arrays(void) {
  wisp_toml_doc_t *doc =
      OK("integers = [ 1, 2, 3 ]\n"
         "colors = [ \"red\", \"yellow\", \"green\" ]\n"
         "nested_arrays_of_ints = [ [ 1, 2 ], [3, 4, 5] ]\n"
         "nested_mixed_array = [ [ 1, 2 ], [\"a\", \"b\", \"c\"] ]\n"
         "numbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]\n"
         "contributors = [\n  \"Foo Bar <foo@example.com>\",\n"
         "  { name = \"Baz Qux\", email = \"bazqux@example.com\", url = \"https://example.com/bazqux\" }\n]\n"
         "integers2 = [\n  1, 2, 3\n]\n"
         "integers3 = [\n  1,\n  2, # this is ok\n]\n"
         "empty = []\nempty2 = [ # c\n\n]\n");
  if (!doc) return;
  CHECK(wisp_toml_array_count(get(doc, "integers")) == 3);
  CHECK(is_int(doc, "integers/2", 3));
  CHECK(is_string(doc, "colors/1", "yellow"));
  CHECK(is_int(doc, "nested_arrays_of_ints/1/2", 5));
  CHECK(is_string(doc, "nested_mixed_array/1/0", "a"));
  CHECK(is_float(doc, "numbers/0", 0.1));
  CHECK(is_int(doc, "numbers/3", 1));
  CHECK(is_string(doc, "contributors/1/email", "bazqux@example.com"));
  CHECK(wisp_toml_table_is_inline(get(doc, "contributors/1")));
  CHECK(wisp_toml_line(get(doc, "contributors/1")) == 8);
  CHECK(is_int(doc, "integers3/1", 2));
  CHECK(wisp_toml_array_count(get(doc, "integers3")) == 2);
  CHECK(wisp_toml_array_count(get(doc, "empty")) == 0);
  CHECK(wisp_toml_type(get(doc, "empty2")) == WISP_TOML_ARRAY);
  CHECK(!wisp_toml_array_is_tables(get(doc, "integers")));
  CHECK(wisp_toml_array_at(get(doc, "integers"), 3) == NULL);
  wisp_toml_free(doc);
}

static void test_inline_tables(void) {
  wisp_toml_doc_t *doc =
      OK("name = { first = \"Tom\", last = \"Preston-Werner\" }\n"
         "point = { x = 1, y = 2 }\n"
         "animal = { type.name = \"pug\", type.size = 3 }\n"
         "nested = { a = { b = { c = [1, { d = true }] } } }\n"
         "empty = {}\nempty2 = { }\n");
  if (!doc) return;
  CHECK(is_string(doc, "name/last", "Preston-Werner"));
  CHECK(is_int(doc, "point/y", 2));
  CHECK(is_string(doc, "animal/type/name", "pug"));
  CHECK(is_int(doc, "animal/type/size", 3));
  CHECK(wisp_toml_bool(get(doc, "nested/a/b/c/1/d")));
  CHECK(wisp_toml_table_count(get(doc, "empty")) == 0);
  CHECK(wisp_toml_table_is_inline(get(doc, "empty2")));
  wisp_toml_free(doc);
}

static void test_array_of_tables(void) {
  wisp_toml_doc_t *doc =
      OK("[[products]]\nname = \"Hammer\"\nsku = 738594937\n\n"
         "[[products]]  # empty table within the array\n\n"
         "[[products]]\nname = \"Nail\"\nsku = 284758393\ncolor = \"gray\"\n"
         "[[fruits]]\nname = \"apple\"\n"
         "[fruits.physical]\ncolor = \"red\"\nshape = \"round\"\n"
         "[[fruits.varieties]]\nname = \"red delicious\"\n"
         "[[fruits.varieties]]\nname = \"granny smith\"\n"
         "[[fruits]]\nname = \"banana\"\n"
         "[[fruits.varieties]]\nname = \"plantain\"\n"
         "[[ spaced ]]\n");
  if (!doc) return;
  const wisp_toml_node_t *products = get(doc, "products");
  CHECK(wisp_toml_array_is_tables(products));
  CHECK(wisp_toml_array_count(products) == 3);
  CHECK(is_string(doc, "products/0/name", "Hammer"));
  CHECK(wisp_toml_table_count(get(doc, "products/1")) == 0);
  CHECK(wisp_toml_line(get(doc, "products/1")) == 5);
  CHECK(is_string(doc, "products/2/color", "gray"));
  CHECK(wisp_toml_array_count(get(doc, "fruits")) == 2);
  CHECK(is_string(doc, "fruits/0/physical/shape", "round"));
  CHECK(is_string(doc, "fruits/0/varieties/1/name", "granny smith"));
  CHECK(is_string(doc, "fruits/1/varieties/0/name", "plantain"));
  CHECK(wisp_toml_array_count(get(doc, "spaced")) == 1);
  wisp_toml_free(doc);
}

/* Large tables switch to a hash index; every key must still be found. */
static void test_many_keys(void) {
  size_t cap = 64 * 1024, used = 0;
  char *text = malloc(cap);
  if (!text) return;
  for (int i = 0; i < 2000; i++) used += (size_t)snprintf(text + used, cap - used, "k%d = %d\n", i, i);
  wisp_toml_doc_t *doc = OK(text);
  if (doc) {
    int bad = 0;
    char key[32];
    for (int i = 0; i < 2000; i++) {
      snprintf(key, sizeof key, "k%d", i);
      if (!is_int(doc, key, i)) bad++;
    }
    CHECK(bad == 0);
    CHECK(wisp_toml_table_get(wisp_toml_root(doc), "k2000") == NULL);
    CHECK(wisp_toml_table_count(wisp_toml_root(doc)) == 2000);
    wisp_toml_free(doc);
  }
  /* a duplicate among many keys is still found */
  used += (size_t)snprintf(text + used, cap - used, "k1234 = 0\n");
  bad_at(text, used, 2001, 1, "duplicate key 'k1234' (first defined on line 1235)", __LINE__);
  free(text);
}

static void test_invalid_structure(void) {
  BAD_COL("a = 1\nb = 2\na = 3\n", 3, 1, "duplicate key 'a'");
  BAD("a = 1\n\"a\" = 2\n", 2, "duplicate key");
  BAD("a = 1\n'a' = 2\n", 2, "duplicate key");
  BAD("a = 1\n\"\\u0061\" = 2\n", 2, "duplicate key 'a'"); /* keys compare after unescaping */
  BAD("[t]\nx = 1\nx = 2\n", 3, "duplicate key 'x'");
  BAD("[a]\n[a]\n", 2, "table [a] is already defined (line 1)");
  BAD("[a]\nb = 1\n[a.b]\n", 3, "already defined");
  BAD("[a.b]\nc = 1\n[a]\nd = 2\n[a.b]\n", 5, "table [a.b] is already defined");
  BAD("a.b = 1\n[a]\n", 2, "table [a] is already defined");
  BAD("[fruit]\napple.color = \"red\"\n[fruit.apple]\n", 3, "already defined");
  BAD("[fruit]\napple.taste.sweet = true\n[fruit.apple.taste]\n", 3, "already defined");
  BAD("[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n", 4, "defined by a [header]");
  BAD("[a.b.c.d]\nz = 9\n[a]\nb.c.d.k.t = 1\n", 4, "defined by a [header]");
  /* after dotted keys extended it, a [header] may no longer define it */
  BAD("[a.b.c]\n[a]\nb.d = 1\n[a.b]\n", 4, "table [a.b] is already defined (line 1)");
  BAD("a = { b = 1 }\na.c = 2\n", 2, "cannot add keys to inline table 'a'");
  BAD("a = { b = 1 }\n[a.c]\n", 2, "cannot extend inline table 'a'");
  BAD("a = { b = 1 }\n[a]\n", 2, "already defined");
  BAD("a = { b.c = 1 }\n[a.b.d]\n", 2, "inline");
  BAD("a = {}\n[[a]]\n", 2, "already defined");
  BAD("a = { b = 1, b = 2 }\n", 1, "duplicate key 'b'");
  BAD("a = { b.c = 1, b = 2 }\n", 1, "duplicate key 'b'");
  BAD("a = []\n[[a]]\n", 2, "cannot append to static array 'a'");
  BAD("a = [{ b = 1 }]\n[a.c]\n", 2, "not a table");
  BAD("[[a]]\n[a]\n", 2, "already an array of tables");
  BAD("[a]\n[[a]]\n", 2, "not an array of tables");
  BAD("a = 1\n[a.b]\n", 2, "already defined (line 1) as an integer, not a table");
  BAD("a = 1\na.b = 2\n", 2, "not a table");
  BAD("[[a.b]]\n[a]\nb.c = 1\n", 3, "not a table");
  BAD("a = 1 b = 2\n", 1, "expected the end of the line after a value");
  BAD("a\n", 1, "expected '=' after a key");
  BAD("a =\n", 1, "expected a value, found end of line");
  BAD("a = \n", 1, "expected a value");
  BAD("a = # no value\n", 1, "expected a value");
  BAD("= 1\n", 1, "expected a key");
  BAD("a. = 1\n", 1, "expected a key after '.'");
  BAD(".a = 1\n", 1, "expected a key");
  BAD("a..b = 1\n", 1, "expected a key after '.'");
  BAD_COL("a$b = 1\n", 1, 2, "invalid character '$' in bare key 'a' (bare keys use only A-Z a-z 0-9 _ -");
  BAD_COL("[t]\nn\xc3\xa4me = 1\n", 2, 2, "invalid character '\xc3\xa4' in bare key 'n'");
  BAD("[a b]\n", 1, "expected ']' to close the table header, found 'b'");
  BAD("a.$ = 1\n", 1, "expected a key after '.', found '$' (bare keys");
  BAD("\xc3\xa4 = 1\n", 1, "expected a key, found '\xc3\xa4' (bare keys use only");
  BAD("a b = 1\n", 1, "expected '='");
  BAD("[a\n", 1, "expected ']'");
  BAD("[a]]\n", 1, "expected the end of the line");
  BAD("[[a]\n", 1, "expected ']]'");
  BAD("[[a] ]\n", 1, "expected ']]'");
  BAD("[ [a]]\n", 1, "expected a key");
  BAD("[]\n", 1, "expected a key");
  BAD("[a.]\n", 1, "expected a key after '.'");
  BAD("[a] b = 1\n", 1, "after a table header");
  BAD("[\"\"\"a\"\"\"]\n", 1, "multi-line string cannot be a key");
  BAD("\"\"\"a\"\"\" = 1\n", 1, "multi-line string cannot be a key");
  BAD("a = 1\rb = 2\n", 1, "carriage return");
  BAD("# comment\r\n\r# x\n", 2, "carriage return");
}

static void test_invalid_values(void) {
  /* strings */
  BAD_COL("a = \"abc\n", 1, 5, "unterminated string");
  BAD("a = \"abc", 1, "unterminated string");
  BAD("x = 1\na = 'abc\nb = 1\n", 2, "unterminated string");
  BAD("x = 1\na = \"\"\"abc\n\nb = 1\n", 2, "unterminated string");
  BAD("a = '''abc''", 1, "unterminated string");
  BAD_COL("a = \"a\\x41\"\n", 1, 7, "invalid escape sequence '\\x'");
  BAD("a = \"\\e\"\n", 1, "invalid escape");
  BAD("a = \"\\ \"\n", 1, "invalid escape");
  BAD("a = \"\\\n\"\n", 1, "backslash before end of line");
  BAD("a = \"\\u12\"\n", 1, "needs 4 hexadecimal digits");
  BAD("a = \"\\U0001F60\"\n", 1, "needs 8 hexadecimal digits");
  BAD("a = \"\\uD800\"\n", 1, "not a Unicode scalar value");
  BAD("a = \"\\uDFFF\"\n", 1, "not a Unicode scalar value");
  BAD("a = \"\\U00110000\"\n", 1, "not a Unicode scalar value");
  BAD("a = \"\\UFFFFFFFF\"\n", 1, "not a Unicode scalar value");
  BAD("a = \"\"\"\\q\"\"\"\n", 1, "invalid escape");
  BAD_COL("a = \"a\x01z\"\n", 1, 7, "control character U+0001");
  BAD("a = \"a\x7fz\"\n", 1, "control character U+007F");
  BAD("a = 'a\x1bz'\n", 1, "control character U+001B");
  bad_at("a = \"\"\"a\x00z\"\"\"\n", 14, 1, 9, "control character U+0000", __LINE__);
  BAD("a = '''a\x08z'''\n", 1, "control character U+0008");
  BAD("a = \"\"\"a\rb\"\"\"\n", 1, "carriage return");
  BAD("# bad \x01 comment\n", 1, "control character U+0001 in a comment");
  BAD("a = 1 # \x7f\n", 1, "in a comment");
  BAD("a = \"\"\"a\"\"\"\"\"\"\n", 1, "too many quotes");
  BAD("a = \"\xff\"\n", 1, "invalid UTF-8");
  BAD("x = 1\na = \"\xc0\xaf\"\n", 2, "invalid UTF-8");
  BAD("a = \"\xed\xa0\x80\"\n", 1, "invalid UTF-8");
  BAD("a = \"\xe2\x82\"\n", 1, "invalid UTF-8");
  BAD("a = abc\n", 1, "strings need quotes");
  BAD("a = truee\n", 1, "invalid value 'truee'");
  BAD("a = True\n", 1, "invalid value");
  BAD("a = \"x\" \"y\"\n", 1, "expected the end of the line");
  /* integers */
  BAD("a = 9223372036854775808\n", 1, "does not fit in 64 bits");
  BAD("a = -9223372036854775809\n", 1, "does not fit in 64 bits");
  BAD("a = 0x8000000000000000\n", 1, "does not fit in 64 bits");
  BAD("a = 99999999999999999999999\n", 1, "does not fit");
  BAD("a = 012\n", 1, "leading zeros");
  BAD("a = -012\n", 1, "leading zeros");
  BAD("a = 00\n", 1, "leading zeros");
  BAD("a = +0x1\n", 1, "sign is not allowed");
  BAD("a = -0b1\n", 1, "sign is not allowed");
  BAD("a = 1__0\n", 1, "invalid number");
  BAD("a = 1_\n", 1, "invalid number");
  BAD("a = _1\n", 1, "invalid value");
  BAD("a = 0x_1\n", 1, "invalid number");
  BAD("a = 0x\n", 1, "invalid number");
  BAD("a = 0xG\n", 1, "invalid number");
  BAD("a = 0o8\n", 1, "invalid number");
  BAD("a = 0b2\n", 1, "invalid number");
  BAD("a = 0X10\n", 1, "invalid number");
  BAD("a = 1-2\n", 1, "invalid");
  BAD("a = ++1\n", 1, "invalid");
  /* floats */
  BAD("a = .5\n", 1, "invalid value");
  BAD("a = 5.\n", 1, "invalid number");
  BAD("a = 1e\n", 1, "invalid number");
  BAD("a = 1.e5\n", 1, "invalid number");
  BAD("a = 1e_5\n", 1, "invalid number");
  BAD("a = 03.14\n", 1, "leading zeros");
  BAD("a = 1.5_\n", 1, "invalid number");
  BAD("a = 1._5\n", 1, "invalid number");
  BAD("a = 1e400\n", 1, "out of range");
  BAD("a = infinity\n", 1, "invalid value");
  BAD("a = Inf\n", 1, "invalid value");
  BAD("a = 1.2.3\n", 1, "invalid number");
  /* date-times */
  BAD("a = 1979-13-01\n", 1, "no such day");
  BAD("a = 1979-02-30\n", 1, "no such day");
  BAD("a = 2023-02-29\n", 1, "no such day");
  BAD("a = 1979-00-10\n", 1, "no such day");
  BAD("a = 1979-5-27\n", 1, "invalid");
  BAD("a = 07:32\n", 1, "invalid date-time");
  BAD("a = 24:00:00\n", 1, "invalid date-time");
  BAD("a = 12:60:00\n", 1, "invalid date-time");
  BAD("a = 1979-05-27T07:32\n", 1, "invalid date-time");
  BAD("a = 1979-05-27T07:32:00.\n", 1, "invalid date-time");
  BAD("a = 1979-05-27T07:32:00+7:00\n", 1, "invalid date-time");
  BAD("a = 1979-05-27T07:32:00+24:00\n", 1, "invalid date-time");
  BAD("a = 1979-05-27X07:32:00\n", 1, "invalid date-time");
  BAD("a = 07:32:00Z\n", 1, "invalid date-time");
  /* arrays and inline tables */
  BAD("a = [1 2]\n", 1, "expected ',' or ']'");
  BAD("a = [1,,2]\n", 1, "expected a value");
  BAD("a = [,]\n", 1, "expected a value");
  BAD("a = [1,\n2\n", 3, "expected ',' or ']' in an array, found end of file");
  BAD("a = { b = 1, }\n", 1, "trailing comma");
  BAD("a = { b = 1\n}\n", 1, "one line");
  BAD("a = {\nb = 1 }\n", 1, "one line");
  BAD("a = { b = 1 c = 2 }\n", 1, "expected ',' or '}'");
  BAD("a = { b }\n", 1, "expected '='");
  BAD("a = { , }\n", 1, "expected a key");
  /* nesting deeper than the limit is refused, not a crash */
  char deep[400];
  size_t n = 0;
  n += (size_t)snprintf(deep, sizeof deep, "a = ");
  for (int i = 0; i < 100; i++) deep[n++] = '[';
  for (int i = 0; i < 100; i++) deep[n++] = ']';
  deep[n] = 0;
  BAD(deep, 1, "nested more than");
  /* errors deep in a document name the right line */
  BAD("# 1\n\n[t]\nok = true\n\n[u]\nv = [\n  1,\n  \"x\\q\",\n]\n", 9, "invalid escape");
}

static void test_error_is_optional(void) {
  wisp_toml_doc_t *doc = (wisp_toml_doc_t *)1;
  CHECK(wisp_toml_parse("a = ", 4, &doc, NULL) == -1);
  CHECK(doc == NULL);
  wisp_toml_free(NULL);
  /* length, not NUL, ends the input */
  CHECK(wisp_toml_parse("a = 1\nb = ", 5, &doc, NULL) == 0);
  CHECK(doc && wisp_toml_table_count(wisp_toml_root(doc)) == 1);
  wisp_toml_free(doc);
  CHECK(wisp_toml_parse("# only a comment", 16, &doc, NULL) == 0);
  wisp_toml_free(doc);
  CHECK(wisp_toml_parse("a = 1 # no newline", 18, &doc, NULL) == 0);
  CHECK(doc && wisp_toml_integer(wisp_toml_table_get(wisp_toml_root(doc), "a")) == 1);
  wisp_toml_free(doc);
  CHECK(wisp_toml_parse("", 0, &doc, NULL) == 0);
  CHECK(doc && wisp_toml_table_count(wisp_toml_root(doc)) == 0);
  wisp_toml_free(doc);
}

/* Tables made by dotted keys are located after their value was read; their
 * line and column must still be right, and finding them must not rescan the
 * document (which made 100,000 dotted keys take minutes). */
static void test_dotted_positions(void) {
  wisp_toml_doc_t *doc = OK("a.b = [\n  1,\n]\n  c.d = 2\ne = { f.g = [\n1] }\n");
  if (doc) {
    CHECK(wisp_toml_line(get(doc, "a")) == 1 && wisp_toml_column(get(doc, "a")) == 1);
    CHECK(wisp_toml_line(get(doc, "a/b")) == 1 && wisp_toml_column(get(doc, "a/b")) == 7);
    CHECK(wisp_toml_line(get(doc, "c")) == 4 && wisp_toml_column(get(doc, "c")) == 3);
    CHECK(wisp_toml_line(get(doc, "c/d")) == 4 && wisp_toml_column(get(doc, "c/d")) == 9);
    CHECK(wisp_toml_line(get(doc, "e/f")) == 5 && wisp_toml_column(get(doc, "e/f")) == 7);
    CHECK(wisp_toml_line(get(doc, "e/f/g/0")) == 6 && wisp_toml_column(get(doc, "e/f/g/0")) == 1);
    wisp_toml_free(doc);
  }
  size_t cap = 1 << 20, used = 0;
  char *text = malloc(cap);
  if (!text) return;
  for (int i = 0; i < 30000; i++) used += (size_t)snprintf(text + used, cap - used, "k%d.x = %d\n", i, i);
  clock_t start = clock();
  CHECK(wisp_toml_parse(text, used, &doc, NULL) == 0);
  double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
  CHECK(seconds < 3.0); /* linear: well under 0.1 s; quadratic: about 10 s */
  CHECK(doc && wisp_toml_line(get(doc, "k29999")) == 30000);
  wisp_toml_free(doc);
  free(text);
}

/* Every allocation the reader makes, made to fail in turn: each failure is
 * reported as -2 "out of memory" with no document and nothing leaked (the
 * sanitizer build checks leaks). */
static void test_out_of_memory(void) {
  size_t cap = 64 * 1024, used = 0;
  char *text = malloc(cap);
  if (!text) return;
  used += (size_t)snprintf(text + used, cap - used,
                           "s = \"esc\\u00e9\"\nm = \"\"\"\nmulti\"\"\"\n[t.u]\nv.w = [1, [2], {x = 3}]\n"
                           "[[a]]\n[[a]]\nb = 1979-05-27\n");
  for (int i = 0; i < 200; i++) /* enough for several arena blocks and index growths */
    used += (size_t)snprintf(text + used, cap - used, "key%d = \"%0200d\"\n", i, i);
  alloc_budget = -1;
  alloc_calls = 0;
  wisp_toml_doc_t *doc = NULL;
  CHECK(wisp_toml_parse(text, used, &doc, NULL) == 0);
  wisp_toml_free(doc);
  long needed = alloc_calls;
  CHECK(needed >= 8);
  int wrong = 0;
  for (long budget = 0; budget < needed; budget++) {
    alloc_budget = budget;
    wisp_toml_error_t error;
    doc = (wisp_toml_doc_t *)1;
    int r = wisp_toml_parse(text, used, &doc, &error);
    if (r != -2 || doc != NULL || strcmp(error.message, "out of memory") != 0) {
      if (wrong++ < 3)
        fprintf(stderr, "allocation %ld failing: got %d '%s'\n", budget, r, r ? error.message : "");
      if (r == 0) wisp_toml_free(doc);
    }
  }
  CHECK(wrong == 0);
  alloc_budget = needed;
  CHECK(wisp_toml_parse(text, used, &doc, NULL) == 0);
  wisp_toml_free(doc);
  alloc_budget = -1;
  free(text);
}

int main(void) {
  test_scalars();
  test_datetimes();
  test_strings();
  test_keys();
  test_tables();
  test_arrays();
  test_inline_tables();
  test_array_of_tables();
  test_many_keys();
  test_invalid_structure();
  test_invalid_values();
  test_error_is_optional();
  test_dotted_positions();
  test_out_of_memory();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
