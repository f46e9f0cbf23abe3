#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_exports.py — the shared library exports the public API, all of it
and nothing else.

    python3 scripts/check_exports.py libautograd.so header.h [header.h ...]

The API is what the installed headers declare: every declaration at file
scope that names an ag_ function or variable must carry AG_API (the
library is built with -fvisibility=hidden, so one without it would be
declared but missing for users), and the symbols the library defines
(nm -D --defined-only) must be exactly those. Exit status 1 with the
differences listed otherwise."""
import re
import subprocess
import sys


def declared(paths):
    names, unmarked = set(), []
    for path in paths:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        # Comments out, keeping line breaks so that line numbers stay right.
        text = re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S)
        text = re.sub(r'//[^\n]*', '', text)
        depth = 0  # inside braces (struct bodies, enums) nothing is a declaration
        statement, start = '', 0
        for lineno, line in enumerate(text.split('\n'), 1):
            # Preprocessor lines, and the extern "C" braces around it all.
            if line.startswith('#') or line.startswith('extern "C"') or \
                    (depth == 0 and line.strip() == '}'):
                continue
            if depth == 0 and not statement.strip():
                start = lineno
            for ch in line:
                if ch == '{':
                    depth += 1
                elif ch == '}':
                    depth -= 1
            if depth > 0:
                statement = ''
                continue
            statement += ' ' + line
            if ';' not in line:
                continue
            s = ' '.join(statement.split())
            statement = ''
            if s.startswith('typedef') or s.startswith('}'):
                continue
            m = re.search(r'\b(ag_\w+)\s*\(', s) or re.search(r'\b(ag_\w+)\s*;', s)
            if not m:
                continue
            names.add(m.group(1))
            if not s.startswith('AG_API'):
                unmarked.append(f'{path}:{start}: {m.group(1)} is declared without AG_API')
    return names, unmarked


def exported(lib):
    out = subprocess.run(['nm', '-D', '--defined-only', lib], check=True, capture_output=True,
                         text=True).stdout
    return {line.split()[-1].split('@')[0] for line in out.splitlines() if line.strip()}


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    names, problems = declared(sys.argv[2:])
    syms = exported(sys.argv[1])
    problems += [f'declared but not exported: {n}' for n in sorted(names - syms)]
    problems += [f'exported but in no installed header: {n}' for n in sorted(syms - names)]
    for p in problems:
        print('check_exports.py: ' + p, file=sys.stderr)
    if not problems:
        print(f'check_exports.py: the {len(syms)} exported symbols are the {len(names)} '
              'declared in the installed headers')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
