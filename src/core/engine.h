/*
 * engine.h: internal declarations shared by the engine's runtime files
 * (engine.c, module.c, runtime.c, exec.c, interp.c, translate.c, signals.c).
 */
#ifndef WISP_ENGINE_H
#define WISP_ENGINE_H

#include "wisp.h"

/* Installs the process-wide SIGSEGV/SIGBUS handler that turns faults in guard
 * pages of linear memories into traps. Idempotent, thread-safe. */
void wisp__signals_install(void);

#endif
