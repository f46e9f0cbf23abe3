#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/step_files.sh — which of the library's source files one training step
# runs code of: the engine's MLP step of bench_mlp (forward, cross-entropy,
# backward, Adam step, reset; standard shape) under callgrind, counting only
# the step (--toggle-collect=profile_engine_steps), and every function with a
# nonzero instruction count listed under its source file. Functions inlined
# from a header are listed under the header. Needs valgrind; builds its own
# -O2 -g build (build-steps) so that callgrind sees file names.
#
#   bash bench/step_files.sh [STEPS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${STEPS_BUILD:-$ROOT/build-steps}
cd "$ROOT"
if [[ ! -f $BUILD/meson-private/coredata.dat ]]; then
    meson setup "$BUILD" --buildtype=debugoptimized -Db_ndebug=true >/dev/null
fi
meson compile -C "$BUILD" bench_mlp >/dev/null
out=$(mktemp)
trap 'rm -f "$out"' EXIT
OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1 valgrind --tool=callgrind \
    --callgrind-out-file="$out" --collect-atstart=no --toggle-collect=profile_engine_steps \
    "$BUILD/bench/bench_mlp" --profile=standard --steps="${1:-3}" >/dev/null 2>&1
callgrind_annotate --inclusive=no --threshold=100 "$out" | python3 -c '
import collections, re, sys
files = collections.defaultdict(set)
for line in sys.stdin:
    m = re.match(r"\s*[\d,]+ \([^)]*\)\s+(?:\S*/)?\.\./((?:autograd|ops|models)/[^:\s]+):(\S+)", line)
    if m:
        files[m.group(1)].add(m.group(2))
sources = sorted(f for f in files if f.endswith(".c"))
for f in sources + sorted(f for f in files if not f.endswith(".c")):
    print(f.ljust(32), " ".join(sorted(files[f])))
print(f"{len(sources)} source files (headers inlined into them listed after)")
'
