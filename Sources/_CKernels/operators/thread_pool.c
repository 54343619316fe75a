// A persistent pool of pthreads that spin briefly between parallel regions, then sleep on a condvar.
// Waking a sleeping thread costs 45-80 us on our machines; a spinning worker picks a region up in
// about 2 us, and a network runs ~60 layers back to back. Workers spin for I2I_SPIN_US microseconds
// (default 200) after their last region before they sleep.
//
// A region's chunks have fixed boundaries (they depend only on n, grain and the thread count), but
// any thread may run any chunk: each chunk is claimed once through one atomic word that also holds
// the region's generation. The caller runs chunks too and, when it runs out of its own, takes those
// no worker has claimed yet, so a region never waits for a worker that is asleep or descheduled
// (on a loaded machine that wait is a scheduler time slice, milliseconds) unless the worker already
// started its chunk. Late workers see a newer generation in the claim word and touch nothing.
//
// One region at a time: the caller takes `region_lock` with a trylock; a nested call (from inside a
// task) or a call from another thread while a region runs executes serially, as one chunk.
#define _GNU_SOURCE
#include "_CKernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

enum { MAX_THREADS = 256 };

static struct {
    pthread_once_t once;
    pthread_mutex_t region_lock;     // held by the thread that runs a region
    pthread_mutex_t sleep_mu;
    pthread_cond_t sleep_cv;
    atomic_int sleepers;
    atomic_uint_fast64_t generation; // bumped to publish a region; workers wait for it to change
    atomic_uint_fast64_t claim;      // generation (32 bits) | chunk count (16) | next chunk (16)
    atomic_int done;                 // chunks of the current region finished
    int nthreads;                    // threads a region uses, caller included
    int nworkers;                    // workers started so far (they never exit)
    int64_t spin_ns;
    // The current region: written before `claim` is published, read only after a successful claim.
    i2i_task_fn fn;
    void *ctx;
    int64_t bounds[MAX_THREADS + 1];
} pool = {
    .once = PTHREAD_ONCE_INIT,
    .region_lock = PTHREAD_MUTEX_INITIALIZER,
    .sleep_mu = PTHREAD_MUTEX_INITIALIZER,
    .sleep_cv = PTHREAD_COND_INITIALIZER,
};

static _Thread_local int in_region; // this thread is running a chunk (nested calls go serial)

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int default_threads(void) {
    const char *e = getenv("I2I_NUM_THREADS");
    if (e && atoi(e) > 0) return atoi(e) > MAX_THREADS ? MAX_THREADS : atoi(e);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    return n > MAX_THREADS ? MAX_THREADS : (int)n;
}

static void pool_init(void) {
    pool.nthreads = default_threads();
    const char *e = getenv("I2I_SPIN_US");
    pool.spin_ns = (e ? atoll(e) : 200) * 1000;
}

/// Claims and runs chunks of region `gen` until none is left (or the region is over).
static void run_chunks(uint32_t gen) {
    for (;;) {
        uint64_t w = atomic_load_explicit(&pool.claim, memory_order_acquire);
        if ((uint32_t)(w >> 32) != gen) return;
        uint32_t count = (uint32_t)(w >> 16) & 0xFFFF, next = (uint32_t)w & 0xFFFF;
        if (next >= count) return;
        if (!atomic_compare_exchange_weak_explicit(&pool.claim, &w, w + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        int prev = in_region;
        in_region = 1;
        pool.fn(pool.ctx, pool.bounds[next], pool.bounds[next + 1]);
        in_region = prev;
        atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
    }
}

static void *worker_main(void *arg) {
    uint64_t seen = *(const uint64_t *)arg; // the generation current when this worker was created
    for (;;) {
        // Spin, then sleep, until a new region is published.
        int64_t deadline = now_ns() + pool.spin_ns;
        int spins = 0;
        while (atomic_load_explicit(&pool.generation, memory_order_acquire) == seen) {
            CPU_RELAX();
            if (++spins == 64) {
                spins = 0;
                if (now_ns() > deadline) {
                    pthread_mutex_lock(&pool.sleep_mu);
                    atomic_fetch_add(&pool.sleepers, 1);
                    while (atomic_load(&pool.generation) == seen)
                        pthread_cond_wait(&pool.sleep_cv, &pool.sleep_mu);
                    atomic_fetch_sub(&pool.sleepers, 1);
                    pthread_mutex_unlock(&pool.sleep_mu);
                }
            }
        }
        seen = atomic_load_explicit(&pool.generation, memory_order_acquire);
        run_chunks((uint32_t)seen);
    }
    return NULL;
}

void i2i_set_num_threads(int n) {
    pthread_once(&pool.once, pool_init);
    pthread_mutex_lock(&pool.region_lock);
    pool.nthreads = n <= 0 ? default_threads() : (n > MAX_THREADS ? MAX_THREADS : n);
    pthread_mutex_unlock(&pool.region_lock);
}

int i2i_get_num_threads(void) {
    pthread_once(&pool.once, pool_init);
    return pool.nthreads;
}

int i2i_parallel_chunks(int64_t n, int64_t grain, int64_t *bounds, int maxChunks) {
    if (grain < 1) grain = 1;
    if (n <= 0) { bounds[0] = 0; return 0; }
    int64_t units = (n + grain - 1) / grain;
    int k = maxChunks < 1 ? 1 : maxChunks;
    if (units < k) k = (int)units;
    for (int i = 0; i <= k; i++) {
        int64_t b = (units * i / k) * grain;
        bounds[i] = b > n ? n : b;
    }
    return k;
}

void i2i_parallel_for(int64_t n, int64_t grain, i2i_task_fn fn, void *ctx) {
    if (n <= 0) return;
    pthread_once(&pool.once, pool_init);
    if (pool.nthreads <= 1 || in_region || grain >= n || pthread_mutex_trylock(&pool.region_lock) != 0) {
        fn(ctx, 0, n);
        return;
    }
    int k = i2i_parallel_chunks(n, grain, pool.bounds, pool.nthreads);
    if (k <= 1) {
        pthread_mutex_unlock(&pool.region_lock);
        fn(ctx, 0, n);
        return;
    }
    static uint64_t start_gen[MAX_THREADS];
    while (pool.nworkers < k - 1) {
        pthread_t t;
        start_gen[pool.nworkers] = atomic_load(&pool.generation);
        if (pthread_create(&t, NULL, worker_main, &start_gen[pool.nworkers]) != 0) break;
        pthread_detach(t);
        pool.nworkers++;
    }
    uint64_t gen = atomic_load(&pool.generation) + 1;
    pool.fn = fn;
    pool.ctx = ctx;
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.claim, ((gen & 0xFFFFFFFFu) << 32) | ((uint64_t)k << 16), memory_order_release);
    atomic_store(&pool.generation, gen); // seq_cst: ordered before the read of `sleepers`
    if (pool.nworkers > 0 && atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.sleep_mu);
        pthread_cond_broadcast(&pool.sleep_cv);
        pthread_mutex_unlock(&pool.sleep_mu);
    }
    run_chunks((uint32_t)gen);
    // Wait for chunks that workers started; past 50 us (a worker was preempted on a busy machine)
    // yield the core instead of spinning against it.
    int spins = 0;
    int64_t yieldAfter = 0;
    while (atomic_load_explicit(&pool.done, memory_order_acquire) < k) {
        CPU_RELAX();
        if (++spins == 64) {
            spins = 0;
            int64_t t = now_ns();
            if (!yieldAfter) yieldAfter = t + 50000;
            else if (t > yieldAfter) sched_yield();
        }
    }
    pthread_mutex_unlock(&pool.region_lock);
}
