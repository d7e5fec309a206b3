/*
 * toml.h: a TOML 1.0 reader. Parses a document into a read-only tree.
 *
 * What it accepts is TOML 1.0 (https://toml.io/en/v1.0.0): tables, arrays,
 * arrays of tables, inline tables, basic / literal / multi-line strings with
 * every escape (\uXXXX and \UXXXXXXXX must be Unicode scalar values), integers
 * in decimal / hex / octal / binary with underscores (overflow is an error),
 * floats including inf and nan, booleans, and the four date-time forms, which
 * are validated and returned as strings tagged WISP_TOML_DATETIME.
 *
 * What TOML forbids is rejected with the line and column of the problem:
 * duplicate keys, a table defined twice, appending to a static array, bad
 * escapes, bad bare keys, unterminated strings, control characters, invalid
 * UTF-8, TOML 1.1 extensions (newlines in inline tables, \e, \xHH, times
 * without seconds).
 *
 * Ownership: wisp_toml_parse hands the caller a document that owns every node
 * and string in its tree. wisp_toml_free releases all of it at once; nodes and
 * strings obtained from the tree are borrowed and die with the document.
 *
 * Tables keep their keys in the order they first appeared in the text.
 * Every node remembers the line and column where it was defined: a value's
 * first character; a table made by a [header] its header; an implicitly
 * created table the key that created it.
 */
#ifndef WISP_TOML_H
#define WISP_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wisp_toml_type {
  WISP_TOML_TABLE,
  WISP_TOML_ARRAY,
  WISP_TOML_STRING,
  WISP_TOML_INTEGER,
  WISP_TOML_FLOAT,
  WISP_TOML_BOOL,
  WISP_TOML_DATETIME, /* text kept as written; see wisp_toml_datetime_kind */
} wisp_toml_type_t;

typedef enum wisp_toml_datetime_kind {
  WISP_TOML_OFFSET_DATETIME, /* 1979-05-27T07:32:00Z, ...-07:00 */
  WISP_TOML_LOCAL_DATETIME,  /* 1979-05-27T07:32:00 */
  WISP_TOML_LOCAL_DATE,      /* 1979-05-27 */
  WISP_TOML_LOCAL_TIME,      /* 07:32:00.999 */
} wisp_toml_datetime_kind_t;

typedef struct wisp_toml_doc wisp_toml_doc_t;
typedef struct wisp_toml_node wisp_toml_node_t;

/* Why a parse failed. line and column count from 1; column counts bytes. */
typedef struct wisp_toml_error {
  unsigned line;
  unsigned column;
  char message[256]; /* "line 3, column 7: duplicate key 'name'" */
} wisp_toml_error_t;

/*
 * Parses length bytes of text (need not be NUL-terminated). On success
 * returns 0 and stores a new document in *out (OUT), which the caller frees
 * with wisp_toml_free. On failure returns -1 (syntax or semantic error) or
 * -2 (out of memory), stores NULL in *out and fills *error when error is not
 * NULL.
 */
int wisp_toml_parse(const char *text, size_t length, wisp_toml_doc_t **out /* OUT */,
                    wisp_toml_error_t *error /* OUT */);

/* Frees a document and every node and string in it. NULL is allowed. */
void wisp_toml_free(wisp_toml_doc_t *doc);

/* The root table of a document; borrowed from doc. */
const wisp_toml_node_t *wisp_toml_root(const wisp_toml_doc_t *doc);

/* node must not be NULL here; the other accessors accept NULL. */
wisp_toml_type_t wisp_toml_type(const wisp_toml_node_t *node);
unsigned wisp_toml_line(const wisp_toml_node_t *node);
unsigned wisp_toml_column(const wisp_toml_node_t *node);
/* "table", "array", "string", "integer", "float", "boolean", "datetime". */
const char *wisp_toml_type_name(wisp_toml_type_t type);

/* ---- tables ----
 * Count and iterate in text order. Out-of-range or non-table: 0 / NULL. */
size_t wisp_toml_table_count(const wisp_toml_node_t *table);
/* The i-th key; *length (OUT, may be NULL) gets its byte length, since a
 * quoted key may contain "\u0000". The key is NUL-terminated as well. */
const char *wisp_toml_table_key(const wisp_toml_node_t *table, size_t i, size_t *length /* OUT */);
const wisp_toml_node_t *wisp_toml_table_value(const wisp_toml_node_t *table, size_t i);
/* The value under key (a NUL-terminated string), or NULL. */
const wisp_toml_node_t *wisp_toml_table_get(const wisp_toml_node_t *table, const char *key);
/* True for a table written inline ({ ... }). */
bool wisp_toml_table_is_inline(const wisp_toml_node_t *table);

/* ---- arrays ---- */
size_t wisp_toml_array_count(const wisp_toml_node_t *array);
const wisp_toml_node_t *wisp_toml_array_at(const wisp_toml_node_t *array, size_t i);
/* True for an array made by [[header]] sections. */
bool wisp_toml_array_is_tables(const wisp_toml_node_t *array);

/* ---- scalars ----
 * Each returns a zero value when the node has another type. */
/* Strings and date-times: NUL-terminated; *length (OUT, may be NULL) gets the
 * byte length, which may be more than strlen() when the string has "\u0000". */
const char *wisp_toml_string(const wisp_toml_node_t *node, size_t *length /* OUT */);
int64_t wisp_toml_integer(const wisp_toml_node_t *node);
double wisp_toml_float(const wisp_toml_node_t *node);
bool wisp_toml_bool(const wisp_toml_node_t *node);
wisp_toml_datetime_kind_t wisp_toml_datetime_kind(const wisp_toml_node_t *node);

#ifdef __cplusplus
}
#endif

#endif
