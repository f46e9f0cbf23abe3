#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks the numbers drawn in docs/images/lecture_net.dot (and its SVG).

The picture's values are typed into the .dot file; this recomputes the
forward pass from the inputs and weights the picture itself shows
(z1 = x W1, a1 = sigmoid(z1), z2 = a1 W2, a2 = sigmoid(z2),
E = 1/2 sum (t - a2)^2) and fails when a drawn z, a or E is not that value
at the four decimals drawn, or when the SVG was not redrawn from the .dot.

Usage: check_lecture_net.py docs/images/lecture_net.dot docs/images/lecture_net.svg
"""
import math
import re
import sys

SUB = str.maketrans('₀₁₂', '012')


def main():
    dot_path, svg_path = sys.argv[1], sys.argv[2]
    text = open(dot_path, encoding='utf-8').read()
    labels = {}
    for m in re.finditer(r'label="([^"]*)"', text):
        for part in m.group(1).split('\\n'):
            kv = re.fullmatch(r'\s*([^=]+?)\s*=\s*(-?[0-9.]+)\s*', part.translate(SUB))
            if kv:
                labels[kv.group(1)] = float(kv.group(2))
    x = [labels['x0'], labels['x1']]
    t = [labels['t1'], labels['t2']]
    W1 = [[labels[f'W1[{i}][{j}]'] for j in range(2)] for i in range(2)]
    W2 = [[labels[f'W2[{i}][{j}]'] for j in range(2)] for i in range(2)]
    sig = lambda z: 1 / (1 + math.exp(-z))
    z1 = [x[0] * W1[0][j] + x[1] * W1[1][j] for j in range(2)]
    a1 = [sig(z) for z in z1]
    z2 = [a1[0] * W2[0][k] + a1[1] * W2[1][k] for k in range(2)]
    a2 = [sig(z) for z in z2]
    E = 0.5 * sum((t[k] - a2[k]) ** 2 for k in range(2))
    want = {'z10': z1[0], 'z11': z1[1], 'a10': a1[0], 'a11': a1[1],
            'z20': z2[0], 'z21': z2[1], 'a20': a2[0], 'a21': a2[1]}
    bad = []
    for name, value in want.items():
        if name not in labels:
            bad.append(f'{name} is not drawn')
        elif abs(labels[name] - value) > 0.5e-4:
            bad.append(f'{name} is drawn as {labels[name]}, the forward pass gives {value:.4f}')
    drawn_E = re.search(r'= (-?[0-9.]+)"', text[text.index('E  ['):])
    if not drawn_E or abs(float(drawn_E.group(1)) - E) > 0.5e-4:
        bad.append(f'E is drawn as {drawn_E and drawn_E.group(1)}, the forward pass gives {E:.4f}')
    svg = open(svg_path, encoding='utf-8').read()
    for name, value in want.items():
        if f'{value:.4f}' not in svg:
            bad.append(f'the SVG does not show {name} = {value:.4f}: redraw it from the .dot')
    if bad:
        print('\n'.join(bad))
        return 1
    print(f'lecture_net: all 8 neuron values and E = {E:.4f} agree with the forward pass')
    return 0


if __name__ == '__main__':
    sys.exit(main())
