// Open MPI, loaded at run time (dlopen), so that img2img builds and runs where no MPI is
// installed: nothing here includes mpi.h or links libmpi. Only the handful of calls data-parallel
// training needs, with Open MPI's ABI (handles are pointers to its predefined objects).
#ifndef I2I_CMPI_H
#define I2I_CMPI_H
#include <stdint.h>

/// Loads libmpi and calls MPI_Init. Returns 0, or -1 with a reason in `error` (size `cap`).
int i2i_mpi_start(char *error, int cap);
/// Whether MPI is running (i2i_mpi_start succeeded and i2i_mpi_stop was not called).
int i2i_mpi_active(void);
int i2i_mpi_rank(void);
int i2i_mpi_size(void);
/// MPI_Finalize.
void i2i_mpi_stop(void);
/// MPI_Abort on COMM_WORLD: every rank of the job ends.
void i2i_mpi_abort(int code);
/// MPI_Barrier.
int i2i_mpi_barrier(void);

/// Sums `n` floats over all ranks into every rank's `buf`, in a fixed order that depends only on
/// the number of ranks (a binomial tree to rank 0: at step k a rank with bit k set sends to
/// rank - 2^k, which adds what it receives after its own; then a broadcast from rank 0), so a
/// run is repeatable bit for bit for a given rank count. Returns 0 or an MPI error code.
int i2i_mpi_sum_floats(float *buf, int64_t n);
/// The same for doubles (losses, statistics).
int i2i_mpi_sum_doubles(double *buf, int64_t n);
/// Every rank's `value`, in rank order, into `out` (size i2i_mpi_size()).
int i2i_mpi_allgather_int64(int64_t value, int64_t *out);
/// Point to point (tag 0), for gathering per-rank state at rank 0.
int i2i_mpi_send_bytes(const void *buf, int64_t n, int dest);
int i2i_mpi_recv_bytes(void *buf, int64_t n, int source);

#endif
