/*
 * arena.c: the bump allocator of arena.h. Blocks grow geometrically; a request
 * larger than half a block gets a block of its own.
 *
 * Freed blocks of up to CACHE_BLOCK_MAX bytes go to a small cache of the
 * freeing thread (at most CACHE_BLOCKS), and the next block that fits is taken
 * from there: the arenas of a request (component instance, host calls, the
 * store's host functions) then cost no malloc and free of their blocks (glibc
 * serves blocks this large from its slow path). Memory handed out is zeroed as
 * before, so nothing of a block's last use shows. The cache is freed when the
 * thread exits; under AddressSanitizer a cached block is poisoned, so a use
 * after wisp__arena_free is still reported.
 */
#include "arena.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define CACHE_BLOCKS 8
#define CACHE_BLOCK_MAX ((size_t)64 << 10)

struct wisp__arena_block {
  wisp__arena_block_t *next;
  size_t size;
  _Alignas(16) unsigned char data[];
};

typedef struct {
  wisp__arena_block_t *blocks[CACHE_BLOCKS];
  unsigned n;
} block_cache_t;

static __thread block_cache_t cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static int cache_key_ok;

static void cache_drop(void *p) {
  block_cache_t *c = p;
  while (c->n) {
    wisp__arena_block_t *b = c->blocks[--c->n];
    UNPOISON(b->data, b->size);
    free(b);
  }
}

static void cache_init(void) { cache_key_ok = pthread_key_create(&cache_key, cache_drop) == 0; }

/* The smallest cached block of at least `cap` bytes, or NULL. */
static wisp__arena_block_t *cache_take(size_t cap) {
  unsigned best = CACHE_BLOCKS;
  for (unsigned i = 0; i < cache.n; i++)
    if (cache.blocks[i]->size >= cap && (best == CACHE_BLOCKS || cache.blocks[i]->size < cache.blocks[best]->size))
      best = i;
  if (best == CACHE_BLOCKS) return NULL;
  wisp__arena_block_t *b = cache.blocks[best];
  cache.blocks[best] = cache.blocks[--cache.n];
  UNPOISON(b->data, b->size);
  return b;
}

/* Keeps b for the next arena of this thread; false when it does not fit. */
static int cache_put(wisp__arena_block_t *b) {
  if (b->size > CACHE_BLOCK_MAX || cache.n == CACHE_BLOCKS) return 0;
  if (cache.n == 0) { /* the key's destructor frees the cache when the thread exits */
    pthread_once(&cache_once, cache_init);
    if (!cache_key_ok || pthread_setspecific(cache_key, &cache) != 0) return 0;
  }
  POISON(b->data, b->size);
  cache.blocks[cache.n++] = b;
  return 1;
}

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
    wisp__arena_block_t *block = cap <= CACHE_BLOCK_MAX ? cache_take(cap) : NULL;
    if (block) cap = block->size;
    else if (!(block = malloc(sizeof(wisp__arena_block_t) + cap))) return NULL;
    else block->size = cap;
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
    if (!cache_put(b)) free(b);
    b = next;
  }
  wisp__arena_init(arena);
}
