/* PLACEHOLDER: `wisp run`, being written (WASI work). */
#include <stdio.h>
#include "cli.h"
int wisp_cli_run(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "wisp run: not implemented yet\n");
  return 2;
}
