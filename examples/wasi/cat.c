/* cat.c: copies the files named as arguments (or stdin) to stdout. Files are
 * only reachable beneath directories granted with --dir.
 *
 *   scripts/build-guest.sh --command -o cat.wasm examples/wasi/cat.c
 *   wisp run --dir ./data::/data:ro cat.wasm /data/notes.txt
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int copy(FILE *in) {
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0)
    if (fwrite(buf, 1, n, stdout) != n) return -1;
  return ferror(in) ? -1 : 0;
}

int main(int argc, char **argv) {
  int status = 0;
  if (argc < 2) return copy(stdin) ? 1 : 0;
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) {
      fprintf(stderr, "cat: %s: %s\n", argv[i], strerror(errno));
      status = 1;
      continue;
    }
    if (copy(f)) status = 1;
    fclose(f);
  }
  return status;
}
