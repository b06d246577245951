/* alloc_count.c: a counting allocator, LD_PRELOADed into a node by run.py to
 * show that the steady state does not allocate: it counts every malloc,
 * calloc, realloc and aligned allocation (operator new goes through malloc)
 * and prints {"alloc_count":{...}} on stderr at exit. The allocations
 * themselves are glibc's (__libc_malloc and friends), so nothing else changes. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void __libc_free(void*);

static atomic_ulong calls, bytes;

static void count(size_t size) {
  atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&bytes, size, memory_order_relaxed);
}

void* malloc(size_t size) {
  count(size);
  return __libc_malloc(size);
}

void* calloc(size_t n, size_t size) {
  count(n * size);
  return __libc_calloc(n, size);
}

void* realloc(void* p, size_t size) {
  count(size);
  return __libc_realloc(p, size);
}

void* memalign(size_t align, size_t size) {
  count(size);
  return __libc_memalign(align, size);
}

void* aligned_alloc(size_t align, size_t size) { return memalign(align, size); }

int posix_memalign(void** out, size_t align, size_t size) {
  void* p = memalign(align, size);
  if (p == NULL) return 12; /* ENOMEM */
  *out = p;
  return 0;
}

void free(void* p) { __libc_free(p); }

/* At exit, one line on stderr with write(2), not through a FILE (which may allocate). */
__attribute__((destructor)) static void report(void) {
  char line[128];
  const int len = snprintf(line, sizeof line, "{\"alloc_count\":{\"allocations\":%lu,\"bytes\":%lu}}\n",
                           atomic_load(&calls), atomic_load(&bytes));
  if (len > 0) {
    ssize_t ignored = write(2, line, (size_t)len);
    (void)ignored;
  }
}
