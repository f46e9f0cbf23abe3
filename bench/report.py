#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Merges the RESULT lines of one benchmark run (bench/run.sh writes one
file per environment pass) into markdown tables: the C benchmarks with
their in-process peers, the PyTorch peer's figures beside them, the ratios,
and the issue's targets marked met or missed. Only the standard library is
used, so any python3 can run it.

  report.py PASS_FILE...      (each starts with META lines naming the pass)
"""
import sys
from collections import defaultdict


def parse(path):
    meta, rows = {}, []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0] not in ("META", "RESULT"):
                continue
            if parts[0] == "META":
                # one key per line; the value is the rest of the line
                key, _, value = line[5:].strip().partition("=")
                meta[key] = value
            else:
                kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
                for k in ("median", "min", "max", "value"):
                    if k in kv:
                        kv[k] = float(kv[k])
                rows.append(kv)
    return meta, rows


def find(rows, **want):
    """Rows whose fields include every key=value of want (None: key absent)."""
    out = []
    for r in rows:
        if all((r.get(k) is None) if v is None else (r.get(k) == str(v)) for k, v in want.items()):
            out.append(r)
    return out


def one(rows, **want):
    r = find(rows, **want)
    return r[0] if r else None


def cell(r, fmt="{:.2f}"):
    if r is None:
        return "—"
    return f"{fmt.format(r['median'])} [{fmt.format(r['min'])}–{fmt.format(r['max'])}]"


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "—"


SHAPES = [("tiny", "2-16-16-1, batch 32, BCE"), ("standard", "784-256-128-10, batch 64, CE"),
          ("wide", "784-1024-1024-10, batch 256, CE")]


def mlp_tables(meta, rows, out):
    out.append("MLP training step, f32, SGD lr 0.01: µs per step, median [min–max]. "
               "engine/hand and engine/gemm at the same OpenBLAS thread count; "
               "engine-loop (a diagnostic) is the engine's step with ag_optim_step replaced by "
               "a plain w −= lr·g loop; the torch columns are PyTorch with torch.set_num_threads(n) "
               "under the row's OpenBLAS thread count.\n")
    tthreads = sorted({r["torch_threads"] for r in find(rows, impl="torch")
                       if r.get("bench", "").startswith("mlp_")})
    head = ("| shape | OpenBLAS threads | engine | hand | gemm only | engine-loop | engine/hand | "
            "engine-loop/hand | engine/gemm |")
    for tt in tthreads:
        head += f" torch, {tt} thread{'s' if tt != '1' else ''} |"
    out.append(head)
    out.append("|" + "---|" * (9 + len(tthreads)))
    summary = {}
    for shape, desc in SHAPES:
        b = f"mlp_{shape}"
        threads = sorted({r["blas_threads"] for r in find(rows, bench=b, impl="engine", phase=None)
                          if "median" in r})
        for t in threads:
            e = one(rows, bench=b, impl="engine", blas_threads=t, phase=None)
            h = one(rows, bench=b, impl="hand", blas_threads=t)
            g = one(rows, bench=b, impl="gemm", blas_threads=t)
            lp = one(rows, bench=b, impl="engine-loop", blas_threads=t)
            line = (f"| {shape} ({desc}) | {t} | {cell(e)} | {cell(h)} | {cell(g)} | {cell(lp)} | "
                    f"{ratio(e and e['median'], h and h['median'])} | "
                    f"{ratio(lp and lp['median'], h and h['median'])} | "
                    f"{ratio(e and e['median'], g and g['median'])} |")
            for tt in tthreads:
                line += f" {cell(one(rows, bench=b, impl='torch', torch_threads=tt, blas_threads=t))} |"
            out.append(line)
        # best settings of each implementation
        def best(impl, **kw):
            c = [r for r in find(rows, bench=b, impl=impl, **kw) if "median" in r and "phase" not in r]
            return min(c, key=lambda r: r["median"]) if c else None
        eb, hb, tb = best("engine"), best("hand"), best("torch")
        hs = eb and one(rows, bench=b, impl="hand", blas_threads=eb["blas_threads"])
        summary[shape] = (eb, hb, tb, hs)
    out.append("")
    out.append("Best setting of each (the issue's comparisons):\n")
    out.append("| shape | engine best | hand (same threads) | gemm only (same threads) | torch best | "
               "engine/hand | torch/engine |")
    out.append("|---|---|---|---|---|---|---|")
    for shape, _ in SHAPES:
        eb, hb, tb, hs = summary[shape]
        if not eb:
            continue
        gs = one(rows, bench=f"mlp_{shape}", impl="gemm", blas_threads=eb["blas_threads"])
        tdesc = (f"{tb['median']:.2f} (torch {tb['torch_threads']}, OpenBLAS {tb['blas_threads']})"
                 if tb else "not run")
        out.append(f"| {shape} | {eb['median']:.2f} (OpenBLAS {eb['blas_threads']}) | "
                   f"{hs['median']:.2f} | {gs['median']:.2f} | {tdesc} | "
                   f"{ratio(eb['median'], hs['median'])} | "
                   f"{ratio(tb and tb['median'], eb['median'])} |")
    out.append("")
    kann_table(rows, out)
    # phases
    out.append("The step by phase (median µs, OpenBLAS 1 thread; the hand-written step's loss is "
               "part of its forward pass, its update is the sgd column) and nodes recorded per "
               "engine step:\n")
    out.append("| shape | impl | zero_grad | forward+loss | backward | optimizer step | reset | nodes |")
    out.append("|---|---|---|---|---|---|---|---|")
    for shape, _ in SHAPES:
        b = f"mlp_{shape}"
        ph = [one(rows, bench=b, impl="engine", phase=p, blas_threads="1")
              for p in ("zero_grad", "forward+loss", "backward", "optim_step", "reset")]
        n = one(rows, bench=b, what="nodes_per_step")
        if any(ph):
            out.append(f"| {shape} | engine | " + " | ".join(f"{p['median']:.2f}" if p else "—" for p in ph)
                       + f" | {int(n['value']) if n else '—'} |")
        hp = [one(rows, bench=b, impl="hand", phase=p, blas_threads="1")
              for p in ("forward+loss", "backward", "sgd")]
        if any(hp):
            out.append(f"| {shape} | hand | — | " +
                       " | ".join(f"{p['median']:.2f}" if p else "—" for p in hp) + " | — | — |")
    out.append("")
    return summary


def logreg_table(rows, out):
    rs = [r for r in find(rows, bench="logreg") if "median" in r]
    if not rs:
        return None
    out.append("Logistic regression, WDBC 569×30 standardized, f64, 1000 full-batch SGD steps "
               "(lr 0.1): ms per 1000 steps (= µs per step), median [min–max].\n")
    out.append("| impl | threads | time | ratio to hand (same threads) |")
    out.append("|---|---|---|---|")
    for r in sorted(rs, key=lambda r: (r["impl"], r.get("blas_threads", ""), r.get("torch_threads", ""))):
        thr = (f"torch {r['torch_threads']}, OpenBLAS {r['blas_threads']}" if r["impl"] == "torch"
               else f"OpenBLAS {r['blas_threads']}")
        h = one(rows, bench="logreg", impl="hand", blas_threads=r["blas_threads"])
        out.append(f"| {r['impl']} | {thr} | {cell(r, '{:.3f}')} | "
                   f"{ratio(r['median'], h and h['median'])} |")
    losses = list(dict((r["impl"], r["value"])
                       for r in find(rows, bench="logreg", what="final_loss")).items())
    if losses:
        out.append("\nFinal loss after 1000 steps (the same computation everywhere): " +
                   ", ".join(f"{i} {v:.12f}" for i, v in losses))
    out.append("")
    def best(impl):
        c = [r for r in rs if r["impl"] == impl]
        return min(c, key=lambda r: r["median"]) if c else None
    return best("engine"), best("hand"), best("torch")


CONV = [("lenet", "LeNet-style CNN training step (examples/cnn_fashion.c), batch 64, f32, Adam"),
        ("conv_lenet1", "conv2d fwd+bwd, 64×1×28×28, 16 filters 5×5, padding 2"),
        ("conv_mid", "conv2d fwd+bwd, 64×16×14×14, 32 filters 5×5"),
        ("conv_vgg", "conv2d fwd+bwd, 32×64×16×16, 64 filters 3×3, padding 1")]


def conv_table(rows, out):
    """The CNN step and conv2d alone against PyTorch: each side at its best
    thread setting, and at one thread each. Issue 14's target: the LeNet
    step at least 1.0× PyTorch's speed (torch time / engine time >= 1)."""
    if not any(find(rows, bench=b) for b, _ in CONV):
        return
    out.append("CNN work against PyTorch: µs per step, median [min–max]; speed-up = "
               "PyTorch's time / the engine's (above 1: the engine is faster).\n")
    out.append("| benchmark | engine, best threads | PyTorch, best threads | speed-up (best) | "
               "engine, 1 thread | PyTorch, 1 thread | speed-up (1 thread) |")
    out.append("|---|---|---|---|---|---|---|")
    for bench, desc in CONV:
        e = [r for r in find(rows, bench=bench, impl="engine") if "median" in r]
        t = [r for r in find(rows, bench=bench, impl="torch") if "median" in r]
        if not e and not t:
            continue
        be = min(e, key=lambda r: r["median"]) if e else None
        bt = min(t, key=lambda r: r["median"]) if t else None
        e1 = one(rows, bench=bench, impl="engine", blas_threads="1")
        t1 = one(rows, bench=bench, impl="torch", torch_threads="1", blas_threads="1")
        def thr(r):
            if r is None:
                return ""
            if r["impl"] == "torch":
                return f" (torch {r['torch_threads']}, OpenBLAS {r['blas_threads']})"
            return f" (OpenBLAS {r['blas_threads']})"
        out.append(f"| {desc} | {cell(be)}{thr(be)} | {cell(bt)}{thr(bt)} | "
                   f"{ratio(bt and bt['median'], be and be['median'])} | {cell(e1)} | {cell(t1)} | "
                   f"{ratio(t1 and t1['median'], e1 and e1['median'])} |")
    le = [r for r in find(rows, bench="lenet", impl="engine") if "median" in r]
    lt = [r for r in find(rows, bench="lenet", impl="torch") if "median" in r]
    if le and lt:
        sp = min(r["median"] for r in lt) / min(r["median"] for r in le)
        out.append(f"\nTarget (issue 14): LeNet step at least 1.0× PyTorch at each side's best "
                   f"thread setting — {sp:.2f}×: **{'met' if sp >= 1.0 else 'missed'}**.")
    out.append("")

def kann_table(rows, out):
    """KANN's MLP step (bench/kann_peer.sh mlp), timed interleaved with the
    engine's step in one process; the ratio is that process's. Without
    KANN_DIR the column says "not run"."""
    out.append("KANN's MLP step (bench/kann_mlp.c, built out of tree from KANN_DIR): µs per step, "
               "median [min–max], timed interleaved with the engine's step in the same process; "
               "KANN/engine above 1 means the engine is faster. KANN: sigmoid + binary "
               "cross-entropy (tiny) or softmax + multi-class cross-entropy as separate nodes "
               "(it has no loss on logits), SGD as a plain w −= lr·g loop (KANN ships none), its "
               "own multithreading off.\n")
    out.append("| shape | OpenBLAS threads | KANN | engine (same process) | KANN/engine | "
               "issue 18: ≥ 1.2× |")
    out.append("|---|---|---|---|---|---|")
    for shape, desc in SHAPES:
        b = f"mlp_{shape}"
        threads = sorted({r["blas_threads"] for r in find(rows, bench=b, phase=None)
                          if "median" in r and "blas_threads" in r and
                          r["impl"] in ("engine", "kann")})
        for t in threads:
            k = one(rows, bench=b, impl="kann", blas_threads=t)
            e = one(rows, bench=b, impl="engine-beside-kann", blas_threads=t)
            if not k:
                out.append(f"| {shape} ({desc}) | {t} | not run | — | — | — |")
                continue
            r = k["median"] / e["median"]
            out.append(f"| {shape} ({desc}) | {t} | {cell(k)} | {cell(e)} | {r:.2f}× | "
                       f"{'met' if r >= 1.2 else 'MISSED'} |")
    out.append("")


def issue18_targets(rows, out):
    """Issue 18's small-work targets: the tiny step and the logistic
    regression within 1.15× hand-written C, at each OpenBLAS thread count."""
    out.append("Issue 18, small work, from this pass:\n")
    out.append("| target | OpenBLAS threads | measured | status |")
    out.append("|---|---|---|---|")
    for bench, name in (("mlp_tiny", "tiny MLP step"), ("logreg", "logistic regression")):
        for t in sorted({r["blas_threads"] for r in find(rows, bench=bench, impl="engine", phase=None)
                         if "median" in r}):
            e = one(rows, bench=bench, impl="engine", blas_threads=t, phase=None)
            h = one(rows, bench=bench, impl="hand", blas_threads=t)
            if e and h:
                r = e["median"] / h["median"]
                out.append(f"| {name} ≤ 1.15× hand-written | {t} | {r:.2f}× ({e['median']:.2f} vs "
                           f"{h['median']:.2f} {e.get('unit', '')}) | "
                           f"{'met' if r <= 1.15 else 'MISSED'} |")
    out.append("")


SEQ = [("lstm", "LSTM language-model step: T 32, N 32, 128 symbols one-hot, hidden 128, f32"),
       ("gpt", "GPT step: N 16, T 64, d 128, 2 pre-LN blocks, 4 heads, ff 512, tied head, f32")]


def seq_table(rows, out):
    """The sequence models' training steps against PyTorch (each side at its
    best thread setting, and at one thread each) and KANN's LSTM (one thread,
    when bench/kann_peer.sh ran). Issue 15's target: at least 1.0× PyTorch
    (torch time / engine time >= 1)."""
    if not any(find(rows, bench=b) for b, _ in SEQ):
        return
    out.append("Sequence models against PyTorch and KANN: µs per training step, median "
               "[min–max]; speed-up = the peer's time / the engine's (above 1: the engine is "
               "faster).\n")
    out.append("| benchmark | engine, best threads | PyTorch, best threads | speed-up (best) | "
               "engine, 1 thread | PyTorch, 1 thread | speed-up (1 thread) | KANN, 1 thread | "
               "speed-up vs KANN (1 thread) |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for bench, desc in SEQ:
        e = [r for r in find(rows, bench=bench, impl="engine") if "median" in r]
        t = [r for r in find(rows, bench=bench, impl="torch") if "median" in r]
        if not e and not t:
            continue
        be = min(e, key=lambda r: r["median"]) if e else None
        bt = min(t, key=lambda r: r["median"]) if t else None
        e1 = one(rows, bench=bench, impl="engine", blas_threads="1")
        t1 = one(rows, bench=bench, impl="torch", torch_threads="1", blas_threads="1")
        k1 = one(rows, bench=bench, impl="kann", blas_threads="1")
        def thr(r):
            if r is None:
                return ""
            if r["impl"] == "torch":
                return f" (torch {r['torch_threads']}, OpenBLAS {r['blas_threads']})"
            return f" (OpenBLAS {r['blas_threads']})"
        out.append(f"| {desc} | {cell(be)}{thr(be)} | {cell(bt)}{thr(bt)} | "
                   f"{ratio(bt and bt['median'], be and be['median'])} | {cell(e1)} | {cell(t1)} | "
                   f"{ratio(t1 and t1['median'], e1 and e1['median'])} | "
                   f"{cell(k1) if k1 else 'not run'} | "
                   f"{ratio(k1 and k1['median'], e1 and e1['median']) if k1 else ''} |")
        if be and bt:
            sp = bt["median"] / be["median"]
            verdicts.append(f"{bench} {sp:.2f}× ({'met' if sp >= 1.0 else 'missed'})")
    if verdicts:
        out.append("\nTarget (issue 15): each step at least 1.0× PyTorch at each side's best "
                   "thread setting — " + "; ".join(verdicts) + ".")
    out.append("")


def scalar_table(rows, out):
    rs = find(rows, bench="scalar")
    if not rs:
        return None
    out.append("Scalar graph (micrograd-style MLP 8-32-32-1 of 0-d f64 tensors): ns per recorded "
               "node, median [min–max].\n")
    out.append("| impl | nodes | forward (record) | backward | forward+backward | zero_grad+reset |")
    out.append("|---|---|---|---|---|---|")
    res = {}
    for impl in ("engine", "torch"):
        ph = {p: one(rows, bench="scalar", impl=impl, phase=p)
              for p in ("forward", "backward", "total", "zero_reset")}
        if not ph["total"]:
            continue
        res[impl] = ph["total"]
        out.append(f"| {impl} | {ph['total']['nodes']} | {cell(ph['forward'], '{:.1f}')} | "
                   f"{cell(ph['backward'], '{:.1f}')} | {cell(ph['total'], '{:.1f}')} | "
                   f"{cell(ph['zero_reset'], '{:.1f}')} |")
    if "engine" in res and "torch" in res:
        out.append(f"\nPer node, PyTorch 0-d tensors / engine: "
                   f"{res['torch']['median'] / res['engine']['median']:.1f}×")
    out.append("")
    return res.get("engine")


def tape_table(rows, out):
    if not find(rows, bench="tape"):
        return
    out.append("Tape overhead: chains of one op on tiny f64 tensors, ns per node (median). "
               "record − no-grad is what recording adds; backward runs each node's "
               "first-order kernel into the gradient buffers.\n")
    out.append("| op | numel | engine record | engine no-grad | engine backward | engine reset | "
               "torch record | torch no-grad | torch backward |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for op in ("add", "mul", "tanh"):
        for numel in ("1", "4"):
            def m(impl, phase):
                r = one(rows, bench="tape", impl=impl, op=op, numel=numel, phase=phase)
                return f"{r['median']:.1f}" if r else "—"
            out.append(f"| {op} | {numel} | {m('engine', 'record')} | {m('engine', 'nograd')} | "
                       f"{m('engine', 'backward')} | {m('engine', 'zero_reset')} | "
                       f"{m('torch', 'record')} | {m('torch', 'nograd')} | {m('torch', 'backward')} |")
    out.append("")


def threads_table(rows, out):
    """bench/bench_threads: a map split in two by the pool against one
    thread, and the library's ops with one thread and two; what the
    library's grain (ag_parallel_grain) is set from."""
    if not find(rows, impl="serial"):
        return
    out.append("Thread pool (bench/bench_threads, f32): ns per call, median; gain = one thread's "
               "time / the split's. *pool* rows split a plain loop in two with ag_parallel_for; "
               "*op* rows run the library's op with ag_set_num_threads(1) and (2) at its grain "
               "(ag_parallel_grain() = 2^19: cheap ops split from 2^20 elements, exp from 2^16).\n")
    out.append("| loop | n | one thread | two threads | gain |")
    out.append("|---|---|---|---|---|")
    seen = []
    for r in rows:
        b = r.get("bench", "")
        if b.startswith("pool_") and r.get("impl") == "serial":
            sp = one(rows, bench=b, n=r["n"], impl="split")
            if sp:
                out.append(f"| pool {b[5:]} | {r['n']} | {r['value']:.0f} | {sp['value']:.0f} | "
                           f"{r['value'] / sp['value']:.2f}× |")
        elif b.startswith("op_") and r.get("threads") == "1" and (b, r["n"]) not in seen:
            seen.append((b, r["n"]))
            t2 = one(rows, bench=b, n=r["n"], threads=2)
            if t2:
                out.append(f"| op {b[3:]} | {r['n']} | {r['value']:.0f} | {t2['value']:.0f} | "
                           f"{r['value'] / t2['value']:.2f}× |")
    out.append("")


def alloc_memory(rows, out):
    al = find(rows, what="allocs_per_step")
    out.append("Heap allocations per steady-state step (ag_alloc_count before/after, after warm-up; "
               "the largest over the runs):\n")
    worst = defaultdict(float)
    for r in al:
        worst[r["bench"]] = max(worst[r["bench"]], r["value"])
    out.append("| benchmark | allocations per step |")
    out.append("|---|---|")
    for b, v in sorted(worst.items()):
        out.append(f"| {b} | {int(v)} |")
    out.append("")
    out.append("Memory (bytes a minimal trainer needs: parameters + gradients + optimizer state + "
               "activations (input batch, every layer's output, every hidden layer's "
               "pre-activation) vs. what the engine holds: parameters, gradients, state, the input "
               "batch and its tape's arena after warm-up):\n")
    out.append("| shape | needed | engine holds | of which tape arena | ratio |")
    out.append("|---|---|---|---|---|")
    mem = {}
    for shape, _ in SHAPES:
        need = one(rows, bench=f"mlp_{shape}", what="mem_budget")
        held = one(rows, bench=f"mlp_{shape}", what="mem_held")
        tape = one(rows, bench=f"mlp_{shape}", what="tape_capacity")
        if need and held:
            mem[shape] = held["value"] / need["value"]
            out.append(f"| {shape} | {need['value'] / 1024:.0f} KiB | {held['value'] / 1024:.0f} KiB | "
                       f"{tape['value'] / 1024:.0f} KiB | {mem[shape]:.2f}× |")
    re = one(rows, what="rss_growth", impl="engine")
    rh = one(rows, what="rss_growth", impl="hand")
    if re and rh:
        out.append(f"\nResident memory added by a standard training run, each alone in a fresh "
                   f"process: engine {re['value'] / 1024:.0f} KiB, hand-written "
                   f"{rh['value'] / 1024:.0f} KiB ({re['value'] / rh['value']:.2f}×).")
    out.append("")
    return worst, mem


def targets(summary, scalar, worst_allocs, mem, out):
    out.append("Targets (issue 7), from this pass:\n")
    out.append("| target | measured | status |")
    out.append("|---|---|---|")

    def row(name, measured, ok):
        out.append(f"| {name} | {measured} | {'met' if ok else 'MISSED'} |")

    eb, hb, tb, hs = summary.get("standard", (None,) * 4)
    if eb:
        r = eb["median"] / hs["median"]
        row("standard step ≤ 1.10× hand-written", f"{r:.2f}× ({eb['median']:.1f} vs "
            f"{hs['median']:.1f} µs)", r <= 1.10)
        if tb:
            r = tb["median"] / eb["median"]
            row("standard step ≥ 1.5× faster than PyTorch's best", f"{r:.2f}× (PyTorch "
                f"{tb['median']:.1f} µs)", r >= 1.5)
    eb, hb, tb, hs = summary.get("tiny", (None,) * 4)
    if eb:
        row("tiny step ≤ 4 µs", f"{eb['median']:.2f} µs (hand {hs['median']:.2f})", eb["median"] <= 4)
        if tb:
            r = tb["median"] / eb["median"]
            row("tiny step ≥ 20× faster than PyTorch", f"{r:.1f}× (PyTorch {tb['median']:.1f} µs)",
                r >= 20)
    eb, hb, tb, hs = summary.get("wide", (None,) * 4)
    if eb and tb:
        row("wide step at least as fast as PyTorch", f"{eb['median'] / 1e3:.2f} ms vs "
            f"{tb['median'] / 1e3:.2f} ms ({tb['median'] / eb['median']:.2f}×)",
            eb["median"] <= tb["median"])
    if scalar:
        row("scalar graph ≤ 50 ns per node (forward + backward)", f"{scalar['median']:.1f} ns",
            scalar["median"] <= 50)
    if worst_allocs:
        w = max(worst_allocs.values())
        row("zero allocations per steady-state step", f"{int(w)} (worst benchmark)", w == 0)
    if "standard" in mem:
        row("standard step memory ≤ 1.5× params+grads+state+activations",
            f"{mem['standard']:.2f}×", mem["standard"] <= 1.5)
    out.append("")


def main(paths):
    out = []
    for path in paths:
        meta, rows = parse(path)
        out.append(f"### Environment pass: {meta.get('pass', path)}\n")
        out.append(f"OPENBLAS_CORETYPE={meta.get('coretype', '?')}, "
                   f"OPENBLAS_L2_SIZE={meta.get('l2size', '?')} → OpenBLAS kernel "
                   f"**{meta.get('kernel', '?')}**; CPU use by other processes before/after the pass: "
                   f"{meta.get('load_before', '?')} / {meta.get('load_after', '?')}. "
                   f"{meta.get('note', '')}\n")
        summary = mlp_tables(meta, rows, out)
        logreg_table(rows, out)
        conv_table(rows, out)
        seq_table(rows, out)
        scalar = scalar_table(rows, out)
        tape_table(rows, out)
        threads_table(rows, out)
        worst, mem = alloc_memory(rows, out)
        targets(summary, scalar, worst, mem, out)
        issue18_targets(rows, out)
    print("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
