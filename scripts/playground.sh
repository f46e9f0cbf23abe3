#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# playground.sh — builds the browser playground: the library and the
# playground's C functions (playground/*.c) compiled to WebAssembly by
# Emscripten, beside the page's static files, in one folder that needs
# nothing else (no CDN, no download: the .wasm is embedded in the .js).
#
#   bash scripts/playground.sh [OUTDIR]        (default build-playground)
#   python3 -m http.server -d build-playground 8000    then open localhost:8000
#
# Opening OUTDIR/index.html as a file works too. Needs Debian's emscripten
# (bash scripts/setup.sh --playground installs it) and uthash's header.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=${1:-build-playground}
obj=$out-obj

if ! command -v emcc >/dev/null 2>&1; then
    echo "playground.sh: emcc not found; 'bash scripts/setup.sh --playground' installs Debian's emscripten" >&2
    exit 1
fi
uthash=/usr/include/uthash.h
if [[ ! -f $uthash ]]; then
    echo "playground.sh: $uthash not found; 'bash scripts/setup.sh' installs uthash-dev" >&2
    exit 1
fi
# Debian's emscripten 3.1.6 finds its acorn module (a Debian node package)
# only through NODE_PATH.
export NODE_PATH=${NODE_PATH:+$NODE_PATH:}/usr/share/nodejs

# The library's own sources, less what reads and writes files (the page has
# none): the core, the engine, every op, and the SGD update. Only uthash is
# taken from the system's headers; a folder of its own keeps the rest of
# /usr/include (glibc's) away from Emscripten's libc.
mkdir -p "$obj/include" "$out"
cp "$uthash" "$obj/include/"
sources=(autograd/core/*.c autograd/engine/*.c ops/*.c models/sgd.c
    playground/pg_json.c playground/pg_net.c playground/pg_logreg.c playground/pg_expr.c
    playground/pg_version.c)
exports=_pg_version,_pg_net,_pg_logreg,_pg_expr

# AG_BUILDING_LIBRARY: one static program, so the library's own view of
# its headers (no source-location wrappers) holds for every file.
echo "playground.sh: $(emcc --version | head -n 1)"
emcc -std=c11 -O2 -fno-math-errno -Wall -Wextra -Wpedantic -Werror -DAG_BUILDING_LIBRARY \
    -I. -Iautograd -Imodels -Iplayground -isystem "$obj/include" \
    "${sources[@]}" \
    -sMODULARIZE=1 -sEXPORT_NAME=createAutograd -sSINGLE_FILE=1 \
    -sALLOW_MEMORY_GROWTH=1 -sEXPORTED_FUNCTIONS="$exports" \
    -sEXPORTED_RUNTIME_METHODS=ccall,cwrap \
    -o "$out/autograd_playground.js"

if [[ -d playground/web ]]; then
    cp -r playground/web/. "$out/"
else
    echo "playground.sh: playground/web/ not found: only the engine was built" >&2
    exit 1
fi
echo "playground.sh: built $out/ ($(du -sh "$out" | cut -f1)); serve it with"
echo "    python3 -m http.server -d $out 8000"
echo "and open http://localhost:8000/"
