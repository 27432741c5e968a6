"""Output-size arithmetic for convolution and pooling, with the validation that belongs next to it.

The formula (PyTorch ``Conv2d``/``MaxPool2d`` docs, floor mode) for one spatial dimension::

    out = floor((in + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1

With dilation 1 and stride 1 this is the lecture's ``in + 2p - k + 1`` (28 - 3 + 1 = 26;
28 + 2 - 3 + 1 = 28). Every invalid combination raises :class:`~cnnlab.errors.ShapeError` or
:class:`~cnnlab.errors.ConfigError` whose message shows the values and the formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cnnlab.errors import ConfigError, ShapeError

Size = int | Sequence[int]


def pair(value: Size, n: int, name: str) -> tuple[int, ...]:
    """Expand an int to an ``n``-tuple (PyTorch's ``_pair``), validating the length and type."""
    if isinstance(value, bool):
        raise ConfigError("error.not_int", name=name, value=value)
    if isinstance(value, int):
        return (value,) * n
    values = tuple(value)
    if len(values) != n or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ConfigError("error.tuple_len", name=name, value=value, n=n)
    return values


def check_positive(name: str, value: int, minimum: int = 1) -> int:
    """Raise ConfigError unless ``value`` is an int ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError("error.min_value", name=name, value=value, minimum=minimum)
    return value


@dataclass(frozen=True)
class OutSize:
    """One dimension's arithmetic, kept so it can be explained step by step."""

    size: int
    kernel: int
    stride: int
    padding: int
    dilation: int
    out: int

    @property
    def effective_kernel(self) -> int:
        """Span of a dilated kernel: ``dilation*(kernel-1)+1``."""
        return self.dilation * (self.kernel - 1) + 1

    def formula(self) -> str:
        """The arithmetic with the numbers filled in, e.g. ``(28 + 2*1 - 3) // 1 + 1 = 28``."""
        return (
            f"({self.size} + 2*{self.padding} - {self.effective_kernel}) // {self.stride} + 1"
            f" = {self.out}"
        )


FORMULA = "out = (in + 2*padding - dilation*(kernel-1) - 1) // stride + 1"


def out_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> OutSize:
    """Output length of a conv/pool along one dimension, validated.

    Raises ShapeError when the (dilated) kernel is larger than the padded input, i.e. out < 1.
    """
    check_positive("input size", size)
    check_positive("kernel_size", kernel)
    check_positive("stride", stride)
    check_positive("padding", padding, minimum=0)
    check_positive("dilation", dilation)
    span = dilation * (kernel - 1) + 1
    padded = size + 2 * padding
    if span > padded:
        raise ShapeError(
            "error.kernel_too_large",
            size=size,
            padding=padding,
            padded=padded,
            kernel=kernel,
            dilation=dilation,
            span=span,
            formula=FORMULA,
        )
    out = (padded - span) // stride + 1
    return OutSize(size, kernel, stride, padding, dilation, out)


def conv_out_shape(
    spatial: Sequence[int],
    kernel: Size,
    stride: Size = 1,
    padding: Size = 0,
    dilation: Size = 1,
) -> tuple[int, ...]:
    """Output spatial shape for an ``n``-d conv/pool (``n = len(spatial)``)."""
    n = len(spatial)
    ks, ss, ps, ds = (
        pair(kernel, n, "kernel_size"),
        pair(stride, n, "stride"),
        pair(padding, n, "padding"),
        pair(dilation, n, "dilation"),
    )
    return tuple(out_size(i, k, s, p, d).out for i, k, s, p, d in zip(spatial, ks, ss, ps, ds))


def same_padding(kernel: int, dilation: int = 1) -> tuple[int, int]:
    """(left, right) padding for ``padding='same'`` at stride 1, as PyTorch splits it.

    Total ``dilation*(kernel-1)``; the extra cell (odd total) goes to the right/bottom.
    """
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def pool_out_size(size: int, kernel: int, stride: int | None = None, padding: int = 0,
                  dilation: int = 1, kind: str = "MaxPool2d") -> OutSize:
    """:func:`out_size` for ``MaxPool2d``/``AvgPool2d`` (``stride`` defaults to ``kernel``), with
    PyTorch's extra pooling rules: padding at most ``kernel // 2`` (the implicit -inf / 0 padding
    must never fill a whole window) and no dilation for average pooling.
    """
    check_positive("kernel_size", kernel)
    check_positive("padding", padding, minimum=0)
    if kind == "AvgPool2d" and dilation != 1:
        raise ConfigError("error.pool_dilation", dilation=dilation)
    if padding > kernel // 2:
        raise ConfigError("error.pool_padding", kind=kind, padding=padding, kernel=kernel,
                          dilation=dilation, max_padding=kernel // 2)
    return out_size(size, kernel, kernel if stride is None else stride, padding, dilation)


__all__ = ["FORMULA", "OutSize", "out_size", "conv_out_shape", "pair", "check_positive", "same_padding",
           "pool_out_size"]
