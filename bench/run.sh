#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh — the whole benchmark suite in one command:
#
#     bench/run.sh            # full run (about 5-10 minutes on 2 cores)
#     bench/run.sh --quick    # a smoke run: few samples, same tables
#
# 1. configures a release build of its own (build-bench: -O3, NDEBUG) and
#    builds only the benchmarks (they link the static library);
# 2. runs, in this order, every time: bench_mlp and bench_logreg with
#    OPENBLAS_NUM_THREADS=1 then 2, bench_scalar, bench_tape and bench_threads
#    (the thread pool's crossover: 1 OpenBLAS thread, the pool's set by it),
#    bench_conv and bench_seq likewise, KANN's MLP step beside the engine's
#    (bench/kann_peer.sh mlp, 1 then 2 threads too) and KANN's LSTM
#    (bench/kann_peer.sh lstm), both when KANN_DIR is set, the memory probes (bench_mlp
#    --memory=engine|hand, each in a fresh process), then the PyTorch peer with OPENBLAS_NUM_THREADS=1 then 2,
#    each trying torch.set_num_threads(1) and (2);
# 3. does all of step 2 once per environment pass:
#      as-set   the environment as this shell has it (OPENBLAS_CORETYPE and
#               OPENBLAS_L2_SIZE may be set here: older OpenBLAS builds
#               misbehave on some processors);
#      unset    both variables removed, for these commands only (skipped
#               when neither is set: it would repeat as-set);
#      <core>   OPENBLAS_CORETYPE=<core> (default SkylakeX on a CPU with
#               AVX-512; BENCH_FORCE_CORE=none skips it), when the kernel
#               OpenBLAS picks by itself is another one: OpenBLAS 0.3.21
#               does not know recent CPU models and falls back to its
#               generic Prescott (SSE3) kernels, which decide every GEMM's
#               speed, for the engine and PyTorch alike;
# 4. merges everything with bench/report.py into markdown tables (ratios,
#    the issue's targets met or missed), printed and written to
#    build-bench/bench-results/report.md beside the raw logs.
#
# Environment knobs: BENCH_BUILD (build dir), BENCH_PYTHON (an interpreter
# with torch; otherwise /usr/bin/python3, then python3 on PATH, are tried,
# and the peer is skipped with a note when none imports torch),
# BENCH_FORCE_CORE, BENCH_IDLE_WAIT (seconds to wait for other processes
# to leave the CPUs before each pass; default 60), KANN_DIR (a checkout of
# KANN: its MLP and LSTM steps are built out of tree by bench/kann_peer.sh
# and join the MLP and sequence tables; without it those columns say
# "not run").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build-bench}
OUT=$BUILD/bench-results
QUICK=()
if [ "${1:-}" = "--quick" ]; then QUICK=(--quick); fi
cd "$ROOT"

# ---- build ----
if [ -f "$BUILD/build.ninja" ]; then
    meson setup --reconfigure "$BUILD" --buildtype=release -Db_ndebug=true >/dev/null
else
    meson setup "$BUILD" --buildtype=release -Db_ndebug=true >/dev/null
fi
meson compile -C "$BUILD" bench_mlp bench_logreg bench_scalar bench_tape bench_conv bench_seq \
    bench_threads >/dev/null
BIN=$BUILD/bench
mkdir -p "$OUT"
rm -f "$OUT"/*.txt "$OUT"/*.log

# ---- the PyTorch peer's interpreter ----
PY=""
for cand in ${BENCH_PYTHON:-} /usr/bin/python3 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import torch' >/dev/null 2>&1; then
        PY=$cand
        break
    fi
done
REPORT_PY=${PY:-$(command -v python3 || true)}

# ---- the machine ----
machine() {
    local cpu cores blas torch
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
    cores=$(nproc)
    blas=$(dpkg-query -W -f '${Package} ${Version}' libopenblas0-pthread 2>/dev/null || echo "OpenBLAS")
    torch="not available (no interpreter imports torch; the PyTorch columns are empty)"
    if [ -n "$PY" ]; then
        torch="PyTorch $("$PY" -c 'import torch; print(torch.__version__)') via $PY"
    fi
    echo "- CPU: $cpu (family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), model $(grep -m1 '^model[[:space:]]' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')); $cores cores; AVX-512: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)"
    echo "- Compiler: $(cc --version | head -1); build: meson release (-O3), -Db_ndebug=true"
    echo "- BLAS: $blas (pthread build, DYNAMIC_ARCH)"
    echo "- Peer: $torch"
    echo "- Threads: OPENBLAS_NUM_THREADS set to 1 and to 2 for each C benchmark that uses BLAS;"
    echo "  PyTorch: torch.set_num_threads(1) and (2) under each OpenBLAS setting; interop threads 1"
    echo "- Source: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' + uncommitted changes'); $(date -u '+%Y-%m-%d %H:%M UTC')"
}

# Percent of all CPUs busy over one second while this script sleeps: other
# people's work, which would make the timings noisy.
others_busy() {
    local a b
    a=($(head -1 /proc/stat))
    sleep 1
    b=($(head -1 /proc/stat))
    local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
    for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
    echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

wait_idle() {
    local limit=${BENCH_IDLE_WAIT:-60} waited=0 busy
    busy=$(others_busy)
    while [ "$busy" -gt 15 ] && [ "$waited" -lt "$limit" ]; do
        sleep 4
        waited=$((waited + 5))
        busy=$(others_busy)
    done
    echo "$busy"
}

# run_pass LABEL NOTE [VAR=value | -u VAR]...  — one environment pass
run_pass() {
    local label=$1 note=$2
    shift 2
    local f=$OUT/$label.txt log=$OUT/$label.log busy kernel ct l2
    kernel=$(env "$@" "$BIN/bench_tape" --blas-core)
    ct=$(env "$@" sh -c 'echo "${OPENBLAS_CORETYPE-unset}"')
    l2=$(env "$@" sh -c 'echo "${OPENBLAS_L2_SIZE-unset}"')
    echo
    echo "######## environment pass '$label': OPENBLAS_CORETYPE=$ct OPENBLAS_L2_SIZE=$l2 -> kernel $kernel"
    busy=$(wait_idle)
    {
        echo "META pass=$label"
        echo "META coretype=$ct"
        echo "META l2size=$l2"
        echo "META kernel=$kernel"
        echo "META note=$note"
        echo "META load_before=${busy}%"
    } >>"$f"
    {
        for t in 1 2; do
            env "$@" OPENBLAS_NUM_THREADS=$t "$BIN/bench_mlp" "${QUICK[@]}" --results "$f"
            env "$@" OPENBLAS_NUM_THREADS=$t "$BIN/bench_logreg" "${QUICK[@]}" --results "$f"
            env "$@" OPENBLAS_NUM_THREADS=$t "$BIN/bench_conv" "${QUICK[@]}" --results "$f"
            env "$@" OPENBLAS_NUM_THREADS=$t "$BIN/bench_seq" "${QUICK[@]}" --results "$f"
            env "$@" OPENBLAS_NUM_THREADS=$t BENCH_BUILD="$BUILD" bash bench/kann_peer.sh mlp \
                "${QUICK[@]}" --results "$f"
        done
        env "$@" OPENBLAS_NUM_THREADS=1 BENCH_BUILD="$BUILD" bash bench/kann_peer.sh lstm "${QUICK[@]}" \
            --results "$f"
        env "$@" OPENBLAS_NUM_THREADS=1 "$BIN/bench_scalar" "${QUICK[@]}" --results "$f"
        env "$@" OPENBLAS_NUM_THREADS=1 "$BIN/bench_tape" "${QUICK[@]}" --results "$f"
        env "$@" OPENBLAS_NUM_THREADS=1 "$BIN/bench_threads" "${QUICK[@]}" --results "$f"
        for w in engine hand; do
            env "$@" OPENBLAS_NUM_THREADS=1 "$BIN/bench_mlp" --memory=$w --results "$f"
        done
        if [ -n "$PY" ]; then
            env "$@" OPENBLAS_NUM_THREADS=1 "$PY" bench/torch_peer.py "${QUICK[@]}" --threads 1,2 \
                --results "$f"
            env "$@" OPENBLAS_NUM_THREADS=2 "$PY" bench/torch_peer.py "${QUICK[@]}" --threads 1,2 \
                --only mlp,logreg,lenet,conv,lstm,gpt --results "$f"
        else
            echo "run.sh: no Python interpreter here imports torch (tried ${BENCH_PYTHON:-} /usr/bin/python3 python3): PyTorch peer skipped"
        fi
    } 2>&1 | tee "$log"
    echo "META load_after=$(others_busy)%" >>"$f"
}

START=$(date +%s)
{
    echo "## Benchmark results"
    echo
    machine
} >"$OUT/machine.md"
cat "$OUT/machine.md"

passes=()
run_pass as-set "The environment as found."
passes+=("$OUT/as-set.txt")
if [ -n "${OPENBLAS_CORETYPE+x}${OPENBLAS_L2_SIZE+x}" ]; then
    run_pass unset "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed for these commands only." \
        -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
    passes+=("$OUT/unset.txt")
else
    echo "run.sh: neither OPENBLAS_CORETYPE nor OPENBLAS_L2_SIZE is set: the 'unset' pass would repeat 'as-set'; skipped" |
        tee -a "$OUT/machine.md"
fi
force=${BENCH_FORCE_CORE:-auto}
if [ "$force" = auto ]; then
    force=none
    if grep -qw avx512f /proc/cpuinfo; then force=SkylakeX; fi
fi
asset_kernel=$("$BIN/bench_tape" --blas-core)
if [ "$force" != none ] && [ "$asset_kernel" != "$force" ]; then
    run_pass "$force" "OPENBLAS_CORETYPE=$force (this CPU's instruction set; OpenBLAS chose $asset_kernel by itself), OPENBLAS_L2_SIZE removed, for these commands only." \
        -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE="$force"
    passes+=("$OUT/$force.txt")
fi

echo
echo "######## report"
{
    cat "$OUT/machine.md"
    echo "- Wall time of the run: $(( $(date +%s) - START )) s${QUICK:+ (--quick: few samples)}"
    echo
    if [ -n "$REPORT_PY" ]; then
        "$REPORT_PY" bench/report.py "${passes[@]}"
    else
        echo "(no python3 to format the tables; raw results:)"
        cat "${passes[@]}"
    fi
} | tee "$OUT/report.md"
echo
echo "run.sh: tables in $OUT/report.md, raw results and logs beside it"
