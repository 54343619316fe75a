#include "_CMPI.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>

typedef void *MPI_Handle;
typedef int (*init_fn)(int *, char ***);
typedef int (*int_fn)(void);
typedef int (*comm_int_fn)(MPI_Handle, int *);
typedef int (*abort_fn)(MPI_Handle, int);
typedef int (*barrier_fn)(MPI_Handle);
typedef int (*send_fn)(const void *, int, MPI_Handle, int, int, MPI_Handle);
typedef int (*recv_fn)(void *, int, MPI_Handle, int, int, MPI_Handle, void *);
typedef int (*bcast_fn)(void *, int, MPI_Handle, int, MPI_Handle);
typedef int (*allgather_fn)(const void *, int, MPI_Handle, void *, int, MPI_Handle, MPI_Handle);

static struct {
    void *lib;
    int active, rank, size;
    MPI_Handle world, f32, f64, i64, byte;
    int_fn finalize;
    abort_fn abort_;
    barrier_fn barrier;
    send_fn send;
    recv_fn recv;
    bcast_fn bcast;
    allgather_fn allgather;
} mpi;

// Messages go in pieces of at most 2^28 elements: MPI counts are ints.
enum { CHUNK = 1 << 28 };

int i2i_mpi_start(char *error, int cap) {
    if (mpi.active) return 0;
    const char *names[] = {"libmpi.so.40", "libmpi.so", NULL};
    for (int i = 0; names[i] && !mpi.lib; i++) mpi.lib = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
    if (!mpi.lib) {
        snprintf(error, cap, "cannot load Open MPI's libmpi (install openmpi-bin and libopenmpi-dev): %s", dlerror());
        return -1;
    }
#define SYM(var, name) do { *(void **)&(var) = dlsym(mpi.lib, name); \
        if (!(var)) { snprintf(error, cap, "libmpi has no %s: not Open MPI?", name); return -1; } } while (0)
    init_fn init; comm_int_fn rank, size;
    SYM(init, "MPI_Init"); SYM(rank, "MPI_Comm_rank"); SYM(size, "MPI_Comm_size");
    SYM(mpi.finalize, "MPI_Finalize"); SYM(mpi.abort_, "MPI_Abort"); SYM(mpi.barrier, "MPI_Barrier");
    SYM(mpi.send, "MPI_Send"); SYM(mpi.recv, "MPI_Recv"); SYM(mpi.bcast, "MPI_Bcast");
    SYM(mpi.allgather, "MPI_Allgather");
    // Open MPI's predefined handles are the addresses of these objects (MPI_COMM_WORLD is
    // &ompi_mpi_comm_world, and so on).
    SYM(mpi.world, "ompi_mpi_comm_world"); SYM(mpi.f32, "ompi_mpi_float"); SYM(mpi.f64, "ompi_mpi_double");
    SYM(mpi.i64, "ompi_mpi_int64_t"); SYM(mpi.byte, "ompi_mpi_byte");
#undef SYM
    int rc = init(NULL, NULL);
    if (rc != 0) { snprintf(error, cap, "MPI_Init failed (error %d)", rc); return -1; }
    rank(mpi.world, &mpi.rank);
    size(mpi.world, &mpi.size);
    mpi.active = 1;
    return 0;
}

int i2i_mpi_active(void) { return mpi.active; }
int i2i_mpi_rank(void) { return mpi.active ? mpi.rank : 0; }
int i2i_mpi_size(void) { return mpi.active ? mpi.size : 1; }

void i2i_mpi_stop(void) {
    if (!mpi.active) return;
    mpi.active = 0;
    mpi.finalize();
}

void i2i_mpi_abort(int code) { if (mpi.active) mpi.abort_(mpi.world, code); }
int i2i_mpi_barrier(void) { return mpi.active ? mpi.barrier(mpi.world) : 0; }

static int send_chunks(const char *buf, int64_t n, MPI_Handle type, int size, int dest) {
    for (int64_t at = 0; at < n; at += CHUNK) {
        int64_t c = n - at < CHUNK ? n - at : CHUNK;
        int rc = mpi.send(buf + at * size, (int)c, type, dest, 0, mpi.world);
        if (rc) return rc;
    }
    return 0;
}

static int recv_chunks(char *buf, int64_t n, MPI_Handle type, int size, int source) {
    for (int64_t at = 0; at < n; at += CHUNK) {
        int64_t c = n - at < CHUNK ? n - at : CHUNK;
        int rc = mpi.recv(buf + at * size, (int)c, type, source, 0, mpi.world, NULL);
        if (rc) return rc;
    }
    return 0;
}

static int bcast_chunks(char *buf, int64_t n, MPI_Handle type, int size) {
    for (int64_t at = 0; at < n; at += CHUNK) {
        int64_t c = n - at < CHUNK ? n - at : CHUNK;
        int rc = mpi.bcast(buf + at * size, (int)c, type, 0, mpi.world);
        if (rc) return rc;
    }
    return 0;
}

// The binomial tree of i2i_mpi_sum_floats, for one element type. `scratch` holds one message.
#define TREE_SUM(T, TYPE)                                                                         \
    int rc = 0;                                                                                   \
    if (!mpi.active || mpi.size == 1) return 0;                                                   \
    T *scratch = NULL;                                                                            \
    for (int step = 1; step < mpi.size; step <<= 1) {                                             \
        if (mpi.rank & step) {                                                                    \
            rc = send_chunks((const char *)buf, n, TYPE, sizeof(T), mpi.rank - step);             \
            break;                                                                                \
        }                                                                                         \
        if (mpi.rank + step < mpi.size) {                                                         \
            if (!scratch && !(scratch = (T *)malloc(sizeof(T) * (size_t)(n > 0 ? n : 1)))) return -1; \
            if ((rc = recv_chunks((char *)scratch, n, TYPE, sizeof(T), mpi.rank + step))) break;  \
            for (int64_t i = 0; i < n; i++) buf[i] += scratch[i];                                 \
        }                                                                                         \
    }                                                                                             \
    free(scratch);                                                                                \
    if (rc) return rc;                                                                            \
    return bcast_chunks((char *)buf, n, TYPE, sizeof(T));

int i2i_mpi_sum_floats(float *buf, int64_t n) { TREE_SUM(float, mpi.f32) }
int i2i_mpi_sum_doubles(double *buf, int64_t n) { TREE_SUM(double, mpi.f64) }

int i2i_mpi_allgather_int64(int64_t value, int64_t *out) {
    if (!mpi.active) { out[0] = value; return 0; }
    return mpi.allgather(&value, 1, mpi.i64, out, 1, mpi.i64, mpi.world);
}

int i2i_mpi_send_bytes(const void *buf, int64_t n, int dest) {
    return mpi.active ? send_chunks((const char *)buf, n, mpi.byte, 1, dest) : -1;
}

int i2i_mpi_recv_bytes(void *buf, int64_t n, int source) {
    return mpi.active ? recv_chunks((char *)buf, n, mpi.byte, 1, source) : -1;
}
