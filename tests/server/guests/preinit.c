/* preinit.c: a WAGI guest with pre-initialisation exports, for
 * test_snapshot_files.py. `wizer.initialize` builds a CRC-32 table and a heap
 * string and prints one line to stderr (the server's log), so a test can
 * count how often it ran; `setup` is a second init for `init = "setup"`;
 * `init_trap` traps and `init_bad` has the wrong type. A request prints what
 * it sees; with ?secret=S it also writes S into a static buffer that the
 * next request (from the same snapshot) must not see. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned crc_table[256];
static int init_runs;
static char *note;
static char secret[64];

__attribute__((export_name("wizer.initialize"))) void wizer_initialize(void) {
  for (unsigned i = 0; i < 256; i++) {
    unsigned c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
  init_runs++;
  note = strdup("built-by-wizer.initialize");
  fprintf(stderr, "preinit: wizer.initialize ran\n");
}

__attribute__((export_name("setup"))) void setup(void) {
  init_runs += 10;
  note = strdup("built-by-setup");
  fprintf(stderr, "preinit: setup ran\n");
}

__attribute__((export_name("init_trap"))) void init_trap(void) { __builtin_trap(); }

__attribute__((export_name("init_bad"))) int init_bad(int x) { return x + 1; }

static unsigned crc32(const char *s) {
  unsigned c = 0xffffffffu;
  for (; *s; s++) c = crc_table[(c ^ (unsigned char)*s) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

int main(int argc, char **argv) {
  printf("Content-Type: text/plain\n\n");
  printf("init_runs=%d crc=%08x note=%s old_secret=%s\n", init_runs, crc32("wisp"), note ? note : "(none)",
         secret[0] ? secret : "(none)");
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], "secret=", 7) == 0) snprintf(secret, sizeof secret, "%s", argv[i] + 7);
  return 0;
}
