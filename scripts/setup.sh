#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# setup.sh — installs the Debian packages the build needs, when missing.
#
#   bash scripts/setup.sh          packages to build the library and examples
#   bash scripts/setup.sh --demo   the same plus what the demo command uses
#   bash scripts/setup.sh --test   the same plus what the test command uses
#   bash scripts/setup.sh --playground   what the browser playground and its
#                                  test use (Emscripten, Chromium, Node.js)
#
# What is installed is asked of dpkg-query. When everything is there, nothing
# else happens (no apt-get, no root needed). Otherwise it runs
# `apt-get update` once and `apt-get install` for the missing packages, as
# root or through sudo, and fails with a message naming them when it can do
# neither. Written for Debian 12; any Debian-based system with these package
# names will do.
set -euo pipefail

# Installed without recommends, so two packages that are only recommended
# are named: libc6-dev (gcc's C headers) and dpkg-dev (meson asks its
# dpkg-architecture for Debian's multiarch libdir; without it `meson install`
# puts the library in lib64, where neither pkg-config nor the loader looks).
# libjson-c-dev parses safetensors headers; zlib1g-dev reads gzip'd IDX files.
# libpng-dev writes the PNG pictures of ag_save_png_grid.
build_packages=(meson ninja-build pkg-config gcc libc6-dev dpkg-dev check uthash-dev
    libopenblas-dev zlib1g-dev libjson-c-dev libpng-dev)
# graphviz: seed_backprop renders its graph with dot (without it: the .dot only).
# gnuplot-nox draws logreg_2d's decision boundary; dataset-fashion-mnist is
# the data of mlp_fashion; wamerican's word list is the text of the
# sequence models (char_lstm, gpt_words).
demo_packages=(graphviz gnuplot-nox dataset-fashion-mnist wamerican)
# valgrind: the memcheck stage. The rest let tests run that would otherwise be
# skipped: python3-numpy (safetensors interop), graphviz (rendering a graph),
# dataset-fashion-mnist (the IDX loader on the real files).
# clang and libclang-rt-14-dev: the libFuzzer targets of the file readers.
# g++: the packaging check compiles every installed header as C++.
# gnuplot-nox: the training test draws the curves from the script ag_train writes.
# libblas-dev, libblis-dev: the products through the reference BLAS and BLIS.
# doxygen: the API reference, and the test that every public function has one.
# python3-torch: the torch_interop test loads the library's file into PyTorch.
# wamerican: the text reader's test on a real file, and the sequence demos' test.
test_packages=(valgrind python3-numpy graphviz dataset-fashion-mnist clang libclang-rt-14-dev g++
    gnuplot-nox libblas-dev libblis-dev doxygen python3-torch wamerican)
# libopenmpi-dev, openmpi-bin: data-parallel training (autograd/ddp.h, meson
# option mpi), its tests under mpirun (tests/mpi) and the mlp_fashion_ddp
# demo. The library builds and works without them.
test_packages+=(libopenmpi-dev openmpi-bin)
demo_packages+=(libopenmpi-dev openmpi-bin)

# The browser playground (scripts/playground.sh) and its test
# (tests/browser/): Debian's emscripten builds the WebAssembly, chromium runs
# the page, Node.js runs Playwright; fonts for the screenshots, Korean (Nanum)
# among them. npm is named only when no npm is installed: Node.js packages
# from outside Debian (NodeSource's) bring their own, which Debian's npm
# package would conflict with.
playground_packages=(emscripten chromium nodejs fonts-dejavu-core fonts-liberation fonts-nanum)
if ! command -v npm >/dev/null 2>&1; then
    playground_packages+=(npm)
fi

usage() {
    echo "usage: bash scripts/setup.sh [--demo] [--test] [--playground]" >&2
    exit 2
}

packages=("${build_packages[@]}")
for arg in "$@"; do
    case $arg in
    --demo) packages+=("${demo_packages[@]}") ;;
    --test) packages+=("${test_packages[@]}") ;;
    --playground) packages+=("${playground_packages[@]}") ;;
    -h | --help) usage ;;
    *)
        echo "setup.sh: unknown argument '$arg'" >&2
        usage
        ;;
    esac
done

# Each package once, in the order given.
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | awk '!seen[$0]++')

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "setup.sh: dpkg-query not found: this script installs Debian packages." >&2
    echo "setup.sh: install these (or your system's equivalents) by hand: ${packages[*]}" >&2
    exit 1
fi

# Missing = not in the "installed" state (absent, removed, half-configured).
missing_packages() {
    local p status
    for p in "$@"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
        if [[ $status != installed ]]; then
            printf '%s\n' "$p"
        fi
    done
}

mapfile -t missing < <(missing_packages "${packages[@]}")
if ((${#missing[@]} == 0)); then
    echo "setup.sh: all ${#packages[@]} packages are installed"
    exit 0
fi

echo "setup.sh: missing packages: ${missing[*]}"
as_root=()
if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        echo "setup.sh: not root and sudo is not installed: as root, run" >&2
        echo "    apt-get update && apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: apt-get not found; install these by hand: ${missing[*]}" >&2
    exit 1
fi

if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update; then
    echo "setup.sh: apt-get update failed (no network, or no package sources?)" >&2
    exit 1
fi
if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"; then
    echo "setup.sh: apt-get install failed for: ${missing[*]}" >&2
    exit 1
fi

mapfile -t still_missing < <(missing_packages "${packages[@]}")
if ((${#still_missing[@]} > 0)); then
    echo "setup.sh: still not installed after apt-get: ${still_missing[*]}" >&2
    exit 1
fi
echo "setup.sh: installed ${missing[*]}"
