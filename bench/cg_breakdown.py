#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Groups a callgrind profile's instruction counts (self cost per function)
into the parts of an engine step, per unit of work:

  cg_breakdown.py CALLGRIND_OUT UNITS [LABEL]

UNITS is what the counted region did (steps, or nodes x iterations), so the
figures are instructions per step or per node. Instructions are not time
(a GEMM retires many flops per instruction, bookkeeping few), but they do
not depend on what else runs on the machine, and they show where the engine
adds work to the hand-written step. Called by bench/profile.sh.
"""
import collections
import re
import subprocess
import sys

# (category, test on the function name and its object file), first match wins
RULES = [
    ("OpenBLAS (GEMM kernels, packing, dispatch, its buffer lock)",
     lambda f, o: "openblas" in o or f.startswith("pthread_mutex") or f.startswith("__pthread_mutex")),
    ("libm (exp, log1p, tanh)",
     lambda f, o: "libm" in o or "ieee754" in o or f.startswith(("__exp", "__log", "__tanh"))),
    ("snprintf (layer parameter names, every forward)",
     lambda f, o: "printf" in f or "IO_" in f or "spec" in f or "scratch_buffer" in f
     or f.startswith(("_itoa", "__strchrnul"))),
    ("memset/memcpy (zero_grad, copies; valgrind counts each rep-stos step)",
     lambda f, o: "memset" in f or "memmove" in f or "memcpy" in f),
    ("ag_optim_step (norm + update)",
     lambda f, o: f in ("ag_optim_step", "grad_norm", "update_float", "update_double",
                        "grad_sum_squares", "sum_squares_float_exact")
     or f.startswith(("sum_squares_", "block_squares_", "sgd_", "adam_"))),
    ("first-order kernels (gradients straight into the buffers)",
     lambda f, o: f.endswith("_kernel") or f in ("ag_binary_grad_run", "ag_grad_pass",
                                                "ag_grad_dst_data", "run_kernel")),
    ("parameter lookup by name (uthash)",
     lambda f, o: f in ("ag_params_get", "ag_linear", "ag_mlp_forward", "ag_logreg_logits")
     or "strlen" in f or "memcmp" in f or f == "bcmp"),
    ("sum_to / broadcast_to (odometer loops)",
     lambda f, o: f in ("ag_sum_to", "ag_odometer_next_row", "ag_odometer_init", "ag_broadcast_to",
                        "ag_broadcast_strides")),
    ("elementwise kernels", lambda f, o: f.endswith(("_f32", "_f64")) or "sigmoid" in f),
    ("backward sweep, rules, gradient accumulation",
     lambda f, o: f in ("ag_backward_sweep", "run_rule", "accumulate", "accumulate_leaf",
                        "ag_backward_ex", "ag_backward") or f.endswith("_vjp")),
    ("op bookkeeping (input checks, shapes, result headers, arena, node list)",
     lambda f, o: f.startswith("ag_") or f in ("arena_alloc", "arena_grow", "new_tensor",
                                                 "push_node", "reduce", "scalar_op", "gemm",
                                                 "suffix_rows", "rows_of", "labels_ok",
                                                 "index_offsets", "extreme_axis")),
    ("the benchmark's own loop", lambda f, o: f in ("profile_engine_steps", "engine_loss",
                                                    "engine_step", "scalar_forward",
                                                    "scalar_backward", "bench_check")),
    ("other", lambda f, o: True),
]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, units = sys.argv[1], float(sys.argv[2])
    label = sys.argv[3] if len(sys.argv) > 3 else "unit"
    text = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", path],
                          capture_output=True, text=True, check=True).stdout
    cats, fns, total = collections.Counter(), collections.Counter(), 0
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        n = int(m.group(1).replace(",", ""))
        where = m.group(2)
        # the object file in brackets, else the source path (libm's have no object)
        obj = where[where.rfind("[") + 1:].rstrip("]") if "[" in where else where
        fn = where.split(" [")[0].rsplit(":", 1)[-1]
        cat = next((c for c, test in RULES if test(fn, obj)), "other")
        cats[cat] += n
        fns[fn] += n
        total += n
    print(f"  {total / units:,.0f} instructions per {label}")
    for c, n in cats.most_common():
        if n / total >= 0.005:
            print(f"  {n / units:>12,.0f}  {100 * n / total:5.1f}%  {c}")
    print(f"  top functions (instructions per {label}):")
    for f, n in fns.most_common(12):
        print(f"  {n / units:>12,.0f}  {f}")


if __name__ == "__main__":
    main()
