/* PLACEHOLDER: guard-page fault handling, being written. */
#include "engine.h"
void wisp__signals_install(void) {}
