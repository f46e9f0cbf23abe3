#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that the tutorial's code and output blocks are the real ones.

Convention in the Markdown files: a snippet is introduced by a line

    <!-- snippet: NAME -->

followed by a fenced block opened with ```c that holds docs/snippets/NAME.c
verbatim, and then (prose may come in between, but no other snippet marker)
a fenced block opened with ```output that holds what the built program NAME
prints on stdout.

For every document and every snippet this script checks that
  * the C block is identical to docs/snippets/NAME.c,
  * the program exits with status 0, writes nothing to stderr, and prints
    exactly the output block (trailing whitespace of each line and trailing
    blank lines are ignored),
and across documents that every document shows the same snippets in the same
order, that every docs/snippets/*.c is shown, and that every shown snippet
was built. On a mismatch it prints a unified diff and exits with status 1.

Usage (meson runs it as the 'tutorial' test):
    check_snippets.py --docs tutorial.md tutorial.ko.md \\
        --snippet-dir docs/snippets -- BUILT_PROGRAM...
    check_snippets.py ... --build-dir BUILD/docs     (programs found by name)
    check_snippets.py ... --update                   (rewrite the blocks in the
                                                      documents from the files
                                                      and the programs' output)
The environment variable SNIPPET_WRAPPER, when set, is a command prefixed to
every run, e.g. SNIPPET_WRAPPER="valgrind -q --leak-check=full --error-exitcode=1".
"""

import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys
import tempfile

MARKER = re.compile(r'^<!--\s*snippet:\s*([A-Za-z0-9_.-]+)\s*-->\s*$')
FENCE_CLOSE = '```'


class DocError(Exception):
    pass


def normalise(text):
    """Trailing whitespace of every line and trailing blank lines removed."""
    lines = [line.rstrip() for line in text.replace('\r\n', '\n').split('\n')]
    while lines and not lines[-1]:
        lines.pop()
    return '\n'.join(lines) + '\n' if lines else ''


def find_fence(lines, start, stop, lang, doc, name):
    """The first fenced block opened with ```lang in lines[start:stop]:
    (first content line, closing line)."""
    for i in range(start, stop):
        if lines[i].rstrip() == '```' + lang:
            for j in range(i + 1, len(lines)):
                if lines[j].rstrip() == FENCE_CLOSE:
                    return i + 1, j
            raise DocError(f'{doc}:{i + 1}: snippet {name}: the ```{lang} block is not closed')
    raise DocError(f'{doc}: snippet {name}: no ```{lang} block after its marker '
                   f'(line {start})')


def parse(doc):
    """[(name, marker line, (code start, code end), (output start, output end))],
    0-based line ranges of the blocks' contents, and the document's lines."""
    with open(doc, encoding='utf-8') as f:
        lines = f.read().split('\n')
    markers = [(i, m.group(1)) for i, line in enumerate(lines) if (m := MARKER.match(line))]
    snippets = []
    for k, (i, name) in enumerate(markers):
        stop = markers[k + 1][0] if k + 1 < len(markers) else len(lines)
        code = find_fence(lines, i + 1, stop, 'c', doc, name)
        out = find_fence(lines, code[1] + 1, stop, 'output', doc, name)
        snippets.append((name, i + 1, code, out))
    return snippets, lines


def run(program):
    wrapper = shlex.split(os.environ.get('SNIPPET_WRAPPER', ''))
    with tempfile.TemporaryDirectory(prefix='snippet-') as cwd:
        proc = subprocess.run(wrapper + [program], cwd=cwd, capture_output=True,
                              text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def diff(expected, actual, expected_name, actual_name):
    return ''.join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                        expected_name, actual_name))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--docs', nargs='+', required=True)
    ap.add_argument('--snippet-dir', required=True)
    ap.add_argument('--build-dir', help='find the programs here by snippet name')
    ap.add_argument('--update', action='store_true',
                    help='rewrite the code and output blocks instead of checking them')
    ap.add_argument('programs', nargs='*')
    args = ap.parse_args()

    programs = {}
    for p in args.programs:
        base = os.path.basename(p)
        programs[base[:-4] if base.endswith('.exe') else base] = p

    failures = []
    parsed = {}
    for doc in args.docs:
        try:
            parsed[doc] = parse(doc)
        except (OSError, DocError) as e:
            failures.append(str(e))
    if failures:
        print('\n'.join(failures), file=sys.stderr)
        return 1

    # The same snippets, in the same order, in every document; all of them.
    orders = {doc: [s[0] for s in parsed[doc][0]] for doc in args.docs}
    reference_doc = args.docs[0]
    names = orders[reference_doc]
    for doc in args.docs[1:]:
        if orders[doc] != names:
            failures.append(f'{doc} shows snippets {orders[doc]}, '
                            f'but {reference_doc} shows {names}')
    for doc in args.docs:
        dup = sorted({n for n in orders[doc] if orders[doc].count(n) > 1})
        if dup:
            failures.append(f'{doc}: snippets shown more than once: {", ".join(dup)}')
    on_disk = sorted(f[:-2] for f in os.listdir(args.snippet_dir) if f.endswith('.c'))
    for n in on_disk:
        if n not in names:
            failures.append(f'{args.snippet_dir}/{n}.c is not shown in {reference_doc}')

    # Run each program once; compare with every document.
    sources, outputs = {}, {}
    for name in dict.fromkeys(names):
        src = os.path.join(args.snippet_dir, name + '.c')
        try:
            with open(src, encoding='utf-8') as f:
                sources[name] = f.read()
        except OSError as e:
            failures.append(f'snippet {name}: {e}')
            continue
        program = programs.get(name)
        if program is None and args.build_dir:
            program = os.path.join(args.build_dir, name)
        if program is None or not os.path.exists(program):
            failures.append(f'snippet {name}: no built program (pass it after --, '
                            'or --build-dir)')
            continue
        try:
            status, out, err = run(os.path.abspath(program))
        except subprocess.TimeoutExpired:
            failures.append(f'snippet {name}: timed out')
            continue
        except OSError as e:
            failures.append(f'snippet {name}: cannot run {program}: {e}')
            continue
        if status != 0 or err:
            failures.append(f'snippet {name}: exit status {status}'
                            + (f', stderr:\n{err}' if err else ''))
            continue
        outputs[name] = out

    for doc in args.docs:
        snippets, lines = parsed[doc]
        edits = []
        for name, marker_line, (c0, c1), (o0, o1) in snippets:
            if name in sources:
                shown = '\n'.join(lines[c0:c1]) + '\n'
                if normalise(shown) != normalise(sources[name]):
                    if args.update:
                        edits.append((c0, c1, normalise(sources[name])))
                    else:
                        failures.append(f'{doc}:{c0 + 1}: snippet {name}: the code shown is '
                                        f'not {name}.c\n'
                                        + diff(normalise(shown), normalise(sources[name]),
                                               f'{doc} (shown)', f'{name}.c'))
            if name in outputs:
                shown = '\n'.join(lines[o0:o1]) + '\n'
                if normalise(shown) != normalise(outputs[name]):
                    if args.update:
                        edits.append((o0, o1, normalise(outputs[name])))
                    else:
                        failures.append(f'{doc}:{o0 + 1}: snippet {name}: the output shown is '
                                        'not what the program prints\n'
                                        + diff(normalise(shown), normalise(outputs[name]),
                                               f'{doc} (shown)', f'{name} (printed)'))
        if edits:
            for a, b, text in sorted(edits, reverse=True):
                lines[a:b] = text.rstrip('\n').split('\n') if text else []
            with open(doc, 'w', encoding='utf-8') as f:
                f.write('\n'.join(lines))
            print(f'{doc}: updated {len(edits)} block(s)')

    if failures:
        for msg in failures:
            print(msg.rstrip('\n'), file=sys.stderr)
        print(f'tutorial: {len(failures)} problem(s)', file=sys.stderr)
        return 1
    if args.update:
        print(f'tutorial: {len(names)} snippets, {len(args.docs)} documents: blocks up to date')
    else:
        print(f'tutorial: {len(names)} snippets, {len(args.docs)} documents: '
              'code and output match')
    return 0


if __name__ == '__main__':
    sys.exit(main())
