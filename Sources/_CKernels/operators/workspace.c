// Workspace cache for the conv kernels: buffers freed by a call are kept (up to WS_SLOTS of them,
// WS_MAX_BYTES in all) and handed to later calls that fit, so steady-state training reuses them
// instead of mapping and page-faulting fresh memory in every layer. Each block carries its size in
// a 64-byte header. 64 slots: a CycleGAN step uses ~20 distinct workspace sizes, and with 8 slots
// about 100 blocks (21 MB) per step went back to malloc (measured with tools/alloc_count.sh).
#include "../microkernels/conv_internal.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

enum { WS_SLOTS = 64, WS_HEADER = 64 };
#define WS_MAX_BYTES ((size_t)96 << 20)

static pthread_mutex_t ws_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { char *base; size_t bytes; } ws_cache[WS_SLOTS];
static size_t ws_cached_bytes;
static int64_t ws_fresh; // blocks obtained from the system allocator so far

int64_t i2i_workspace_allocations(void) {
    pthread_mutex_lock(&ws_lock);
    const int64_t n = ws_fresh;
    pthread_mutex_unlock(&ws_lock);
    return n;
}

void *i2i_ws_alloc(size_t bytes) {
    bytes = (bytes + 63) & ~(size_t)63;
    char *base = NULL;
    pthread_mutex_lock(&ws_lock);
    int best = -1;
    for (int i = 0; i < WS_SLOTS; i++) // the smallest cached block that fits, if not 4x too big
        if (ws_cache[i].base && ws_cache[i].bytes >= bytes && ws_cache[i].bytes / 4 <= bytes &&
            (best < 0 || ws_cache[i].bytes < ws_cache[best].bytes))
            best = i;
    if (best >= 0) {
        base = ws_cache[best].base;
        ws_cached_bytes -= ws_cache[best].bytes;
        ws_cache[best].base = NULL;
    }
    pthread_mutex_unlock(&ws_lock);
    if (!base) {
        base = aligned_alloc(64, bytes + WS_HEADER);
        if (!base) return NULL;
        pthread_mutex_lock(&ws_lock);
        ws_fresh++;
        pthread_mutex_unlock(&ws_lock);
        *(size_t *)base = bytes;
    }
    return base + WS_HEADER;
}

void i2i_ws_free(void *p) {
    if (!p) return;
    char *base = (char *)p - WS_HEADER;
    size_t bytes = *(size_t *)base;
    pthread_mutex_lock(&ws_lock);
    int slot = -1;
    for (int i = 0; i < WS_SLOTS && slot < 0; i++)
        if (!ws_cache[i].base) slot = i;
    if (slot < 0) { // full: evict the smallest block if this one is larger
        int small = 0;
        for (int i = 1; i < WS_SLOTS; i++)
            if (ws_cache[i].bytes < ws_cache[small].bytes) small = i;
        if (ws_cache[small].bytes < bytes) {
            free(ws_cache[small].base);
            ws_cached_bytes -= ws_cache[small].bytes;
            ws_cache[small].base = NULL;
            slot = small;
        }
    }
    if (slot >= 0 && ws_cached_bytes + bytes <= WS_MAX_BYTES) {
        ws_cache[slot].base = base;
        ws_cache[slot].bytes = bytes;
        ws_cached_bytes += bytes;
        base = NULL;
    }
    pthread_mutex_unlock(&ws_lock);
    free(base);
}
