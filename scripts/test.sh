#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test.sh — the README's second command: installs what is missing, then builds
# and runs the whole test suite four ways, the threaded tests under
# ThreadSanitizer, checks the installed package from outside the tree, then
# fuzzes the file readers, stopping at the first failure.
#
#   bash scripts/test.sh
#
# Stages (each in its own build directory, reconfigured when it exists):
#   1. build-test          normal build with --werror; meson test with AG_NUM_THREADS=1, then 2;
#                          and the AVX2 clones' bits against the baseline's (tests/clone_bits,
#                          build-test-clones and build-test-noclones, optimised)
#   2. build-playground    the browser playground built to WebAssembly, driven in Debian's
#                          chromium by Playwright against the native build (tests/browser/)
#   3. build-test-sanitize AddressSanitizer + UBSan; meson test (any report fails)
#   4. build-test-noblas   -Dblas=disabled (the portable matmul kernel); meson test
#   5. build-test          every Check suite again under valgrind memcheck
#   6. build-test-tsan     ThreadSanitizer; the tests that run threads (threads, parallel)
#   7. build-test-blas     -Dblas=blas-netlib; the product suites against the reference
#                          BLAS and BLIS (scripts/check_blas.sh)
#   8. build-packaging     -Dtests=disabled, installed; headers alone in C11 and C++,
#                          an outside program linked by pkg-config (scripts/check_packaging.sh)
#   9. build-fuzz          libFuzzer on the CSV, IDX, safetensors and text readers (scripts/fuzz.sh)
#  10. build-test-nompi    -Dmpi=disabled: the library without the data-parallel module
#                          (stage 1 ran that module's tests under mpirun, 2 and 3 ranks)
# CI runs this through .ci/run. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

normal_dir=build-test
sanitize_dir=build-test-sanitize
noblas_dir=build-test-noblas
tsan_dir=build-test-tsan

stage="setup"
stage_start=$SECONDS
passed=()

on_exit() {
    local rc=$?
    if ((rc != 0)); then
        printf '\ntest.sh: FAILED in stage "%s" (exit status %d); stages passed before it: %d\n' \
            "$stage" "$rc" "${#passed[@]}" >&2
    fi
}
trap on_exit EXIT

begin() {
    stage=$1
    stage_start=$SECONDS
    printf '\n=== %s ===\n\n' "$stage"
}

end() {
    passed+=("$(printf '%-70s %5ds' "$stage" $((SECONDS - stage_start)))")
}

# Configures a build directory, or reconfigures it when it exists already
# (with --wipe when it was made by another meson version).
configure() {
    local dir=$1
    shift
    if [[ -f $dir/meson-private/coredata.dat ]]; then
        meson setup --reconfigure "$dir" "$@" || meson setup --wipe "$dir" "$@"
    else
        meson setup "$dir" "$@"
    fi
}

# A suite that registers no tests would pass silently: refuse that.
require_tests() {
    if [[ $(meson introspect --tests "$1") == "[]" ]]; then
        echo "test.sh: $1 has no tests: tests/meson.build defines none" >&2
        exit 1
    fi
}

# The per-suite lines of Check's output ("Running suite(s): tensor",
# "100%: Checks: 12, Failures: 0, Errors: 0") from meson's test log.
check_summary() {
    grep -E '^(Running suite|[0-9]+%: Checks:)' "$1/meson-logs/testlog.txt" || true
}

# The names of the tests whose program is a Check executable (check-<module>),
# read from meson's introspection (meson brings python3).
check_test_names() {
    meson introspect --tests "$1" | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if os.path.basename(t["cmd"][0]).startswith("check-"):
        print(t["name"])'
}

run_suite() {
    local dir=$1
    shift
    meson compile -C "$dir"
    require_tests "$dir"
    meson test -C "$dir" --no-rebuild --print-errorlogs "$@"
    check_summary "$dir"
}

begin "setup: packages"
bash scripts/setup.sh --test
gcc --version | head -n 1
echo "meson $(meson --version), ninja $(ninja --version), $(valgrind --version)"
end

begin "1/10 normal build (--werror), meson test with one thread, then with two"
# The library's thread pool (ag_set_num_threads) takes its default from
# AG_NUM_THREADS: every test runs with one thread and with two, so results
# that must not depend on the thread count are held to it by every suite.
configure "$normal_dir" --werror
AG_NUM_THREADS=1 run_suite "$normal_dir"
AG_NUM_THREADS=2 run_suite "$normal_dir"
# The hot loops' AVX2 clones (autograd/vector_clones.h) must give the
# baseline's bits: tests/clone_bits fingerprints every op, product and
# optimizer rule, built optimised with the clones and without them.
configure build-test-clones --buildtype=release -Db_ndebug=true --werror
configure build-test-noclones --buildtype=release -Db_ndebug=true --werror \
    -Dc_args=-DAG_NO_VECTOR_CLONES
meson compile -C build-test-clones tests/clone_bits
meson compile -C build-test-noclones tests/clone_bits
with=$(build-test-clones/tests/clone_bits)
without=$(build-test-noclones/tests/clone_bits)
echo "with the clones:    $with"
echo "without the clones: $without"
if [[ $with != "$without" ]]; then
    echo "test.sh: the AVX2 clones change the library's results" >&2
    exit 1
fi
end

begin "2/10 browser playground: WebAssembly in Debian's chromium, driven by Playwright"
# The page runs the library compiled by Emscripten; the test edits it as a
# student would and holds what it shows against pg_native, the same
# functions built natively in stage 1. Screenshots of every panel are kept
# in build-playground-test/. Its packages are installed here, apart from the
# others, so that a machine where emscripten or chromium cannot be installed
# skips this stage, saying so, instead of failing the whole command.
if bash scripts/setup.sh --playground && command -v emcc >/dev/null && command -v chromium >/dev/null; then
    bash scripts/playground.sh build-playground
    # playwright-core from the npm registry at the version package-lock.json
    # pins; it drives the installed chromium and downloads no browser.
    npm ci --prefix tests/browser --no-audit --no-fund
    node tests/browser/playground.test.mjs build-playground "$normal_dir/playground/pg_native" \
        build-playground-test
else
    echo "test.sh: SKIPPED the browser playground: emscripten or chromium could not be installed" >&2
    echo "test.sh: (bash scripts/setup.sh --playground says why)" >&2
    stage="2/10 browser playground: SKIPPED, emscripten or chromium could not be installed"
fi
end

begin "3/10 AddressSanitizer + UBSan build, meson test"
# halt_on_error makes any UBSan report fail its test; ASan stops at the first.
export ASAN_OPTIONS=halt_on_error=1:print_stacktrace=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
configure "$sanitize_dir" -Db_sanitize=address,undefined -Db_lundef=false
run_suite "$sanitize_dir" --timeout-multiplier 4
unset ASAN_OPTIONS UBSAN_OPTIONS
end

begin "4/10 portable matmul kernel (-Dblas=disabled, --werror), meson test"
configure "$noblas_dir" -Dblas=disabled --werror
run_suite "$noblas_dir"
end

begin "5/10 valgrind memcheck on every Check suite of the normal build"
# meson runs each test's own command line and environment under the wrapper;
# the tests chosen are the Check executables (tests/check-*.c), not scripts.
# CK_FORK=no keeps Check's tests in the process valgrind watches;
# AG_TEST_VALGRIND=1 lets a test scale down work that is only slow there.
mapfile -t check_tests < <(check_test_names "$normal_dir")
if ((${#check_tests[@]} == 0)); then
    echo "test.sh: no Check executables (tests/check-*) among the tests of $normal_dir" >&2
    exit 1
fi
echo "under valgrind: ${check_tests[*]}"
CK_FORK=no AG_TEST_VALGRIND=1 meson test -C "$normal_dir" --no-rebuild --print-errorlogs \
    --timeout-multiplier 3 \
    --wrapper "valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 -q" \
    "${check_tests[@]}"
end

begin "6/10 ThreadSanitizer build, the threaded tests"
# Only the suites that start threads (tests/check-threads.c: trainers on
# their own tapes, a thread registering ops, one toggling anomaly mode;
# tests/check-parallel.c: the thread pool and every kernel it splits, with
# two threads):
# the others run on one thread, where TSan has nothing to find. CK_FORK=no
# keeps the test in the process TSan watches; halt_on_error makes a report
# fail the test. TSan needs a low-entropy address layout, which some
# kernels only give with ASLR off: run under setarch -R when it is allowed.
configure "$tsan_dir" -Db_sanitize=thread -Db_lundef=false
meson compile -C "$tsan_dir"
norandom=()
if setarch "$(uname -m)" -R true 2>/dev/null; then
    norandom=(setarch "$(uname -m)" -R)
fi
CK_FORK=no AG_NUM_THREADS=2 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    "${norandom[@]}" meson test -C "$tsan_dir" --no-rebuild --print-errorlogs threads parallel
end

begin "7/10 other BLAS implementations: the reference BLAS and BLIS"
bash scripts/check_blas.sh build-test-blas
end

begin "8/10 packaging: without Check, installed, used from outside the tree"
bash scripts/check_packaging.sh build-packaging
end

begin "9/10 fuzzing the file readers (libFuzzer, ASan+UBSan), 10 s per reader"
# Bounded and short here; scripts/fuzz.sh runs longer by hand.
bash scripts/fuzz.sh 10
end

begin "10/10 MPI: the data-parallel tests were run; a build without MPI"
# Stages 1, 3 and 4 ran tests/mpi (mpirun --oversubscribe, 2 and 3 ranks on
# loopback): refuse a build where MPI was not found, which would have
# skipped them silently. Then the module's absence must change nothing else.
if ! meson test -C "$normal_dir" --list --suite mpi 2>/dev/null | grep -q mpi_equiv_np3; then
    echo "test.sh: no MPI tests in $normal_dir (setup.sh --test installs libopenmpi-dev and openmpi-bin)" >&2
    exit 1
fi
configure build-test-nompi -Dmpi=disabled --werror
meson compile -C build-test-nompi
meson test -C build-test-nompi --no-rebuild --print-errorlogs grad_ready null layers locations \
    models optim train tutorial
end

stage="summary"
printf '\n=== summary ===\n\n'
for line in "${passed[@]}"; do
    printf 'passed  %s\n' "$line"
done
printf '\ntest.sh: all %d stages passed in %ds\n' "${#passed[@]}" "$SECONDS"
