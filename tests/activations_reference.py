#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""activations_reference.py — PyTorch's values, first and second
derivatives of the activations and special functions, for
check-activations.c.

    /usr/bin/python3 tests/activations_reference.py > tests/activations_fixture.h

(needs PyTorch: Debian's python3-torch, which scripts/setup.sh installs).
The output is committed; the suite includes it and compares every value
with the library's. Each function is evaluated in f64 on the grid
-3, -2.75, ..., 3 (log1p only above -1, rdiv without its pole at 0), with
the grid's kinks included on purpose (0 for relu-like functions, the
bounds of hardtanh): there the subgradient is PyTorch's choice, and the
library must make the same one. dy is dy/dx, d2y is d²y/dx², both from
torch.autograd (create_graph for the second)."""
import sys

import torch
import torch.nn.functional as F

GRID = [-3 + 0.25 * i for i in range(25)]

# (C name, parameters as the C test passes them, torch function of x)
CASES = [
    ('gelu', (), lambda x: F.gelu(x)),
    ('gelu_tanh', (), lambda x: F.gelu(x, approximate='tanh')),
    ('silu', (), F.silu),
    ('leaky_relu', (0.01,), lambda x: F.leaky_relu(x, 0.01)),
    ('leaky_relu', (0.2,), lambda x: F.leaky_relu(x, 0.2)),
    ('elu', (1.0,), lambda x: F.elu(x, 1.0)),
    ('elu', (1.5,), lambda x: F.elu(x, 1.5)),
    ('hardtanh', (-1.0, 1.0), lambda x: F.hardtanh(x, -1.0, 1.0)),
    ('hardtanh', (-2.0, 0.5), lambda x: F.hardtanh(x, -2.0, 0.5)),
    ('sin', (), torch.sin),
    ('cos', (), torch.cos),
    ('erf', (), torch.erf),
    ('log1p', (), torch.log1p),
    ('expm1', (), torch.expm1),
    ('rsub', (0.75,), lambda x: 0.75 - x),
    ('rdiv', (-1.5,), lambda x: -1.5 / x),
]


def grid_of(name):
    if name == 'log1p':
        return [v for v in GRID if v > -1]
    if name == 'rdiv':
        return [v for v in GRID if v != 0]
    return GRID


def derivatives(f, xs):
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    y = f(x)
    (dy,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    if dy.requires_grad:
        (d2y,) = torch.autograd.grad(dy.sum(), x)
    else:  # a piecewise-linear function: its derivative is constant
        d2y = torch.zeros_like(x)
    return y.detach().tolist(), dy.detach().tolist(), d2y.tolist()


def c_array(values):
    return '{' + ', '.join(repr(float(v)) for v in values) + '}'


def main():
    out = sys.stdout
    out.write('/* SPDX-License-Identifier: MIT */\n')
    out.write(f'/* activations_fixture.h — written by tests/activations_reference.py with '
              f'PyTorch {torch.__version__};\n * do not edit: run the script again. */\n')
    out.write('#ifndef AG_TEST_ACTIVATIONS_FIXTURE_H\n#define AG_TEST_ACTIVATIONS_FIXTURE_H\n\n')
    out.write('#include <stddef.h>\n\n')
    out.write('typedef struct act_reference {\n'
              '    const char *name; /* the op, ag_<name> */\n'
              '    int n_params;\n'
              '    double params[2];\n'
              '    size_t n;\n'
              '    double x[25], y[25], dy[25], d2y[25];\n'
              '} act_reference;\n\n')
    out.write('static const act_reference ACT_REFERENCE[] = {\n')
    for name, params, f in CASES:
        xs = grid_of(name)
        y, dy, d2y = derivatives(f, xs)
        p = list(params) + [0.0] * (2 - len(params))
        out.write(f'    {{"{name}", {len(params)}, {c_array(p)}, {len(xs)},\n')
        out.write(f'     {c_array(xs)},\n')
        out.write(f'     {c_array(y)},\n')
        out.write(f'     {c_array(dy)},\n')
        out.write(f'     {c_array(d2y)}}},\n')
    out.write('};\n\n#endif\n')


if __name__ == '__main__':
    main()
