// Thin C over MPI: Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, ...) are macros over
// the addresses of its globals, which Swift cannot import.
#include "stepwise_mpi.h"

#include <limits.h>
#include <stdlib.h>
#include <mpi.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT int swmpi_init(void) {
    int done = 0;
    MPI_Initialized(&done);
    if (done) return MPI_SUCCESS;
    int provided = 0;
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return rc;
    // Errors come back as codes the host turns into typed errors instead of aborting.
    return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

EXPORT int swmpi_rank(int *rank) { return MPI_Comm_rank(MPI_COMM_WORLD, rank); }
EXPORT int swmpi_size(int *size) { return MPI_Comm_size(MPI_COMM_WORLD, size); }

// MPI counts are int: longer buffers go in INT_MAX pieces.
EXPORT int swmpi_allreduce_sum_f32(float *buf, int64_t count) {
    for (int64_t done = 0; done < count;) {
        int n = (int)(count - done > INT_MAX ? INT_MAX : count - done);
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + done, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
        done += n;
    }
    return MPI_SUCCESS;
}

EXPORT int swmpi_allreduce_sum_f64(double *buf, int64_t count) {
    for (int64_t done = 0; done < count;) {
        int n = (int)(count - done > INT_MAX ? INT_MAX : count - done);
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + done, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
        done += n;
    }
    return MPI_SUCCESS;
}

EXPORT int swmpi_iallreduce_sum_f32(float *buf, int64_t count, void **request) {
    if (!request) return MPI_ERR_REQUEST;
    *request = NULL;
    if (count > INT_MAX) return MPI_ERR_COUNT;
    MPI_Request *r = malloc(sizeof *r);
    if (!r) return MPI_ERR_NO_MEM;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, r);
    if (rc != MPI_SUCCESS) {
        free(r);
        return rc;
    }
    *request = r;
    return MPI_SUCCESS;
}

EXPORT int swmpi_wait(void *request) {
    if (!request) return MPI_ERR_REQUEST;
    int rc = MPI_Wait((MPI_Request *)request, MPI_STATUS_IGNORE);
    free(request);
    return rc;
}

EXPORT int swmpi_allgatherv_f32(const float *send, int64_t count, float *recv, const int *counts, const int *displs) {
    if (count > INT_MAX) return MPI_ERR_COUNT;
    return MPI_Allgatherv(send, (int)count, MPI_FLOAT, recv, counts, displs, MPI_FLOAT, MPI_COMM_WORLD);
}

EXPORT int swmpi_bcast_f32(float *buf, int64_t count, int root) {
    for (int64_t done = 0; done < count;) {
        int n = (int)(count - done > INT_MAX ? INT_MAX : count - done);
        int rc = MPI_Bcast(buf + done, n, MPI_FLOAT, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
        done += n;
    }
    return MPI_SUCCESS;
}

EXPORT int swmpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }

EXPORT int swmpi_finalize(void) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    return finalized ? MPI_SUCCESS : MPI_Finalize();
}

EXPORT void swmpi_error_text(int code, char *out, int cap) {
    if (!out || cap <= 0) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
    text[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = '\0';
    strncpy(out, text, (size_t)cap - 1);
    out[cap - 1] = '\0';
}
