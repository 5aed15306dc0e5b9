// Thin C over MPI: Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, ...) are macros over
// the addresses of its globals, which only C compiled against mpi.h can name.
#include "stepwise_mpi.h"

#include <limits.h>
#include <stdlib.h>
#include <mpi.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

static MPI_Datatype datatype(int dtype) { return dtype == SWMPI_F64 ? MPI_DOUBLE : MPI_FLOAT; }
static size_t element_size(int dtype) { return dtype == SWMPI_F64 ? sizeof(double) : sizeof(float); }

// MPI starts once per process and must end before the process does (mpirun reports a
// rank that exits without MPI_Finalize as failed); instances come and go, so the end is
// tied to the process, not to an instance.
static void finalize_at_exit(void) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

EXPORT int swmpi_init(void) {
    int done = 0;
    MPI_Initialized(&done);
    if (done) return MPI_SUCCESS;
    int provided = 0;
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return rc;
    atexit(finalize_at_exit);
    // Errors come back as codes the plugin turns into errors instead of aborting.
    return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

EXPORT int swmpi_rank(int *rank) { return MPI_Comm_rank(MPI_COMM_WORLD, rank); }
EXPORT int swmpi_size(int *size) { return MPI_Comm_size(MPI_COMM_WORLD, size); }

// MPI counts are int: longer buffers go in INT_MAX pieces.
EXPORT int swmpi_allreduce_sum(void *buf, int64_t count, int dtype) {
    char *bytes = buf;
    for (int64_t done = 0; done < count;) {
        int n = (int)(count - done > INT_MAX ? INT_MAX : count - done);
        int rc = MPI_Allreduce(MPI_IN_PLACE, bytes + done * element_size(dtype), n, datatype(dtype), MPI_SUM,
                               MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
        done += n;
    }
    return MPI_SUCCESS;
}

EXPORT int swmpi_iallreduce_sum(void *buf, int64_t count, int dtype, void **request) {
    if (!request) return MPI_ERR_REQUEST;
    *request = NULL;
    if (count > INT_MAX) return MPI_ERR_COUNT;
    MPI_Request *r = malloc(sizeof *r);
    if (!r) return MPI_ERR_NO_MEM;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, (int)count, datatype(dtype), MPI_SUM, MPI_COMM_WORLD, r);
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

EXPORT int swmpi_allgatherv(const void *send, int64_t count, void *recv, const int *counts, const int *displs,
                            int dtype) {
    if (count > INT_MAX) return MPI_ERR_COUNT;
    return MPI_Allgatherv(send, (int)count, datatype(dtype), recv, counts, displs, datatype(dtype), MPI_COMM_WORLD);
}

EXPORT int swmpi_bcast(void *buf, int64_t count, int dtype, int root) {
    char *bytes = buf;
    for (int64_t done = 0; done < count;) {
        int n = (int)(count - done > INT_MAX ? INT_MAX : count - done);
        int rc = MPI_Bcast(bytes + done * element_size(dtype), n, datatype(dtype), root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
        done += n;
    }
    return MPI_SUCCESS;
}

EXPORT int swmpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }

EXPORT void swmpi_error_text(int code, char *out, int cap) {
    if (!out || cap <= 0) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
    text[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = '\0';
    strncpy(out, text, (size_t)cap - 1);
    out[cap - 1] = '\0';
}
