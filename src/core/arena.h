/*
 * arena.h: a bump allocator. Everything allocated from an arena is freed at
 * once by wisp__arena_free; individual frees do not exist. Used for a module's
 * decoded form, whose parts all live exactly as long as the module.
 */
#ifndef WISP_ARENA_H
#define WISP_ARENA_H

#include <stddef.h>

typedef struct wisp__arena_block wisp__arena_block_t;

typedef struct wisp__arena {
  wisp__arena_block_t *head;
  size_t used, cap; /* within head */
} wisp__arena_t;

void wisp__arena_init(wisp__arena_t *arena);
/* Zeroed memory aligned to 16 bytes, or NULL when out of memory. */
void *wisp__arena_alloc(wisp__arena_t *arena, size_t size);
/* Frees every block. The arena may be reused after wisp__arena_init. */
void wisp__arena_free(wisp__arena_t *arena);

#endif
