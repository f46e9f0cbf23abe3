#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/profile.sh — where the engine's time goes, in instructions: runs the
# engine's MLP step (tiny and standard shapes), the logistic-regression run
# (1000 steps) and the scalar graph under callgrind, counting only the
# engine's own step (bench_mlp --profile, bench_logreg --profile, and
# bench_scalar's forward and backward functions), and the hand-written
# step beside it for the MLP and logistic regression (the engine's count
# over the hand-written one is what the engine adds), and groups the counts
# with bench/cg_breakdown.py. Instruction counts do not depend on what else
# runs on the machine, unlike the timings of bench/run.sh.
#
# valgrind does not emulate AVX-512, so OpenBLAS is pinned to its Haswell
# (AVX2) kernels here; the engine's own code is the same whatever the kernel.
# Needs the build of bench/run.sh (build-bench) and valgrind; takes about two
# minutes; the summary is also written to build-bench/bench-results/profile.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build-bench}
BIN=$BUILD/bench
OUT=$BUILD/bench-results
mkdir -p "$OUT"
cd "$ROOT"
meson compile -C "$BUILD" bench_mlp bench_logreg bench_scalar >/dev/null
export OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1
unset OPENBLAS_L2_SIZE

{
for spec in tiny:1000 standard:50; do
    shape=${spec%%:*} steps=${spec##*:}
    echo "== engine MLP step, $shape shape ($steps steps counted) =="
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.$shape" --collect-atstart=no \
        --toggle-collect=profile_engine_steps "$BIN/bench_mlp" --profile="$shape" --steps="$steps" \
        >/dev/null 2>&1
    python3 bench/cg_breakdown.py "$OUT/callgrind.$shape" "$steps" step
    echo "-- the hand-written step, same shape --"
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.$shape.hand" --collect-atstart=no \
        --toggle-collect=profile_hand_steps "$BIN/bench_mlp" --profile="$shape" --steps="$steps" \
        >/dev/null 2>&1
    python3 bench/cg_breakdown.py "$OUT/callgrind.$shape.hand" "$steps" step
done

for who in engine hand hand_gemv; do
    echo "== logistic regression, $who (1000 steps counted) =="
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.logreg.$who" --collect-atstart=no \
        --toggle-collect=profile_${who}_run "$BIN/bench_logreg" --profile >/dev/null 2>&1
    python3 bench/cg_breakdown.py "$OUT/callgrind.logreg.$who" 1000 step
done

echo "== scalar graph, forward + backward =="
log=$(valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.scalar" --collect-atstart=no \
    --toggle-collect=scalar_forward --toggle-collect=scalar_backward \
    "$BIN/bench_scalar" --quick --samples=4 2>/dev/null)
nodes=$(echo "$log" | sed -n 's/.* samples, \([0-9]*\) nodes.*/\1/p')
iters=$(echo "$log" | sed -n 's/.*; \([0-9]*\) iterations in all.*/\1/p')
python3 bench/cg_breakdown.py "$OUT/callgrind.scalar" "$((nodes * iters))" node
} | tee "$OUT/profile.txt"
