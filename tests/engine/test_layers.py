"""relu, linear, flatten, log_softmax, cross_entropy: values and gradients equal torch (float64)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab import engine as E

TIGHT = dict(rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_linear_matches_torch(n: int, fin: int, fout: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, w, b, g = (rng.standard_normal(s) for s in [(n, fin), (fout, fin), (fout,), (n, fout)])
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.linear(tx, tw, tb)
    y.backward(torch.tensor(g))
    np.testing.assert_allclose(E.linear(x, w, b), y.detach().numpy(), **TIGHT)
    for mine, ref in zip(E.linear_backward(g, x, w), (tx.grad, tw.grad, tb.grad)):
        np.testing.assert_allclose(mine, ref.numpy(), **TIGHT)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(2, 7), st.integers(0, 2**31 - 1), st.floats(0.1, 50))
def test_cross_entropy_and_log_softmax_match_torch(
    n: int, classes: int, seed: int, scale: float
) -> None:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, classes)) * scale  # large scales exercise the log-sum-exp shift
    y = rng.integers(0, classes, n)
    tz = torch.tensor(z, requires_grad=True)
    loss = F.cross_entropy(tz, torch.tensor(y))
    loss.backward()
    np.testing.assert_allclose(E.cross_entropy(z, y), loss.item(), **TIGHT)
    np.testing.assert_allclose(E.cross_entropy_backward(z, y), tz.grad.numpy(), **TIGHT)
    np.testing.assert_allclose(
        E.log_softmax(z), F.log_softmax(torch.tensor(z), -1).numpy(), **TIGHT
    )
    for reduction in ("sum", "none"):
        ref = F.cross_entropy(torch.tensor(z), torch.tensor(y), reduction=reduction).numpy()
        np.testing.assert_allclose(E.cross_entropy(z, y, reduction), ref, **TIGHT)

    tz2 = torch.tensor(z, requires_grad=True)
    out = F.log_softmax(tz2, -1)
    g = rng.standard_normal((n, classes))
    out.backward(torch.tensor(g))
    np.testing.assert_allclose(
        E.log_softmax_backward(g, E.log_softmax(z)), tz2.grad.numpy(), **TIGHT
    )


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_relu_and_flatten_match_torch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, 4, 5))
    x[0, 0, 0, :2] = 0.0  # torch's derivative at exactly 0 is 0
    g = rng.standard_normal((2, 60))
    tx = torch.tensor(x, requires_grad=True)
    y = torch.flatten(F.relu(tx), 1)
    y.backward(torch.tensor(g))
    mine = E.flatten(E.relu(x))
    np.testing.assert_array_equal(mine, y.detach().numpy())
    dx = E.relu_backward(E.flatten_backward(g, x.shape), x)
    np.testing.assert_array_equal(dx, tx.grad.numpy())
