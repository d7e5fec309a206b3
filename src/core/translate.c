/* PLACEHOLDER: the translator, being written. */
#include <stdlib.h>
struct wisp__code;
void wisp__code_free(struct wisp__code *code);
void wisp__code_free(struct wisp__code *code) { free(code); }
