"""conv2d/conv1d: forward and every gradient equal torch.nn.functional, and the fast path equals the
literal loop — over random shapes, strides, paddings ('same'/'valid' too), dilations and
channels."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings

from cnnlab import engine as E
from cnnlab.engine import conv
from cnnlab.engine import reference as R

from ._strategies import ConvCase, conv_cases

# float64 agrees to rounding (sums of <= 3*4*4 products); float32 to a few float32 ulps of the sums.
TOL = {np.float64: dict(rtol=1e-10, atol=1e-11), np.float32: dict(rtol=1e-4, atol=1e-4)}
EXAMPLES = settings(max_examples=40, deadline=None)
# torch warns that it pads a copy for even kernels with padding="same": its business, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.:UserWarning")


def torch_conv(case: ConvCase, dtype: type, dims: int):
    """Forward and gradients from torch for the same case, with a random output gradient."""
    x, w, b = case.arrays(dtype)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if b is not None else None
    conv = F.conv2d if dims == 2 else F.conv1d
    y = conv(tx, tw, tb, case.stride, case.padding, case.dilation)
    g = np.random.default_rng(case.seed + 1).standard_normal(tuple(y.shape)).astype(dtype)
    y.backward(torch.tensor(g))
    grads = (tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy() if tb is not None else None)
    return (x, w, b, g), y.detach().numpy(), grads


@contextmanager
def layout(cell_major: bool) -> Iterator[None]:
    """Force one of the two im2col layouts (normally chosen by the input's channel count)."""
    before = conv.CELL_MAJOR_MAX_CHANNELS
    conv.CELL_MAJOR_MAX_CHANNELS = 10**6 if cell_major else 0
    try:
        yield
    finally:
        conv.CELL_MAJOR_MAX_CHANNELS = before


@contextmanager
def full_correlation(on: bool) -> Iterator[None]:
    """Force the stride-1 input gradient as a full correlation, or as per-cell GEMMs (normally
    chosen by the input's channel count)."""
    before = conv.FULL_CORRELATION_MIN_CHANNELS
    conv.FULL_CORRELATION_MIN_CHANNELS = 0 if on else 10**6
    try:
        yield
    finally:
        conv.FULL_CORRELATION_MIN_CHANNELS = before


PATHS = [(True, False), (False, False), (False, True)]  # (cell-major, full correlation)


def check(case: ConvCase, dtype: type, dims: int) -> None:
    """Engine vs torch, in both im2col layouts and both channels-last input gradients."""
    for cell_major, full in PATHS:
        with layout(cell_major), full_correlation(full):
            check_one(case, dtype, dims)


def check_one(case: ConvCase, dtype: type, dims: int) -> None:
    (x, w, b, g), y_ref, (dx_ref, dw_ref, db_ref) = torch_conv(case, dtype, dims)
    fwd, bwd = (E.conv2d, E.conv2d_backward) if dims == 2 else (E.conv1d, E.conv1d_backward)
    y = fwd(x, w, b, case.stride, case.padding, case.dilation)
    dx, dw, db = bwd(g, x, w, case.stride, case.padding, case.dilation)
    tol = TOL[dtype]
    assert y.dtype == dx.dtype == dw.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y, y_ref, **tol)
    np.testing.assert_allclose(dx, dx_ref, **tol)
    np.testing.assert_allclose(dw, dw_ref, **tol)
    if db_ref is not None:
        np.testing.assert_allclose(db, db_ref, **tol)


@EXAMPLES
@given(conv_cases(dims=2))
def test_conv2d_matches_torch_float64(case: ConvCase) -> None:
    check(case, np.float64, 2)


@EXAMPLES
@given(conv_cases(dims=2))
def test_conv2d_matches_torch_float32(case: ConvCase) -> None:
    check(case, np.float32, 2)


@EXAMPLES
@given(conv_cases(dims=1))
def test_conv1d_matches_torch_float64(case: ConvCase) -> None:
    check(case, np.float64, 1)


@settings(max_examples=20, deadline=None)
@given(conv_cases(dims=1))
def test_conv1d_matches_torch_float32(case: ConvCase) -> None:
    check(case, np.float32, 1)


@settings(max_examples=25, deadline=None)
@given(conv_cases(dims=2))
def test_fast_path_equals_reference_loop(case: ConvCase) -> None:
    x, w, b = case.arrays()
    args = (case.stride, case.padding, case.dilation)
    y_loop = R.conv2d_loop(x, w, b, *args)
    g = np.random.default_rng(case.seed).standard_normal(y_loop.shape)
    grads_loop = R.conv2d_backward_loop(g, x, w, *args)
    for cell_major, full in PATHS:
        with layout(cell_major), full_correlation(full):
            np.testing.assert_allclose(E.conv2d(x, w, b, *args), y_loop, rtol=1e-12, atol=1e-12)
            for fast, loop in zip(E.conv2d_backward(g, x, w, *args), grads_loop):
                np.testing.assert_allclose(fast, loop, rtol=1e-12, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(conv_cases(dims=1))
def test_conv1d_fast_path_equals_reference_loop(case: ConvCase) -> None:
    x, w, b = case.arrays()
    args = (
        case.stride[0],
        case.padding if isinstance(case.padding, str) else case.padding[0],
        case.dilation[0],
    )
    np.testing.assert_allclose(
        E.conv1d(x, w, b, *args), R.conv1d_loop(x, w, b, *args), rtol=1e-12, atol=1e-12
    )


def test_lecture_numbers() -> None:
    """The lecture's size arithmetic: 28 - 3 + 1 = 26 without padding, 28 with padding 1."""
    x = np.zeros((1, 1, 28, 28), dtype=np.float32)
    w = np.zeros((4, 1, 3, 3), dtype=np.float32)
    assert E.conv2d(x, w).shape == (1, 4, 26, 26)
    assert E.conv2d(x, w, padding=1).shape == (1, 4, 28, 28)
    assert E.conv2d(x, w, padding="same").shape == (1, 4, 28, 28)
    assert E.conv2d(x, w, stride=2).shape == (1, 4, 13, 13)


def test_padding_beyond_kernel_span_gives_zero_border_gradient() -> None:
    """Padding larger than the kernel: border outputs see only zeros and send nothing back."""
    case = ConvCase((1, 2, 3, 3), (2, 2, 2, 2), (2, 1), (3, 3), (1, 1), True, 7)
    check(case, np.float64, 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype: type) -> None:
    x = np.ones((1, 1, 4, 4), dtype=dtype)
    w = np.ones((1, 1, 2, 2), dtype=dtype)
    assert E.conv2d(x, w).dtype == np.dtype(dtype)
    assert all(
        a.dtype == np.dtype(dtype) for a in E.conv2d_backward(np.ones((1, 1, 3, 3), dtype), x, w)
    )


def test_input_grad_false_skips_dx_only() -> None:
    case = ConvCase((2, 3, 6, 6), (4, 3, 3, 3), (1, 1), (1, 1), (1, 1), True, 3)
    x, w, _ = case.arrays()
    g = np.ones((2, 4, 6, 6))
    dx, dw, db = E.conv2d_backward(g, x, w, 1, 1, input_grad=False)
    full = E.conv2d_backward(g, x, w, 1, 1)
    assert dx is None
    np.testing.assert_array_equal(dw, full[1])
    np.testing.assert_array_equal(db, full[2])


@pytest.mark.parametrize("samples_per_block", [1, 2, 5])
def test_batch_blocks_of_any_size_match_torch(
    monkeypatch: pytest.MonkeyPatch, samples_per_block: int
) -> None:
    """The channels-last path builds the window matrix a few samples at a time: blocks of 1, of 2
    with a short last block (5 = 2+2+1) and the whole batch in one block all give torch's values."""
    case = ConvCase((5, 4, 7, 6), (3, 4, 3, 2), (2, 1), (1, 0), (1, 2), True, 11)
    ho, wo = 4, 4  # (7 + 2 - 3) // 2 + 1, (6 + 0 - 2*1 - 1) // 1 + 1
    sample_bytes = ho * wo * 3 * 2 * 4 * np.dtype(np.float64).itemsize
    monkeypatch.setattr(conv, "CHUNK_BYTES", samples_per_block * sample_bytes)
    with layout(cell_major=False):
        check_one(case, np.float64, 2)


@pytest.mark.parametrize("cell_major", [True, False])
def test_windows_kept_by_the_forward_give_the_same_gradients(cell_major: bool) -> None:
    """conv2d_with_windows returns conv2d's output and, in the cell-major layout, the window matrix;
    conv2d_backward given it returns exactly what it computes without it."""
    case = ConvCase((3, 2, 7, 6), (4, 2, 3, 2), (2, 1), (1, 2), (1, 1), True, 5)
    x, w, b = case.arrays()
    args = (case.stride, case.padding, case.dilation)
    with layout(cell_major):
        y, windows = conv.conv2d_with_windows(x, w, b, *args)
        np.testing.assert_array_equal(y, E.conv2d(x, w, b, *args))
        assert (windows is not None) == cell_major
        if windows is not None:  # (C_in*kH*kW, N*Ho*Wo)
            assert windows.shape == (2 * 3 * 2, 3 * y.shape[2] * y.shape[3])
        g = np.random.default_rng(0).standard_normal(y.shape)
        kept = conv.conv2d_backward(g, x, w, *args, windows=windows)
        for a, b_ in zip(kept, E.conv2d_backward(g, x, w, *args)):
            np.testing.assert_array_equal(a, b_)


def test_few_channel_conv_computes_batch_last_and_accepts_any_layout() -> None:
    """Few-channel inputs (up to CELL_MAJOR_MAX_CHANNELS) are computed batch-last: the output and
    the input gradient are NCHW views over (C, H, W, N) memory, and an input or output gradient in
    that layout (or in NCHW) gives torch's values."""
    case = ConvCase((4, 6, 9, 8), (5, 6, 3, 2), (1, 1), (1, 0), (1, 1), True, 21)
    (x, w, b, g), y_ref, (dx_ref, dw_ref, db_ref) = torch_conv(case, np.float64, 2)
    args = (case.stride, case.padding, case.dilation)
    assert x.shape[1] <= conv.CELL_MAJOR_MAX_CHANNELS
    tol = TOL[np.float64]
    for xi, gi in ((x, g), (_batch_last(x), _batch_last(g)), (_batch_last(x), g)):
        y = E.conv2d(xi, w, b, *args)
        dx, dw, db = E.conv2d_backward(gi, xi, w, *args)
        assert y.transpose(1, 2, 3, 0).flags.c_contiguous
        assert dx is not None and dx.strides[0] == dx.itemsize  # the batch innermost
        np.testing.assert_allclose(y, y_ref, **tol)
        np.testing.assert_allclose(dx, dx_ref, **tol)
        np.testing.assert_allclose(dw, dw_ref, **tol)
        np.testing.assert_allclose(db, db_ref, **tol)


def _batch_last(a: np.ndarray) -> np.ndarray:
    """``a (N, C, H, W)`` as an NCHW view over batch-last ``(C, H, W, N)`` memory."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
