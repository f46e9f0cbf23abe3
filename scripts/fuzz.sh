#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fuzz.sh — builds the libFuzzer targets of the file readers (CSV, IDX,
# safetensors, text) with clang, AddressSanitizer and UBSan, replays the saved
# regression inputs, then fuzzes each target for a bounded time.
#
#   bash scripts/fuzz.sh [seconds-per-target] [target ...]
#
# Defaults: 20 seconds each, all four targets; FUZZ_RUNS=n stops each after
# n executions. The test command runs it
# briefly; run it longer by hand (e.g. `bash scripts/fuzz.sh 600 csv`).
# New corpus entries stay in build-fuzz/; a crash is written there as
# crash-<target>-* and the script fails: copy the file into
# tests/fuzz/regressions/<target>/ once fixed, so it is replayed for good.
# Needs clang and libclang-rt-14-dev (scripts/setup.sh --test installs them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

secs=${1:-20}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(csv idx safetensors text)

out=build-fuzz
mkdir -p "$out"
# The data-parallel module (models/ddp*.c) needs MPI, which the readers
# do not: it is left out, as a build without MPI leaves it out.
sources=(autograd/core/*.c autograd/engine/*.c ops/*.c)
for s in models/*.c; do
    [[ $(basename "$s") == ddp* ]] || sources+=("$s")
done
flags=(-std=c11 -g -O1 -D_POSIX_C_SOURCE=200809L -DAG_BUILDING_LIBRARY
    -I. -Iautograd -Imodels -fno-omit-frame-pointer)
san=("-fsanitize=address,undefined" -fno-sanitize-recover=undefined)

# The library once, instrumented for coverage (the portable matmul kernel:
# no BLAS, which the readers do not use anyway).
objs=()
for s in "${sources[@]}"; do
    o="$out/$(echo "$s" | tr / _).o"
    if [[ ! -f $o || $s -nt $o ]]; then
        clang "${flags[@]}" "${san[@]}" -fsanitize=fuzzer-no-link -c "$s" -o "$o"
    fi
    objs+=("$o")
done

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for t in "${targets[@]}"; do
    bin="$out/fuzz_$t"
    clang "${flags[@]}" "${san[@]}" -fsanitize=fuzzer "tests/fuzz/fuzz_$t.c" "${objs[@]}" \
        -lz -ljson-c -lm -lpthread -o "$bin"
    regressions=(tests/fuzz/regressions/"$t"/*)
    if [[ -e ${regressions[0]} ]]; then
        echo "fuzz $t: replaying ${#regressions[@]} regression input(s)"
        "$bin" "${regressions[@]}" >"$out/replay-$t.log" 2>&1 || {
            cat "$out/replay-$t.log"
            echo "fuzz $t: a regression input fails again" >&2
            exit 1
        }
    fi
    mkdir -p "$out/corpus-$t"
    # A target's dictionary (magic numbers and the like), when it has one.
    extra=()
    [[ -f tests/fuzz/$t.dict ]] && extra+=(-dict="tests/fuzz/$t.dict")
    # FUZZ_RUNS=n: stop after n executions instead (for the counts of a
    # long run by hand; the time bound still applies).
    [[ -n ${FUZZ_RUNS:-} ]] && extra+=(-runs="$FUZZ_RUNS")
    echo "fuzz $t: ${secs} s${FUZZ_RUNS:+ or $FUZZ_RUNS executions}"
    if ! "$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
        "${extra[@]}" \
        -artifact_prefix="$out/crash-$t-" "$out/corpus-$t" "tests/fuzz/corpus/$t" \
        >"$out/fuzz-$t.log" 2>&1; then
        tail -40 "$out/fuzz-$t.log"
        echo "fuzz $t: FAILED (input saved as $out/crash-$t-*)" >&2
        exit 1
    fi
    grep -E 'stat::number_of_executed_units' "$out/fuzz-$t.log" | sed "s/^/fuzz $t: /"
    grep -oE 'cov: [0-9]+' "$out/fuzz-$t.log" | tail -n 1 | sed "s/^/fuzz $t: edges /"
done
echo "fuzz: ${targets[*]}: no crash"
