#!/usr/bin/env bash
# Installs the system packages Stepwise needs, only those missing. Safe to run repeatedly.
set -euo pipefail
need=()
# Open MPI: the data-parallel library target (libopenmpi-dev) and mpirun (openmpi-bin).
for pkg in libffi-dev libopenblas-dev librsvg2-bin libopenmpi-dev openmpi-bin; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "stepwise setup: installing ${need[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The checkpoint interop test reads our files with the Python safetensors library.
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import safetensors, numpy" >/dev/null 2>&1; then
    echo "stepwise setup: installing Python safetensors and numpy"
    python3 -m pip install --quiet safetensors numpy || echo "stepwise setup: pip install failed; interop tests will be skipped"
fi
