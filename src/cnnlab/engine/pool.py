"""Pooling: ``max_pool2d``/``avg_pool2d`` (and 1-D) with their backward passes.

Same windows as convolution (:mod:`cnnlab.engine.windows`) but no weights: each output cell is the
max or the mean of its window, per channel (``torch.nn.MaxPool2d``/``AvgPool2d`` docs)::

    max:  y[n, c, i, j] = max_{a,b} x_pad[n, c, i*sH + a, j*sW + b]        (x_pad padded with -inf)
    avg:  y[n, c, i, j] = mean_{a,b} x_pad[n, c, i*sH + a, j*sW + b]       (zeros, divisor kH*kW)

``stride`` defaults to ``kernel_size`` as in PyTorch; ``padding <= kernel_size // 2`` as PyTorch
demands. ``avg`` counts padded zeros in the mean (PyTorch's default ``count_include_pad=True``).

Everything loops over the ``kH*kW`` kernel cells, each a strided view of the whole input — never
over pixels. Backward: max sends each output gradient to the one cell that won (the first maximum
in row-major window order — PyTorch's CPU tie rule, which matters after ReLU where windows of zeros
tie); avg spreads it evenly.

Results keep the input's memory order (``order="K"``): a batch-last input from a cell-major conv
(see :mod:`cnnlab.engine.conv`) gives a batch-last output, which the next conv reads without a
transposing copy.
"""

from __future__ import annotations

import numpy as np

from cnnlab.engine.windows import (
    Geometry,
    IntPair,
    args_2d,
    as_2d,
    check_float,
    check_ndim,
    geometry,
    pad_nchw,
    scalar_1d,
)
from cnnlab.errors import ConfigError, ShapeError


def pool2d_geometry(
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    op: str = "max_pool2d",
) -> Geometry:
    """Validate ``x (N, C, H, W)`` and the pooling hyperparameters; return the geometry."""
    check_ndim(op, "input", x, 4, "(N, C, H, W)")
    check_float("input", x)
    stride = kernel_size if stride is None else stride
    geo = geometry(op, x.shape[2:], kernel_size, stride, padding, 1)
    for (pad, _), k in zip(geo.pads, geo.kernel):
        if pad > k // 2:
            raise ConfigError("engine.pool_padding", op=op, padding=pad, kernel=k)
    return geo


def _grad_check(op: str, grad_out: np.ndarray, x: np.ndarray, geo: Geometry) -> None:
    expected = (x.shape[0], x.shape[1], *geo.out)
    if grad_out.shape != expected:
        raise ShapeError("engine.grad_shape", op=op, shape=tuple(grad_out.shape), expected=expected)


def _cells(xp: np.ndarray, geo: Geometry) -> list[tuple[tuple[slice, slice], np.ndarray]]:
    """For each kernel cell ``(a, b)`` in row-major order: the strided slice of the padded input it
    reads for every output cell, and that view ``(N, C, Ho, Wo)``. No copies."""
    (ho, wo), (sh, sw) = geo.out, geo.stride
    out = []
    for a in range(geo.kernel[0]):
        for b in range(geo.kernel[1]):
            where = (slice(a, a + sh * (ho - 1) + 1, sh), slice(b, b + sw * (wo - 1) + 1, sw))
            out.append((where, xp[:, :, where[0], where[1]]))
    return out


def _in_order_of(a: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``a`` in the memory order of ``ref`` (same shape): ``a`` itself when its axes already lie in
    the same order, else a copy. The backward's element-wise passes run about twice as fast when
    the output gradient and the input's windows share a layout — a gradient reshaped back from
    a dense layer is NCHW while a batch-last input's windows are not (LeNet's second pool:
    0.82 ms → 0.25 ms)."""
    if (
        np.argsort(a.strides, kind="stable").tolist()
        == np.argsort(ref.strides, kind="stable").tolist()
    ):
        return a
    out = np.empty_like(ref, dtype=a.dtype)
    np.copyto(out, a)
    return out


def _unpad(dxp: np.ndarray, x: np.ndarray, geo: Geometry) -> np.ndarray:
    (top, _), (left, _) = geo.pads
    return dxp[:, :, top : top + x.shape[2], left : left + x.shape[3]]


def max_pool2d(
    x: np.ndarray, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
) -> np.ndarray:
    """``(N, C, H, W)`` → ``(N, C, Ho, Wo)``, the max of each window (``F.max_pool2d``).

    Computed as the element-wise maximum of the ``kH*kW`` shifted views: copying the windows and
    reducing over their short last axis measured 4.2 ms against 0.21 ms (LeNet's first pool).
    """
    geo = pool2d_geometry(x, kernel_size, stride, padding)
    cells = _cells(pad_nchw(x, geo.pads, -np.inf), geo)
    best: np.ndarray = cells[0][1].copy(order="K")  # in the input's memory order
    for _, view in cells[1:]:
        np.maximum(best, view, out=best)
    return best


def max_pool2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
) -> np.ndarray:
    """``dx (N, C, H, W)``: each ``grad_out`` cell goes to its window's (first) maximum."""
    geo = pool2d_geometry(x, kernel_size, stride, padding)
    _grad_check("max_pool2d", grad_out, x, geo)
    xp = pad_nchw(x, geo.pads, -np.inf)
    cells = _cells(xp, geo)
    best = cells[0][1].copy(order="K")
    for _, view in cells[1:]:
        np.maximum(best, view, out=best)
    grad_out = _in_order_of(grad_out, best)
    # Visit the kernel cells in row-major order; the first one equal to the max takes the gradient
    # and marks the window as taken (torch's CPU kernel also keeps the first max on ties).
    # Windows that do not overlap (stride >= kernel, the usual 2x2/2) own disjoint cells: the
    # gradient is written, not added (LeNet's first pool: 1.26 ms → 0.88 ms, with in-place masks).
    disjoint = all(s >= k for s, k in zip(geo.stride, geo.kernel))
    dxp = np.zeros_like(xp, dtype=grad_out.dtype)  # in the input's memory order
    wins = np.empty_like(best, dtype=bool)
    taken = np.empty_like(best, dtype=bool)
    last = len(cells) - 1
    for i, ((rows, cols), view) in enumerate(cells):
        np.equal(view, best, out=wins)
        if i:
            np.greater(wins, taken, out=wins)  # won here and not taken before
        if i == 0:
            np.copyto(taken, wins)
        elif i < last:
            np.logical_or(taken, wins, out=taken)
        if disjoint:
            np.multiply(grad_out, wins, out=dxp[:, :, rows, cols])
        else:
            dxp[:, :, rows, cols] += grad_out * wins
    return _unpad(dxp, x, geo)


def avg_pool2d(
    x: np.ndarray, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
) -> np.ndarray:
    """``(N, C, H, W)`` → ``(N, C, Ho, Wo)``, the mean of each window (``F.avg_pool2d``)."""
    geo = pool2d_geometry(x, kernel_size, stride, padding, op="avg_pool2d")
    cells = _cells(pad_nchw(x, geo.pads, 0.0), geo)
    total: np.ndarray = cells[0][1].copy(order="K")
    for _, view in cells[1:]:
        total += view
    mean: np.ndarray = total / np.asarray(len(cells), dtype=x.dtype)
    return mean


def avg_pool2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
) -> np.ndarray:
    """``dx (N, C, H, W)``: each ``grad_out`` cell spread evenly, ``/ (kH*kW)``, over its window."""
    geo = pool2d_geometry(x, kernel_size, stride, padding, op="avg_pool2d")
    _grad_check("avg_pool2d", grad_out, x, geo)
    xp = pad_nchw(x, geo.pads, 0.0)
    cells = _cells(xp, geo)
    share = grad_out / np.asarray(len(cells), dtype=grad_out.dtype)
    dxp = np.zeros_like(xp, dtype=grad_out.dtype)
    for (rows, cols), _ in cells:
        dxp[:, :, rows, cols] += share
    return _unpad(dxp, x, geo)


def _args_1d(
    x: np.ndarray, op: str, kernel_size: IntPair, stride: IntPair | None, padding: IntPair
) -> tuple[np.ndarray, tuple[int, int], tuple[int, int], tuple[int, int]]:
    """A 1-D pool is a 2-D pool over ``(N, C, 1, L)`` with a ``1×k`` window."""
    check_ndim(op, "input", x, 3, "(N, C, L)")
    p = scalar_1d(padding, "padding")  # pools take no 'same'/'valid': the 2-D padding is (0, p)
    a = args_2d(kernel_size, stride, p)
    return as_2d(x), a.kernel, a.stride, (0, p)


def max_pool1d(
    x: np.ndarray, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
) -> np.ndarray:
    """``(N, C, L)`` → ``(N, C, L_out)`` (``F.max_pool1d``)."""
    return max_pool2d(*_args_1d(x, "max_pool1d", kernel_size, stride, padding))[:, :, 0, :]


def max_pool1d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
) -> np.ndarray:
    """``dx (N, C, L)`` of :func:`max_pool1d`."""
    x2, k, s, p = _args_1d(x, "max_pool1d", kernel_size, stride, padding)
    return max_pool2d_backward(as_2d(grad_out), x2, k, s, p)[:, :, 0, :]


def avg_pool1d(
    x: np.ndarray, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
) -> np.ndarray:
    """``(N, C, L)`` → ``(N, C, L_out)`` (``F.avg_pool1d``)."""
    return avg_pool2d(*_args_1d(x, "avg_pool1d", kernel_size, stride, padding))[:, :, 0, :]


def avg_pool1d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
) -> np.ndarray:
    """``dx (N, C, L)`` of :func:`avg_pool1d`."""
    x2, k, s, p = _args_1d(x, "avg_pool1d", kernel_size, stride, padding)
    return avg_pool2d_backward(as_2d(grad_out), x2, k, s, p)[:, :, 0, :]


__all__ = [
    "max_pool2d",
    "max_pool2d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "max_pool1d",
    "max_pool1d_backward",
    "avg_pool1d",
    "avg_pool1d_backward",
    "pool2d_geometry",
]
