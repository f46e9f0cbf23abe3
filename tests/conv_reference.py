#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""conv_reference.py — PyTorch's values for tests/check-conv.c.

    python3 tests/conv_reference.py > tests/conv_reference.h

For each case it builds the inputs from fixed formulas (no random seed),
runs F.conv2d, F.conv_transpose2d or F.conv1d in float64, and prints the
output and the gradients of sum(y * g) with respect to x, weight and bias
as a C header. The formulas, which check-conv.c repeats:
    x[i] = sin(0.37 i + 0.1), weight[i] = cos(0.53 i) / 2,
    bias[i] = 0.1 i - 0.2,    g[i] = sin(0.29 i + 1)
over flat (row-major) indices i."""
import math
import textwrap

import torch
import torch.nn.functional as F

# name, op, x shape, weight shape, bias, stride, padding, dilation, output_padding, groups
CASES = [
    ('conv2d_plain_bias', 'conv2d', (2, 3, 5, 6), (4, 3, 3, 2), True, (1, 1), (0, 0), (1, 1), (0, 0), 1),
    ('conv2d_stride_pad', 'conv2d', (1, 2, 7, 5), (3, 2, 3, 3), False, (2, 1), (1, 2), (1, 1), (0, 0), 1),
    ('conv2d_dilation', 'conv2d', (2, 2, 6, 7), (2, 2, 2, 3), True, (1, 2), (1, 1), (2, 1), (0, 0), 1),
    ('conv2d_groups2', 'conv2d', (2, 4, 5, 5), (6, 2, 3, 3), True, (2, 2), (1, 1), (1, 1), (0, 0), 2),
    ('conv2d_groups3_all', 'conv2d', (1, 6, 7, 8), (3, 2, 2, 2), False, (2, 3), (1, 0), (2, 2), (0, 0), 3),
    ('convt_stride_outpad_bias', 'conv_transpose2d', (2, 4, 3, 4), (4, 3, 3, 2), True, (2, 2), (1, 0), (1, 1), (1, 0), 1),
    # output_padding 1 with stride 1 in H: allowed because it is below the dilation 2
    ('convt_groups2_dilation', 'conv_transpose2d', (1, 4, 3, 3), (4, 2, 2, 3), False, (1, 2), (0, 1), (2, 1), (1, 1), 2),
    ('conv1d_all_bias', 'conv1d', (2, 3, 9), (4, 3, 3), True, (2,), (1,), (2,), (0,), 1),
    ('conv1d_groups2', 'conv1d', (1, 4, 8), (4, 2, 2), False, (1,), (0,), (1,), (0,), 2),
]


def filled(shape, f):
    n = math.prod(shape)
    return torch.tensor([f(i) for i in range(n)], dtype=torch.float64).reshape(shape)


def c_array(name, t):
    vals = textwrap.fill(', '.join(repr(float(v)) for v in t.flatten().tolist()), 96,
                         initial_indent='    ', subsequent_indent='    ')
    return f'static const double {name}[] = {{\n{vals}}};'


def dims(t, n=4):
    s = list(t) + [0] * (n - len(t))
    return '{' + ', '.join(str(v) for v in s) + '}'


def main():
    print('/* SPDX-License-Identifier: MIT */')
    print('/* conv_reference.h — written by tests/conv_reference.py (PyTorch '
          f'{torch.__version__}, float64); do not edit. */')
    print('#ifndef CONV_REFERENCE_H\n#define CONV_REFERENCE_H\n#include <stdint.h>\n')
    rows = []
    for (name, op, xs, ws, has_bias, stride, padding, dilation, outpad, groups) in CASES:
        x = filled(xs, lambda i: math.sin(0.37 * i + 0.1)).requires_grad_()
        w = filled(ws, lambda i: math.cos(0.53 * i) / 2).requires_grad_()
        cout = ws[1] * groups if op == 'conv_transpose2d' else ws[0]
        b = filled((cout,), lambda i: 0.1 * i - 0.2).requires_grad_() if has_bias else None
        if op == 'conv2d':
            y = F.conv2d(x, w, b, stride, padding, dilation, groups)
        elif op == 'conv1d':
            y = F.conv1d(x, w, b, stride, padding, dilation, groups)
        else:
            y = F.conv_transpose2d(x, w, b, stride, padding, outpad, groups, dilation)
        g = filled(tuple(y.shape), lambda i: math.sin(0.29 * i + 1))
        (y * g).sum().backward()
        print(c_array(f'{name}_y', y.detach()))
        print(c_array(f'{name}_dx', x.grad))
        print(c_array(f'{name}_dw', w.grad))
        if has_bias:
            print(c_array(f'{name}_db', b.grad))
        nsp = len(xs) - 2
        rows.append(
            f'    {{"{name}", "{op}", {nsp}, {dims(xs)}, {dims(ws)}, {dims(tuple(y.shape))}, '
            f'{int(has_bias)}, {dims(stride, 2)}, {dims(padding, 2)}, {dims(dilation, 2)}, '
            f'{dims(outpad, 2)}, {groups}, {name}_y, {name}_dx, {name}_dw, '
            f'{name + "_db" if has_bias else "0"}}},')
    print('\ntypedef struct conv_ref {')
    print('    const char *name, *op; /* op: "conv2d", "conv_transpose2d" or "conv1d" */')
    print('    int nsp;               /* spatial dimensions: 2, or 1 for conv1d */')
    print('    int64_t xs[4], ws[4], ys[4]; /* shapes (unused dimensions 0) */')
    print('    int has_bias;')
    print('    int64_t stride[2], padding[2], dilation[2], output_padding[2], groups;')
    print('    const double *y, *dx, *dw, *db; /* db is NULL without a bias */')
    print('} conv_ref;\n')
    print('static const conv_ref CONV_REFS[] = {')
    print('\n'.join(rows))
    print('};\n\n#endif')


if __name__ == '__main__':
    main()
