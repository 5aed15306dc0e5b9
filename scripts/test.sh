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
# XCTest's grand total is the line after "Test Suite 'All tests' ...".
totals=$(grep -A1 "Test Suite 'All tests'" .build/test.log | grep -E "Executed [0-9]+ tests?" | tail -n 1 || true)
if [ -z "$totals" ]; then
    echo "tests: 0 passed, 1 failed"
    exit 1
fi
executed=$(echo "$totals" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
failed=$(echo "$totals" | sed -E 's/.* ([0-9]+) failures?.*/\1/')
skipped=$(echo "$totals" | grep -oE '[0-9]+ tests? skipped' | grep -oE '^[0-9]+' || echo 0)
echo "tests: $((executed - failed - skipped)) passed, $failed failed, $skipped skipped"
exit "$status"
