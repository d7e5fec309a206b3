/* PLACEHOLDER: the CLI, being written. */
#include <stdio.h>
int main(void) { puts("wisp: not built yet"); return 1; }
