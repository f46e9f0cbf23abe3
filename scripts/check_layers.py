#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_layers.py — the library's layers only call and include downward.

    python3 scripts/check_layers.py <source root> <libautograd.a>

The layers, lowest first, and their folders:
    core    autograd/core    tensors, the tape, the registry, errors, allocation
    ops     ops              the op families
    engine  autograd/engine  the backward sweep, ag_grad and higher order,
                             gradient checking, explain, traces, printing
    models  models           parameters, layers, optimizers, data, files
A file may call what its own layer or a lower one defines (read from the
static library's objects with nm: an undefined symbol of one object that
an object of a higher layer defines is an upward call), and include the
installed headers, its own layer's private headers and those of layers
below — but models/ only the installed headers and its own (it is a client
of the public API). Headers of compiler markers only (MARKERS) go anywhere. With every edge pointing down, the folders form no
circle; the script says so, and fails on the first edge that does not.

models/ files allowed, for a while, to include a lower layer's private
header would be listed in PENDING (none are): the check fails when one is
added, and when one listed no longer does (so the list only shrinks)."""
import os
import re
import subprocess
import sys

LAYERS = ['core', 'ops', 'engine', 'models']
FOLDERS = {'autograd/core': 'core', 'ops': 'ops', 'autograd/engine': 'engine', 'models': 'models'}
PUBLIC = {'autograd/autograd.h', 'autograd/op.h', 'autograd/ag_locations.h', 'autograd/models.h',
          'autograd/tools.h'}
PRIVATE = {'autograd/internal.h': 'core', 'autograd/testing.h': 'core',
           'ops/ops_internal.h': 'ops', 'models/safetensors_internal.h': 'models',
           'models/png_internal.h': 'models', 'models/plot_internal.h': 'models',
           'models/models_internal.h': 'models'}
PENDING = set()
# Headers of compiler markers only (no declaration, no code: nothing to call
# through them), which every layer may include.
MARKERS = {'autograd/vector_clones.h'}


def layer_of(path):
    for folder, layer in sorted(FOLDERS.items(), key=lambda kv: -len(kv[0])):
        if path.startswith(folder + '/'):
            return layer
    return None


def resolve(root, src, inc):
    for base in (os.path.dirname(src), 'autograd', 'models', 'ops', '.'):
        cand = os.path.normpath(os.path.join(base, inc))
        if os.path.exists(os.path.join(root, cand)):
            return cand
    return None


def check_includes(root, problems, pending_seen):
    for folder in FOLDERS:
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if not name.endswith(('.c', '.h')):
                continue
            src = os.path.join(folder, name)
            mine = layer_of(src)
            with open(os.path.join(root, src), encoding='utf-8') as f:
                text = f.read()
            for inc in re.findall(r'^\s*#\s*include\s*"([^"]+)"', text, re.M):
                hdr = resolve(root, src, inc)
                if hdr is None or hdr in PUBLIC or hdr in MARKERS:
                    continue
                owner = PRIVATE.get(hdr, layer_of(hdr))
                if owner is None:
                    problems.append(f'{src} includes {inc}, which is in no layer')
                elif LAYERS.index(owner) > LAYERS.index(mine):
                    problems.append(f'{src} ({mine}) includes {hdr} of the higher layer {owner}')
                elif mine == 'models' and owner != 'models':
                    if src in PENDING:
                        pending_seen.add(src)
                    else:
                        problems.append(f'{src} includes the private {hdr}: models/ uses the '
                                        'installed headers only')


def check_calls(lib, problems):
    """Upward calls between the objects of the static library; returns the
    number of objects and the set of (caller layer, callee layer) edges."""
    layer = {}
    for member in subprocess.run(['ar', 't', lib], check=True, capture_output=True,
                                 text=True).stdout.split():
        # meson names an object after its source path, / turned into _
        for folder, lay in sorted(FOLDERS.items(), key=lambda kv: -len(kv[0])):
            if member.startswith(folder.replace('/', '_') + '_'):
                layer[member] = lay
                break
        else:
            problems.append(f'{member} is in no layer')
    defined, undefined, member = {}, {}, None
    listing = subprocess.run(['nm', lib], check=True, capture_output=True, text=True).stdout
    for line in listing.splitlines():
        if line.endswith(':') and not line.startswith(' '):
            member = line[:-1]
            defined[member], undefined[member] = set(), set()
            continue
        parts = line.split()
        if member is None or not parts:
            continue
        if len(parts) == 2 and parts[0] == 'U':
            undefined[member].add(parts[1])
        elif len(parts) == 3 and parts[1] in 'TDBRC':
            defined[member].add(parts[2])
    where = {s: m for m, syms in defined.items() for s in syms}
    edges = set()
    for m, syms in sorted(undefined.items()):
        for s in sorted(syms):
            w = where.get(s)
            if not w or w == m or m not in layer or w not in layer:
                continue
            a, b = layer[m], layer[w]
            if a != b:
                edges.add((a, b))
            if LAYERS.index(b) > LAYERS.index(a):
                problems.append(f'{m} ({a}) calls {s}, defined in {w} of the higher layer {b}')
    return len(layer), edges


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    root, lib = sys.argv[1], sys.argv[2]
    problems, pending_seen = [], set()
    check_includes(root, problems, pending_seen)
    for gone in sorted(PENDING - pending_seen):
        problems.append(f'{gone} no longer includes a private header of a lower layer: '
                        'take it off PENDING')
    n_objects, edges = check_calls(lib, problems)
    for p in problems:
        print('check_layers.py: ' + p, file=sys.stderr)
    if problems:
        return 1
    down = ', '.join(f'{a} -> {b}' for a, b in sorted(edges, key=lambda e: (LAYERS.index(e[0]),
                                                                         LAYERS.index(e[1]))))
    print(f'check_layers.py: {n_objects} objects; every call and include goes down '
          f'({down}), so the folders form no circle; models/ includes the installed '
          f'headers only' + (f' but for {len(PENDING)} (PENDING)' if PENDING else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
