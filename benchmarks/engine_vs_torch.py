"""Time the NumPy engine against PyTorch CPU on the same ops, same data, same thread count.

    python benchmarks/engine_vs_torch.py [--threads N] [--repeats R] [--dtype float32|float64]

Cases: conv2d forward+backward for (N,C,H,W)=(64,32,14,14), weight (64,32,3,3), padding 1 (the
issue's yardstick, goal <= 1.5x torch); the layers of a LeNet-style net on a 28x28 batch; conv1d.
Each case is warmed up, then engine and torch rounds alternate (so a noisy neighbour slows both),
and the median of each is reported with the ratio engine/torch. Only the op is timed: inputs and
output gradients are made before the clock starts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from cnnlab import engine as E


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(engine_fn: Callable[[], object], torch_fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median seconds of each, measured in alternating rounds after a warm-up."""
    for _ in range(3):
        engine_fn()
        torch_fn()
    te, tt = [], []
    for _ in range(repeats):
        te.append(timed(engine_fn))
        tt.append(timed(torch_fn))
    return statistics.median(te), statistics.median(tt)


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
    parser.add_argument("--batch", type=int, default=64, help="batch size of the LeNet and conv1d cases")
    args = parser.parse_args()
    dtype = np.dtype(args.dtype)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    n = args.batch
    cases = {
        "conv2d 64x32x14x14 * 64x32x3x3 p1 (fwd+bwd)": conv2d_case(64, 32, 14, 14, 64, 3, 1, 1, dtype, rng),
        "LeNet conv1 Nx1x28x28 * 6x1x5x5 p2 (fwd+bwd)": conv2d_case(n, 1, 28, 28, 6, 5, 1, 2, dtype, rng),
        "LeNet pool1 Nx6x28x28 max 2x2 (fwd+bwd)": pool_case(n, 6, 28, dtype, rng),
        "LeNet conv2 Nx6x14x14 * 16x6x5x5 (fwd+bwd)": conv2d_case(n, 6, 14, 14, 16, 5, 1, 0, dtype, rng),
        "LeNet pool2 Nx16x10x10 max 2x2 (fwd+bwd)": pool_case(n, 16, 10, dtype, rng),
        "LeNet fc1 Nx400 -> 120 (fwd+bwd)": linear_case(n, 400, 120, dtype, rng),
        "LeNet fc2 Nx120 -> 84 (fwd+bwd)": linear_case(n, 120, 84, dtype, rng),
        "LeNet fc3 Nx84 -> 10 (fwd+bwd)": linear_case(n, 84, 10, dtype, rng),
        "conv1d Nx16x256 * 32x16x7 p3 (fwd+bwd)": conv1d_case(n, 16, 256, 32, 7, 3, dtype, rng),
    }
    print(f"threads: torch {torch.get_num_threads()}, BLAS {args.threads}; dtype {dtype}; "
          f"batch {n}; median of {args.repeats} alternating rounds")
    print(f"{'case':50s} {'engine ms':>10s} {'torch ms':>10s} {'ratio':>7s}")
    total_e = total_t = 0.0
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for name, (engine_fn, torch_fn) in cases.items():
            te, tt = compare(engine_fn, torch_fn, args.repeats)
            if name.startswith("LeNet"):
                total_e, total_t = total_e + te, total_t + tt
            print(f"{name:50s} {te * 1e3:10.3f} {tt * 1e3:10.3f} {te / tt:7.2f}")
    print(f"{'LeNet layers, sum':50s} {total_e * 1e3:10.3f} {total_t * 1e3:10.3f} {total_e / total_t:7.2f}")


if __name__ == "__main__":
    main()
