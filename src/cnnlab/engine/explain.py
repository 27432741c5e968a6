"""A convolution worked example as text tables — the text of ``cnnlab conv-steps``.

Facts come from :mod:`cnnlab.engine.trace`; this module only arranges them: the input (padding
cells in brackets), the kernel, the output-size arithmetic per dimension, then for each output cell
its window, the kernel, the element-wise products and their sum, and finally the output.

Nothing here is printed or translated: :func:`messages` returns ``(catalog key, params)`` pairs (the
tables are preformatted strings — numbers only, no words), which a
:class:`~cnnlab.result.Result` renders in Korean or English. :class:`Step` is one output cell as
plain numbers (the experiment ``conv-steps`` keeps the shown ones in its numbers).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnlab.engine.trace import ConvStep, ConvTrace, trace_conv2d

# "A guide to convolution arithmetic for deep learning" (Dumoulin & Visin, 2016), Fig. 1.1's kernel.
GUIDE_KERNEL = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], dtype=np.float64)
MAX_TERMS = 25  # a longer sum is written as its first and last products around "…"

Message = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Example:
    """A single-channel worked example: ``image (H, W)``, ``kernel (k, k)``, hyperparameters."""

    image: np.ndarray
    kernel: np.ndarray
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    bias: float = 0.0

    def trace(self) -> ConvTrace:
        """The conv2d trace with the example as ``x (1, 1, H, W)`` and ``weight (1, 1, k, k)``."""
        return trace_conv2d(
            self.image[None, None],
            self.kernel[None, None],
            np.array([self.bias]),
            self.stride,
            self.padding,
            self.dilation,
        )


@dataclass(frozen=True)
class Step:
    """One output cell of a single-channel conv2d (a :class:`~cnnlab.engine.trace.ConvStep` without
    its batch and channel axes). Arrays are ``(kH, kW)``; ``rows``/``cols`` are the input
    coordinates of the taps (outside ``0..H-1``: padding)."""

    position: tuple[int, int]  # (i, j) in the output
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    window: np.ndarray  # input values under the taps (0 on padding)
    is_padding: np.ndarray  # bool
    products: np.ndarray  # window * kernel, element-wise
    total: float  # sum of the products
    bias: float
    value: float  # total + bias: the output cell

    @classmethod
    def from_trace(cls, step: ConvStep) -> Step:
        _, _, i, j = step.position  # (n, c_out, i, j)
        return cls(
            position=(int(i), int(j)),
            rows=tuple(int(r) for r in step.rows),
            cols=tuple(int(c) for c in step.cols),
            window=step.window[0],  # (1, kH, kW) → (kH, kW)
            is_padding=np.asarray(step.is_padding, dtype=bool),
            products=step.products[0],
            total=step.total,
            bias=step.bias,
            value=step.value,
        )


def default_input(size: int) -> np.ndarray:
    """Small integers 0..3 (as in the convolution-arithmetic guide), seeded: easy to add up."""
    return np.random.default_rng(0).integers(0, 4, (size, size)).astype(np.float64)


def default_kernel(size: int) -> np.ndarray:
    """The guide's 3×3 kernel; other sizes repeat its pattern ``(a + 2*b) % 3``."""
    if size == 3:
        guide: np.ndarray = GUIDE_KERNEL.copy()
        return guide
    a, b = np.indices((size, size))
    kernel: np.ndarray = ((a + 2 * b) % 3).astype(np.float64)  # typed: numpy 2.3's stubs give Any
    return kernel


def edge_kernel(size: int) -> np.ndarray:
    """A vertical-edge detector for real images: +1 on the left column, -1 on the right, 0 between
    (Prewitt's operator for ``size=3``); it lights up where brightness changes left to right."""
    row = np.zeros(size)
    row[0], row[-1] = 1.0, -1.0
    return np.tile(row, (size, 1)) if size > 1 else np.ones((1, 1))


def centre_patch(image: np.ndarray, size: int) -> np.ndarray:
    """The ``size×size`` patch at the centre of ``image (H, W)`` (caller checks size <= H, W)."""
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top : top + size, left : left + size].astype(np.float64)


def fmt(value: float) -> str:
    """A table number: integers without ``.0``, others with 3 significant digits."""
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"


def _operand(value: float) -> str:
    """A factor in the written-out sum: negatives in parentheses, ``238*(-1)``."""
    text = fmt(value)
    return f"({text})" if value < 0 else text


def _width(text: str) -> int:
    """Columns on a terminal: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def grid(values: np.ndarray, padding: np.ndarray | None = None) -> list[str]:
    """Rows of a right-aligned table; padding cells in ``[ ]``."""
    cells = [
        [
            f"[{fmt(v)}]" if padding is not None and padding[r, c] else fmt(v)
            for c, v in enumerate(row)
        ]
        for r, row in enumerate(values)
    ]
    width = max(len(c) for row in cells for c in row)
    return [" ".join(c.rjust(width) for c in row) for row in cells]


def side_by_side(blocks: Sequence[list[str]], operators: Sequence[str]) -> list[str]:
    """Blocks of lines next to each other with an operator between each pair on the middle row
    (``window ⊙ kernel = products``)."""
    widths = [max(_width(line) for line in lines) for lines in blocks]
    height = max(len(lines) for lines in blocks)
    out = []
    for r in range(height):
        parts = []
        for b, (lines, w) in enumerate(zip(blocks, widths, strict=True)):
            line = lines[r] if r < len(lines) else ""
            parts.append(line + " " * (w - _width(line)))
            if b < len(operators):
                parts.append(f" {operators[b]} " if r == height // 2 else "   ")
        out.append("".join(parts).rstrip())
    return out


def table(lines: list[str], indent: str = "  ") -> str:
    return "\n".join(indent + line for line in lines)


def written_sum(window: np.ndarray, kernel: np.ndarray, max_terms: int = MAX_TERMS) -> str:
    """``x*w + x*w + …`` in the kernel's row-major order; long sums keep their ends around ``…``."""
    terms = [f"{_operand(x)}*{_operand(w)}" for x, w in zip(window.ravel(), kernel.ravel())]
    if len(terms) > max_terms:
        terms = [*terms[:3], "…", *terms[-2:]]
    return " + ".join(terms)


def step_messages(step: Step, kernel: np.ndarray) -> list[Message]:
    """One output cell: where its window sits, the three tables and the sum written out."""
    i, j = step.position
    out: list[Message] = [
        (
            "engine.steps.step",
            {
                "i": i,
                "j": j,
                "r0": step.rows[0],
                "r1": step.rows[-1],
                "c0": step.cols[0],
                "c1": step.cols[-1],
            },
        ),
        ("lab.conv_steps.blocks", {}),
        (
            "lab.conv_steps.table",
            {
                "table": table(
                    side_by_side(
                        [grid(step.window, step.is_padding), grid(kernel), grid(step.products)],
                        ("⊙", "="),
                    )
                )
            },
        ),
        ("engine.steps.sum", {"terms": written_sum(step.window, kernel), "total": fmt(step.total)}),
    ]
    if kernel.size > MAX_TERMS:
        out.append(("engine.steps.many_terms", {"n": kernel.size}))
    if step.bias:
        out.append(
            (
                "engine.steps.bias",
                {"total": fmt(step.total), "bias": fmt(step.bias), "value": fmt(step.value)},
            )
        )
    return out


def messages(
    padded: np.ndarray,
    is_padding: np.ndarray,
    kernel: np.ndarray,
    *,
    size: int,
    padding: int,
    dilation: int,
    formulas: Sequence[str],
    steps: Sequence[Step],
    hidden: int,
    output: np.ndarray,
) -> list[Message]:
    """The whole worked example: input, kernel, output-size arithmetic, ``steps``, output.

    ``padded (Hp, Wp)`` is the input with its padding, ``is_padding`` marks those cells;
    ``formulas`` are the filled-in output-size formulas for H and W; ``hidden`` output cells are
    not shown (``--limit``).
    """
    hp, wp = padded.shape
    blank: Message = ("lab.conv_steps.table", {"table": ""})
    out: list[Message] = [
        ("engine.steps.input", {"h": size, "w": size, "p": padding, "hp": hp, "wp": wp}),
        ("lab.conv_steps.table", {"table": table(grid(padded, is_padding))}),
        blank,
        ("engine.steps.kernel_title", {"k": kernel.shape[0], "d": dilation}),
        ("lab.conv_steps.table", {"table": table(grid(kernel))}),
        blank,
        ("engine.steps.size", {}),
        (
            "lab.conv_steps.table",
            {
                "table": table(
                    [
                        f"{axis}_out = {formula}"
                        for axis, formula in zip("HW", formulas, strict=True)
                    ]
                )
            },
        ),
        blank,
    ]
    for step in steps:
        out += [*step_messages(step, kernel), blank]
    if hidden > 0:
        out += [("engine.steps.more", {"n": hidden}), blank]
    out += [
        ("engine.steps.output", {"ho": output.shape[0], "wo": output.shape[1]}),
        ("lab.conv_steps.table", {"table": table(grid(output))}),
    ]
    return out


__all__ = [
    "Example",
    "Step",
    "Message",
    "default_input",
    "default_kernel",
    "edge_kernel",
    "centre_patch",
    "grid",
    "side_by_side",
    "table",
    "written_sum",
    "step_messages",
    "messages",
    "fmt",
    "GUIDE_KERNEL",
    "MAX_TERMS",
]
