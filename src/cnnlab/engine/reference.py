"""The reference path: convolution and pooling as the literal sliding loop.

This is the lecture's sentence in code — for every output cell, take the window the kernel covers,
multiply the overlapping elements, add them up. Python loops over every output cell make it slow
and obvious; it exists so the fast path (:mod:`cnnlab.engine.conv`, :mod:`cnnlab.engine.pool`) is
checked against it, and so the trace (:mod:`cnnlab.engine.trace`) shows exactly what it computes.
Validation and geometry are shared with the fast path, so both accept and reject the same inputs.
"""

from __future__ import annotations

import numpy as np

from cnnlab.engine.conv import conv2d_geometry
from cnnlab.engine.pool import pool2d_geometry
from cnnlab.engine.windows import Geometry, IntPair, Padding, args_2d, as_2d, pad_nchw


def window_slices(geo: Geometry, i: int, j: int) -> tuple[slice, slice]:
    """Rows and columns of the padded input that output cell ``(i, j)`` reads:
    ``i*sH, i*sH + dH, …, i*sH + (kH-1)*dH`` (and the same for columns)."""
    (sh, sw), (dh, dw), (eh, ew) = geo.stride, geo.dilation, geo.span
    return slice(i * sh, i * sh + eh, dh), slice(j * sw, j * sw + ew, dw)


def conv2d_loop(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
) -> np.ndarray:
    """:func:`~cnnlab.engine.conv.conv2d`, one output cell at a time. ``(N, C_out, Ho, Wo)``."""
    geo = conv2d_geometry(x, weight, bias, stride, padding, dilation)
    xp = pad_nchw(x, geo.pads)  # (N, C_in, Hp, Wp)
    out = np.zeros((x.shape[0], weight.shape[0], *geo.out), dtype=np.result_type(x, weight))
    for n in range(x.shape[0]):
        for o in range(weight.shape[0]):
            for i in range(geo.out[0]):
                for j in range(geo.out[1]):
                    rows, cols = window_slices(geo, i, j)
                    window = xp[n, :, rows, cols]  # (C_in, kH, kW): what the kernel covers
                    out[n, o, i, j] = np.sum(window * weight[o])  # multiply, add up
                    if bias is not None:
                        out[n, o, i, j] += bias[o]
    return out


def conv2d_backward_loop(
    grad_out: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chain rule cell by cell: output ``(n, o, i, j)`` got ``window · w[o] + b[o]``, so it
    sends ``g * w[o]`` back to its window, ``g * window`` to ``w[o]`` and ``g`` to ``b[o]``.
    Returns ``(dx, dweight, dbias)`` like :func:`~cnnlab.engine.conv.conv2d_backward`."""
    geo = conv2d_geometry(x, weight, None, stride, padding, dilation)
    xp = pad_nchw(x, geo.pads)
    dxp = np.zeros_like(xp)
    dweight = np.zeros_like(weight)
    dbias = np.zeros(weight.shape[0], dtype=weight.dtype)
    for n in range(x.shape[0]):
        for o in range(weight.shape[0]):
            for i in range(geo.out[0]):
                for j in range(geo.out[1]):
                    rows, cols = window_slices(geo, i, j)
                    g = grad_out[n, o, i, j]
                    dxp[n, :, rows, cols] += g * weight[o]
                    dweight[o] += g * xp[n, :, rows, cols]
                    dbias[o] += g
    (top, _), (left, _) = geo.pads
    return dxp[:, :, top : top + x.shape[2], left : left + x.shape[3]], dweight, dbias


def conv1d_loop(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int = 1,
    padding: Padding = 0,
    dilation: int = 1,
) -> np.ndarray:
    """:func:`~cnnlab.engine.conv.conv1d` as the loop over a height-1 image; ``(N, C_out, L)``."""
    a = args_2d(weight.shape[-1], stride, padding, dilation)
    return conv2d_loop(as_2d(x), as_2d(weight), bias, a.stride, a.padding, a.dilation)[:, :, 0, :]


def pool2d_loop(
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    op: str = "max",
) -> np.ndarray:
    """Max or average pooling (``op``), one output cell at a time. ``(N, C, Ho, Wo)``."""
    geo = pool2d_geometry(x, kernel_size, stride, padding, op=f"{op}_pool2d")
    xp = pad_nchw(x, geo.pads, -np.inf if op == "max" else 0.0)
    out = np.zeros((*x.shape[:2], *geo.out), dtype=x.dtype)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(geo.out[0]):
                for j in range(geo.out[1]):
                    rows, cols = window_slices(geo, i, j)
                    window = xp[n, c, rows, cols]
                    out[n, c, i, j] = window.max() if op == "max" else window.mean()
    return out


__all__ = ["window_slices", "conv2d_loop", "conv2d_backward_loop", "conv1d_loop", "pool2d_loop"]
