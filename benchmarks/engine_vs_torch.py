"""Time the NumPy engine against PyTorch CPU on the same ops, same data, same thread count.

    python benchmarks/engine_vs_torch.py [--threads N] [--repeats R] [--dtype float32|float64]
        [--clock wall|cpu]
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/engine_vs_torch.py --threads 1

(the second form is the headline figure: NumPy on its best BLAS kernel — this machine sets both
variables for old-OpenBLAS safety, and they select a slower kernel; unset them for this command
only). The script prints which BLAS library, version and kernel NumPy runs (threadpoolctl) and the
OPENBLAS_* variables in force; ``--json FILE`` also writes every number.

Every case is forward + backward (all gradients). Cases: conv2d for (N,C,H,W)=(64,32,14,14), weight
(64,32,3,3), padding 1 (the issue's yardstick, goal <= 1.5x torch); the layers of a LeNet-style net
on a 28x28 batch; conv1d. Each case is warmed up, then engine and torch rounds alternate (so a noisy
neighbour slows both); the median and the best (minimum) time of each are reported with the ratios
engine/torch. On a shared machine the ratio of minima is the steadier of the two, and
``--clock cpu`` (CPU time of the process, with ``--threads 1``) leaves out the time a neighbour held
the core. Only the op is timed: inputs and output gradients are made before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_info, threadpool_limits

from cnnlab import engine as E


def load_note(threads: int) -> str:
    """The machine's load average — with other work running, multi-threaded BLAS calls that
    synchronise often (long-K GEMMs such as a weight gradient) wait for descheduled threads."""
    load = os.getloadavg()[0]
    busy = load > 0.5 and threads > 1
    return f"load average {load:.1f}" + (
        " (busy machine: compare with --threads 1)" if busy else ""
    )


def blas_note() -> dict[str, object]:
    """What NumPy's BLAS is (threadpoolctl) and which OPENBLAS_* variables are set."""
    pools = [
        {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "prefix")}
        for p in threadpool_info()
        if p.get("user_api") == "blas"
    ]
    env = {k: v for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS")}
    return {"blas": pools, "openblas_env": env}


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def timed(fn: Callable[[], object], clock: Callable[[], float] = time.perf_counter) -> float:
    start = clock()
    fn()
    return clock() - start


def compare(
    engine_fn: Callable[[], object],
    torch_fn: Callable[[], object],
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[list[float], list[float]]:
    """Seconds of each round, engine and torch alternating, after a warm-up."""
    for _ in range(3):
        engine_fn()
        torch_fn()
    te, tt = [], []
    for _ in range(repeats):
        te.append(timed(engine_fn, clock))
        tt.append(timed(torch_fn, clock))
    return te, tt


def conv2d_case(n, c, h, w, c_out, k, stride, padding, dtype, rng):
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = (rng.standard_normal((c_out, c, k, k)) * 0.1).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    ho = (h + 2 * padding - k) // stride + 1
    g = rng.standard_normal((n, c_out, ho, ho)).astype(dtype)
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, wt, b))
    tg = torch.from_numpy(g)

    def engine() -> None:
        E.conv2d(x, wt, b, stride, padding)
        E.conv2d_backward(g, x, wt, stride, padding)

    def reference() -> None:
        tx.grad = tw.grad = tb.grad = None
        F.conv2d(tx, tw, tb, stride, padding).backward(tg)

    return engine, reference


def conv1d_case(n, c, length, c_out, k, padding, dtype, rng):
    x = rng.standard_normal((n, c, length)).astype(dtype)
    wt = (rng.standard_normal((c_out, c, k)) * 0.1).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    g = rng.standard_normal((n, c_out, length + 2 * padding - k + 1)).astype(dtype)
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, wt, b))
    tg = torch.from_numpy(g)

    def engine() -> None:
        E.conv1d(x, wt, b, 1, padding)
        E.conv1d_backward(g, x, wt, 1, padding)

    def reference() -> None:
        tx.grad = tw.grad = tb.grad = None
        F.conv1d(tx, tw, tb, 1, padding).backward(tg)

    return engine, reference


def pool_case(n, c, h, dtype, rng):
    x = rng.standard_normal((n, c, h, h)).astype(dtype)
    g = rng.standard_normal((n, c, h // 2, h // 2)).astype(dtype)
    tx = torch.from_numpy(x).requires_grad_()
    tg = torch.from_numpy(g)

    def engine() -> None:
        E.max_pool2d(x, 2)
        E.max_pool2d_backward(g, x, 2)

    def reference() -> None:
        tx.grad = None
        F.max_pool2d(tx, 2).backward(tg)

    return engine, reference


def linear_case(n, fin, fout, dtype, rng):
    x = rng.standard_normal((n, fin)).astype(dtype)
    wt = (rng.standard_normal((fout, fin)) * 0.1).astype(dtype)
    b = rng.standard_normal(fout).astype(dtype)
    g = rng.standard_normal((n, fout)).astype(dtype)
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, wt, b))
    tg = torch.from_numpy(g)

    def engine() -> None:
        E.linear(x, wt, b)
        E.linear_backward(g, x, wt)

    def reference() -> None:
        tx.grad = tw.grad = tb.grad = None
        F.linear(tx, tw, tb).backward(tg)

    return engine, reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument(
        "--batch", type=int, default=64, help="batch size of the LeNet and conv1d cases"
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall: elapsed time; cpu: CPU time of the process, which leaves out the time spent "
        "waiting for a core a neighbour holds (meaningful with --threads 1)",
    )
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args()
    dtype = np.dtype(args.dtype)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    n = args.batch
    cases = {
        "conv2d 64x32x14x14 * 64x32x3x3 p1": conv2d_case(64, 32, 14, 14, 64, 3, 1, 1, dtype, rng),
        "LeNet conv1 Nx1x28x28 * 6x1x5x5 p2": conv2d_case(n, 1, 28, 28, 6, 5, 1, 2, dtype, rng),
        "LeNet pool1 Nx6x28x28 max 2x2": pool_case(n, 6, 28, dtype, rng),
        "LeNet conv2 Nx6x14x14 * 16x6x5x5": conv2d_case(n, 6, 14, 14, 16, 5, 1, 0, dtype, rng),
        "LeNet pool2 Nx16x10x10 max 2x2": pool_case(n, 16, 10, dtype, rng),
        "LeNet fc1 Nx400 -> 120": linear_case(n, 400, 120, dtype, rng),
        "LeNet fc2 Nx120 -> 84": linear_case(n, 120, 84, dtype, rng),
        "LeNet fc3 Nx84 -> 10": linear_case(n, 84, 10, dtype, rng),
        "conv1d Nx16x256 * 32x16x7 p3": conv1d_case(n, 16, 256, 32, 7, 3, dtype, rng),
    }
    load_start = os.getloadavg()[0]
    blas = blas_note()
    for pool in blas["blas"]:  # type: ignore[union-attr]
        print(
            f"NumPy BLAS: {pool['internal_api']} {pool['version']}, kernel {pool['architecture']}"
            f" ({pool['prefix']})"
        )
    env = blas["openblas_env"]
    print(
        "OPENBLAS_* in force: " + (", ".join(f"{k}={v}" for k, v in env.items()) if env else "none")  # type: ignore[union-attr]
    )
    print(
        f"threads: torch {torch.get_num_threads()}, BLAS {args.threads}; dtype {dtype}; "
        f"batch {n}; {args.repeats} alternating rounds; {args.clock} times in ms; "
        f"{load_note(args.threads)}"
    )
    print(
        f"{'case':46s} {'engine med':>10s} {'torch med':>10s} {'ratio':>6s}   "
        f"{'engine min':>10s} {'torch min':>10s} {'ratio':>6s}"
    )
    totals = np.zeros(4)
    rows = []
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for name, (engine_fn, torch_fn) in cases.items():
            te, tt = compare(engine_fn, torch_fn, args.repeats, CLOCKS[args.clock])
            row = np.array([statistics.median(te), statistics.median(tt), min(te), min(tt)]) * 1e3
            if name.startswith("LeNet"):
                totals += row
            print(fmt(name, row))
            rows.append(as_dict(name, row))
    print(fmt("LeNet layers, sum", totals))
    rows.append(as_dict("LeNet layers, sum", totals))
    load_end = os.getloadavg()[0]
    print(f"load average {load_start:.2f} at the start, {load_end:.2f} at the end")
    if args.json:
        out = {
            "threads": args.threads,
            "dtype": str(dtype),
            "batch": n,
            "repeats": args.repeats,
            "clock": args.clock,
            "load_avg_start": load_start,
            "load_avg_end": load_end,
            "torch": torch.__version__,
            "numpy": np.__version__,
            **blas,
            "cases": rows,
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1)


def as_dict(name: str, row: np.ndarray) -> dict[str, object]:
    e_med, t_med, e_min, t_min = (float(v) for v in row)
    return {
        "case": name,
        "engine_median_ms": e_med,
        "torch_median_ms": t_med,
        "ratio_median": e_med / t_med,
        "engine_min_ms": e_min,
        "torch_min_ms": t_min,
        "ratio_min": e_min / t_min,
    }


def fmt(name: str, row: np.ndarray) -> str:
    e_med, t_med, e_min, t_min = row
    return (
        f"{name:46s} {e_med:10.3f} {t_med:10.3f} {e_med / t_med:6.2f}   "
        f"{e_min:10.3f} {t_min:10.3f} {e_min / t_min:6.2f}"
    )


if __name__ == "__main__":
    main()
