/*
 * signals.c: turns a fault in a linear memory's guard region into a trap.
 *
 * Loads and stores are not bounds-checked: every memory reserves its whole
 * addressable range plus guard (engine.h), and inaccessible pages fault. The
 * handler checks that the faulting thread is running guest code (exec->in_guest)
 * and that the address lies in that exec's current memory reservation (the
 * full one, or a small pool slot's, whose loads are also checked explicitly:
 * engine.h); then it
 * jumps back into the interpreter loop (interp.c), which reports "out of bounds
 * memory access". Any other fault is passed to the previously installed handler
 * (or the default action), so real crashes still crash.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "engine.h"

static struct sigaction previous_segv, previous_bus;

static void chain(int sig, siginfo_t *info, void *uctx) {
  struct sigaction *prev = sig == SIGSEGV ? &previous_segv : &previous_bus;
  if (prev->sa_flags & SA_SIGINFO) {
    prev->sa_sigaction(sig, info, uctx);
    return;
  }
  if (prev->sa_handler == SIG_IGN) return;
  if (prev->sa_handler != SIG_DFL) {
    prev->sa_handler(sig);
    return;
  }
  /* default action: restore it and return, so the fault repeats and kills */
  signal(sig, SIG_DFL);
}

static void on_fault(int sig, siginfo_t *info, void *uctx) {
  wisp_exec_t *exec = wisp__running_exec;
  if (exec && exec->in_guest && exec->mem_base && exec->fault_jmp) {
    uintptr_t addr = (uintptr_t)info->si_addr;
    uintptr_t base = (uintptr_t)exec->mem_base;
    if (addr >= base && addr - base < exec->mem_reserve) siglongjmp(*exec->fault_jmp, 1);
  }
  chain(sig, info, uctx);
}

static void install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &previous_segv);
  sigaction(SIGBUS, &sa, &previous_bus);
}

static pthread_once_t install_once = PTHREAD_ONCE_INIT;

void wisp__signals_install(void) { pthread_once(&install_once, install); }
