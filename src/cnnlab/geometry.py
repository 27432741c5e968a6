"""Where a sliding window lands: output size, ``'same'`` padding and receptive-field arithmetic.

The bottom layer's one home for this arithmetic (no torch, no NumPy): the engine, the models, the
inspect tools and the lab all import it. Every invalid combination raises
:class:`~cnnlab.errors.ConfigError` or :class:`~cnnlab.errors.ShapeError` whose message shows the
values and the formula.

API
---
Validation
    ``pair(value, n, name)``          int or n-sequence → n-tuple (PyTorch's ``_pair``)
    ``check_positive(name, v, min)``  int ``>= min`` or ConfigError
Output size (one axis)
    ``out_size(size, kernel, stride=1, padding=0, dilation=1, *, ceil_mode=False, op=...)``
        → :class:`OutSize` (``.out``, ``.padded``, ``.span``/``.effective_kernel``, ``.leftover``,
        ``.pads``, ``.formula()``); ``padding`` may be an int, ``'valid'`` or ``'same'``
    ``pool_out_size(size, kernel, stride=None, padding=0, dilation=1, kind="MaxPool2d",
        *, ceil_mode=False)``  the same plus PyTorch's pooling rules
    ``conv_out_shape(spatial, kernel, stride=1, padding=0, dilation=1)``  n-d shape
    ``FORMULA``                       the formula as text
Padding
    ``same_padding_total(kernel, dilation=1)`` → ``dilation*(kernel-1)``
    ``same_padding(kernel, dilation=1)``       → ``(left, right)`` as PyTorch splits it
    ``resolve_padding(padding, kernel, stride=1, dilation=1, op=...)`` → ``(left, right)``
Which input pixels a window touches
    ``taps(ar, o)``                   input coordinates of output ``o``'s taps (<0, >=size: padding)
    ``unseen_pixels(ar)``             input pixels no tap of any window touches
Receptive field (one axis; see "Coordinates" below)
    ``Field(size, jump, left)``       with ``.start`` (centre of unit 0's field) and ``.span(i)``
    ``rf_step(field, kernel, stride=1, padding=0, dilation=1)`` → next :class:`Field`
    ``rf_chain(layers)``              one :class:`Field` per ``(kernel, stride, padding, dilation)``

Output size (PyTorch ``Conv2d``/``MaxPool2d`` docs) for one spatial dimension::

    out = floor((in + pad_left + pad_right - dilation*(kernel - 1) - 1) / stride) + 1

(``ceil`` instead of ``floor`` for pooling with ``ceil_mode=True``, minus one if the last window
would start in the right padding.) With dilation 1 and stride 1 this is the lecture's
``in + 2p - k + 1`` (28 - 3 + 1 = 26; 28 + 2 - 3 + 1 = 28).

Receptive field (Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural
Networks", Distill 2019). Per layer ``l`` with kernel ``k``, stride ``s``, left padding ``p``,
dilation ``d``, effective kernel ``k' = d·(k-1) + 1``, starting from the input
(``r_0 = 1, j_0 = 1, left_0 = 0``)::

    r_l     = r_{l-1} + (k' - 1) · j_{l-1}     # receptive field size (input pixels)
    j_l     = j_{l-1} · s                      # jump: input pixels between adjacent output units
    left_l  = left_{l-1} - p · j_{l-1}         # first input pixel seen by output unit 0
    start_l = left_l + (r_l - 1) / 2           # centre of unit 0's field (may lie in the padding)

Coordinates: input pixel ``i`` covers ``[i - 0.5, i + 0.5]``, so pixel 0's centre is at 0 and
``start`` is in pixel units on that axis (negative: inside the left/top padding). Output unit ``i``
of layer ``l`` sees input pixels ``left_l + i·j_l … left_l + i·j_l + r_l - 1`` (clip to the image).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cnnlab.errors import ConfigError, ShapeError

Size = int | Sequence[int]
PaddingArg = int | str

FORMULA = "out = (in + 2*padding - dilation*(kernel-1) - 1) // stride + 1"


# --------------------------------------------------------------------------------------------------
# validation


def pair(value: Size, n: int, name: str) -> tuple[int, ...]:
    """Expand an int to an ``n``-tuple (PyTorch's ``_pair``), validating the length and type."""
    if isinstance(value, bool):
        raise ConfigError("error.not_int", name=name, value=value)
    if _is_int(value):
        return (operator.index(value),) * n  # type: ignore[arg-type]
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError("error.tuple_len", name=name, value=value, n=n)
    values = tuple(value)
    if len(values) != n or not all(_is_int(v) for v in values):
        raise ConfigError("error.tuple_len", name=name, value=value, n=n)
    return tuple(operator.index(v) for v in values)


def _is_int(value: object) -> bool:
    """True for ints and NumPy integers (anything ``operator.index`` accepts), False for bools."""
    if isinstance(value, bool):
        return False
    try:
        operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return False
    return True


def check_positive(name: str, value: int, minimum: int = 1) -> int:
    """Raise ConfigError unless ``value`` is an int ``>= minimum``."""
    if not _is_int(value) or operator.index(value) < minimum:
        raise ConfigError("error.min_value", name=name, value=value, minimum=minimum)
    return operator.index(value)


# --------------------------------------------------------------------------------------------------
# padding


def same_padding_total(kernel: int, dilation: int = 1) -> int:
    """Total padding that keeps the size at stride 1: ``dilation*(kernel-1)``."""
    return dilation * (kernel - 1)


def same_padding(kernel: int, dilation: int = 1) -> tuple[int, int]:
    """(left, right) padding for ``padding='same'`` at stride 1, as PyTorch splits it.

    Total ``dilation*(kernel-1)``; the extra cell (odd total) goes to the right/bottom.
    """
    total = same_padding_total(kernel, dilation)
    return total // 2, total - total // 2


def resolve_padding(
    padding: PaddingArg, kernel: int, stride: int = 1, dilation: int = 1, op: str = "Conv2d"
) -> tuple[int, int]:
    """``(left, right)`` padding for an int, ``'valid'`` (0) or ``'same'`` (stride 1 only).

    Raises ConfigError for an unknown string, ``'same'`` with stride > 1, or a negative padding.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0
        if padding == "same":
            if stride != 1:
                raise ConfigError("engine.same_stride", op=op, stride=stride)
            return same_padding(kernel, dilation)
        raise ConfigError("engine.padding_name", op=op, value=padding)
    p = check_positive("padding", padding, minimum=0)
    return p, p


# --------------------------------------------------------------------------------------------------
# output size


@dataclass(frozen=True)
class OutSize:
    """One dimension's arithmetic, kept so it can be explained step by step.

    ``padding`` is the left/top padding; ``padding_end`` the right/bottom one when it differs
    (``'same'`` with an odd total), else None.
    """

    size: int
    kernel: int
    stride: int
    padding: int
    dilation: int
    out: int
    padding_end: int | None = None
    ceil_mode: bool = False

    @property
    def pads(self) -> tuple[int, int]:
        """``(left, right)`` padding."""
        return self.padding, self.padding if self.padding_end is None else self.padding_end

    @property
    def padded(self) -> int:
        """Input size with both paddings added."""
        return self.size + sum(self.pads)

    @property
    def effective_kernel(self) -> int:
        """Span of a dilated kernel: ``dilation*(kernel-1)+1``."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def span(self) -> int:
        """Alias of :attr:`effective_kernel`: cells one window covers."""
        return self.effective_kernel

    @property
    def leftover(self) -> int:
        """Cells at the end of the padded axis that start no window (floor mode):
        ``(padded - span) % stride``."""
        return (self.padded - self.span) % self.stride

    def formula(self) -> str:
        """The arithmetic with the numbers filled in, e.g. ``(28 + 2*1 - 3) // 1 + 1 = 28``."""
        lo, hi = self.pads
        pad = f"2*{lo}" if lo == hi else f"{lo} + {hi}"
        if self.ceil_mode:
            return f"ceil(({self.size} + {pad} - {self.span}) / {self.stride}) + 1 = {self.out}"
        return f"({self.size} + {pad} - {self.span}) // {self.stride} + 1 = {self.out}"


def out_size(
    size: int,
    kernel: int,
    stride: int = 1,
    padding: PaddingArg = 0,
    dilation: int = 1,
    *,
    ceil_mode: bool = False,
    op: str = "Conv2d",
) -> OutSize:
    """Output length of a conv/pool along one dimension, validated.

    ``padding`` is an int (both sides), ``'valid'`` or ``'same'`` (stride 1; PyTorch's split).
    ``ceil_mode`` follows PyTorch's pooling: round up, but the last window must start inside the
    input or the left padding. ``op`` only names the layer in error messages.

    Raises ConfigError for a bad value, ShapeError when the (dilated) kernel is larger than the
    padded input, i.e. out < 1.
    """
    check_positive("input size", size)
    check_positive("kernel_size", kernel)
    check_positive("stride", stride)
    check_positive("dilation", dilation)
    lo, hi = resolve_padding(padding, kernel, stride, dilation, op)
    span = dilation * (kernel - 1) + 1
    padded = size + lo + hi
    if span > padded:
        raise ShapeError(
            "error.kernel_too_large",
            size=size,
            padding=lo if lo == hi else (lo, hi),
            padded=padded,
            kernel=kernel,
            dilation=dilation,
            span=span,
            formula=FORMULA,
        )
    if ceil_mode:
        out = math.ceil((padded - span) / stride) + 1
        if (out - 1) * stride >= size + lo:  # PyTorch: the last window starts in the right padding
            out -= 1
    else:
        out = (padded - span) // stride + 1
    return OutSize(size, kernel, stride, lo, dilation, out, None if lo == hi else hi, ceil_mode)


def pool_out_size(
    size: int,
    kernel: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    kind: str = "MaxPool2d",
    *,
    ceil_mode: bool = False,
) -> OutSize:
    """:func:`out_size` for ``MaxPool*``/``AvgPool*`` (``stride`` defaults to ``kernel``), with
    PyTorch's extra pooling rules: padding at most ``kernel // 2`` (the implicit -inf / 0 padding
    must never fill a whole window) and no dilation for average pooling.
    """
    check_positive("kernel_size", kernel)
    check_positive("padding", padding, minimum=0)
    if kind.startswith("AvgPool") and dilation != 1:
        raise ConfigError("error.pool_dilation", dilation=dilation)
    if padding > kernel // 2:
        raise ConfigError(
            "error.pool_padding",
            kind=kind,
            padding=padding,
            kernel=kernel,
            dilation=dilation,
            max_padding=kernel // 2,
        )
    return out_size(
        size,
        kernel,
        kernel if stride is None else stride,
        padding,
        dilation,
        ceil_mode=ceil_mode,
        op=kind,
    )


def conv_out_shape(
    spatial: Sequence[int],
    kernel: Size,
    stride: Size = 1,
    padding: Size | str = 0,
    dilation: Size = 1,
) -> tuple[int, ...]:
    """Output spatial shape for an ``n``-d conv/pool (``n = len(spatial)``)."""
    n = len(spatial)
    ks, ss, ds = (
        pair(kernel, n, "kernel_size"),
        pair(stride, n, "stride"),
        pair(dilation, n, "dilation"),
    )
    ps: tuple[PaddingArg, ...] = (
        (padding,) * n if isinstance(padding, str) else pair(padding, n, "padding")
    )
    return tuple(out_size(i, k, s, p, d).out for i, k, s, p, d in zip(spatial, ks, ss, ps, ds))


# --------------------------------------------------------------------------------------------------
# which pixels a window touches


def taps(ar: OutSize, o: int) -> list[int]:
    """Input coordinates of the ``kernel`` taps of output ``o`` (< 0 or >= size: padding)."""
    first = o * ar.stride - ar.padding  # input coordinate of the window's first tap
    return [first + t * ar.dilation for t in range(ar.kernel)]


def unseen_pixels(ar: OutSize) -> list[int]:
    """Input pixels (0-based) that no tap of any window touches: the leftover cells at the end, and
    the gaps dilation or a stride larger than the span leave."""
    seen: set[int] = set()
    for o in range(ar.out):
        seen.update(taps(ar, o))
    return [i for i in range(ar.size) if i not in seen]


# --------------------------------------------------------------------------------------------------
# receptive field


@dataclass(frozen=True)
class Field:
    """Receptive field of one layer's units along one axis, in input-pixel coordinates.

    ``size`` = r (pixels one unit sees), ``jump`` = j (input pixels between adjacent units),
    ``left`` = first input pixel unit 0 sees (negative: in the padding).
    """

    size: int = 1
    jump: int = 1
    left: int = 0

    @property
    def start(self) -> float:
        """Centre of unit 0's field; pixel 0's centre is 0."""
        return self.left + (self.size - 1) / 2

    def span(self, unit: int) -> tuple[int, int]:
        """First and last input pixel (inclusive, unclipped) output ``unit`` sees."""
        first = self.left + unit * self.jump
        return first, first + self.size - 1


def rf_step(
    field: Field, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> Field:
    """The field after one conv/pool layer (left padding ``padding``) on top of ``field``."""
    check_positive("kernel_size", kernel)
    check_positive("stride", stride)
    check_positive("padding", padding, minimum=0)
    check_positive("dilation", dilation)
    span = dilation * (kernel - 1) + 1
    return Field(
        size=field.size + (span - 1) * field.jump,
        jump=field.jump * stride,
        left=field.left - padding * field.jump,
    )


def rf_chain(layers: Iterable[tuple[int, int, int, int]]) -> list[Field]:
    """One :class:`Field` per ``(kernel, stride, padding, dilation)`` layer, from the input up."""
    fields: list[Field] = []
    field = Field()
    for kernel, stride, padding, dilation in layers:
        field = rf_step(field, kernel, stride, padding, dilation)
        fields.append(field)
    return fields


__all__ = [
    "FORMULA",
    "Field",
    "OutSize",
    "PaddingArg",
    "Size",
    "check_positive",
    "conv_out_shape",
    "out_size",
    "pair",
    "pool_out_size",
    "resolve_padding",
    "rf_chain",
    "rf_step",
    "same_padding",
    "same_padding_total",
    "taps",
    "unseen_pixels",
]
