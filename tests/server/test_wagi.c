/*
 * test_wagi.c: unit tests of src/server/wagi.c (WAGI environment, argv and
 * response parsing), without a server. Includes the .c under test.
 */
#include "../../src/server/wagi.c"

#include <stdio.h>

static int failed;

#define CHECK(cond, ...)                          \
  do {                                            \
    if (!(cond)) {                                \
      failed++;                                   \
      printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      printf(__VA_ARGS__);                        \
      printf("\n");                               \
    }                                             \
  } while (0)

static int parse(const char *out, wagi_response_t *res, char *err) {
  return wagi_parse_response(out, strlen(out), res, err, 256);
}

static void test_responses(void) {
  wagi_response_t res;
  char err[256];
  CHECK(parse("Content-Type: text/plain\n\nhi\n", &res, err) == 0 && res.status == 200 && res.body_len == 3 &&
            res.header_count == 1,
        "plain response");
  CHECK(parse("content-type:text/plain\r\n\r\n", &res, err) == 0 && res.body_len == 0 &&
            res.headers[0].value_len == 10,
        "CRLF, no space after the colon, empty body");
  CHECK(parse("Status: 404 Not Found\nContent-Type: x\n\n", &res, err) == 0 && res.status == 404 &&
            res.header_count == 1,
        "Status sets the status and is not a header");
  CHECK(parse("Location: /x\n\n", &res, err) == 0 && res.status == 302, "Location gives 302");
  CHECK(parse("Status: 301\nLocation: /x\n\n", &res, err) == 0 && res.status == 301,
        "Status wins over Location");
  CHECK(parse("Status: 204\n\n", &res, err) == 0 && res.status == 204, "Status alone is enough");
  CHECK(parse("X-A:   spaced   \nContent-Type: t\n\n", &res, err) == 0 && res.headers[0].value_len == 6,
        "value trimmed");
  CHECK(parse("", &res, err) < 0 && strstr(err, "nothing"), "empty output: %s", err);
  CHECK(parse("Content-Type: t\n", &res, err) < 0 && strstr(err, "empty line"), "no blank line: %s", err);
  CHECK(parse("Content-Type: t", &res, err) < 0, "no newline at all");
  CHECK(parse("X-Only: 1\n\nbody", &res, err) < 0 && strstr(err, "Content-Type"), "no required header: %s",
        err);
  CHECK(parse("garbage\n\n", &res, err) < 0 && strstr(err, "Name: value"), "no colon: %s", err);
  CHECK(parse(": v\n\n", &res, err) < 0, "empty name");
  CHECK(parse("Bad Name: v\nContent-Type: t\n\n", &res, err) < 0, "space in a name");
  CHECK(parse("Status: 42\n\n", &res, err) < 0 && strstr(err, "Status"), "2-digit status: %s", err);
  CHECK(parse("Status: 700\n\n", &res, err) < 0, "status above 599");
  CHECK(parse("Status: 200x\n\n", &res, err) < 0, "junk after the code");
  CHECK(parse("X: a\rb\nContent-Type: t\n\n", &res, err) < 0, "control character in a value");
  char many[WAGI_MAX_HEADERS * 8 + 64];
  size_t n = 0;
  for (int i = 0; i <= WAGI_MAX_HEADERS; i++) n += (size_t)sprintf(many + n, "X-%d: v\n", i);
  sprintf(many + n, "Content-Type: t\n\n");
  CHECK(parse(many, &res, err) < 0 && strstr(err, "more than"), "too many headers: %s", err);
  CHECK(parse("Content-Type: t\n\nbody\n\nwith blank line", &res, err) == 0 &&
            res.body_len == strlen("body\n\nwith blank line"),
        "only the first empty line ends the headers");
}

static void test_helpers(void) {
  char out[64], name[64];
  CHECK(wagi_url_decode("a%20b+c%2", 9, out, false) == 7 && memcmp(out, "a b+c%2", 7) == 0, "decode");
  CHECK(wagi_url_decode("a+b%zz", 6, out, true) == 6 && memcmp(out, "a b%zz", 6) == 0, "plus, bad escape");
  CHECK(wagi_header_var_name("x-forwarded-for", 15, name) && !strcmp(name, "HTTP_X_FORWARDED_FOR"), "%s",
        name);
  CHECK(!wagi_header_var_name("Authorization", 13, name), "Authorization not passed");
  CHECK(!wagi_header_var_name("connection", 10, name), "Connection not passed");
  CHECK(!wagi_header_var_name("content-type", 12, name), "Content-Type is CONTENT_TYPE");

  wagi_strvec_t argv = {0};
  wagi_build_argv(&argv, "${SCRIPT_NAME} ${ARGS}", "/env", "greet=matt&&foo=b%41r+x", 23);
  CHECK(argv.count == 3 && !strcmp(argv.items[0], "/env") && !strcmp(argv.items[1], "greet=matt") &&
            !strcmp(argv.items[2], "foo=bAr x"),
        "default template: %zu", argv.count);
  wagi_strvec_free(&argv);
  wagi_build_argv(&argv, "  prog-${SCRIPT_NAME}  --flag ${ARGS} end", "/s", "", 0);
  CHECK(argv.count == 3 && !strcmp(argv.items[0], "prog-/s") && !strcmp(argv.items[1], "--flag") &&
            !strcmp(argv.items[2], "end"),
        "custom template, empty query: %zu", argv.count);
  wagi_strvec_free(&argv);

  wagi_strvec_t env = {0};
  wagi_strvec_push_var(&env, "A", "1", 1);
  wagi_strvec_push_var(&env, "AB", "", 0);
  CHECK(wagi_strvec_has_var(&env, "AB", 2) && wagi_strvec_has_var(&env, "A", 1) &&
            !wagi_strvec_has_var(&env, "ABC", 3) && !strcmp(env.items[1], "AB="),
        "env vector");
  wagi_strvec_free(&env);
  CHECK(!strcmp(wagi_reason_phrase(418), "I'm a teapot") && !strcmp(wagi_reason_phrase(299), "Unknown"),
        "reason phrases");
}

int main(void) {
  test_responses();
  test_helpers();
  if (failed) {
    printf("%d check(s) failed\n", failed);
    return 1;
  }
  printf("ok\n");
  return 0;
}
