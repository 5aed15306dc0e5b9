#!/usr/bin/env bash
# Installs the system packages Stepwise needs, only those missing. Safe to run repeatedly.
set -euo pipefail
need=()
for pkg in libffi-dev libopenblas-dev librsvg2-bin; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "stepwise setup: installing ${need[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
