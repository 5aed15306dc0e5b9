#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, runs the Swift test suites (which
# include every golden conformance case under ../shared/conformance), and closes with
# one "tests: N passed, M failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests
status=0
swift test --skip-build --disable-swift-testing 2>&1 | tee .build/test.log || status=$?
totals=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" .build/test.log | tail -n 1 || true)
executed=$(echo "$totals" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
failed=$(echo "$totals" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
if [ -z "$totals" ]; then
    echo "tests: 0 passed, 1 failed"
    exit 1
fi
echo "tests: $((executed - failed)) passed, $failed failed"
exit "$status"
