#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PyTorch peer of the C benchmarks in bench/: the same shapes, dtypes, step
counts and optimizer, on the CPU, timed the same way (warm-up, then repeated
samples; median, min, max).

  mlp_tiny      2-16-16-1,        batch 32,  BCE with logits, f32
  mlp_standard  784-256-128-10,   batch 64,  cross-entropy,   f32
  mlp_wide      784-1024-1024-10, batch 256, cross-entropy,   f32
                (ReLU between layers; SGD lr 0.01; 4 batches cycled)
  logreg        WDBC 569x30 standardized, f64, 1000 full-batch SGD steps,
                lr 0.1, from zero weights (final loss printed as a check)
  scalar        the micrograd-style MLP 8-32-32-1 of 0-d f64 tensors, on
                fewer samples than the C run (PyTorch is slower per node);
                ns per node
  tape          chains of ops on 0-d and 4-element f64 tensors: record and
                backward cost per node
  lenet         the LeNet-style CNN of examples/cnn_fashion.c (conv 1-16 k5
                pad 2, relu, max pool 2, conv 16-32 k5, relu, max pool 2,
                linear 800-120-84-10), batch 64 of 1x28x28, f32,
                cross-entropy, Adam; a training step
  conv          conv2d forward + backward (input and weight gradients, bias)
                alone at three sizes, f32 (CONV_SIZES)
  lstm          a character LSTM language model's training step: T = 32,
                N = 32, one-hot input of 128 symbols, nn.LSTM(128, 128),
                nn.Linear(128, 128), cross-entropy over the T*N positions,
                Adam, f32 (as bench/bench_seq.c and bench/kann_lstm.c)
  gpt           a small GPT's training step: N = 16, T = 64, 128 symbols,
                d = 128, 2 pre-LN blocks (nn.TransformerEncoderLayer with
                norm_first, GELU, 4 heads, feed-forward 512, no dropout),
                causal mask, learned positions, tied head, embeddings drawn
                N(0, 0.02²) as GPT-2's, Adam, f32

A training step is: zero_grad (set_to_none=True: PyTorch 2's default and
the faster choice; 1.13's default memsets), forward, loss, backward,
optimizer step. Intra-op threads are set with torch.set_num_threads for each
value of --threads; OpenBLAS's own threads (which PyTorch's matrix products
use here) are fixed by OPENBLAS_NUM_THREADS in the environment, so the
runner starts this script once per OpenBLAS setting.

Machine-readable lines go to --results FILE in the format of bench/bench.h:
  RESULT bench=mlp_standard impl=torch torch_threads=1 blas_threads=1 median=... unit=us n=...
Exit status 3 when torch cannot be imported (the runner then skips the peer).
"""
import argparse
import ctypes
import ctypes.util
import math
import os
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the runner tries the next interpreter
    print(f"torch_peer: cannot import torch with {sys.executable}: {e}", file=sys.stderr)
    sys.exit(3)

RESULTS = None


def result(fields, samples=None, unit="us", value=None):
    """Writes one RESULT line (stats of samples, or a single value)."""
    if RESULTS is None:
        return
    if value is not None:
        RESULTS.write(f"RESULT {fields} value={value:.9g} unit={unit}\n")
    else:
        s = sorted(samples)
        RESULTS.write(f"RESULT {fields} median={statistics.median(s):.6g} min={s[0]:.6g} "
                      f"max={s[-1]:.6g} unit={unit} n={len(s)}\n")
    RESULTS.flush()


def stats(samples):
    s = sorted(samples)
    return statistics.median(s), s[0], s[-1]


def blas_info():
    """The OpenBLAS core and thread count as the library reports them: the
    same libopenblas.so.0 that torch loaded (dlopen returns the loaded copy)."""
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode(), lib.openblas_get_num_threads()
    except (OSError, AttributeError):
        return "unknown", int(os.environ.get("OPENBLAS_NUM_THREADS", "0") or 0)


# ---- MLP training step -----------------------------------------------------

SHAPES = {
    # name: sizes, batch, binary, warmup rounds, samples, steps per sample
    "tiny": ([2, 16, 16, 1], 32, True, 400, 300, 50),
    "standard": ([784, 256, 128, 10], 64, False, 30, 300, 1),
    "wide": ([784, 1024, 1024, 10], 256, False, 4, 30, 1),
}


def mlp_bench(name, quick, tag):
    sizes, batch, binary, warmup, samples, per = SHAPES[name]
    if quick:
        samples = samples // 10 + 3
    torch.manual_seed(42)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).float()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    batches = []
    for _ in range(4):
        if binary:
            X = torch.rand(batch, sizes[0]) * 2 - 1
            y = ((X[:, 0] > 0) != (X[:, 1] > 0)).float().unsqueeze(1)
        else:
            X = torch.rand(batch, sizes[0])
            y = torch.randint(0, sizes[-1], (batch,))
        batches.append((X, y))
    loss_fn = F.binary_cross_entropy_with_logits if binary else F.cross_entropy
    k = 0

    def step():
        nonlocal k
        X, y = batches[k]
        k = (k + 1) % 4
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    times = []
    for _ in range(samples):
        t0 = time.perf_counter_ns()
        for _ in range(per):
            loss = step()
        t1 = time.perf_counter_ns()
        times.append((t1 - t0) / 1e3 / per)
    med, lo, hi = stats(times)
    print(f"  mlp_{name:<9} {med:10.2f} {lo:10.2f} {hi:10.2f}   (loss {loss.item():.4f})")
    result(f"bench=mlp_{name} impl=torch {tag}", times, "us")


# ---- CNN ------------------------------------------------------------------------

# name: N, Cin, H, W, Cout, k, stride, padding (as bench/bench_conv.c)
CONV_SIZES = {
    "lenet1": (64, 1, 28, 28, 16, 5, 1, 2),
    "mid": (64, 16, 14, 14, 32, 5, 1, 0),
    "vgg": (32, 64, 16, 16, 64, 3, 1, 1),
}


def lenet_bench(quick, tag):
    torch.manual_seed(42)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(800, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                          nn.Linear(84, 10)).float()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = [(torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))) for _ in range(4)]
    k = 0

    def step():
        nonlocal k
        X, y = batches[k]
        k = (k + 1) % 4
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        return loss

    warmup, samples = (5, 8) if quick else (20, 60)
    for _ in range(warmup):
        step()
    times = []
    for _ in range(samples):
        t0 = time.perf_counter_ns()
        loss = step()
        times.append((time.perf_counter_ns() - t0) / 1e3)
    med, lo, hi = stats(times)
    print(f"  lenet         {med:10.2f} {lo:10.2f} {hi:10.2f}   (loss {loss.item():.4f})")
    result(f"bench=lenet impl=torch {tag}", times, "us")


def conv_bench(quick, tag):
    for name, (n, cin, h, w, cout, k, stride, pad) in CONV_SIZES.items():
        torch.manual_seed(1)
        x = torch.rand(n, cin, h, w, requires_grad=True)
        wt = (torch.rand(cout, cin, k, k) - 0.5).requires_grad_()
        b = torch.zeros(cout, requires_grad=True)

        def run():
            x.grad = wt.grad = b.grad = None
            y = F.conv2d(x, wt, b, stride=stride, padding=pad)
            y.sum().backward()

        warmup, samples = (3, 5) if quick else (10, 40)
        for _ in range(warmup):
            run()
        times = []
        for _ in range(samples):
            t0 = time.perf_counter_ns()
            run()
            times.append((time.perf_counter_ns() - t0) / 1e3)
        med, lo, hi = stats(times)
        print(f"  conv_{name:<8} {med:10.2f} {lo:10.2f} {hi:10.2f}")
        result(f"bench=conv_{name} impl=torch {tag}", times, "us")


# ---- sequence models -------------------------------------------------------------

SEQ_V = 128  # symbols (one-hot inputs, output classes)


def time_step(step, quick, name, tag):
    warmup, samples = (3, 6) if quick else (10, 40)
    loss = None
    for _ in range(warmup):
        step()
    times = []
    for _ in range(samples):
        t0 = time.perf_counter_ns()
        loss = step()
        times.append((time.perf_counter_ns() - t0) / 1e3)
    med, lo, hi = stats(times)
    print(f"  {name:<13} {med:10.2f} {lo:10.2f} {hi:10.2f}   (loss {loss.item():.4f})")
    result(f"bench={name} impl=torch {tag}", times, "us")


def lstm_bench(quick, tag):
    torch.manual_seed(42)
    nn = torch.nn
    T, N, H = 32, 32, 128
    lstm, head = nn.LSTM(SEQ_V, H), nn.Linear(H, SEQ_V)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    batches = []
    for _ in range(4):
        ids = torch.randint(0, SEQ_V, (T + 1, N))
        batches.append((F.one_hot(ids[:-1], SEQ_V).float(), ids[1:]))
    k = 0

    def step():
        nonlocal k
        x, y = batches[k]
        k = (k + 1) % 4
        opt.zero_grad(set_to_none=True)
        out, _ = lstm(x)
        loss = F.cross_entropy(head(out).reshape(T * N, SEQ_V), y.reshape(T * N))
        loss.backward()
        opt.step()
        return loss

    time_step(step, quick, "lstm", tag)


def gpt_bench(quick, tag):
    torch.manual_seed(42)
    nn = torch.nn
    N, T, D, L, HEADS, FF = 16, 64, 128, 2, 4, 512
    tok, pos = nn.Embedding(SEQ_V, D), nn.Embedding(T, D)
    blocks = nn.ModuleList(nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0,
                                                      activation="gelu", batch_first=True,
                                                      norm_first=True) for _ in range(L))
    ln_f = nn.LayerNorm(D)
    for e in (tok, pos):  # GPT-2's initialisation, as ag_gpt_new's
        nn.init.normal_(e.weight, std=0.02)
    params = [p for m in (tok, pos, blocks, ln_f) for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    mask = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
    batches = [torch.randint(0, SEQ_V, (N, T + 1)) for _ in range(4)]
    k = 0

    def step():
        nonlocal k
        ids = batches[k]
        k = (k + 1) % 4
        opt.zero_grad(set_to_none=True)
        h = tok(ids[:, :-1]) + pos.weight
        for b in blocks:
            h = b(h, src_mask=mask)
        logits = ln_f(h) @ tok.weight.t()  # the head shares the token embedding
        loss = F.cross_entropy(logits.reshape(N * T, SEQ_V), ids[:, 1:].reshape(N * T))
        loss.backward()
        opt.step()
        return loss

    time_step(step, quick, "gpt", tag)


# ---- logistic regression -----------------------------------------------------

def read_wdbc(path):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            if line.strip():
                rows.append([float(v) for v in line.split(",")])
    data = torch.tensor(rows, dtype=torch.float64)
    X, y = data[:, :-1], data[:, -1:].clone()
    # population standard deviation, as the C benchmark
    X = (X - X.mean(0)) / X.std(0, unbiased=False)
    return X.contiguous(), y.contiguous()


def logreg_bench(path, quick, tag):
    X, y = read_wdbc(path)
    w = torch.zeros(X.shape[1], 1, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=0.1)

    def run():
        with torch.no_grad():
            w.zero_()
            b.zero_()
        for _ in range(1000):
            opt.zero_grad(set_to_none=True)
            loss = F.binary_cross_entropy_with_logits(X @ w + b, y)
            loss.backward()
            opt.step()
        return loss.item()

    run()
    times = []
    for _ in range(3 if quick else 9):
        t0 = time.perf_counter_ns()
        final = run()
        times.append((time.perf_counter_ns() - t0) / 1e6)
    med, lo, hi = stats(times)
    print(f"  logreg        {med:10.3f} {lo:10.3f} {hi:10.3f}   ms per 1000 steps (final loss {final:.12f})")
    result(f"bench=logreg impl=torch {tag}", times, "ms")
    result("bench=logreg impl=torch what=final_loss", value=final, unit="loss")


# ---- scalar graph --------------------------------------------------------------

def scalar_bench(n_samples, quick, tag):
    sizes = [8, 32, 32, 1]
    g = torch.Generator().manual_seed(7)

    def scalar(v, grad):
        return torch.tensor(v, dtype=torch.float64, requires_grad=grad)

    W, B, params = [], [], []
    for l in range(3):
        bound = 1 / math.sqrt(sizes[l])
        Wl = [[None] * sizes[l + 1] for _ in range(sizes[l])]
        Bl = [None] * sizes[l + 1]
        for j in range(sizes[l + 1]):
            for i in range(sizes[l]):
                Wl[i][j] = scalar((torch.rand(1, generator=g).item() * 2 - 1) * bound, True)
                params.append(Wl[i][j])
            Bl[j] = scalar((torch.rand(1, generator=g).item() * 2 - 1) * bound, True)
            params.append(Bl[j])
        W.append(Wl)
        B.append(Bl)
    xs = [[scalar(torch.rand(1, generator=g).item() * 2 - 1, False) for _ in range(8)]
          for _ in range(n_samples)]
    ys = [scalar(1.0 if torch.rand(1, generator=g).item() > 0.5 else -1.0, False)
          for _ in range(n_samples)]
    # recorded nodes, counted as the C benchmark's tape counts them
    per_sample = sum(sizes[l + 1] * (2 * sizes[l] + (1 if l < 2 else 0)) for l in range(3)) + 3
    nodes = per_sample * n_samples - 1

    def forward():
        loss = None
        for s in range(n_samples):
            h = xs[s]
            for l in range(3):
                out = []
                for j in range(sizes[l + 1]):
                    acc = B[l][j]
                    for i in range(sizes[l]):
                        acc = acc + W[l][i][j] * h[i]
                    out.append(torch.tanh(acc) if l < 2 else acc)
                h = out
            d = h[0] - ys[s]
            sq = d * d
            loss = sq if loss is None else loss + sq
        return loss

    tf, tb, tt = [], [], []
    for r in range(-1, 3 if quick else 7):
        t0 = time.perf_counter_ns()
        loss = forward()
        t1 = time.perf_counter_ns()
        loss.backward()
        t2 = time.perf_counter_ns()
        for p in params:
            p.grad = None
        if r < 0:
            continue
        tf.append((t1 - t0) / nodes)
        tb.append((t2 - t1) / nodes)
        tt.append((t2 - t0) / nodes)
    for phase, t in (("forward", tf), ("backward", tb), ("total", tt)):
        med, lo, hi = stats(t)
        print(f"  scalar {phase:<9} {med:10.1f} {lo:10.1f} {hi:10.1f}   ns per node ({nodes} nodes)")
        result(f"bench=scalar impl=torch phase={phase} nodes={nodes} {tag}", t, "ns_per_node")


# ---- tape overhead ---------------------------------------------------------------

def tape_bench(quick, tag):
    n = 2000
    for op in ("add", "mul", "tanh"):
        for numel in (1, 4):
            shape = () if numel == 1 else (4,)
            x = torch.full(shape, 0.5, dtype=torch.float64, requires_grad=True)
            c = torch.full(shape, 1.0 if op == "mul" else 1e-4, dtype=torch.float64,
                           requires_grad=True)
            seed = torch.ones(shape, dtype=torch.float64)

            def chain():
                y = x
                if op == "add":
                    for _ in range(n):
                        y = y + c
                elif op == "mul":
                    for _ in range(n):
                        y = y * c
                else:
                    for _ in range(n):
                        y = torch.tanh(y)
                return y

            tr, tn, tb = [], [], []
            for r in range(-2, 5 if quick else 15):
                t0 = time.perf_counter_ns()
                y = chain()
                t1 = time.perf_counter_ns()
                y.backward(seed)
                t2 = time.perf_counter_ns()
                x.grad = c.grad = None
                with torch.no_grad():
                    t3 = time.perf_counter_ns()
                    chain()
                    t4 = time.perf_counter_ns()
                if r < 0:
                    continue
                tr.append((t1 - t0) / n)
                tb.append((t2 - t1) / n)
                tn.append((t4 - t3) / n)
            cells = []
            for phase, t in (("record", tr), ("nograd", tn), ("backward", tb)):
                med, lo, hi = stats(t)
                cells.append(f"{med:8.1f}")
                result(f"bench=tape impl=torch op={op} numel={numel} phase={phase} {tag}", t,
                       "ns_per_node")
            print(f"  tape {op:<5} numel {numel}: record {cells[0]} | no-grad {cells[1]} | "
                  f"backward {cells[2]}  ns per node")


def main():
    global RESULTS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", default="1,2", help="torch.set_num_threads values, e.g. 1,2")
    ap.add_argument("--results", help="append RESULT lines here")
    ap.add_argument("--data", help="wdbc.csv (default: the source tree's examples/data)")
    ap.add_argument("--only", default="mlp,logreg,scalar,tape,lenet,conv,lstm,gpt",
                    help="comma-separated subset of mlp,logreg,scalar,tape,lenet,conv,lstm,gpt")
    ap.add_argument("--scalar-samples", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.results:
        RESULTS = open(a.results, "a")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data = a.data
    if not data:
        for cand in (os.path.join(root, "examples", "data", "wdbc.csv"),
                     os.path.join(root, "..", "shared", "data", "wdbc.csv")):
            if os.path.exists(cand):
                data = cand
                break
    only = set(a.only.split(","))
    core, blas_threads = blas_info()
    torch.set_num_interop_threads(1)
    print(f"torch_peer: PyTorch {torch.__version__} ({sys.executable}); OpenBLAS kernel {core}, "
          f"{blas_threads} thread(s) (OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')})")
    settings = [int(t) for t in a.threads.split(",")]
    for threads in settings:
        torch.set_num_threads(threads)
        tag = f"torch_threads={threads} blas_threads={blas_threads}"
        print(f"-- torch.set_num_threads({threads}), OpenBLAS threads {blas_threads}: "
              f"median, min, max")
        if "mlp" in only:
            for name in SHAPES:
                mlp_bench(name, a.quick, tag)
        if "logreg" in only and data:
            logreg_bench(data, a.quick, tag)
        if "lenet" in only:
            lenet_bench(a.quick, tag)
        if "conv" in only:
            conv_bench(a.quick, tag)
        if "lstm" in only:
            lstm_bench(a.quick, tag)
        if "gpt" in only:
            gpt_bench(a.quick, tag)
        # The scalar graph and the tape chains run on one core whatever the
        # setting (0-d ops do not split): measure them once.
        if threads == settings[0] and "scalar" in only:
            scalar_bench(a.scalar_samples, a.quick, tag)
        if threads == settings[0] and "tape" in only:
            tape_bench(a.quick, tag)
    if RESULTS:
        RESULTS.close()


if __name__ == "__main__":
    main()
