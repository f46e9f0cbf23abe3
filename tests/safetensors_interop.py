#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""safetensors_interop.py — model files move between this library and numpy.

An independent reader and writer of the safetensors format, written from its
published specification (https://github.com/huggingface/safetensors#format)
with struct, json and numpy only (no safetensors package): an unsigned 64-bit
little-endian header length N, N bytes of UTF-8 JSON mapping each tensor's
name to {"dtype", "shape", "data_offsets": [begin, end]} plus an optional
"__metadata__" object of strings, then the little-endian row-major data,
which the tensors tile exactly.

  1. st_tool saves a known model; Python reads it and checks names, dtypes,
     shapes, values (bit for bit), metadata and the layout rules.
  2. Python writes a file of its own (f32, f64, i64, 0-d and zero-size
     tensors, special values, header padding, keys and data in different
     orders); st_tool reads it and prints every bit, which Python compares.
  3. Python rewrites the known model's layout with other values (data in
     reverse order, no padding); st_tool loads it into the model and prints.
  4. Python writes broken files; st_tool must refuse them with a message
     naming the file.

Environment: ST_TOOL (the helper binary), ST_TMPDIR (where to put files).
Exits 77 (meson's "skipped") when numpy is missing.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("numpy is not installed (Debian: python3-numpy): skipping")
    sys.exit(77)

DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "I64": np.dtype("<i8")}
BITS = {"F32": np.dtype("<u4"), "F64": np.dtype("<u8"), "I64": np.dtype("<u8")}


def read_st(path):
    """Reads a file by the specification; returns (tensors in header order, metadata, N)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    body = raw[8 + n :]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dt = DTYPES[info["dtype"]]
        count = int(np.prod(info["shape"], dtype=np.int64))
        assert end - begin == count * dt.itemsize, (name, info)
        arr = np.frombuffer(body[begin:end], dtype=dt).reshape(info["shape"])
        tensors[name] = (info["dtype"], arr, begin)
    # The tensors tile the data: no gap, no overlap, nothing left over.
    pos = 0
    for begin, end in sorted(tuple(i["data_offsets"]) for i in header.values()):
        assert begin == pos, f"gap or overlap at {begin} (expected {pos})"
        pos = end
    assert pos == len(body), f"{len(body) - pos} bytes after the last tensor"
    return tensors, metadata, n


def write_st(path, tensors, metadata=None, data_order=None, pad=True, extra_pad=0):
    """Writes tensors {name: (dtype, array)}: header keys in dict order, data
    in data_order (default the same), padded with spaces to 8 bytes."""
    data_order = data_order or list(tensors)
    offsets, blobs, pos = {}, [], 0
    for name in data_order:
        dtype, arr = tensors[name]
        blob = np.ascontiguousarray(arr, dtype=DTYPES[dtype]).tobytes()
        offsets[name] = [pos, pos + len(blob)]
        blobs.append(blob)
        pos += len(blob)
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, arr) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(np.shape(arr)), "data_offsets": offsets[name]}
    text = json.dumps(header, ensure_ascii=False).encode("utf-8")
    if pad:
        text += b" " * ((-(8 + len(text))) % 8 + extra_pad)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def known_model():
    """The model st_tool saves (see tests/st_tool.c), computed here."""
    i12 = np.arange(12)
    return {
        "fc1.weight": ("F32", ((i12.astype(np.float32) - np.float32(5)) * np.float32(0.25)).reshape(3, 4)),
        "fc1.bias": ("F32", np.float32(1) / np.arange(1, 5, dtype=np.float32)),
        "emb": ("F64", (i12.astype(np.float64) * 0.1).reshape(2, 3, 2)),
        "scale": ("F64", np.array(1.0 / 3.0)),
        "labels": ("I64", np.arange(5, dtype=np.int64) ** 2 * 1000000007 - 3),
        "empty": ("F32", np.zeros((0, 5), np.float32)),
        "t0": ("F32", np.array(-2.5, np.float32)),
    }


def same_bits(dtype, a, b):
    a = np.ascontiguousarray(a, dtype=DTYPES[dtype])
    b = np.ascontiguousarray(b, dtype=DTYPES[dtype])
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def run_tool(*args, expect_ok=True):
    r = subprocess.run([TOOL, *args], capture_output=True)
    out, err = r.stdout.decode("utf-8"), r.stderr.decode("utf-8", "replace")
    if expect_ok and r.returncode != 0:
        fail(f"st_tool {' '.join(args)} failed ({r.returncode}): {err}")
    return r.returncode, out, err


def parse_printout(out):
    """st_tool's lines -> {name: (dtype, array)} in printed order."""
    result = {}
    for line in out.splitlines():
        name, dtype, shape, values = line.split("\t")
        shape = tuple(int(s) for s in shape.split(",")) if shape else ()
        words = [int(w, 16) for w in values.split()] if values else []
        bits = np.array(words, dtype=BITS[dtype]).reshape(shape)
        result[name] = (dtype, bits.view(DTYPES[dtype]))
    return result


FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def compare(what, got, want):
    check(list(got) == list(want), f"{what}: names {list(got)}, expected {list(want)}")
    for name, (dtype, arr) in want.items():
        if name not in got:
            continue
        gdtype, garr = got[name][0], got[name][1]
        check(gdtype == dtype, f"{what}: {name} has dtype {gdtype}, expected {dtype}")
        check(np.shape(garr) == np.shape(arr), f"{what}: {name} has shape {np.shape(garr)}, expected {np.shape(arr)}")
        check(gdtype != dtype or same_bits(dtype, garr, arr), f"{what}: {name} values {garr!r}, expected {arr!r}")


def test_c_writes_python_reads(tmp):
    path = os.path.join(tmp, "from_c.safetensors")
    run_tool("save", path)
    tensors, metadata, n = read_st(path)
    compare("C -> Python", {k: (d, a) for k, (d, a, _) in tensors.items()}, known_model())
    check(metadata == {"producer": "st_tool", "note": "ünïcode ✓"}, f"metadata {metadata}")
    check((8 + n) % 8 == 0, f"the data starts at {8 + n}, not a multiple of 8")
    for name, (dtype, _, begin) in tensors.items():
        check(begin % DTYPES[dtype].itemsize == 0, f"{name} starts at {begin}, unaligned")


def python_tensors():
    rng = np.random.default_rng(5)
    return {
        "z.last_in_data": ("F64", np.array([-0.0, np.inf, -np.inf, 1e-310, np.finfo(np.float64).max, np.pi])),
        "w": ("F32", rng.standard_normal((2, 3)).astype(np.float32)),
        "ids": ("I64", np.array([np.iinfo(np.int64).min, -7, 0, 1 << 53, np.iinfo(np.int64).max], np.int64)),
        "scalar": ("F64", np.array(np.e)),
        "count": ("I64", np.array(42, np.int64)),
        "half.0d": ("F32", np.array(np.float32(0.1))),
        "nothing": ("F64", np.zeros((3, 0), np.float64)),
        "ünï/code": ("F32", np.arange(24, dtype=np.float32).reshape(2, 3, 4) / np.float32(7)),
    }


def test_python_writes_c_reads(tmp):
    want = python_tensors()
    path = os.path.join(tmp, "from_python.safetensors")
    order = ["ids", "w", "ünï/code", "nothing", "scalar", "count", "half.0d", "z.last_in_data"]
    write_st(path, want, metadata={"framework": "numpy", "why": "interop"}, data_order=order, extra_pad=16)
    _, out, _ = run_tool("print", path)
    compare("Python -> C (read)", parse_printout(out), want)


def test_python_writes_c_loads(tmp):
    model = known_model()
    want = {}
    for name, (dtype, arr) in model.items():
        if dtype == "I64":
            want[name] = (dtype, arr * -3 + 1)
        else:
            want[name] = (dtype, (arr * -3 + 1).astype(DTYPES[dtype]))
    path = os.path.join(tmp, "layout.safetensors")
    write_st(path, want, data_order=list(reversed(list(want))), pad=False)
    _, out, _ = run_tool("load", path)
    compare("Python -> C (load)", parse_printout(out), want)


def test_c_refuses_broken_files(tmp):
    good = os.path.join(tmp, "good.safetensors")
    write_st(good, known_model())
    with open(good, "rb") as f:
        raw = f.read()
    cases = {
        "truncated.safetensors": (raw[:-3], "AG_ERR_PARSE"),
        "no_length.safetensors": (raw[:5], "AG_ERR_PARSE"),
        "long_header.safetensors": (struct.pack("<Q", len(raw)) + raw[8:], "AG_ERR_PARSE"),
    }
    # A tensor made to overlap its neighbour.
    tensors, _, n = read_st(good)
    header = json.loads(raw[8 : 8 + n])
    header["fc1.bias"]["data_offsets"] = [x - 4 for x in header["fc1.bias"]["data_offsets"]]
    text = json.dumps(header).encode()
    cases["overlap.safetensors"] = (struct.pack("<Q", len(text)) + text + raw[8 + n :], "AG_ERR_PARSE")
    # The right layout but one shape transposed.
    header = json.loads(raw[8 : 8 + n])
    header["fc1.weight"]["shape"] = [4, 3]
    text = json.dumps(header).encode()
    cases["transposed.safetensors"] = (struct.pack("<Q", len(text)) + text + raw[8 + n :], "AG_ERR_SHAPE")
    for name, (data, status) in cases.items():
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        code, out, err = run_tool("load", path, expect_ok=False)
        check(code == 1, f"{name}: st_tool load exited {code}")
        check(status in err and path in err, f"{name}: expected {status} naming the file, got: {err.strip()}")
        check(out == "", f"{name}: printed a model after a failed load")


def main():
    global TOOL
    TOOL = os.environ.get("ST_TOOL")
    if not TOOL or not os.path.exists(TOOL):
        print("ST_TOOL is not set to the st_tool binary")
        return 1
    base = os.environ.get("ST_TMPDIR") or None
    tmp = tempfile.mkdtemp(prefix="st-interop-", dir=base)
    try:
        for test in (test_c_writes_python_reads, test_python_writes_c_reads,
                     test_python_writes_c_loads, test_c_refuses_broken_files):
            before = len(FAILURES)
            test(tmp)
            print(f"{'ok  ' if len(FAILURES) == before else 'FAIL'} {test.__name__}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
