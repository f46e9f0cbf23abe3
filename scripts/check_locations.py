#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_locations.py — the source-location macros of ag_locations.h match
the ops.

    python3 scripts/check_locations.py <source root>

ag_locations.h is kept by hand, so this checks it against what it wraps:
  - every op registered in ops/*.c ({.def = {.name = "name", ...}}) whose builder
    ag_<name> is public has a macro;
  - every public function that takes a tensor and returns a new one (a
    builder, which records nodes) has a macro, but for the few listed
    below that record nothing;
  - every macro wraps a public function.
Exit status 1 with the differences listed otherwise."""
import os
import re
import sys

# Public functions that take and return tensors but record no node of their
# own, so there is no place to remember: leaves, accessors, and the op
# authors' result constructor (called inside a builder, which has a macro).
RECORD_NOTHING = {
    'ag_argmax': 'an i64 index result, not differentiable: no node',
    'ag_argmin': 'an i64 index result, not differentiable: no node',
    'ag_bernoulli': 'a random 0/1 tape tensor, not differentiable: no node',
    'ag_clone': 'a new leaf',
    'ag_detach': 'a new leaf',
    'ag_one_hot': 'a new leaf',
    'ag_grad_of': 'an accessor',
    'ag_node_input': 'an accessor',
    'ag_op_result': "the op author's constructor, called inside a wrapped builder",
    'ag_op_apply': "op.h's dispatcher, declared after the macros (the ops' own builders "
                   "carry them)",
    'ag_params_add': 'a parameter store',
}


def strip_comments(text):
    return re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else '.'
    read = lambda p: open(os.path.join(root, p), encoding='utf-8').read()
    macros = set(re.findall(r'^#define (ag_\w+)\(\.\.\.\)', read('autograd/ag_locations.h'), re.M))
    builders, public = set(), set()
    for h in ('autograd/autograd.h', 'autograd/op.h', 'autograd/models.h', 'autograd/tools.h'):
        text = strip_comments(read(h))
        for m in re.finditer(r'^AG_API\s+([^;]*?)\b(ag_\w+)\s*\(([^;]*?)\)\s*;', text, re.M | re.S):
            ret, name, args = m.group(1), m.group(2), ' '.join(m.group(3).split())
            public.add(name)
            if re.fullmatch(r'(const\s+)?ag_tensor\s*\*\s*', ret) and 'ag_tensor *' in args:
                builders.add(name)
    ops = set()
    for f in sorted(os.listdir(os.path.join(root, 'ops'))):
        if f.endswith('.c'):
            ops |= set(re.findall(r'\.def\s*=\s*\{\s*(?:\.name\s*=\s*)?"(\w+)"',
                                  read(os.path.join('ops', f))))
    problems = []
    for op in sorted(ops):
        name = 'ag_' + op
        if name in public and name not in macros:
            problems.append(f'op "{op}" is registered and public but {name} has no location macro')
    for name in sorted(builders - macros - set(RECORD_NOTHING)):
        problems.append(f'{name} builds tensors but has no location macro in ag_locations.h')
    for name in sorted(macros - public):
        problems.append(f'ag_locations.h wraps {name}, which no installed header declares')
    for name in sorted(set(RECORD_NOTHING) - builders):
        problems.append(f'{name} is listed as recording nothing but is not a public builder')
    for p in problems:
        print('check_locations.py: ' + p, file=sys.stderr)
    if not problems:
        print(f'check_locations.py: {len(macros)} macros for {len(builders)} builders '
              f'({len(RECORD_NOTHING)} record nothing) and {len(ops)} registered ops')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
