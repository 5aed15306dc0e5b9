// The few MPI operations the bundled `mpi` communicator needs, as plain C functions over
// MPI_COMM_WORLD. Built into libStepwiseMPI.so, which the communicator plugin
// (Plugins/Distributed/Plugin) opens only when a run creates an `mpi` communicator, so
// loading plugins never loads MPI. Every function returns 0 on success or an MPI error
// code; swmpi_error_text describes one. `dtype` is SWMPI_F32 or SWMPI_F64.
#ifndef STEPWISE_MPI_H
#define STEPWISE_MPI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { SWMPI_F32 = 0, SWMPI_F64 = 1 };

// Initializes MPI once per process (MPI_THREAD_FUNNELED: only the training thread calls
// MPI) and finalizes it when the process exits. Safe to call again.
int swmpi_init(void);
int swmpi_rank(int *rank);
int swmpi_size(int *size);
// In place: buf := sum over ranks of buf, every rank gets the result.
int swmpi_allreduce_sum(void *buf, int64_t count, int dtype);
// Starts an in-place sum like swmpi_allreduce_sum (count below 2^31) and returns at
// once; `*request` is owned by the caller until swmpi_wait, which completes and frees it.
int swmpi_iallreduce_sum(void *buf, int64_t count, int dtype, void **request);
int swmpi_wait(void *request);
// Every rank's `count` elements from `send`, concatenated in rank order into `recv`
// (counts[r] elements from rank r at displs[r]).
int swmpi_allgatherv(const void *send, int64_t count, void *recv, const int *counts, const int *displs, int dtype);
int swmpi_bcast(void *buf, int64_t count, int dtype, int root);
int swmpi_barrier(void);
// Copies the text of an MPI error code into `out` (NUL-terminated, at most `cap` bytes).
void swmpi_error_text(int code, char *out, int cap);

#ifdef __cplusplus
}
#endif

#endif
