#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""torch_interop.py — model files between this library and PyTorch.

    python3 tests/torch_interop.py make-fixture DIR
        (needs PyTorch) writes DIR/torch_mlp.safetensors, the state dict of
        a seeded nn.Sequential(Linear(4, 8), ReLU(), Linear(8, 3)) in f64,
        and DIR/torch_mlp.json, its predictions for a few inputs. Both are
        committed in tests/data; check-torch_interop.c loads the file into
        an ag_mlp and must reproduce the predictions.

    python3 tests/torch_interop.py check TORCH_TOOL DIR
        runs TORCH_TOOL, which saves a seeded ag_mlp 4-8-3 with
        ag_mlp_sequential_map and prints its predictions, then reads the
        file with this script's own reader of the format (numpy): the names
        and shapes must be nn.Sequential's state dict, and the predictions
        computed from the file's numbers must be the tool's. When PyTorch is
        installed the same nn.Sequential loads the file with
        load_state_dict(strict=True) and must predict the same.

The safetensors format is written and read here from its specification
(8-byte little-endian header length, a JSON header, raw little-endian
data), not with either program's code."""
import json
import os
import struct
import subprocess
import sys

INPUTS = [[0.5, -1.0, 2.0, 0.25], [-1.5, 0.75, 0.0, 1.0], [3.0, 2.5, -2.0, -0.5],
          [0.0, 0.0, 0.0, 0.0], [1.25, -0.125, 0.625, -3.0]]
SHAPES = {'0.weight': [8, 4], '0.bias': [8], '2.weight': [3, 8], '2.bias': [3]}


def write_safetensors(path, tensors):
    """tensors: name -> (shape, list of floats), written as F64."""
    header, blob = {}, b''
    for name, (shape, values) in tensors.items():
        data = struct.pack('<%dd' % len(values), *values)
        header[name] = {'dtype': 'F64', 'shape': shape,
                        'data_offsets': [len(blob), len(blob) + len(data)]}
        blob += data
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + blob)


def read_safetensors(path):
    """name -> (dtype, shape, list of floats); F64 and F32 only."""
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        a, b = e['data_offsets']
        fmt = {'F64': 'd', 'F32': 'f'}[e['dtype']]
        count = (b - a) // struct.calcsize(fmt)
        out[name] = (e['dtype'], e['shape'], list(struct.unpack('<%d%s' % (count, fmt),
                                                                raw[base + a:base + b])))
    if base + max((e['data_offsets'][1] for k, e in header.items() if k != '__metadata__'),
                  default=0) != len(raw):
        raise SystemExit(f'{path}: the data does not end where the file does')
    return out


def predict(tensors, x):
    """relu(x W0^T + b0) W2^T + b2 in float64, from (out, in) weights."""
    def linear(v, w, b, rows, cols):
        return [sum(v[i] * w[o * cols + i] for i in range(cols)) + b[o] for o in range(rows)]
    h = linear(x, tensors['0.weight'][2], tensors['0.bias'][2], 8, 4)
    h = [max(v, 0.0) for v in h]
    return linear(h, tensors['2.weight'][2], tensors['2.bias'][2], 3, 8)


def make_fixture(out_dir):
    import torch
    torch.manual_seed(2024)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
                                torch.nn.Linear(8, 3)).double()
    state = model.state_dict()
    write_safetensors(os.path.join(out_dir, 'torch_mlp.safetensors'),
                      {k: (list(v.shape), v.flatten().tolist()) for k, v in state.items()})
    with torch.no_grad():
        y = model(torch.tensor(INPUTS, dtype=torch.float64))
    with open(os.path.join(out_dir, 'torch_mlp.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'inputs': INPUTS,
                   'outputs': [[float(v) for v in row] for row in y.tolist()]}, f, indent=1)
        f.write('\n')
    print(f'wrote the fixture with PyTorch {torch.__version__}')


def check(tool, work_dir):
    path = os.path.join(work_dir, 'ag_mlp_for_torch.safetensors')
    run = subprocess.run([tool, path], check=True, capture_output=True, text=True)
    ours = json.loads(run.stdout)
    tensors = read_safetensors(path)
    names = sorted(tensors)
    if names != sorted(SHAPES):
        raise SystemExit(f'names {names}, not the state dict\'s {sorted(SHAPES)}')
    for name, shape in SHAPES.items():
        if tensors[name][1] != shape or tensors[name][0] != 'F64':
            raise SystemExit(f'{name}: {tensors[name][0]} {tensors[name][1]}, want F64 {shape}')
    worst = 0.0
    for x, y in zip(ours['inputs'], ours['outputs']):
        ref = predict(tensors, x)
        worst = max(worst, max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(y, ref)))
    if worst > 1e-13:
        raise SystemExit(f'predictions from the file\'s numbers differ by {worst:.3g}')
    print(f'the file has nn.Sequential\'s names and (out, in) shapes; its numbers give the '
          f'library\'s predictions (largest difference {worst:.3g})')
    try:
        import torch
    except ImportError:
        print('PyTorch is not installed: load_state_dict not tried')
        return
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
                                torch.nn.Linear(8, 3)).double()
    model.load_state_dict({k: torch.tensor(v[2], dtype=torch.float64).reshape(v[1])
                           for k, v in tensors.items()}, strict=True)
    with torch.no_grad():
        y = model(torch.tensor(ours['inputs'], dtype=torch.float64)).tolist()
    worst = max(abs(a - b) / max(1.0, abs(b)) for ra, rb in zip(y, ours['outputs'])
                for a, b in zip(ra, rb))
    if worst > 1e-13:
        raise SystemExit(f'PyTorch\'s predictions differ from the library\'s by {worst:.3g}')
    print(f'PyTorch {torch.__version__} loads it with load_state_dict(strict=True) and '
          f'predicts the same (largest difference {worst:.3g})')


def main():
    if len(sys.argv) == 3 and sys.argv[1] == 'make-fixture':
        make_fixture(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == 'check':
        check(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
