"""Pooling: ``max_pool2d``/``avg_pool2d`` (and 1-D) with their backward passes.

Same windows as convolution (:mod:`cnnlab.engine.windows`) but no weights: each output cell is the
max or the mean of its window, per channel (``torch.nn.MaxPool2d``/``AvgPool2d`` docs)::

    max:  y[n, c, i, j] = max_{a,b} x_pad[n, c, i*sH + a, j*sW + b]        (x_pad padded with -inf)
    avg:  y[n, c, i, j] = mean_{a,b} x_pad[n, c, i*sH + a, j*sW + b]       (zeros, divisor kH*kW)

``stride`` defaults to ``kernel_size`` as in PyTorch; ``padding <= kernel_size // 2`` as PyTorch
demands. ``avg`` counts padded zeros in the mean (PyTorch's default ``count_include_pad=True``).

Backward: max sends each output gradient to the one cell that won (the first maximum in row-major
window order — PyTorch's CPU tie rule, which matters after ReLU where windows of zeros tie); avg
spreads it evenly. Both loop over the ``kH*kW`` kernel cells with dense strided slice-adds, never
over pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnnlab.engine.windows import (
    Geometry,
    as_2d,
    check_float,
    check_ndim,
    geometry,
    pad_nchw,
    scalar_1d,
    windows_nchw,
)
from cnnlab.errors import ConfigError, ShapeError

IntPair = int | Sequence[int]


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


def _windows(x: np.ndarray, geo: Geometry, fill: float) -> np.ndarray:
    """``(N, C, Ho, Wo, kH*kW)`` copy of every window (row-major within the window)."""
    win = windows_nchw(pad_nchw(x, geo.pads, fill), geo)  # (N, C, Ho, Wo, kH, kW) view
    return win.reshape(*win.shape[:4], -1)


def _scatter(parts: np.ndarray, x: np.ndarray, geo: Geometry) -> np.ndarray:
    """Add ``parts (N, C, Ho, Wo, kH*kW)`` back onto the input cells each window cell came from."""
    n, c = x.shape[:2]
    (hp, wp), (ho, wo), (sh, sw) = geo.padded_size, geo.out, geo.stride
    kh, kw = geo.kernel
    dxp = np.zeros((n, c, hp, wp), dtype=parts.dtype)
    for a in range(kh):
        for b in range(kw):
            dxp[:, :, a : a + sh * (ho - 1) + 1 : sh, b : b + sw * (wo - 1) + 1 : sw] += parts[..., a * kw + b]
    (top, _), (left, _) = geo.pads
    return dxp[:, :, top : top + x.shape[2], left : left + x.shape[3]]


def max_pool2d(
    x: np.ndarray, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
) -> np.ndarray:
    """``(N, C, H, W)`` → ``(N, C, Ho, Wo)``, the max of each window (``F.max_pool2d``)."""
    geo = pool2d_geometry(x, kernel_size, stride, padding)
    return _windows(x, geo, -np.inf).max(axis=-1)


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
    win = _windows(x, geo, -np.inf)
    winner = win.argmax(axis=-1)[..., None]  # (N, C, Ho, Wo, 1), first max like torch's CPU kernel
    one_hot = np.arange(win.shape[-1]) == winner  # (N, C, Ho, Wo, kH*kW)
    return _scatter(one_hot * grad_out[..., None], x, geo)


def avg_pool2d(
    x: np.ndarray, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
) -> np.ndarray:
    """``(N, C, H, W)`` → ``(N, C, Ho, Wo)``, the mean of each window (``F.avg_pool2d``)."""
    geo = pool2d_geometry(x, kernel_size, stride, padding, op="avg_pool2d")
    return _windows(x, geo, 0.0).mean(axis=-1, dtype=x.dtype)


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
    area = geo.kernel[0] * geo.kernel[1]
    share = (grad_out / np.asarray(area, dtype=grad_out.dtype))[..., None]  # (N, C, Ho, Wo, 1)
    return _scatter(np.broadcast_to(share, (*grad_out.shape, area)), x, geo)


def _args_1d(x: np.ndarray, op: str, kernel_size: IntPair, stride: IntPair | None, padding: IntPair):
    """A 1-D pool is a 2-D pool over ``(N, C, 1, L)`` with a ``1×k`` window."""
    check_ndim(op, "input", x, 3, "(N, C, L)")
    k = scalar_1d(kernel_size, "kernel_size")
    s = k if stride is None else scalar_1d(stride, "stride")
    return as_2d(x), (1, k), (1, s), (0, scalar_1d(padding, "padding"))


def max_pool1d(x: np.ndarray, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0) -> np.ndarray:
    """``(N, C, L)`` → ``(N, C, L_out)`` (``F.max_pool1d``)."""
    return max_pool2d(*_args_1d(x, "max_pool1d", kernel_size, stride, padding))[:, :, 0, :]


def max_pool1d_backward(
    grad_out: np.ndarray, x: np.ndarray, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
) -> np.ndarray:
    """``dx (N, C, L)`` of :func:`max_pool1d`."""
    x2, k, s, p = _args_1d(x, "max_pool1d", kernel_size, stride, padding)
    return max_pool2d_backward(as_2d(grad_out), x2, k, s, p)[:, :, 0, :]


def avg_pool1d(x: np.ndarray, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0) -> np.ndarray:
    """``(N, C, L)`` → ``(N, C, L_out)`` (``F.avg_pool1d``)."""
    return avg_pool2d(*_args_1d(x, "avg_pool1d", kernel_size, stride, padding))[:, :, 0, :]


def avg_pool1d_backward(
    grad_out: np.ndarray, x: np.ndarray, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
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
