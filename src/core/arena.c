/*
 * arena.c: the bump allocator of arena.h. Blocks grow geometrically; a request
 * larger than half a block gets a block of its own.
 */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct wisp__arena_block {
  wisp__arena_block_t *next;
  size_t size;
  _Alignas(16) unsigned char data[];
};

void wisp__arena_init(wisp__arena_t *arena) {
  arena->head = NULL;
  arena->used = arena->cap = 0;
}

void *wisp__arena_alloc(wisp__arena_t *arena, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (size == 0) size = 16;
  if (!arena->head || arena->cap - arena->used < size) {
    size_t cap = arena->head ? arena->head->size * 2 : 4096;
    if (cap > (1u << 20)) cap = 1u << 20;
    if (cap < size) cap = size;
    if (cap > SIZE_MAX - sizeof(wisp__arena_block_t)) return NULL;
    wisp__arena_block_t *block = malloc(sizeof(wisp__arena_block_t) + cap);
    if (!block) return NULL;
    block->size = cap;
    block->next = arena->head;
    arena->head = block;
    arena->used = 0;
    arena->cap = cap;
  }
  void *p = arena->head->data + arena->used;
  arena->used += size;
  memset(p, 0, size);
  return p;
}

void wisp__arena_free(wisp__arena_t *arena) {
  wisp__arena_block_t *b = arena->head;
  while (b) {
    wisp__arena_block_t *next = b->next;
    free(b);
    b = next;
  }
  wisp__arena_init(arena);
}
