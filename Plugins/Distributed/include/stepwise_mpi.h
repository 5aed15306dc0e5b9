// The few MPI operations Stepwise's data-parallel training needs, as plain C functions.
// Built into libStepwiseMPI.so, which the host opens with dlopen only when a run is
// data parallel, so nothing else links MPI. Every function returns 0 on success or an
// MPI error code; swmpi_error_text describes one.
#ifndef STEPWISE_MPI_H
#define STEPWISE_MPI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Initializes MPI once per process (MPI_THREAD_FUNNELED: only the training thread calls
// MPI). Safe to call again.
int swmpi_init(void);
int swmpi_rank(int *rank);
int swmpi_size(int *size);
// In place: buf := sum over ranks of buf, every rank gets the result.
int swmpi_allreduce_sum_f32(float *buf, int64_t count);
int swmpi_allreduce_sum_f64(double *buf, int64_t count);
// Starts an in-place sum like swmpi_allreduce_sum_f32 (count below 2^31) and returns at
// once; `*request` is owned by the caller until swmpi_wait, which completes and frees it.
int swmpi_iallreduce_sum_f32(float *buf, int64_t count, void **request);
int swmpi_wait(void *request);
// Every rank's `count` floats from `send`, concatenated in rank order into `recv`
// (counts[r] floats from rank r at displs[r]).
int swmpi_allgatherv_f32(const float *send, int64_t count, float *recv, const int *counts, const int *displs);
int swmpi_bcast_f32(float *buf, int64_t count, int root);
int swmpi_barrier(void);
int swmpi_finalize(void);
// Copies the text of an MPI error code into `out` (NUL-terminated, at most `cap` bytes).
void swmpi_error_text(int code, char *out, int cap);

#ifdef __cplusplus
}
#endif

#endif
