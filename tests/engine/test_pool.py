"""max/avg pooling 2-D and 1-D: values and input gradients equal torch; fast path == the loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings

from cnnlab import engine as E
from cnnlab.engine import reference as R

from ._strategies import PoolCase, pool_cases

OPS = {
    ("max", 2): (E.max_pool2d, E.max_pool2d_backward, F.max_pool2d),
    ("avg", 2): (E.avg_pool2d, E.avg_pool2d_backward, F.avg_pool2d),
    ("max", 1): (E.max_pool1d, E.max_pool1d_backward, F.max_pool1d),
    ("avg", 1): (E.avg_pool1d, E.avg_pool1d_backward, F.avg_pool1d),
}


def check(case: PoolCase, op: str, dims: int, dtype: type) -> None:
    fwd, bwd, torch_fn = OPS[(op, dims)]
    x = case.array(dtype)
    tx = torch.tensor(x, requires_grad=True)
    y_ref = torch_fn(tx, case.kernel, case.stride, case.padding)
    g = np.random.default_rng(case.seed + 1).standard_normal(tuple(y_ref.shape)).astype(dtype)
    y_ref.backward(torch.tensor(g))
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    y = fwd(x, case.kernel, case.stride, case.padding)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y, y_ref.detach().numpy(), **tol)
    np.testing.assert_allclose(
        bwd(g, x, case.kernel, case.stride, case.padding), tx.grad.numpy(), **tol
    )


@pytest.mark.parametrize("op", ["max", "avg"])
@settings(max_examples=30, deadline=None)
@given(case=pool_cases(dims=2))
def test_pool2d_matches_torch(op: str, case: PoolCase) -> None:
    check(case, op, 2, np.float64)
    check(case, op, 2, np.float32)


@pytest.mark.parametrize("op", ["max", "avg"])
@settings(max_examples=20, deadline=None)
@given(case=pool_cases(dims=1))
def test_pool1d_matches_torch(op: str, case: PoolCase) -> None:
    check(case, op, 1, np.float64)


@pytest.mark.parametrize("op", ["max", "avg"])
@settings(max_examples=20, deadline=None)
@given(case=pool_cases(dims=2))
def test_pool_fast_path_equals_reference_loop(op: str, case: PoolCase) -> None:
    x = case.array()
    fast = (E.max_pool2d if op == "max" else E.avg_pool2d)(
        x, case.kernel, case.stride, case.padding
    )
    np.testing.assert_allclose(
        fast, R.pool2d_loop(x, case.kernel, case.stride, case.padding, op), rtol=1e-12
    )


def test_max_pool_ties_go_to_first_cell_like_torch() -> None:
    """After ReLU whole windows are 0: the gradient must go where torch sends it, the first cell."""
    x = np.zeros((1, 1, 4, 4))
    tx = torch.tensor(x, requires_grad=True)
    F.max_pool2d(tx, 2).backward(torch.ones(1, 1, 2, 2, dtype=torch.float64))
    np.testing.assert_array_equal(
        E.max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2), tx.grad.numpy()
    )


def _batch_last(a: np.ndarray) -> np.ndarray:
    """``a (N, C, H, W)`` as an NCHW view over batch-last ``(C, H, W, N)`` memory."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def _is_batch_last(a: np.ndarray) -> bool:
    return bool(a.transpose(1, 2, 3, 0).flags.c_contiguous)


@pytest.mark.parametrize("op", ["max", "avg"])
@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 1)])
def test_pools_keep_a_batch_last_layout_and_its_values(
    op: str, kernel: int, stride: int, padding: int
) -> None:
    """A batch-last input (what a few-channel conv returns) gives a batch-last output and input
    gradient (unpadded), with the values of the NCHW computation — also for an NCHW output
    gradient (what a dense layer's gradient reshapes to), which the backward first aligns to the
    input's layout."""
    fwd, bwd, _ = OPS[(op, 2)]
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 3, 8, 7))
    x[:, :, ::2] = np.maximum(x[:, :, ::2], 0)  # ties at zero, as after a ReLU
    y = fwd(x, kernel, stride, padding)
    g = rng.standard_normal(y.shape)
    dx = bwd(g, x, kernel, stride, padding)
    xb = _batch_last(x)
    yb = fwd(xb, kernel, stride, padding)
    assert not _is_batch_last(y)
    if padding == 0:  # a padded input is a padded NCHW copy; its results are NCHW too
        assert _is_batch_last(yb)
    np.testing.assert_array_equal(yb, y)
    for grad in (g, _batch_last(g)):
        dxb = bwd(grad, xb, kernel, stride, padding)
        np.testing.assert_array_equal(dxb, dx)
        if padding == 0:
            assert _is_batch_last(dxb)
