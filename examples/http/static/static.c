/* static.c: a WAGI static file server. The manifest mounts public/ at
 * /static (read-only); PATH_INFO names the file under it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *content_type(const char *path) {
  const char *dot = strrchr(path, '.');
  if (!dot) return "application/octet-stream";
  if (!strcmp(dot, ".html")) return "text/html; charset=utf-8";
  if (!strcmp(dot, ".css")) return "text/css";
  if (!strcmp(dot, ".js")) return "text/javascript";
  if (!strcmp(dot, ".json")) return "application/json";
  if (!strcmp(dot, ".txt")) return "text/plain; charset=utf-8";
  if (!strcmp(dot, ".png")) return "image/png";
  if (!strcmp(dot, ".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

int main(void) {
  const char *info = getenv("PATH_INFO");
  char path[1024];
  if (!info || !*info || !strcmp(info, "/")) info = "/index.html";
  if (snprintf(path, sizeof path, "/static%s", info) >= (int)sizeof path) {
    printf("Status: 414\nContent-Type: text/plain\n\npath too long\n");
    return 0;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    printf("Status: 404\nContent-Type: text/plain\n\nno such file: %s (%s)\n", info, strerror(errno));
    return 0;
  }
  printf("Content-Type: %s\n\n", content_type(path));
  char buf[16384];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
  fclose(f);
  return 0;
}
