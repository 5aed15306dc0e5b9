// Open MPI's C API (Debian: libopenmpi-dev, pkg-config ompi-c).
#include <mpi.h>
