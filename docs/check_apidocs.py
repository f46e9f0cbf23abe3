#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_apidocs.py — builds the API reference with Doxygen and fails when a
public function is undocumented (or Doxygen fails).

    python3 docs/check_apidocs.py <doxygen> <Doxyfile> <output dir>

Undocumented struct fields and enum values are counted, not failed: many
are named by the comment of their struct."""
import os
import subprocess
import sys


def main():
    doxygen, doxyfile, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    subprocess.run([doxygen, doxyfile], check=True)
    with open(os.path.join(out, 'warnings.log'), encoding='utf-8') as f:
        warnings = [w for w in f.read().splitlines() if 'warning:' in w]
    functions = [w for w in warnings if '(function)' in w]
    for w in functions:
        print(w, file=sys.stderr)
    index = os.path.join(out, 'html', 'index.html')
    if not os.path.exists(index):
        print(f'check_apidocs.py: no {index}', file=sys.stderr)
        return 1
    print(f'check_apidocs.py: {index}; {len(functions)} undocumented functions, '
          f'{len(warnings) - len(functions)} other warnings (fields, enum values)')
    return 1 if functions else 0


if __name__ == '__main__':
    sys.exit(main())
