#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check_blas.sh — the matrix products through BLAS implementations other
# than OpenBLAS: a build with -Dblas=blas-netlib links Debian's generic
# libblas.so.3, and the suites that multiply matrices then run once against
# each implementation installed in its own folder (the reference BLAS, and
# BLIS when installed), picked by LD_LIBRARY_PATH as Debian's alternatives
# would pick it. ldd proves which library each run loads.
#
#   bash scripts/check_blas.sh [build-dir]     (default build-test-blas)
#
# Run by scripts/test.sh; scripts/setup.sh --test installs libblas-dev and
# libblis-dev.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build-test-blas}

fail() {
    echo "check_blas.sh: $*" >&2
    exit 1
}

if [[ -f $build/meson-private/coredata.dat ]]; then
    meson setup --reconfigure "$build" -Dblas=blas-netlib --werror
else
    meson setup "$build" -Dblas=blas-netlib --werror
fi
meson compile -C "$build"

multiarch=$(gcc -print-multiarch)
suites=(matmul nn train models higher gradcheck_registry)
ran=0
for entry in "reference:/usr/lib/$multiarch/blas" "BLIS:/usr/lib/$multiarch/blis-openmp" \
    "BLIS:/usr/lib/$multiarch/blis-pthread"; do
    name=${entry%%:*}
    dir=${entry#*:}
    [[ -e $dir/libblas.so.3 ]] || continue
    loaded=$(LD_LIBRARY_PATH=$dir ldd "$build/tests/check-matmul" | awk '$1 == "libblas.so.3" {print $3}')
    [[ $loaded == "$dir/libblas.so.3" ]] || fail "$name: check-matmul loads '$loaded', not $dir/libblas.so.3"
    if LD_LIBRARY_PATH=$dir ldd "$build/tests/check-matmul" | grep -q libopenblas; then
        fail "$name: check-matmul still loads OpenBLAS"
    fi
    echo "=== $name BLAS ($loaded): ${suites[*]}"
    LD_LIBRARY_PATH=$dir meson test -C "$build" --no-rebuild --print-errorlogs "${suites[@]}"
    ran=$((ran + 1))
done
((ran > 0)) || fail "no BLAS besides OpenBLAS is installed (apt-get install libblas-dev)"
echo "check_blas.sh: the products agree through $ran other BLAS implementation(s)"
