"""A convolution worked by hand: every output cell's window, kernel, products and sum.

The default example is the convolution-arithmetic guide's (Dumoulin & Visin 2016, Fig. 1.1): a 5×5
input of small integers and its 3×3 kernel, so each sum can be checked in one's head; ``image``
takes the centre patch of a real digit instead, with a vertical-edge kernel. The arithmetic comes
from the NumPy engine's trace (:mod:`cnnlab.engine.trace`), the text tables from
:mod:`cnnlab.engine.explain`.

Teaching truth: the hand arithmetic is checked, not trusted — every shown step's value is the
matching output cell, and the whole output equals PyTorch's ``F.conv2d`` in float64
(``torch_max_abs_diff``). The kernel is not flipped: this is cross-correlation, what ``Conv2d``
computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.data import image_names
from cnnlab.engine.explain import Step
from cnnlab.i18n import Msg
from cnnlab.lab.registry import register
from cnnlab.progress import Progress
from cnnlab.result import Message

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_SIZE = 64  # a worked example, not a benchmark: tables and the figure stay legible
NUMBERS_UP_TO = 12  # cells are written into the figure when the padded side is at most this


@dataclass
class ConvStepsParams:
    input_size: int = field(
        default=5, metadata={"help": "cli.conv_steps.opt.input_size", "min": 1, "max": MAX_SIZE}
    )
    # the guide's 5×5 input
    kernel_size: int = field(
        default=3, metadata={"help": "cli.conv_steps.opt.kernel_size", "min": 1, "max": MAX_SIZE}
    )
    # the guide's 3×3 kernel
    padding: int = field(
        default=0, metadata={"help": "cli.conv_steps.opt.padding", "max": MAX_SIZE}
    )
    stride: int = field(default=1, metadata={"help": "cli.conv_steps.opt.stride", "max": MAX_SIZE})
    dilation: int = field(
        default=1, metadata={"help": "cli.conv_steps.opt.dilation", "max": MAX_SIZE}
    )
    # bounded above like the sizes; below (stride 0, padding -1) and an impossible combination are
    # the engine's ShapeError, whose message shows the size formula
    bias: float = field(
        default=0.0, metadata={"help": "cli.conv_steps.opt.bias", "min": -1e6, "max": 1e6}
    )
    image: str | None = field(
        default=None, metadata={"help": "cli.conv_steps.opt.image", "choices": image_names()}
    )
    # None: the guide's small integers; a dataset name: the centre patch of one of its test images
    index: int = field(default=0, metadata={"help": "cli.conv_steps.opt.index", "min": 0})
    limit: int = field(
        default=9,
        metadata={"help": "cli.conv_steps.opt.limit", "min": 0, "max": MAX_SIZE * MAX_SIZE},
    )
    # 9 shows every cell of the default 3×3 output; 0 shows all
    at: tuple[int, int] | None = field(
        default=None, metadata={"help": "cli.conv_steps.opt.at", "min": 0, "max": 3 * MAX_SIZE}
    )
    # show only output cell (i, j)


@dataclass(frozen=True)
class ConvStepsNumbers:
    input_size: int
    kernel_size: int
    stride: int
    padding: int
    dilation: int
    bias: float
    dataset: str | None  # None: the guide's integers
    split: str | None
    index: int | None
    label: str | None
    image: np.ndarray  # (H, W) float64
    kernel: np.ndarray  # (k, k) float64
    padded: np.ndarray  # (H + 2p, W + 2p): the input with its zero padding
    is_padding: np.ndarray  # (H + 2p, W + 2p) bool
    formulas: tuple[str, str]  # output-size arithmetic for H and W
    output: np.ndarray  # (Ho, Wo) from the engine's literal loop
    at: tuple[int, int] | None  # the one output cell asked for, if any
    steps: tuple[Step, ...]  # the shown output cells, in output order (or only ``at``)
    hidden: int  # output cells not shown
    steps_match_output: bool  # every shown step's value is its output cell
    torch_max_abs_diff: float  # max |engine output - F.conv2d| in float64


@dataclass(frozen=True)
class _Source:
    """Where the input came from (all None for the guide's integers)."""

    dataset: str | None = None
    split: str | None = None
    index: int | None = None
    label: str | None = None


def _source(params: ConvStepsParams) -> tuple[np.ndarray, np.ndarray, _Source]:
    """The input ``(H, W)``, the kernel ``(k, k)`` and where the input came from."""
    from cnnlab.engine import explain

    if params.image is None:
        return (
            explain.default_input(params.input_size),
            explain.default_kernel(params.kernel_size),
            _Source(),
        )
    from cnnlab.data import get_dataset
    from cnnlab.errors import ConfigError

    ds = get_dataset(params.image, train=False)
    i = ds.check_index(params.index)
    h, w = ds.images.shape[1:]
    if params.input_size > min(h, w):
        raise ConfigError(
            "engine.steps.patch_size", size=params.input_size, h=h, w=w, limit=min(h, w)
        )
    y = int(ds.labels[i])
    label = str(ds.classes[y]) if len(ds.classes) > y else str(y)
    return (
        explain.centre_patch(ds.images[i], params.input_size),
        explain.edge_kernel(params.kernel_size),
        _Source(ds.name, ds.split, i, label),
    )


def measure(params: ConvStepsParams, progress: Progress | None = None) -> ConvStepsNumbers:
    import torch
    import torch.nn.functional as F

    from cnnlab.engine.explain import Example
    from cnnlab.errors import ConfigError
    from cnnlab.geometry import out_size

    at = tuple(params.at) if params.at else None  # `cnnlab lab conv-steps` gives () for no --at
    if at is not None and len(at) != 2:
        raise ConfigError("error.tuple_len", name="at", value=at, n=2)
    image, kernel, source = _source(params)
    example = Example(image, kernel, params.stride, params.padding, params.dilation, params.bias)
    trace = example.trace()  # validates stride/padding/dilation; errors carry the formula
    positions: list[tuple[int, ...]]
    if at is not None:
        positions = [(0, 0, *at)]
    else:
        every = list(trace.positions())
        positions = every if params.limit == 0 else every[: params.limit]
    steps = tuple(Step.from_trace(trace.at(*p)) for p in positions)  # raises for an outside `at`
    output = trace.output[0, 0]  # (Ho, Wo)

    pad = trace.geo.pads[0][0]
    padded = np.pad(image, pad)  # (H + 2p, W + 2p), zeros around
    is_padding = np.pad(np.zeros_like(image, dtype=bool), pad, constant_values=True)
    h_out, w_out = (
        out_size(size, params.kernel_size, params.stride, params.padding, params.dilation).formula()
        for size in image.shape
    )
    with torch.no_grad():  # the control: PyTorch's conv2d on the same numbers, float64
        ref = F.conv2d(
            torch.from_numpy(image)[None, None],
            torch.from_numpy(kernel)[None, None],
            torch.tensor([params.bias], dtype=torch.float64),
            params.stride,
            params.padding,
            params.dilation,
        )[0, 0].numpy()  # (Ho, Wo)
    return ConvStepsNumbers(
        input_size=params.input_size,
        kernel_size=params.kernel_size,
        stride=params.stride,
        padding=params.padding,
        dilation=params.dilation,
        bias=float(params.bias),
        dataset=source.dataset,
        split=source.split,
        index=source.index,
        label=source.label,
        image=image,
        kernel=kernel,
        padded=padded,
        is_padding=is_padding,
        formulas=(h_out, w_out),
        output=output,
        at=at,
        steps=steps,
        hidden=len(trace) - len(steps),
        steps_match_output=all(
            bool(np.isclose(s.value, output[s.position], rtol=1e-12, atol=1e-12)) for s in steps
        ),
        torch_max_abs_diff=float(np.abs(output - ref).max()),
    )


def explain(n: ConvStepsNumbers) -> list[Message]:
    from cnnlab.engine import explain as tables

    out: list[Message] = []
    if n.dataset is not None:
        out += [
            (
                "engine.steps.image",
                {
                    "size": n.input_size,
                    "dataset": n.dataset,
                    "split": Msg(f"lab.split.{n.split}"),
                    "index": n.index,
                    "label": n.label,
                },
            ),
            ("lab.conv_steps.table", {"table": ""}),
        ]
    out += tables.messages(
        n.padded,
        n.is_padding,
        n.kernel,
        size=n.input_size,
        padding=n.padding,
        dilation=n.dilation,
        formulas=n.formulas,
        steps=n.steps,
        hidden=0 if n.at else n.hidden,
        output=n.output,
    )
    out += [
        ("lab.conv_steps.table", {"table": ""}),
        (
            "lab.conv_steps.torch",
            {"diff": n.torch_max_abs_diff, "ok": "✓" if n.steps_match_output else "✗"},
        ),
        ("lab.conv_steps.truth", {}),
    ]
    return out


def _cells(ax: Any, values: np.ndarray, mask: np.ndarray | None = None) -> None:
    """Write each cell's value into it (padding cells in brackets), white on dark colours."""
    from cnnlab.engine.explain import fmt

    im = ax.images[0]
    for (r, c), v in np.ndenumerate(values):
        text = f"[{fmt(v)}]" if mask is not None and mask[r, c] else fmt(v)
        red, green, blue, _ = im.cmap(im.norm(v))
        dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5  # perceived luminance
        ax.text(
            c,
            r,
            text,
            ha="center",
            va="center",
            fontsize=8,
            color="white" if dark and not (mask is not None and mask[r, c]) else "black",
        )


def _signed(values: np.ndarray) -> dict[str, Any]:
    """imshow colours: a diverging map centred on 0 when there are negatives, else blues."""
    if values.min() < 0:
        lim = float(np.abs(values).max()) or 1.0
        return {"cmap": "coolwarm", "vmin": -lim, "vmax": lim}
    return {"cmap": "Blues", "vmin": 0.0, "vmax": float(values.max()) or 1.0}


def draw(n: ConvStepsNumbers, lang: str) -> dict[str, Figure]:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from cnnlab.engine.explain import fmt, written_sum
    from cnnlab.i18n import t

    step = n.steps[0]
    i, j = step.position
    pad = n.padding
    fig = Figure(figsize=(13, 4.4), layout="constrained")
    ax_in, ax_k, ax_p, ax_out = fig.subplots(
        1,
        4,
        width_ratios=[
            n.padded.shape[1],
            max(n.kernel_size, 2),
            max(n.kernel_size, 2),
            max(n.output.shape[1], 2),
        ],
    )
    shade = np.ma.masked_where(n.is_padding, n.padded)  # padding drawn as the gray background
    ax_in.set_facecolor("#d9d9d9")
    ax_in.imshow(shade, **_signed(n.padded))
    for r in step.rows:  # one outlined square per tap of the window
        for c in step.cols:
            ax_in.add_patch(
                Rectangle(
                    (c + pad - 0.5, r + pad - 0.5),
                    1,
                    1,
                    fill=False,
                    edgecolor="#d62728",
                    linewidth=2.2,
                )
            )
    ax_in.plot([], [], "s", mfc="none", mec="#d62728", mew=2, label=t("engine.steps.window", lang))
    ax_in.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), fontsize=8, frameon=False)
    ax_in.set_title(
        t("lab.conv_steps.fig.input", lang, h=n.input_size, w=n.input_size, p=pad, i=i, j=j),
        fontsize=10,
    )
    ax_k.imshow(n.kernel, **_signed(n.kernel))
    ax_k.set_title(t("engine.steps.kernel", lang), fontsize=10)
    ax_p.imshow(step.products, **_signed(step.products))
    ax_p.set_title(t("engine.steps.products", lang), fontsize=10)
    ax_out.imshow(n.output, **_signed(n.output))
    ax_out.add_patch(
        Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#d62728", linewidth=2.5)
    )
    ax_out.set_title(
        t(
            "lab.conv_steps.fig.output",
            lang,
            ho=n.output.shape[0],
            wo=n.output.shape[1],
            i=i,
            j=j,
            value=fmt(step.value),
        ),
        fontsize=10,
    )
    if n.padded.shape[0] <= NUMBERS_UP_TO:
        _cells(ax_in, n.padded, n.is_padding)
        _cells(ax_out, n.output)
    if n.kernel_size <= NUMBERS_UP_TO:
        _cells(ax_k, n.kernel)
        _cells(ax_p, step.products)
    for ax in (ax_in, ax_k, ax_p, ax_out):
        ax.set_xticks([])
        ax.set_yticks([])
    total = t(
        "engine.steps.sum", lang, terms=written_sum(step.window, n.kernel), total=fmt(step.total)
    )
    if step.bias:
        total += "\n" + t(
            "engine.steps.bias",
            lang,
            total=fmt(step.total),
            bias=fmt(step.bias),
            value=fmt(step.value),
        )
    fig.suptitle(t("lab.conv_steps.fig.sum", lang, i=i, j=j) + "\n" + total, fontsize=10)
    return {"step": fig}


EXPERIMENT = register(
    "conv-steps",
    ConvStepsParams,
    "lab.conv_steps.title",
    numbers=ConvStepsNumbers,
    measure=measure,
    explain=explain,
    draw=draw,
    quick={"limit": 2},
)

__all__ = ["ConvStepsParams", "ConvStepsNumbers", "measure", "explain", "draw", "EXPERIMENT"]
