#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/kann_peer.sh — builds KANN's side of the LSTM and MLP benchmarks
# out of tree and runs one of them:
#
#     KANN_DIR=<a checkout of github.com/attractivechaos/kann> bench/kann_peer.sh [lstm|mlp] [--quick] [--results FILE]
#
# (lstm when neither is named). KANN is not part of this project and none
# of its code is committed here: the script compiles KANN's kann.c and
# kautodiff.c from KANN_DIR together with bench/kann_lstm.c or
# bench/kann_mlp.c (ours) into $BENCH_BUILD/kann_lstm or kann_mlp, with
# KANN's CBLAS path on the same OpenBLAS the engine uses (-DHAVE_CBLAS), -O3.
# Without KANN_DIR (or when it holds no kann.h) it says so and exits 0, so
# bench/run.sh can call it unconditionally. bench_util.c and the engine's
# static library in $BENCH_BUILD (bench/run.sh's build) supply the timing
# and result-line helpers.
set -euo pipefail
which=lstm
if [ "${1:-}" = lstm ] || [ "${1:-}" = mlp ]; then
    which=$1
    shift
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build-bench}
if [ -z "${KANN_DIR:-}" ] || [ ! -f "$KANN_DIR/kann.h" ]; then
    echo "kann_peer.sh: KANN_DIR is not set to a KANN checkout: the KANN column is empty"
    exit 0
fi
lib=$(find "$BUILD" -maxdepth 2 -name 'libautograd.a' | head -1)
if [ -z "$lib" ]; then
    echo "kann_peer.sh: no libautograd.a in $BUILD (run bench/run.sh, or meson compile there first)" >&2
    exit 1
fi
blas_cflags=$(pkg-config --cflags openblas 2>/dev/null || true)
blas_libs=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
# shellcheck disable=SC2086 # the pkg-config flags are lists
cc -O3 -DNDEBUG -DHAVE_CBLAS -w $blas_cflags -I"$KANN_DIR" -I"$ROOT/bench" -I"$ROOT" \
    -I"$(dirname "$lib")" \
    "$ROOT/bench/kann_$which.c" "$ROOT/bench/bench_util.c" "$KANN_DIR/kann.c" "$KANN_DIR/kautodiff.c" \
    "$lib" $blas_libs -lpthread -lm -o "$BUILD/kann_$which"
"$BUILD/kann_$which" "$@"
