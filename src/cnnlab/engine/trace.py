"""Trace: every output cell of a convolution or pooling, explained.

For one output position a :class:`ConvStep` holds what the lecture draws on the board — the input
window the kernel covers, the kernel, their element-wise products, the sum, the bias and the output
value — plus which window cells are padding and where each window cell sits in the input. A
:class:`ConvTrace` is iterable over all positions in output order (for tables and animations); its
:attr:`~ConvTrace.output` comes from the literal loop in :mod:`cnnlab.engine.reference`, and every
step's ``value`` equals the matching output cell (a tested invariant).

1-D traces (``trace_conv1d``, ``trace_pool1d``) are the 2-D trace of a height-1 image with the
height axis removed from positions and arrays.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import product

import numpy as np

from cnnlab.engine import reference
from cnnlab.engine.conv import conv2d_geometry
from cnnlab.engine.pool import pool2d_geometry
from cnnlab.engine.windows import (
    Geometry,
    IntPair,
    Padding,
    args_2d,
    as_2d,
    check_ndim,
    pad_nchw,
    scalar_1d,
)
from cnnlab.errors import ConfigError
from cnnlab.jsonable import to_jsonable

POOL_OPS = ("max", "avg")


@dataclass(frozen=True)
class ConvStep:
    """One output cell of a convolution.

    ``position`` is ``(n, c_out, i, j)`` (1-D: ``(n, c_out, j)``). Arrays are ``(C_in, kH, kW)``
    (1-D: ``(C_in, k)``); ``rows``/``cols`` are the input coordinates of the window's cells (outside
    ``0..H-1`` means padding) and ``is_padding`` is ``(kH, kW)`` (1-D: ``(k,)``).
    """

    position: tuple[int, ...]
    rows: np.ndarray
    cols: np.ndarray
    window: np.ndarray
    is_padding: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    total: float
    bias: float
    value: float

    def to_dict(self) -> dict[str, object]:
        """JSON-able (lists and floats), e.g. for a web page that animates the slide."""
        return to_jsonable(self)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class PoolStep:
    """One output cell of a pooling: ``window (kH, kW)`` of channel ``position[1]``, its ``value``
    (max or mean) and, for max pooling, ``winner`` — the window index ``(a, b)`` (1-D: ``(b,)``)
    that the gradient flows to."""

    position: tuple[int, ...]
    op: str
    rows: np.ndarray
    cols: np.ndarray
    window: np.ndarray
    is_padding: np.ndarray
    value: float
    winner: tuple[int, ...] | None

    def to_dict(self) -> dict[str, object]:
        """JSON-able (lists and floats)."""
        return to_jsonable(self)  # type: ignore[no-any-return]


def _coords(geo: Geometry, i: int, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input rows ``(kH,)``, cols ``(kW,)`` of window ``(i, j)``, its padding mask ``(kH, kW)``."""
    rows_s, cols_s = reference.window_slices(geo, i, j)
    rows = np.arange(rows_s.start, rows_s.stop, rows_s.step) - geo.pads[0][0]
    cols = np.arange(cols_s.start, cols_s.stop, cols_s.step) - geo.pads[1][0]
    inside_r = (rows >= 0) & (rows < geo.size[0])
    inside_c = (cols >= 0) & (cols < geo.size[1])
    return rows, cols, ~(inside_r[:, None] & inside_c[None, :])


class _Trace:
    """Shared indexing: output shape ``(N, C, Ho, Wo)``, 1-D dropping ``Ho``."""

    geo: Geometry
    one_d: bool
    _shape4: tuple[int, int, int, int]

    @property
    def shape(self) -> tuple[int, ...]:
        """Output shape, as the op returns it."""
        n, c, _, wo = self._shape4
        return (n, c, wo) if self.one_d else self._shape4

    def __len__(self) -> int:
        return int(np.prod(self._shape4))

    def positions(self) -> Iterator[tuple[int, ...]]:
        """All output positions in C order (batch, channel, row, column)."""
        return product(*(range(s) for s in self.shape))

    def __iter__(self) -> Iterator[ConvStep | PoolStep]:
        return (self.at(*p) for p in self.positions())

    def _index4(self, position: tuple[int, ...]) -> tuple[int, int, int, int]:
        full = (
            (position[0], position[1], 0, position[2])
            if self.one_d and len(position) == 3
            else position
        )
        if len(position) != len(self.shape) or any(
            not 0 <= int(p) < s for p, s in zip(full, self._shape4)
        ):
            raise ConfigError("engine.trace_index", position=tuple(position), shape=self.shape)
        return tuple(int(p) for p in full)  # type: ignore[return-value]

    def _squeeze(self, a: np.ndarray, axis: int) -> np.ndarray:
        return np.take(a, 0, axis=axis) if self.one_d else a

    def at(self, *position: int) -> ConvStep | PoolStep:  # pragma: no cover - overridden
        raise NotImplementedError


class ConvTrace(_Trace):
    """All steps of ``conv2d(x, weight, bias, stride, padding, dilation)``; :func:`trace_conv2d`."""

    def __init__(
        self,
        x: np.ndarray,
        weight: np.ndarray,
        bias: np.ndarray | None,
        stride: IntPair,
        padding: Padding,
        dilation: IntPair,
        one_d: bool = False,
    ) -> None:
        self.geo = conv2d_geometry(
            x, weight, bias, stride, padding, dilation, op="conv1d" if one_d else "conv2d"
        )
        self.x, self.weight, self.bias = x, weight, bias
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.one_d = one_d
        self._xp = pad_nchw(x, self.geo.pads)  # (N, C_in, Hp, Wp)
        self._shape4 = (x.shape[0], weight.shape[0], *self.geo.out)

    @cached_property
    def output(self) -> np.ndarray:
        """The whole output from the literal loop (:func:`reference.conv2d_loop`)."""
        out = reference.conv2d_loop(
            self.x, self.weight, self.bias, self.stride, self.padding, self.dilation
        )
        return out[:, :, 0, :] if self.one_d else out

    def at(self, *position: int) -> ConvStep:
        """The step for output ``(n, c_out, i, j)`` (1-D: ``(n, c_out, j)``)."""
        n, o, i, j = self._index4(position)
        rows_s, cols_s = reference.window_slices(self.geo, i, j)
        window = self._xp[n, :, rows_s, cols_s]  # (C_in, kH, kW)
        kernel = self.weight[o]
        products = window * kernel
        total = float(products.sum())
        bias = float(self.bias[o]) if self.bias is not None else 0.0
        rows, cols, pad = _coords(self.geo, i, j)
        return ConvStep(
            position=tuple(position),
            rows=rows,
            cols=cols,
            window=self._squeeze(window, 1),
            is_padding=self._squeeze(pad, 0),
            kernel=self._squeeze(kernel, 1),
            products=self._squeeze(products, 1),
            total=total,
            bias=bias,
            value=total + bias,
        )


class PoolTrace(_Trace):
    """All steps of a max or average pooling (see :func:`trace_pool2d`)."""

    def __init__(
        self,
        x: np.ndarray,
        kernel_size: IntPair,
        stride: IntPair | None,
        padding: IntPair,
        op: str,
        one_d: bool = False,
    ) -> None:
        if op not in POOL_OPS:
            raise ConfigError("engine.pool_op", value=op, valid=", ".join(POOL_OPS))
        name = f"{op}_pool{1 if one_d else 2}d"
        self.geo = pool2d_geometry(x, kernel_size, stride, padding, op=name)
        self.x, self.kernel_size, self.stride, self.padding, self.op = (
            x,
            kernel_size,
            stride,
            padding,
            op,
        )
        self.one_d = one_d
        self._xp = pad_nchw(x, self.geo.pads, -np.inf if op == "max" else 0.0)
        self._shape4 = (x.shape[0], x.shape[1], *self.geo.out)

    @cached_property
    def output(self) -> np.ndarray:
        """The whole output from the literal loop (:func:`reference.pool2d_loop`)."""
        out = reference.pool2d_loop(self.x, self.kernel_size, self.stride, self.padding, self.op)
        return out[:, :, 0, :] if self.one_d else out

    def at(self, *position: int) -> PoolStep:
        """The step for output ``(n, c, i, j)`` (1-D: ``(n, c, j)``)."""
        n, c, i, j = self._index4(position)
        rows_s, cols_s = reference.window_slices(self.geo, i, j)
        window = self._xp[n, c, rows_s, cols_s]  # (kH, kW)
        rows, cols, pad = _coords(self.geo, i, j)
        winner: tuple[int, ...] | None = None
        if self.op == "max":
            a, b = np.unravel_index(int(window.argmax()), window.shape)
            winner = (int(b),) if self.one_d else (int(a), int(b))
            value = float(window.max())
        else:
            value = float(window.mean())
        return PoolStep(
            position=tuple(position),
            op=self.op,
            rows=rows,
            cols=cols,
            window=self._squeeze(window, 0),
            is_padding=self._squeeze(pad, 0),
            value=value,
            winner=winner,
        )


def trace_conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
) -> ConvTrace:
    """Trace ``conv2d``: ``x (N, C_in, H, W)``, ``weight (C_out, C_in, kH, kW)`` (PyTorch order).

    ``trace.at(n, c_out, i, j)`` is one :class:`ConvStep`; ``for step in trace`` visits them all.
    """
    return ConvTrace(x, weight, bias, stride, padding, dilation)


def trace_conv1d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int = 1,
    padding: Padding = 0,
    dilation: int = 1,
) -> ConvTrace:
    """Trace ``conv1d``: ``x (N, C_in, L)``, ``weight (C_out, C_in, k)``; positions
    ``(n, c_out, j)``."""
    check_ndim("conv1d", "input", x, 3, "(N, C_in, L)")
    check_ndim("conv1d", "weight", weight, 3, "(C_out, C_in, k)")
    a = args_2d(weight.shape[-1], stride, padding, dilation)
    return ConvTrace(as_2d(x), as_2d(weight), bias, a.stride, a.padding, a.dilation, one_d=True)


def trace_pool2d(
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    op: str = "max",
) -> PoolTrace:
    """Trace ``max_pool2d`` (``op='max'``) or ``avg_pool2d`` (``op='avg'``), ``x (N, C, H, W)``."""
    return PoolTrace(x, kernel_size, stride, padding, op)


def trace_pool1d(
    x: np.ndarray, kernel_size: int, stride: int | None = None, padding: int = 0, op: str = "max"
) -> PoolTrace:
    """Trace ``max_pool1d``/``avg_pool1d`` over ``x (N, C, L)``; positions ``(n, c, j)``."""
    check_ndim(f"{op}_pool1d", "input", x, 3, "(N, C, L)")
    p = scalar_1d(padding, "padding")  # pools take no 'same'/'valid'
    a = args_2d(kernel_size, stride, p)
    return PoolTrace(as_2d(x), a.kernel, a.stride, (0, p), op, one_d=True)


__all__ = [
    "ConvStep",
    "ConvTrace",
    "PoolStep",
    "PoolTrace",
    "trace_conv2d",
    "trace_conv1d",
    "trace_pool2d",
    "trace_pool1d",
]
