"""Output size of a convolution or pooling layer: the formula worked through, checked against torch.

For one spatial axis (PyTorch ``Conv2d``/``MaxPool2d`` docs, floor mode; the arithmetic lives in
:mod:`cnnlab.geometry`)::

    padded = in + 2·padding
    span   = dilation·(kernel - 1) + 1          # cells one window covers
    out    = (padded - span) // stride + 1

``(padded - span) % stride`` cells at the end of the padded axis are covered by no window: the floor
drops them. Whether that loses anything depends on what those cells are — padding (nothing lost)
or real pixels (the layer never sees them) — so both are counted (``dropped_padding``,
``dropped_pixels``). Dilation and a stride larger than the span also leave pixels that no tap
touches (``unseen_pixels``). The control is PyTorch itself: a pixel is seen exactly when the
gradient of a ``Conv1d`` with an all-ones kernel is nonzero there (``unseen_matches_torch``).

``cnnlab shape`` prints the text of this experiment without drawing. Invalid combinations raise
before any work: a kernel larger than the padded input (ShapeError), and for pooling PyTorch's extra
rules (padding ≤ kernel // 2, no dilation for average pooling) — those are reported per operation
instead of raised when only pooling is affected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.lab.registry import register
from cnnlab.progress import Progress
from cnnlab.result import Message

if TYPE_CHECKING:
    from matplotlib.figure import Figure

OPS = ("conv", "maxpool", "avgpool")
MAX_WINDOWS_DRAWN = 40  # the window diagram draws at most this many output positions


@dataclass
class ShapesParams:
    input: int = field(
        default=28, metadata={"help": "lab.shapes.param.input", "min": 1, "max": 4096}
    )
    # the note's MNIST digits are 28×28 (square: the same arithmetic holds per axis)
    kernel: int = field(
        default=3, metadata={"help": "lab.shapes.param.kernel", "min": 1, "max": 4096}
    )
    # 3×3, the note's kernel
    padding: int = field(
        default=1, metadata={"help": "lab.shapes.param.padding", "min": 0, "max": 4096}
    )
    # 1 = the note's "with padding" model
    stride: int = field(
        default=2, metadata={"help": "lab.shapes.param.stride", "min": 1, "max": 4096}
    )
    # 2 halves the map: the interesting case where a leftover row can appear
    dilation: int = field(
        default=1, metadata={"help": "lab.shapes.param.dilation", "min": 1, "max": 4096}
    )
    # 1 = ordinary kernel; d spreads the taps d cells apart (span d·(k-1)+1)


@dataclass(frozen=True)
class OpCheck:
    """One layer type (conv, max pool, average pool) with these numbers."""

    valid: bool
    formula: int | None = None  # output size by the formula
    shape: tuple[int, ...] | None = None  # (N, C, H, W) for a (1, 1, in, in) input
    torch: int | None = None  # output size of the real PyTorch layer
    matches_torch: bool | None = None
    reason_key: str | None = None  # why the layer refuses these numbers (catalog key + params)
    reason_params: dict[str, Any] | None = None
    reason: str | None = None  # the same in English


@dataclass(frozen=True)
class ShapesNumbers:
    input: int
    kernel: int
    padding: int
    stride: int
    dilation: int
    padded: int  # in + 2·padding
    span: int  # dilation·(kernel - 1) + 1
    quotient: int  # (padded - span) // stride
    out: int
    output_shape: tuple[int, ...]
    formula: str
    leftover: int  # cells at the end of the padded axis that no window covers
    dropped_pixels: list[int]  # real pixels among them (0-based input coordinates)
    dropped_padding: int  # padding cells among them
    unseen_pixels: list[int]  # every real pixel no tap touches (leftover, dilation, stride gaps)
    unseen_matches_torch: bool  # the same pixels have a zero gradient through torch's Conv1d
    same_padding: int | None  # per side, keeping the size at stride 1 (None: odd total)
    same_padding_total: int
    ops: dict[str, OpCheck]
    all_match_torch: bool
    taps: np.ndarray  # (rows, kernel) padded-axis cells of the first ≤ 40 windows' taps
    sizes: np.ndarray  # input sizes of the staircase
    outs: np.ndarray  # output size at each of them


def _torch_size(op: str, p: ShapesParams) -> int:
    """Output size of the real PyTorch layer on a ``(1, 1, in, in)`` zero tensor."""
    import torch
    from torch import nn

    layer: nn.Module
    if op == "conv":
        layer = nn.Conv2d(1, 1, p.kernel, p.stride, p.padding, p.dilation, bias=False)
    elif op == "maxpool":
        layer = nn.MaxPool2d(p.kernel, p.stride, p.padding, p.dilation)
    else:
        layer = nn.AvgPool2d(p.kernel, p.stride, p.padding)
    with torch.no_grad():
        return int(layer(torch.zeros(1, 1, p.input, p.input)).shape[-1])  # (N, C, H, W)


def _torch_unseen(p: ShapesParams) -> list[int]:
    """Pixels whose gradient through ``Conv1d`` (all-ones kernel) is zero: the ones no tap
    touches, found by PyTorch rather than by our arithmetic."""
    import torch
    from torch import nn

    conv = nn.Conv1d(1, 1, p.kernel, p.stride, p.padding, p.dilation, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    x = torch.ones(1, 1, p.input, requires_grad=True)  # (N, C, L): one axis of the square input
    (grad,) = torch.autograd.grad(conv(x).sum(), x)  # (1, 1, L)
    return [int(i) for i in torch.nonzero(grad[0, 0] == 0).flatten()]


def _op_check(op: str, p: ShapesParams, conv: Any) -> OpCheck:
    from cnnlab.errors import CnnlabError
    from cnnlab.geometry import pool_out_size

    try:
        ar = (
            conv
            if op == "conv"
            else pool_out_size(
                p.input,
                p.kernel,
                p.stride,
                p.padding,
                p.dilation,
                "MaxPool2d" if op == "maxpool" else "AvgPool2d",
            )
        )
    except CnnlabError as exc:  # valid for conv, not for this pool: explain, don't fail
        return OpCheck(
            False, reason_key=exc.key, reason_params=dict(exc.params), reason=exc.message("en")
        )
    size = _torch_size(op, p)
    return OpCheck(True, ar.out, (1, 1, ar.out, ar.out), size, size == ar.out)


def measure(params: ShapesParams, progress: Progress | None = None) -> ShapesNumbers:
    from cnnlab.geometry import out_size, same_padding_total, taps, unseen_pixels

    p = params
    conv = out_size(p.input, p.kernel, p.stride, p.padding, p.dilation)  # raises before any work
    # the leftover cells end the padded axis; real pixels sit at padding .. padding + in - 1
    dropped = range(conv.padded - conv.leftover, conv.padded)
    dropped_pixels = [c - p.padding for c in dropped if p.padding <= c < p.padding + p.input]
    unseen = unseen_pixels(conv)
    ops = {op: _op_check(op, p, conv) for op in OPS}
    rows = min(conv.out, MAX_WINDOWS_DRAWN)
    # padded-axis cells (input coordinate + padding) of each drawn window's taps: (rows, kernel)
    tap_cells = np.array([taps(conv, o) for o in range(rows)], dtype=np.int64) + p.padding
    lo = max(1, conv.span - 2 * p.padding)  # the smallest input any window fits on
    sizes = np.arange(lo, max(2 * p.input, lo + 8) + 1)
    outs = np.array(
        [out_size(int(n), p.kernel, p.stride, p.padding, p.dilation).out for n in sizes]
    )
    total = same_padding_total(p.kernel, p.dilation)
    return ShapesNumbers(
        input=p.input,
        kernel=p.kernel,
        padding=p.padding,
        stride=p.stride,
        dilation=p.dilation,
        padded=conv.padded,
        span=conv.span,
        quotient=(conv.padded - conv.span) // p.stride,
        out=conv.out,
        output_shape=(1, 1, conv.out, conv.out),
        formula=conv.formula(),
        leftover=conv.leftover,
        dropped_pixels=dropped_pixels,
        dropped_padding=conv.leftover - len(dropped_pixels),
        unseen_pixels=unseen,
        unseen_matches_torch=_torch_unseen(p) == unseen,
        same_padding=total // 2 if total % 2 == 0 else None,
        same_padding_total=total,
        ops=ops,
        all_match_torch=all(o.matches_torch is not False for o in ops.values()),
        taps=tap_cells,
        sizes=sizes,
        outs=outs,
    )


def explain(n: ShapesNumbers) -> list[Message]:
    out: list[Message] = [
        ("lab.shapes.rule", {}),
        ("lab.shapes.step_padded", {"input": n.input, "padding": n.padding, "padded": n.padded}),
        ("lab.shapes.step_span", {"dilation": n.dilation, "kernel": n.kernel, "span": n.span}),
        (
            "lab.shapes.step_out",
            {"padded": n.padded, "span": n.span, "stride": n.stride, "q": n.quotient, "out": n.out},
        ),
        ("lab.shapes.shape", {"input": n.input, "out": n.out}),
    ]
    if n.leftover:
        out.append(("lab.shapes.leftover", {"n": n.leftover}))
        if n.dropped_pixels:
            out.append(
                (
                    "lab.shapes.dropped_pixels",
                    {
                        "n": len(n.dropped_pixels),
                        "pixels": n.dropped_pixels,
                        "pad": n.dropped_padding,
                    },
                )
            )
        else:
            out.append(("lab.shapes.dropped_padding", {"n": n.dropped_padding}))
    if n.unseen_pixels:
        out.append(
            ("lab.shapes.unseen", {"n": len(n.unseen_pixels), "pixels": n.unseen_pixels[:12]})
        )
    out.append(("lab.shapes.torch_seen", {"ok": "✓" if n.unseen_matches_torch else "✗"}))
    if n.stride == 1:
        if n.same_padding is not None:
            out.append(("lab.shapes.same", {"padding": n.same_padding}))
        else:
            out.append(("lab.shapes.same_odd", {"total": n.same_padding_total}))
    for op, check in n.ops.items():
        if not check.valid:
            # the error's own catalog message names the op, the value and the valid range
            out.append((check.reason_key or "", dict(check.reason_params or {})))
        else:
            out.append(
                (
                    "lab.shapes.op_torch",
                    {
                        "op": op,
                        "formula": check.formula,
                        "torch": check.torch,
                        "verdict": "✓" if check.matches_torch else "✗",
                    },
                )
            )
    return out


def draw(n: ShapesNumbers, lang: str) -> dict[str, Figure]:
    """Left: each output position's taps on the padded axis. Right: out vs input (staircase)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    from cnnlab.i18n import t

    rows = len(n.taps)
    # grid (rows, padded): 0 real pixel, 1 padding, 2 tap on a pixel, 3 tap on padding, 4 unseen
    grid = np.zeros((rows, n.padded), dtype=int)
    grid[:, : n.padding] = 1
    grid[:, n.padding + n.input :] = 1
    for u in n.unseen_pixels:
        grid[:, n.padding + u] = 4
    for o, cells in enumerate(n.taps):
        grid[o, cells] = np.where(grid[o, cells] == 1, 3, 2)
    colours = ["#f2f2f2", "#c8c8c8", "#1f77b4", "#9ecae1", "#d62728"]

    fig = Figure(figsize=(11, 4.8), layout="constrained")
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1])
    ax.imshow(
        grid, cmap=ListedColormap(colours), vmin=0, vmax=4, aspect="auto", interpolation="nearest"
    )
    ax.set_xlabel(t("lab.shapes.fig.cells", lang, padded=n.padded))
    ax.set_ylabel(t("lab.shapes.fig.positions", lang))
    title = t(
        "lab.shapes.fig.windows",
        lang,
        out=n.out,
        kernel=n.kernel,
        stride=n.stride,
        padding=n.padding,
        dilation=n.dilation,
    )
    if rows < n.out:
        title += "\n" + t("lab.shapes.fig.first", lang, n=rows)
    ax.set_title(title, fontsize=10)
    legend = [Patch(color=colours[2], label=t("lab.shapes.fig.tap", lang))]
    if n.padding:  # only entries the grid shows
        legend += [
            Patch(color=colours[3], label=t("lab.shapes.fig.tap_pad", lang)),
            Patch(color=colours[1], label=t("lab.shapes.fig.pad", lang)),
        ]
    if n.unseen_pixels:  # only when there is such a pixel to point at
        legend.append(Patch(color=colours[4], label=t("lab.shapes.fig.unseen", lang)))
    ax.legend(
        handles=legend,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        ncol=len(legend),
        fontsize=8,
        frameon=False,
    )

    ax2.step(n.sizes, n.outs, where="post", color="#1f77b4")
    ax2.plot([n.input], [n.out], "o", color="#d62728")
    ax2.annotate(
        f"({n.input}, {n.out})",
        (n.input, n.out),
        textcoords="offset points",
        xytext=(-8, 8),
        ha="right",
        color="#d62728",
    )
    ax2.set_xlabel(t("lab.shapes.fig.input", lang))
    ax2.set_ylabel(t("lab.shapes.fig.output", lang))
    ax2.set_title(t("lab.shapes.fig.staircase", lang, stride=n.stride), fontsize=10)
    ax2.grid(alpha=0.3)
    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return {"windows": fig}


EXPERIMENT = register(
    "shapes",
    ShapesParams,
    "lab.shapes.title",
    numbers=ShapesNumbers,
    measure=measure,
    explain=explain,
    draw=draw,
    quick={},
)

__all__ = [
    "ShapesParams",
    "ShapesNumbers",
    "OpCheck",
    "OPS",
    "measure",
    "explain",
    "draw",
    "EXPERIMENT",
]
