/*
 * trap.c: trap values. A trap owns its message and backtrace; backtrace frame
 * names are borrowed from modules, which outlive traps in every embedding the
 * API allows (documented in wisp.h: a module outlives its instances).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

struct wisp_trap {
  wisp_trap_kind_t kind;
  int exit_code;
  char *message;
  uint32_t nframes, cap;
  wisp_frame_t *frames;
};

static char oom_message[] = "out of memory";

wisp_trap_t *wisp__trap_new(wisp_trap_kind_t kind, const char *message) {
  wisp_trap_t *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->kind = kind;
  t->message = strdup(message ? message : "");
  if (!t->message) t->message = oom_message;
  return t;
}

wisp_trap_t *wisp_trap_new(wisp_trap_kind_t kind, const char *message) { return wisp__trap_new(kind, message); }

void wisp_trap_delete(wisp_trap_t *t) {
  if (!t) return;
  if (t->message != oom_message) free(t->message);
  free(t->frames);
  free(t);
}

void wisp__trap_add_frame(wisp_trap_t *t, uint32_t func_index, const char *name, uint32_t offset) {
  if (!t) return;
  if (t->nframes == t->cap) {
    uint32_t cap = t->cap ? t->cap * 2 : 8;
    wisp_frame_t *grown = realloc(t->frames, cap * sizeof *grown);
    if (!grown) return;
    t->frames = grown;
    t->cap = cap;
  }
  t->frames[t->nframes++] = (wisp_frame_t){func_index, name, offset};
}

void wisp__trap_set_exit(wisp_trap_t *t, int code) {
  if (t) t->exit_code = code;
}

wisp_trap_kind_t wisp_trap_kind(const wisp_trap_t *t) { return t->kind; }
const char *wisp_trap_message(const wisp_trap_t *t) { return t->message; }
int wisp_trap_exit_code(const wisp_trap_t *t) { return t->exit_code; }
uint32_t wisp_trap_frame_count(const wisp_trap_t *t) { return t->nframes; }
const wisp_frame_t *wisp_trap_frame(const wisp_trap_t *t, uint32_t i) {
  return i < t->nframes ? &t->frames[i] : NULL;
}

size_t wisp_trap_format(const wisp_trap_t *t, char *buf, size_t size) {
  size_t len = 0;
  int n = snprintf(buf, size, "%s", t->message);
  if (n > 0) len += (size_t)n;
  for (uint32_t i = 0; i < t->nframes; i++) {
    const wisp_frame_t *f = &t->frames[i];
    char *at = len < size ? buf + len : NULL;
    size_t room = len < size ? size - len : 0;
    if (f->func_name)
      n = snprintf(at, room, "\n  at %s (func %u, offset 0x%x)", f->func_name, f->func_index, f->offset);
    else
      n = snprintf(at, room, "\n  at func %u (offset 0x%x)", f->func_index, f->offset);
    if (n > 0) len += (size_t)n;
  }
  return len;
}
