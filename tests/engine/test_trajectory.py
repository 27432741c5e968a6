"""Same trajectory: a LeNet-style net with identical initial weights and identical batches, trained
100 SGD steps in the engine and in torch, gives the same loss curve.

Achieved here (1 BLAS thread): float64 — max |loss_engine - loss_torch| ~1e-15 over 100 steps,
asserted at 1e-10; float32 — ~5e-7 (a few ulps of the loss), asserted at 1e-4 because float32 SGD is
chaotic: with a larger step (lr 0.02, weaker signal) a 1-ulp difference in a sharp phase of training
grew to 3e-2 by step 100 in both directions, so the recipe below is a smooth one. Print the achieved
numbers with ``python -m tests.engine.test_trajectory``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn as tnn

from cnnlab.engine import nn
from cnnlab.engine.torch_twin import to_torch

STEPS, BATCH, LR, MOMENTUM, SIGNAL = 100, 16, 0.01, 0.9, 2.0  # a smooth recipe, see docstring


def batches(seed: int, dtype: type) -> list[tuple[np.ndarray, np.ndarray]]:
    """Learnable synthetic data: the class is which of 10 horizontal bands is brightest."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(STEPS):
        y = rng.integers(0, 10, BATCH)
        x = rng.standard_normal((BATCH, 1, 28, 28))
        for i, label in enumerate(y):
            x[i, 0, 2 + 2 * label : 4 + 2 * label, :] += SIGNAL
        out.append((x.astype(dtype), y))
    return out


def run_both(dtype: type, tdtype: torch.dtype) -> tuple[np.ndarray, np.ndarray]:
    net = nn.lenet5(np.random.default_rng(0), dtype)
    twin = to_torch(net, tdtype)  # the same architecture with the engine's initial weights
    opt = nn.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    topt = torch.optim.SGD(twin.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn, tloss_fn = nn.CrossEntropyLoss(), tnn.CrossEntropyLoss()
    ours, theirs = [], []
    for x, y in batches(1, dtype):
        ours.append(loss_fn(net(x), y))
        opt.zero_grad()
        net.backward(loss_fn.backward(), input_grad=False)
        opt.step()

        tloss = tloss_fn(twin(torch.from_numpy(x)), torch.from_numpy(y))
        theirs.append(tloss.item())
        topt.zero_grad()
        tloss.backward()
        topt.step()
    return np.array(ours), np.array(theirs)


@pytest.mark.parametrize(
    "dtype, tdtype, tol", [(np.float64, torch.float64, 1e-10), (np.float32, torch.float32, 1e-4)]
)
def test_same_loss_curve_as_torch(dtype: type, tdtype: torch.dtype, tol: float) -> None:
    ours, theirs = run_both(dtype, tdtype)
    assert ours[-10:].mean() < 0.5 * ours[:10].mean()  # it actually learned something
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=tol)


if __name__ == "__main__":  # print the achieved tolerance: python -m tests.engine.test_trajectory
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1, user_api="blas")
    for dt, tdt in [(np.float64, torch.float64), (np.float32, torch.float32)]:
        a, b = run_both(dt, tdt)
        print(
            f"{np.dtype(dt)}: loss {a[0]:.4f} -> {a[-1]:.4f}; "
            f"max |engine - torch| = {np.abs(a - b).max():.3e}"
        )
