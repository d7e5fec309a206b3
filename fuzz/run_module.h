/*
 * run_module.h: the instantiate-and-run driver shared by the fuzz_run and
 * fuzz_body targets (see run_module.c for what it does and checks).
 */
#ifndef WISP_FUZZ_RUN_MODULE_H
#define WISP_FUZZ_RUN_MODULE_H

#include <stddef.h>
#include <stdint.h>

/* Loads `data` as a module; if it loads, instantiates it with host imports and
 * calls every export, twice in fresh stores, aborting on any broken invariant. */
void fuzz_run_module(const uint8_t *data, size_t size);

#endif
