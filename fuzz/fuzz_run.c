/*
 * fuzz_run.c: libFuzzer target for instantiation and execution of whole
 * module binaries. The work is in run_module.c: load, satisfy imports with
 * host objects (host functions that return, trap, exit or suspend), run the
 * start function and every export with fuel, twice, and compare outcomes.
 */
#include "run_module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_run_module(data, size);
  return 0;
}
