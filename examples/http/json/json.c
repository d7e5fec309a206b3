/* json.c: a small JSON API as a WAGI function.
 *   GET  /api/items        the list
 *   GET  /api/items/N      one item, 404 when there is none
 *   POST /api/sum          body "1 2 3" -> {"sum":6,"count":3}
 * Other methods get 405 with an Allow header. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *items[] = {"apple", "banana", "cherry"};
#define NITEMS (sizeof items / sizeof items[0])

static void reply(int status, const char *json) {
  printf("Status: %d\nContent-Type: application/json\n\n%s\n", status, json);
}

static void list(void) {
  printf("Content-Type: application/json\n\n[");
  for (size_t i = 0; i < NITEMS; i++) printf("%s{\"id\":%zu,\"name\":\"%s\"}", i ? "," : "", i + 1, items[i]);
  printf("]\n");
}

static void one(const char *id) {
  char *end;
  long n = strtol(id, &end, 10);
  if (*end || n < 1 || (size_t)n > NITEMS) {
    reply(404, "{\"error\":\"no such item\"}");
    return;
  }
  printf("Content-Type: application/json\n\n{\"id\":%ld,\"name\":\"%s\"}\n", n, items[n - 1]);
}

static void sum(void) {
  long long total = 0, count = 0, v;
  while (scanf("%lld", &v) == 1) {
    total += v;
    count++;
  }
  printf("Content-Type: application/json\n\n{\"sum\":%lld,\"count\":%lld}\n", total, count);
}

int main(void) {
  const char *method = getenv("REQUEST_METHOD");
  const char *path = getenv("PATH_INFO");
  if (!method || !path) return 1;
  if (!strcmp(path, "/items") || !strcmp(path, "/items/")) {
    if (strcmp(method, "GET"))
      printf("Allow: GET\n"), reply(405, "{\"error\":\"method not allowed\"}");
    else
      list();
  } else if (!strncmp(path, "/items/", 7)) {
    if (strcmp(method, "GET"))
      printf("Allow: GET\n"), reply(405, "{\"error\":\"method not allowed\"}");
    else
      one(path + 7);
  } else if (!strcmp(path, "/sum")) {
    if (strcmp(method, "POST"))
      printf("Allow: POST\n"), reply(405, "{\"error\":\"method not allowed\"}");
    else
      sum();
  } else {
    reply(404, "{\"error\":\"no such endpoint\"}");
  }
  return 0;
}
