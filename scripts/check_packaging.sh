#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check_packaging.sh — the library as a user outside the tree gets it:
#   1. configured with -Dtests=disabled, it builds without Check (which is
#      then not among its dependencies);
#   2. `meson install` into a prefix inside the build directory;
#   3. every installed header compiles on its own as C11 and as C++11
#      (-Wall -Wextra -Wpedantic -Werror), and qualified calls (::ag_add)
#      work in C++;
#   4. the shared library exports exactly the functions the installed
#      headers declare (scripts/check_exports.py), and calls nothing that
#      starts a process;
#   5. the examples install (programs, sources, data) and run from there;
#   6. a program outside the tree links with `pkg-config --cflags --libs
#      autograd`, and with `pkg-config --static` against libautograd.a
#      alone, and both compute the same gradient as the closed form.
#
#   bash scripts/check_packaging.sh [build-dir]     (default build-packaging)
#
# Run by scripts/test.sh; needs gcc, g++ and pkg-config (scripts/setup.sh
# --test installs them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build-packaging}
case $build in
/*) prefix=$build/prefix ;;
*) prefix=$(pwd)/$build/prefix ;;
esac

fail() {
    echo "check_packaging.sh: $*" >&2
    exit 1
}

if [[ -f $build/meson-private/coredata.dat ]]; then
    meson setup --reconfigure "$build" -Dtests=disabled -Dinstall_examples=true --werror --prefix="$prefix" --libdir=lib
else
    meson setup "$build" -Dtests=disabled -Dinstall_examples=true --werror --prefix="$prefix" --libdir=lib
fi
deps=$(meson introspect --dependencies "$build" |
    python3 -c 'import json, sys; print(" ".join(d["name"] for d in json.load(sys.stdin)))')
echo "dependencies with -Dtests=disabled: $deps"
for d in $deps; do
    [[ $d != check ]] || fail "-Dtests=disabled still depends on Check"
done
meson compile -C "$build"
rm -rf "$prefix"
meson install -C "$build" --quiet

# Exported: the public API, all of it and nothing else.
python3 scripts/check_exports.py "$prefix/lib/libautograd.so" "$prefix"/include/autograd/*.h

# The library starts no process (pictures are written as files for the
# caller to render): none of the calls that would are linked in.
spawners=$(nm -D --undefined-only "$prefix/lib/libautograd.so" |
    grep -oE ' (popen|system|fork|vfork|execl|execle|execlp|execv|execve|execvp|posix_spawnp?)(@|$)' || true)
[[ -z $spawners ]] || fail "libautograd.so calls $spawners: the library must not start processes"
echo "starts no process: no popen, system, fork, exec* or posix_spawn in libautograd.so"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
pkg-config --exists autograd || fail "pkg-config does not find autograd in $PKG_CONFIG_PATH"
cflags=$(pkg-config --cflags autograd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

headers=("$prefix"/include/autograd/*.h)
((${#headers[@]} > 0)) || fail "no headers installed under include/autograd"
for h in "${headers[@]}"; do
    name=autograd/$(basename "$h")
    printf '#include <%s>\nint main(void) { return ag_numel(ag_zeros(AG_F64, 0, 0)) != 1; }\n' \
        "$name" >"$work/alone.c"
    # shellcheck disable=SC2086
    gcc -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags -c "$work/alone.c" -o "$work/alone.o" ||
        fail "$name does not compile on its own as C11"
    printf '#include <%s>\nint main() { ag_tensor *t = ::ag_zeros(AG_F64, 0, nullptr);\n  return ::ag_numel(::ag_add(t, t)) != 1; }\n' \
        "$name" >"$work/alone.cpp"
    # shellcheck disable=SC2086
    g++ -std=c++11 -Wall -Wextra -Wpedantic -Werror $cflags -c "$work/alone.cpp" -o "$work/alone.o" ||
        fail "$name does not compile on its own as C++11"
    echo "compiles alone as C11 and C++11: $name"
done

# d/dx sum(tanh(x)) = 1 - tanh(x)^2, checked against libm in the program.
cat >"$work/outside.c" <<'EOF'
#include <autograd/autograd.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    double xs[] = {-1.5, 0.25, 2.0};
    ag_tensor *x = ag_from_array(AG_F64, 1, (int64_t[]){3}, xs);
    if (!x || !ag_set_requires_grad(x, true) || !ag_backward(ag_sum(ag_tanh(x)))) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }
    for (int i = 0; i < 3; i++) {
        double want = 1 - tanh(xs[i]) * tanh(xs[i]);
        if (fabs(ag_get_flat(ag_grad_of(x), (size_t)i) - want) > 1e-15) {
            fprintf(stderr, "gradient %d: %.17g, want %.17g\n", i,
                    ag_get_flat(ag_grad_of(x), (size_t)i), want);
            return 1;
        }
    }
    printf("autograd %s: gradients ok\n", ag_version());
    ag_tensor_free(x);
    ag_shutdown();
    return strcmp(ag_version(), "") == 0;
}
EOF
# shellcheck disable=SC2046
gcc -std=c11 "$work/outside.c" -o "$work/outside-shared" $(pkg-config --cflags --libs autograd) -lm \
    -Wl,-rpath,"$prefix/lib"
"$work/outside-shared"
ldd "$work/outside-shared" | grep -q libautograd.so || fail "the shared link did not use libautograd.so"

# The static library alone in a copy of the prefix, so that the linker
# cannot pick the shared one; the .pc file is told where the copy is.
cp -a "$prefix" "$work/static"
rm -f "$work/static"/lib/libautograd.so*
# shellcheck disable=SC2046
gcc -std=c11 "$work/outside.c" -o "$work/outside-static" \
    $(pkg-config --define-variable=prefix="$work/static" --static --cflags --libs autograd) -lm
"$work/outside-static"
if ldd "$work/outside-static" | grep -q libautograd; then
    fail "the static link still loads libautograd.so"
fi
# The installed examples: a program runs on the installed data, and an
# installed source builds through pkg-config and runs.
docs=$prefix/share/doc/autograd
for f in LICENSE README.md CHANGELOG.md examples/readme_logreg.c examples/data/wdbc.csv; do
    [[ -f $docs/$f ]] || fail "$docs/$f is not installed"
done
"$prefix/libexec/autograd/logreg_wdbc" "$docs/examples/data" "$work/wdbc.safetensors" >"$work/wdbc.out"
grep -q "test accuracy" "$work/wdbc.out" || fail "the installed logreg_wdbc printed no test accuracy"
# shellcheck disable=SC2046
gcc -std=c11 "$docs/examples/readme_logreg.c" -o "$work/readme_logreg" \
    $(pkg-config --cflags --libs autograd) -lm -Wl,-rpath,"$prefix/lib"
"$work/readme_logreg" >/dev/null
echo "installed examples: logreg_wdbc runs on the installed data; readme_logreg.c builds and runs"

echo "check_packaging.sh: an outside program links shared and static; every header stands alone"
