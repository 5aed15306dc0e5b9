#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, runs the Swift test suites (which
# include every golden conformance case under ../shared/conformance), then the suite
# again under AddressSanitizer and UndefinedBehaviorSanitizer (scripts/sanitize.sh), and
# closes with one "tests: N passed, M failed" line over all three runs.
#
# STEPWISE_SKIP_SANITIZERS=1 skips the two sanitizer runs for a quick local loop.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests
mkdir -p .build
status=0
swift test --skip-build --disable-swift-testing 2>&1 | tee .build/test.log || status=$?
logs=(.build/test.log)

if [ "${STEPWISE_SKIP_SANITIZERS:-0}" != "1" ]; then
    # The validator's strictness-10 pass over the bundled plugins already ran above and
    # is most of a sanitizer run's time (hundreds of child processes); everything else
    # runs under both sanitizers.
    bash scripts/sanitize.sh address undefined -- --skip ValidatorTests.testEveryBundledPluginPassesAtStrictness10 || status=1
    logs+=(.build/sanitize-address.log .build/sanitize-undefined.log)
fi

passed=0; failed=0; skipped=0
for log in "${logs[@]}"; do
    # XCTest's grand total is the line after "Test Suite 'All tests' ...".
    totals=$( (grep -E -A1 "Test Suite '(All|Selected) tests'" "$log" 2>/dev/null || true) | grep -E "Executed [0-9]+ tests?" | tail -n 1 || true)
    if [ -z "$totals" ]; then
        echo "no test totals in $log"
        failed=$((failed + 1)); status=1
        continue
    fi
    e=$(echo "$totals" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
    f=$(echo "$totals" | sed -E 's/.* ([0-9]+) failures?.*/\1/')
    s=$(echo "$totals" | grep -oE '[0-9]+ tests? skipped' | grep -oE '^[0-9]+' || echo 0)
    passed=$((passed + e - f - s)); failed=$((failed + f)); skipped=$((skipped + s))
done
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
