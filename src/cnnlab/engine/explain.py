"""A convolution worked example as text tables — what ``cnnlab conv-steps`` prints.

Facts come from :mod:`cnnlab.engine.trace`; this module only arranges them: the input (padding
cells in brackets), the kernel, the output-size arithmetic per dimension, then for each output cell
its window, the kernel, the element-wise products and their sum, and finally the output. Labels are
looked up in the ko/en catalog, so the same example reads in either language. Nothing is printed
here; the CLI prints the returned string.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from cnnlab.engine.trace import ConvStep, ConvTrace, trace_conv2d
from cnnlab.i18n import t
from cnnlab.geometry import out_size

# "A guide to convolution arithmetic for deep learning" (Dumoulin & Visin, 2016), Fig. 1.1's kernel.
GUIDE_KERNEL = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], dtype=np.float64)


@dataclass(frozen=True)
class Example:
    """A single-channel worked example: ``image (H, W)``, ``kernel (k, k)`` and the hyperparameters."""

    image: np.ndarray
    kernel: np.ndarray
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    bias: float = 0.0

    def trace(self) -> ConvTrace:
        """The conv2d trace with the example as ``x (1, 1, H, W)`` and ``weight (1, 1, k, k)``."""
        return trace_conv2d(
            self.image[None, None], self.kernel[None, None], np.array([self.bias]), self.stride, self.padding, self.dilation
        )


def default_input(size: int) -> np.ndarray:
    """Small integers 0..3 (as in the convolution-arithmetic guide), fixed by a seed: easy to add up."""
    return np.random.default_rng(0).integers(0, 4, (size, size)).astype(np.float64)


def default_kernel(size: int) -> np.ndarray:
    """The guide's 3×3 kernel; other sizes repeat its pattern ``(a + 2*b) % 3``."""
    if size == 3:
        return GUIDE_KERNEL.copy()
    a, b = np.indices((size, size))
    return ((a + 2 * b) % 3).astype(np.float64)


def edge_kernel(size: int) -> np.ndarray:
    """A vertical-edge detector for real images: +1 on the left column, -1 on the right, 0 between
    (Prewitt's operator for ``size=3``); it lights up where brightness changes left to right."""
    row = np.zeros(size)
    row[0], row[-1] = 1.0, -1.0
    return np.tile(row, (size, 1)) if size > 1 else np.ones((1, 1))


def centre_patch(image: np.ndarray, size: int) -> np.ndarray:
    """The ``size×size`` patch at the centre of ``image (H, W)`` (caller checks ``size <= H, W``)."""
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top : top + size, left : left + size].astype(np.float64)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"


def _operand(value: float) -> str:
    """A factor in the written-out sum: negatives in parentheses, ``238*(-1)``."""
    text = _fmt(value)
    return f"({text})" if value < 0 else text


def _width(text: str) -> int:
    """Columns on a terminal: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _ljust(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def grid(values: np.ndarray, padding: np.ndarray | None = None, highlight: tuple[int, int] | None = None) -> list[str]:
    """Rows of a right-aligned table; padding cells in ``[ ]``."""
    cells = [
        [f"[{_fmt(v)}]" if padding is not None and padding[r, c] else _fmt(v) for c, v in enumerate(row)]
        for r, row in enumerate(values)
    ]
    width = max(len(c) for row in cells for c in row)
    return [" ".join(c.rjust(width) for c in row) for row in cells]


def side_by_side(blocks: list[tuple[str, list[str]]], gap: str = "   ") -> list[str]:
    """Titled blocks of lines next to each other (window | kernel | products)."""
    widths = [max(_width(title), *(_width(line) for line in lines)) for title, lines in blocks]
    height = max(len(lines) for _, lines in blocks)
    out = [gap.join(_ljust(title, w) for (title, _), w in zip(blocks, widths))]
    for i in range(height):
        out.append(gap.join(_ljust(lines[i] if i < len(lines) else "", w) for (_, lines), w in zip(blocks, widths)))
    return [line.rstrip() for line in out]


def step_lines(step: ConvStep, max_terms: int = 25) -> list[str]:
    """One output cell: where its window sits, the three tables and the sum written out."""
    _, _, i, j = step.position
    rows, cols = step.rows, step.cols
    lines = [t("engine.steps.step", i=i, j=j, r0=int(rows[0]), r1=int(rows[-1]), c0=int(cols[0]), c1=int(cols[-1]))]
    lines += [
        "  " + line
        for line in side_by_side(
            [
                (t("engine.steps.window"), grid(step.window[0], step.is_padding)),
                (t("engine.steps.kernel"), grid(step.kernel[0])),
                (t("engine.steps.products"), grid(step.products[0])),
            ]
        )
    ]
    terms = [f"{_operand(x)}*{_operand(w)}" for x, w in zip(step.window[0].ravel(), step.kernel[0].ravel())]
    written = " + ".join(terms) if len(terms) <= max_terms else t("engine.steps.many_terms", n=len(terms))
    lines.append("  " + t("engine.steps.sum", terms=written, total=_fmt(step.total)))
    if step.bias:
        lines.append("  " + t("engine.steps.bias", total=_fmt(step.total), bias=_fmt(step.bias), value=_fmt(step.value)))
    return lines


def render(example: Example, limit: int = 9, at: tuple[int, int] | None = None) -> str:
    """The whole worked example as text. ``limit`` caps the number of steps shown (0 = all);
    ``at=(i, j)`` shows only that output cell."""
    trace = example.trace()
    geo = trace.geo
    h, w = example.image.shape
    k = example.kernel.shape[0]
    pad = geo.pads[0][0]
    padded = np.pad(example.image, pad)
    is_pad = np.pad(np.zeros_like(example.image, dtype=bool), pad, constant_values=True)
    lines = [t("engine.steps.input", h=h, w=w, p=pad, hp=padded.shape[0], wp=padded.shape[1])]
    lines += ["  " + line for line in grid(padded, is_pad)]
    lines += ["", t("engine.steps.kernel_title", k=k, d=example.dilation)]
    lines += ["  " + line for line in grid(example.kernel)]
    lines += ["", t("engine.steps.size")]
    for name, size in (("H", h), ("W", w)):
        arith = out_size(size, k, example.stride, example.padding, example.dilation)
        lines.append(f"  {name}_out = {arith.formula()}")
    lines.append("")
    if at is not None:
        steps = [trace.at(0, 0, *at)]
    else:
        steps = list(trace) if limit <= 0 else [trace.at(*p) for _, p in zip(range(limit), trace.positions())]
    for step in steps:
        lines += step_lines(step) + [""]  # type: ignore[arg-type]
    hidden = len(trace) - len(steps)
    if at is None and hidden > 0:
        lines += [t("engine.steps.more", n=hidden), ""]
    lines.append(t("engine.steps.output", ho=geo.out[0], wo=geo.out[1]))
    lines += ["  " + line for line in grid(trace.output[0, 0])]
    return "\n".join(lines)


__all__ = ["Example", "default_input", "default_kernel", "edge_kernel", "centre_patch", "render", "GUIDE_KERNEL"]
