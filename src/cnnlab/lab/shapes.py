"""Output size of a convolution or pooling layer: the formula worked through, checked against torch.

For one spatial axis (PyTorch ``Conv2d``/``MaxPool2d`` docs, floor mode)::

    padded = in + 2·padding
    span   = dilation·(kernel - 1) + 1          # cells one window covers
    out    = (padded - span) // stride + 1

``(padded - span) % stride`` cells at the end of the padded axis start no window; if they are real
pixels (not padding), the layer never sees them. Dilation and a stride larger than the span also
leave pixels that no tap touches. Both are reported (``unseen_pixels``).

The same arithmetic serves ``cnnlab shape`` (text only, :func:`explain`) and ``cnnlab lab shapes``
(plus figures, :func:`run`). Invalid combinations raise before any work: a kernel larger than the
padded input (ShapeError), and for pooling PyTorch's extra rules (padding ≤ kernel // 2, no dilation
for average pooling) — those are reported per operation instead of raised when only pooling is
affected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnlab.errors import CnnlabError
from cnnlab.inspect.shapes import OutSize, out_size, pool_out_size
from cnnlab.lab.registry import register
from cnnlab.result import Result

OPS = ("conv", "maxpool", "avgpool")
MAX_WINDOWS_DRAWN = 40  # the window diagram draws at most this many output positions


@dataclass
class ShapesParams:
    input: int = field(default=28, metadata={"help": "lab.shapes.param.input", "min": 1, "max": 4096})
    # the note's MNIST digits are 28×28 (square: the same arithmetic holds per axis)
    kernel: int = field(default=3, metadata={"help": "lab.shapes.param.kernel", "min": 1, "max": 4096})
    # 3×3, the note's kernel
    padding: int = field(default=1, metadata={"help": "lab.shapes.param.padding", "min": 0, "max": 4096})
    # 1 = the note's "with padding" model
    stride: int = field(default=2, metadata={"help": "lab.shapes.param.stride", "min": 1, "max": 4096})
    # 2 halves the map: the interesting case where a leftover row can appear
    dilation: int = field(default=1, metadata={"help": "lab.shapes.param.dilation", "min": 1,
                                               "max": 4096})
    # 1 = ordinary kernel; d spreads the taps d cells apart (span d·(k-1)+1)


def _unseen(size: int, ar: OutSize) -> list[int]:
    """Input pixels (0-based) that no tap of any window touches."""
    seen: set[int] = set()
    for o in range(ar.out):
        first = o * ar.stride - ar.padding  # input coordinate of the window's first tap
        seen.update(first + t * ar.dilation for t in range(ar.kernel))
    return [i for i in range(size) if i not in seen]


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


def explain(params: ShapesParams, check_torch: bool = True) -> Result:
    """Numbers and text for ``params`` (no figures). Raises ShapeError when the conv cannot work."""
    p = params
    conv = out_size(p.input, p.kernel, p.stride, p.padding, p.dilation)  # raises before any work
    result = Result("shapes")
    padded, span = p.input + 2 * p.padding, conv.effective_kernel
    leftover = (padded - span) % p.stride
    unseen = _unseen(p.input, conv)
    ops: dict[str, Any] = {}
    for op in OPS:
        try:
            ar = conv if op == "conv" else pool_out_size(
                p.input, p.kernel, p.stride, p.padding, p.dilation,
                "MaxPool2d" if op == "maxpool" else "AvgPool2d")
        except CnnlabError as exc:  # valid for conv, not for this pool: explain, don't fail
            ops[op] = {"valid": False, "reason_key": exc.key, "reason_params": exc.params,
                       "reason": exc.message("en")}
            continue
        entry: dict[str, Any] = {"valid": True, "formula": ar.out, "shape": [1, 1, ar.out, ar.out]}
        if check_torch:
            entry["torch"] = _torch_size(op, p)
            entry["matches_torch"] = entry["torch"] == ar.out
        ops[op] = entry
    same = p.dilation * (p.kernel - 1)
    result.numbers = {
        "input": p.input, "kernel": p.kernel, "padding": p.padding, "stride": p.stride,
        "dilation": p.dilation, "padded": padded, "span": span,
        "out": conv.out, "output_shape": [1, 1, conv.out, conv.out],
        "formula": conv.formula(), "leftover": leftover, "unseen_pixels": unseen,
        "same_padding": same // 2 if same % 2 == 0 else None,
        "ops": ops,
        "all_match_torch": all(o.get("matches_torch", True) for o in ops.values()),
    }
    result.say("lab.shapes.rule")
    result.say("lab.shapes.step_padded", input=p.input, padding=p.padding, padded=padded)
    result.say("lab.shapes.step_span", dilation=p.dilation, kernel=p.kernel, span=span)
    result.say("lab.shapes.step_out", padded=padded, span=span, stride=p.stride,
               q=(padded - span) // p.stride, out=conv.out)
    result.say("lab.shapes.shape", input=p.input, out=conv.out)
    if leftover:
        result.say("lab.shapes.leftover", n=leftover)
    if unseen:
        result.say("lab.shapes.unseen", n=len(unseen), pixels=unseen[:12])
    if p.stride == 1:
        if same % 2 == 0:
            result.say("lab.shapes.same", padding=same // 2)
        else:
            result.say("lab.shapes.same_odd", total=same)
    for op, entry in ops.items():
        if not entry["valid"]:
            # the error's own catalog message names the op, the value and the valid range
            result.say(entry["reason_key"], **entry["reason_params"])
        elif check_torch:
            result.say("lab.shapes.op_torch", op=op, formula=entry["formula"], torch=entry["torch"],
                       verdict="✓" if entry["matches_torch"] else "✗")
    return result


def _window_figure(p: ShapesParams, conv: OutSize, lang: str) -> Any:
    """Left: each output position's taps on the padded axis. Right: out vs input size (staircase)."""
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    from cnnlab.i18n import t

    padded = p.input + 2 * p.padding
    rows = min(conv.out, MAX_WINDOWS_DRAWN)
    # grid (rows, padded): 0 real pixel, 1 padding, 2 tap on a pixel, 3 tap on padding, 4 unseen
    grid = np.zeros((rows, padded), dtype=int)
    grid[:, : p.padding] = 1
    grid[:, p.padding + p.input:] = 1
    for u in _unseen(p.input, conv):
        grid[:, p.padding + u] = 4
    for o in range(rows):
        for tap in range(p.kernel):
            c = o * p.stride + tap * p.dilation
            grid[o, c] = 3 if grid[o, c] == 1 else 2
    cmap = ListedColormap(["#f2f2f2", "#c8c8c8", "#1f77b4", "#9ecae1", "#d62728"])

    fig = Figure(figsize=(11, 4.8), layout="constrained")
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1])
    ax.imshow(grid, cmap=cmap, vmin=0, vmax=4, aspect="auto", interpolation="nearest")
    ax.set_xlabel(t("lab.shapes.fig.cells", lang, padded=padded))
    ax.set_ylabel(t("lab.shapes.fig.positions", lang))
    title = t("lab.shapes.fig.windows", lang, out=conv.out, kernel=p.kernel, stride=p.stride,
              padding=p.padding, dilation=p.dilation)
    if rows < conv.out:
        title += "\n" + t("lab.shapes.fig.first", lang, n=rows)
    ax.set_title(title, fontsize=10)
    ax.legend(handles=[Patch(color="#1f77b4", label=t("lab.shapes.fig.tap", lang)),
                       Patch(color="#9ecae1", label=t("lab.shapes.fig.tap_pad", lang)),
                       Patch(color="#c8c8c8", label=t("lab.shapes.fig.pad", lang)),
                       Patch(color="#d62728", label=t("lab.shapes.fig.unseen", lang))],
              loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, fontsize=8, frameon=False)

    span = conv.effective_kernel
    lo = max(1, span - 2 * p.padding)
    sizes = np.arange(lo, max(2 * p.input, lo + 8) + 1)
    outs = (sizes + 2 * p.padding - span) // p.stride + 1
    ax2.step(sizes, outs, where="post", color="#1f77b4")
    ax2.plot([p.input], [conv.out], "o", color="#d62728")
    ax2.annotate(f"({p.input}, {conv.out})", (p.input, conv.out), textcoords="offset points",
                 xytext=(-8, 8), ha="right", color="#d62728")
    ax2.set_xlabel(t("lab.shapes.fig.input", lang))
    ax2.set_ylabel(t("lab.shapes.fig.output", lang))
    ax2.set_title(t("lab.shapes.fig.staircase", lang, stride=p.stride), fontsize=10)
    ax2.grid(alpha=0.3)
    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


@register("shapes", ShapesParams, "lab.shapes.title", quick={})
def run(params: ShapesParams, *, lang: str | None = None, callback: Any = None) -> Result:
    from cnnlab.viz.fonts import figure_lang

    result = explain(params)  # validates first: a ShapeError leaves nothing drawn or written
    flang = figure_lang(lang)
    conv = out_size(params.input, params.kernel, params.stride, params.padding, params.dilation)
    result.figures["windows"] = _window_figure(params, conv, flang)
    result.lang = flang
    return result


__all__ = ["ShapesParams", "OPS", "explain", "run"]
