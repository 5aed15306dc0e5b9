#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, runs the Swift test suites (which
# include every golden conformance case under ../shared/conformance).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests
swift test --skip-build 2>&1 | tee .build/test.log
