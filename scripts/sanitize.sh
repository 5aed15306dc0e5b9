#!/usr/bin/env bash
# Runs the whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer
# (`swift test --sanitize=...`), each in a build folder of its own so the normal build
# stays warm, and prints how long each build and run took.
#
#   scripts/sanitize.sh                 # both
#   scripts/sanitize.sh address         # one
#   scripts/sanitize.sh undefined -- --filter ValidatorTests   # extra `swift test` args
#
# The bundled plugins are built with the same sanitizer and dlopen'd by the tests; the
# C plugins the tests compile with `cc` are not instrumented, but ASan's interceptors
# (memset, memcpy, malloc) still see their heap overflows. Leak detection is off: the
# host keeps its services tables and plugin descriptors for the life of the process on
# purpose.
#
# swiftc has no -sanitize=undefined on Linux (Swift code traps on overflow and bounds in
# debug builds anyway), so "undefined" instruments the C code (the kernels, and every C
# target) with clang's -fsanitize=undefined and links every product, plugins included,
# against the toolchain's shared UBSan runtime. It stops at the first report, so a clean
# run means no undefined behaviour was reached. Exits non-zero when a build fails, a test
# fails or a sanitizer reports.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizers=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do sanitizers+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#sanitizers[@]} -eq 0 ] && sanitizers=(address undefined)

export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:abort_on_error=1:print_stacktrace=1"

# The flags that build with one sanitizer.
flags_for() {
    case "$1" in
    address) echo "--sanitize=address" ;;
    undefined)
        local clang runtime
        clang=$(dirname "$(readlink -f "$(command -v swift)")")/clang
        runtime=$("$clang" -print-runtime-dir 2>/dev/null || true)
        if [ ! -f "$runtime/libclang_rt.ubsan_standalone-x86_64.so" ]; then
            runtime=$(dirname "$(find "$(dirname "$clang")/../lib/clang" -name 'libclang_rt.ubsan_standalone-x86_64.so' | head -n 1)")
        fi
        echo "-Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined -Xcc -fno-omit-frame-pointer" \
             "-Xlinker $runtime/libclang_rt.ubsan_standalone-x86_64.so -Xlinker -rpath -Xlinker $runtime" ;;
    esac
}
mkdir -p .build
status=0
summary=()
for s in "${sanitizers[@]}"; do
    case "$s" in address|undefined) ;; *) echo "unknown sanitizer '$s' (address or undefined)" >&2; exit 2 ;; esac
    scratch=.build/sanitize-$s
    log=.build/sanitize-$s.log
    start=$(date +%s)
    set +e
    # shellcheck disable=SC2046 # the flags are words on purpose
    swift build --build-tests --scratch-path "$scratch" $(flags_for "$s")
    build_rc=$?
    built=$(date +%s)
    if [ "$build_rc" -ne 0 ]; then
        summary+=("sanitize=$s: build FAILED after $((built - start)) s")
        status=1
        set -e
        continue
    fi
    # shellcheck disable=SC2046
    swift test --skip-build --scratch-path "$scratch" $(flags_for "$s") --disable-swift-testing "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    done_at=$(date +%s)
    reports=$(grep -cE "ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer" "$log" || true)
    totals=$(grep -E -A1 "Test Suite '(All|Selected) tests'" "$log" | grep -oE "Executed [0-9]+ tests?, with .*failures? \(0 unexpected\)|Executed [0-9]+ tests?.*failures?" | tail -n 1 || true)
    verdict="clean"
    if [ "$rc" -ne 0 ] || [ "$reports" -ne 0 ] || [ -z "$totals" ]; then verdict="FAILED (exit $rc, $reports sanitizer reports)"; status=1; fi
    summary+=("sanitize=$s: build $((built - start)) s, tests $((done_at - built)) s; ${totals:-no test totals}; $verdict")
done
printf '%s\n' "${summary[@]}"
exit "$status"
