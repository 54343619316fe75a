// A persistent pool of pthreads that spin briefly between parallel regions, then sleep on a condvar.
// Waking a sleeping thread costs 45-80 us on our machines; a spinning worker picks a region up in
// well under 2 us, and a network runs ~60 layers back to back. Workers spin for I2I_SPIN_US
// microseconds (default 200) after their last region before they sleep.
//
// One region at a time: the caller takes `region_lock` with a trylock; a nested call (from inside a
// task) or a call from another thread while a region runs executes serially, as one chunk.
#define _GNU_SOURCE
#include "_CKernels.h"
#include <pthread.h>
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
    atomic_uint_fast64_t generation; // bumped to publish a region
    atomic_int pending;              // workers that have not finished the current region
    int nthreads;                    // threads a region uses, caller included
    int nworkers;                    // workers started so far (they never exit)
    int64_t spin_ns;
    // The current region, written before `generation` is bumped.
    i2i_task_fn fn;
    void *ctx;
    const int64_t *bounds;
    int nchunks;
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

typedef struct { int index; uint64_t generation; } worker_arg;
static worker_arg worker_args[MAX_THREADS];

static void *worker_main(void *arg) {
    // The chunk index this worker runs (the caller runs chunk 0), and the generation current when it
    // was created: the region that created it is published after, maybe before this thread starts.
    int index = ((worker_arg *)arg)->index;
    uint64_t seen = ((worker_arg *)arg)->generation;
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
        // Every worker acknowledges every region (even with no chunk to run), so the caller never
        // rewrites the region fields while a worker may still read them.
        if (index < pool.nchunks) {
            in_region = 1;
            pool.fn(pool.ctx, pool.bounds[index], pool.bounds[index + 1]);
            in_region = 0;
        }
        atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_release);
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
    int want = pool.nthreads;
    if (want <= 1 || in_region || (grain >= n) || pthread_mutex_trylock(&pool.region_lock) != 0) {
        fn(ctx, 0, n);
        return;
    }
    int64_t bounds[MAX_THREADS + 1];
    int k = i2i_parallel_chunks(n, grain, bounds, pool.nthreads);
    if (k <= 1) {
        pthread_mutex_unlock(&pool.region_lock);
        fn(ctx, 0, n);
        return;
    }
    while (pool.nworkers < k - 1) {
        pthread_t t;
        worker_arg *arg = &worker_args[pool.nworkers];
        arg->index = pool.nworkers + 1;
        arg->generation = atomic_load(&pool.generation);
        if (pthread_create(&t, NULL, worker_main, arg) != 0) break;
        pthread_detach(t);
        pool.nworkers++;
    }
    if (k - 1 > pool.nworkers) {
        k = i2i_parallel_chunks(n, grain, bounds, pool.nworkers + 1);
    }
    pool.fn = fn; pool.ctx = ctx; pool.bounds = bounds; pool.nchunks = k;
    atomic_store_explicit(&pool.pending, pool.nworkers, memory_order_relaxed);
    atomic_fetch_add(&pool.generation, 1); // seq_cst: publishes the region, ordered before `sleepers`
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.sleep_mu);
        pthread_cond_broadcast(&pool.sleep_cv);
        pthread_mutex_unlock(&pool.sleep_mu);
    }
    in_region = 1;
    fn(ctx, bounds[0], bounds[1]);
    in_region = 0;
    while (atomic_load_explicit(&pool.pending, memory_order_acquire) > 0) CPU_RELAX();
    pthread_mutex_unlock(&pool.region_lock);
}
