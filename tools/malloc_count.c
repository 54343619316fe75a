// Counts every malloc-family call of a process, for tools/alloc_count.sh: build it as a shared object
// and LD_PRELOAD it; img2img-bench finds i2i_malloc_calls / i2i_malloc_bytes by name (dlsym) and
// prints the calls and bytes per timed call. glibc only (it forwards to glibc's __libc_* entry points).
// A developer tool: it is not part of the package.
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static _Atomic long n_calls, n_bytes;

static inline void count(size_t bytes) {
    atomic_fetch_add_explicit(&n_calls, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_bytes, (long)bytes, memory_order_relaxed);
}

void *malloc(size_t n) { count(n); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { count(a * b); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { count(n); return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { count(n); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { count(n); return __libc_memalign(a, n); }
int posix_memalign(void **p, size_t a, size_t n) {
    count(n);
    void *r = __libc_memalign(a, n);
    if (!r) return ENOMEM;
    *p = r;
    return 0;
}

long i2i_malloc_calls(void) { return n_calls; }
long i2i_malloc_bytes(void) { return n_bytes; }
