"""Receptive field: how much of the digit one output unit can see, by formula and by gradients.

A stack is written as a short spec, comma-separated, one token per layer::

    c3        Conv2d(k=3), padding d·(k-1)//2 ("same"), stride 1, followed by ReLU
    c3s2d2p0  Conv2d(k=3, stride=2, dilation=2, padding=0)
    m2 / a2   MaxPool2d(2) / AvgPool2d(2) (stride = kernel unless s… is given, padding p… default 0)

For every geometric layer the experiment reports the formula's size/jump/start
(:func:`cnnlab.inspect.receptive_field.receptive_fields`, Araujo et al., Distill 2019) and the
*measured* field: backpropagate from the centre output unit of the linearised prefix stack and take
the input pixels with a nonzero gradient. The two must agree (bounding box; on dilation-free stacks
with stride ≤ kernel the region is a full rectangle). Then the real network (random seeded weights,
ReLU, max-pool) on the real digit: its gradient covers only part of the field — the formula says where
a unit *can* look; which pixels it actually uses depends on the input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cnnlab.errors import ConfigError
from cnnlab.lab.common import DataParams, open_data
from cnnlab.lab.registry import register
from cnnlab.result import Result

TOKEN = re.compile(r"^(?P<op>[cma])(?P<k>\d+)(?:s(?P<s>\d+))?(?:d(?P<d>\d+))?(?:p(?P<p>\d+))?$")
MAX_LAYERS = 16
CHANNELS = 4  # channels of every conv of the real network (enough for a nonzero unit)


@dataclass
class ReceptiveFieldParams(DataParams):
    index: int = field(default=0, metadata={"help": "lab.param.index", "min": 0})
    # which digit the fields are drawn on (index i of the embedded sample is a digit i % 10)
    stack: str = field(default="c3,c3,m2,c3,c3,m2,c3",
                       metadata={"help": "lab.receptive_field.param.stack"})
    # SimpleCNN-like: two 3×3 convs per block, 2×2 max-pool between blocks → field 3,5,6,10,14,16,24
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0})
    # weights of the real (random) network whose gradient is compared with the formula


def parse_stack(spec: str, in_channels: int = 1) -> Any:
    """``"c3,m2,c3s2"`` → ``nn.Sequential`` (Conv2d+ReLU, MaxPool2d, AvgPool2d). ConfigError on a bad
    token, naming it and the grammar."""
    import torch.nn as nn

    tokens = [tok.strip().lower() for tok in spec.split(",") if tok.strip()]
    if not tokens or len(tokens) > MAX_LAYERS:
        raise ConfigError("lab.receptive_field.bad_count", n=len(tokens), max=MAX_LAYERS)
    layers: list[nn.Module] = []
    c = in_channels
    for tok in tokens:
        m = TOKEN.match(tok)
        if not m or int(m["k"]) < 1 or (m["s"] is not None and int(m["s"]) < 1) or \
                (m["d"] is not None and int(m["d"]) < 1):
            raise ConfigError("lab.receptive_field.bad_token", token=tok, spec=spec)
        k, d = int(m["k"]), int(m["d"] or 1)
        if m["op"] == "c":
            p = int(m["p"]) if m["p"] is not None else d * (k - 1) // 2
            layers += [nn.Conv2d(c, CHANNELS, k, int(m["s"] or 1), p, d), nn.ReLU()]
            c = CHANNELS
        elif m["op"] == "m":
            layers.append(nn.MaxPool2d(k, int(m["s"] or k), int(m["p"] or 0), d))
        else:
            if d != 1:
                raise ConfigError("error.pool_dilation", dilation=d)
            layers.append(nn.AvgPool2d(k, int(m["s"] or k), int(m["p"] or 0)))
    return nn.Sequential(*layers)


def _prefix(model: Any, upto: int) -> Any:
    import torch.nn as nn

    return nn.Sequential(*list(model.children())[: upto + 1])


@register("receptive-field", ReceptiveFieldParams, "lab.receptive_field.title",
          quick={"data": "mnist-sample"})
def run(params: ReceptiveFieldParams, *, lang: str | None = None, callback: Any = None) -> Result:
    import torch

    from cnnlab.inspect.receptive_field import (
        gradient_rf,
        input_gradient,
        measured_fields,
        receptive_fields,
    )

    ds = open_data(params)
    ds.check_index(params.index)
    torch.manual_seed(params.seed)
    model = parse_stack(params.stack).eval()
    image, label = ds[params.index]  # (1, H, W) in [0, 1]
    hw = (image.shape[-2], image.shape[-1])
    rows = receptive_fields(model, hw)  # ShapeError here (before any gradient) if the stack is too deep

    checks = measured_fields(model, hw)  # formula vs gradient, on a canvas with no border effects
    layers: list[dict[str, Any]] = []
    grads = []
    for depth, (row, check) in enumerate(zip(rows, checks), start=1):
        unit = (row.out[0] // 2, row.out[1] // 2)
        grads.append(gradient_rf(_prefix(model, row.index), hw, unit))  # (H, W) on the digit
        box = row.box(unit, hw)
        layers.append({**row.to_dict(), "depth": depth, "unit": list(unit), "box": list(box),
                       "box_area": (box[1] - box[0] + 1) * (box[3] - box[2] + 1),
                       "measured": list(check["measured"]), "agree": check["agree"],
                       "filled": check["filled"]})
        if callback is not None:
            callback({"experiment": "receptive-field", "layer": depth})

    # The real network on the real digit, centre unit of the last layer, most active channel.
    x = image.unsqueeze(0)  # (1, 1, H, W)
    with torch.no_grad():
        y = model(x)  # (1, C, h, w)
    last = rows[-1]
    unit = (last.out[0] // 2, last.out[1] // 2)
    channel = int(y[0, :, unit[0], unit[1]].argmax())
    real = input_gradient(model, x, unit, channel)  # (H, W)
    inside = real.clone()
    b = layers[-1]["box"]
    inside[b[0]: b[1] + 1, b[2]: b[3] + 1] = 0
    real_nonzero = int((real > 0).sum())

    numbers = {
        "dataset": ds.name, "split": ds.split, "index": params.index, "label": label,
        "stack": params.stack, "seed": params.seed, "input_shape": list(x.shape),
        "output_shape": list(y.shape), "layers": layers,
        "rf_size": [r["size"][0] for r in layers],
        "jump": [r["jump"][0] for r in layers],
        "all_agree": all(r["agree"] for r in layers),
        "real_unit": list(unit), "real_channel": channel,
        "real_activation": float(y[0, channel, unit[0], unit[1]]),
        "real_nonzero": real_nonzero,
        "real_fraction_of_field": real_nonzero / layers[-1]["box_area"],
        "real_outside_field": int((inside > 0).sum()),
    }

    result = Result("receptive-field", numbers)
    result.say("lab.receptive_field.data", dataset=ds.name, split=ds.split, index=params.index,
               label=label, stack=params.stack, shape=list(x.shape), out=list(y.shape))
    result.say("lab.receptive_field.formula")
    for r in layers:
        result.say("lab.receptive_field.layer", depth=r["depth"], kind=r["kind"],
                   k=r["kernel"][0], s=r["stride"][0], d=r["dilation"][0], out=r["out"][0],
                   size=r["size"][0], jump=r["jump"][0], start=r["start"][0],
                   verdict="✓" if r["agree"] else "✗")
    result.say("lab.receptive_field.agree" if numbers["all_agree"] else "lab.receptive_field.disagree",
               n=len(layers))
    if not all(r["filled"] for r in layers):
        result.say("lab.receptive_field.holes")
    result.say("lab.receptive_field.clipped", size=layers[-1]["size"][0], h=hw[0],
               box=layers[-1]["box"])
    result.say("lab.receptive_field.real", nonzero=real_nonzero, area=layers[-1]["box_area"],
               pct=100 * numbers["real_fraction_of_field"], outside=numbers["real_outside_field"])
    result.say("lab.receptive_field.truth")

    from cnnlab.viz.fonts import figure_lang

    flang = figure_lang(lang)
    result.lang = flang
    result.figures["growth"] = _growth_figure(image[0].numpy(), layers, flang, label)
    result.figures["gradients"] = _gradient_figure(image[0].numpy(), layers, grads, real.numpy(),
                                                   flang)
    return result


def _box_patch(box: list[int], color: Any, lw: float = 1.8, label: str | None = None) -> Any:
    from matplotlib.patches import Rectangle

    top, bottom, left, right = box
    return Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1, fill=False,
                     edgecolor=color, linewidth=lw, label=label)


def _growth_figure(img: Any, layers: list[dict[str, Any]], lang: str, label: int) -> Any:
    """Left: the centre unit's field of every layer drawn on the digit. Right: size/jump vs depth."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from cnnlab.i18n import t

    fig = Figure(figsize=(11, 4.8), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    ax.imshow(img, cmap="gray")
    colors = colormaps["viridis"]
    n = len(layers)
    for r in layers:
        ax.add_patch(_box_patch(r["box"], colors(r["depth"] / max(n, 1)),
                                label=t("lab.receptive_field.fig.box", lang, depth=r["depth"],
                                        kind=r["kind"], size=r["size"][0])))
    ax.set_title(t("lab.receptive_field.fig.on_digit", lang, label=label), fontsize=10)
    ax.axis("off")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)

    depth = [r["depth"] for r in layers]
    ax2.plot(depth, [r["size"][0] for r in layers], "o-", label=t("lab.receptive_field.fig.size", lang))
    ax2.plot(depth, [r["measured"][0] for r in layers], "x", color="#d62728", markersize=10,
             label=t("lab.receptive_field.fig.measured", lang))
    ax2.plot(depth, [r["jump"][0] for r in layers], "s--", color="#7f7f7f",
             label=t("lab.receptive_field.fig.jump", lang))
    ax2.axhline(img.shape[0], color="#2ca02c", linestyle=":",
                label=t("lab.receptive_field.fig.image", lang, h=img.shape[0]))
    ax2.set_xlabel(t("lab.receptive_field.fig.depth", lang))
    ax2.set_ylabel(t("lab.receptive_field.fig.pixels", lang))
    ax2.set_title(t("lab.receptive_field.fig.growth", lang), fontsize=10)
    ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    return fig


def _gradient_figure(img: Any, layers: list[dict[str, Any]], grads: list[Any], real: Any,
                     lang: str) -> Any:
    """One panel per layer: |gradient| of the linearised stack (log scale) with the formula's box;
    last panel: the real network's gradient on the digit."""
    import numpy as np
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    show = list(range(len(layers)))[-7:]  # at most 7 layer panels (the deepest ones)
    ncols = min(4, len(show) + 1)
    nrows = -(-(len(show) + 1) // ncols)
    fig = Figure(figsize=(2.8 * ncols, 2.9 * nrows + 0.4), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes:
        ax.axis("off")
    for ax, i in zip(axes, show):
        g = grads[i].numpy()
        shown = np.where(g > 0, np.log10(np.where(g > 0, g, 1.0)), np.nan)  # log: sums grow fast
        ax.imshow(img, cmap="gray", alpha=0.35)
        ax.imshow(shown, cmap="magma", alpha=0.9)
        ax.add_patch(_box_patch(layers[i]["box"], "#2ca02c", lw=1.2))
        ax.set_title(t("lab.receptive_field.fig.grad", lang, depth=layers[i]["depth"],
                       size=layers[i]["size"][0]), fontsize=9)
    ax = axes[len(show)]
    ax.imshow(img, cmap="gray")
    mask = np.ma.masked_where(real <= 0, real)
    ax.imshow(mask, cmap="viridis", alpha=0.85)
    ax.add_patch(_box_patch(layers[-1]["box"], "#2ca02c", lw=1.2))
    ax.set_title(t("lab.receptive_field.fig.real", lang), fontsize=9)
    fig.suptitle(t("lab.receptive_field.fig.grad_title", lang), fontsize=10)
    return fig


__all__ = ["ReceptiveFieldParams", "parse_stack", "run"]
