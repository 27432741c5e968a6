"""``receptive-field --model SOURCE``: how the field grows through a user's own network.

Every ``Conv2d``/``MaxPool2d``/``AvgPool2d`` call of the model's forward pass, in call order
(:func:`cnnlab.lab.user_model.geometric_calls`), gets two fields for the centre unit of its output:

- **formula** — the chain rule of :func:`cnnlab.inspect.receptive_field.receptive_fields` over the
  calls so far, *as if* they formed one chain. Used only where its output size equals the size the
  layer really produced; a branching net (a residual ``+``, parallel paths) breaks the assumption;
- **measured** — :func:`cnnlab.inspect.measured_field.measure_fields`: the nonzero input gradient of
  a linearised copy (weights ``1/fan_in``, max → average pools, an input of ones), valid for any
  data flow; a field that reaches the image border is a lower bound (``clipped``).

Where both exist they must agree; the first layer where they do not is where the net stops being
a chain. With the model's own weights (and ReLUs, max-pools) the gradient of the centre unit on the
image — and on the image's pixels shuffled, the control — gives the *central share* of the
effective field (as in :mod:`cnnlab.lab.receptive_field`), for one model and one image: no spread.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.errors import ConfigError
from cnnlab.i18n import Msg
from cnnlab.lab.user_model import Call, UserModel, geometric_calls, layer_output
from cnnlab.progress import Progress, emit
from cnnlab.result import Message

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

MAX_CALLS = 24  # layers measured (a ResNet-18 has 20 conv calls + 1 pool)


@dataclass(frozen=True)
class UserLayer:
    name: str  # qualified module name (+ "#k" for its k-th call)
    kind: str
    out: tuple[int, ...]  # (C, H, W) the layer produced
    formula: int  # formula size (H axis), 0 where the chain assumption fails
    formula_jump: int
    measured: tuple[int, int]  # measured size (H, W), (0, 0) when the unit ignores the input
    measured_jump: int  # 0: unknown (one unit on an axis)
    clipped: bool  # the measured support reached the border: a lower bound
    agree: bool  # formula exists and equals the measurement (size and jump)
    box: tuple[int, int, int, int]  # centre unit's field on the image (top, bottom, left, right)
    share_linear: float
    share_real: float  # the model's own weights, the image
    share_shuffled: float  # the same, the image's pixels shuffled
    nonzero_real: int  # pixels with nonzero gradient (own weights, the image)


@dataclass(frozen=True)
class UserFields:
    model: dict[str, Any]  # UserModel.describe()
    channels_fit: str  # same | repeated | averaged
    layers: tuple[UserLayer, ...]
    chain: bool  # every formula exists and agrees
    first_branch: int  # 1-based layer where formula and measurement first differ (0: none)
    truncated: int  # layers left out past MAX_CALLS
    grad_linear: np.ndarray  # (L, H, W) linearised |gradient| of each layer's centre unit
    grad_real: np.ndarray  # (H, W) the model's own weights, last layer, on the image
    image: np.ndarray  # (H, W) the image (channel mean)


def _centre_grad(model: Any, x: torch.Tensor, call: Call) -> tuple[np.ndarray, tuple[int, int]]:
    """``(H, W)`` |∂ Σ_c out[0, c, centre] / ∂x| summed over input channels, and the centre."""
    import torch

    xg = x.detach().clone().requires_grad_(True)
    out = layer_output(model, xg, call)  # (1, C, h, w)
    unit = (out.shape[-2] // 2, out.shape[-1] // 2)
    (g,) = torch.autograd.grad(out[0, :, unit[0], unit[1]].sum(), xg, allow_unused=True)
    if g is None:
        return np.zeros(tuple(x.shape[-2:])), unit
    return g[0].abs().sum(0).detach().double().numpy(), unit


def _formula_rows(calls: list[Call], hw: tuple[int, int]) -> list[Any]:
    """Formula rows (LayerRF) for the chain of calls, None from the first one it cannot take."""
    from torch import nn

    from cnnlab.errors import CnnlabError
    from cnnlab.inspect.receptive_field import receptive_fields

    rows: list[Any] = []
    for i in range(len(calls)):
        try:
            chain = nn.Sequential(*[copy.deepcopy(c.module) for c in calls[: i + 1]])
            rows.append(receptive_fields(chain, hw)[-1])
        except (CnnlabError, ValueError, TypeError):
            rows += [None] * (len(calls) - i)
            break
    return rows


def _no_max() -> Any:
    try:  # functional max pools (F.max_pool2d in a forward) averaged too, as in measure_fields
        from cnnlab.inspect.measured_field import _NoMax

        return _NoMax()
    except ImportError:  # pragma: no cover - an older inspect module
        return contextlib.nullcontext()


def measure_user(
    user: UserModel, image: torch.Tensor, progress: Progress | None = None
) -> tuple[UserFields, Any]:
    """The fields of every geometric layer of ``user`` on ``image (C, H, W)`` in [0, 1]; also
    returns the LayerField rows in the shape the built-in experiment's text and numbers use."""
    import torch

    from cnnlab.inspect.measured_field import linearised, measure_fields
    from cnnlab.lab.receptive_field import central_share

    x, how = user.feed(image.unsqueeze(0))  # (1, C', H, W)
    hw = (int(x.shape[-2]), int(x.shape[-1]))
    calls = geometric_calls(user, x)
    if not calls:
        raise ConfigError("lab.user.no_conv", model=user.name, source=user.source)
    truncated = max(0, len(calls) - MAX_CALLS)
    calls = calls[:MAX_CALLS]
    rows = _formula_rows(calls, hw)
    measured = measure_fields(user.model, tuple(x.shape[1:]), [(c.name, c.call) for c in calls])
    twin = linearised(user.model)
    ones = torch.ones_like(x, dtype=torch.float64)  # (1, C', H, W)
    gen = torch.Generator().manual_seed(0)
    x_shuf = x.flatten()[torch.randperm(x.numel(), generator=gen)].view_as(x)  # same values
    layers: list[UserLayer] = []
    grad_linear = np.zeros((len(calls), *hw))
    grad_real = np.zeros(hw)
    for i, (call, row) in enumerate(zip(calls, rows, strict=True)):
        m = measured.get((call.name, call.call))
        with _no_max():
            g_lin, unit = _centre_grad(twin, ones, call)
        grad_linear[i] = g_lin
        g_real, _ = _centre_grad(user.model, x, call)
        g_shuf, _ = _centre_grad(user.model, x_shuf, call)
        formula_ok = row is not None and tuple(row.out) == tuple(call.out[1:])
        m_size = tuple(m.size) if m is not None else (0, 0)
        m_jump = int(m.jump[0]) if m is not None and m.jump else 0
        agree = bool(
            formula_ok
            and m is not None
            and not m.clipped
            and m_size == tuple(row.size)
            and (m_jump == 0 or m_jump == row.jump[0])
        )
        if formula_ok:
            size, first = (
                row.size[0],
                (
                    row.left[0] + unit[0] * row.jump[0],
                    row.left[1] + unit[1] * row.jump[1],
                ),
            )
        else:  # the measured support of the linearised copy is the field
            nz = np.nonzero(g_lin > 0)
            size = m_size[0]
            first = (int(nz[0].min()), int(nz[1].min())) if len(nz[0]) else (0, 0)
        box = (
            max(first[0], 0),
            min(first[0] + size - 1, hw[0] - 1),
            max(first[1], 0),
            min(first[1] + size - 1, hw[1] - 1),
        )
        layers.append(
            UserLayer(
                name=call.name + (f"#{call.call}" if call.call else ""),
                kind=call.kind,
                out=tuple(int(v) for v in call.out),
                formula=int(row.size[0]) if formula_ok else 0,
                formula_jump=int(row.jump[0]) if formula_ok else 0,
                measured=(int(m_size[0]), int(m_size[1])),
                measured_jump=m_jump,
                clipped=bool(m.clipped) if m is not None else False,
                agree=agree,
                box=box,
                share_linear=central_share(g_lin, first, size) if size else float("nan"),
                share_real=central_share(g_real, first, size) if size else float("nan"),
                share_shuffled=central_share(g_shuf, first, size) if size else float("nan"),
                nonzero_real=int((g_real > 0).sum()),
            )
        )
        if i == len(calls) - 1:
            grad_real = g_real
        emit(progress, "stage", stage="layer", index=i + 1, total=len(calls))
    differ = [i + 1 for i, lay in enumerate(layers) if not lay.agree]
    return UserFields(
        model=user.describe(),
        channels_fit=how,
        layers=tuple(layers),
        chain=not differ,
        first_branch=differ[0] if differ else 0,
        truncated=truncated,
        grad_linear=grad_linear.astype(np.float32),
        grad_real=grad_real.astype(np.float32),
        image=image.mean(0).numpy().astype(np.float32),
    ), x


def _pct(v: float) -> float:
    return 100.0 * v


def explain_user(u: UserFields, dataset: str, item: dict[str, Any], split: str) -> list[Message]:
    m = u.model
    out: list[Message] = [
        (
            "lab.user.setup",
            {
                "name": m["name"],
                "kind": Msg(f"lab.user.kind.{m['kind']}"),
                "weights": Msg(
                    "lab.user.weights.trained" if m["trained"] else "lab.user.weights.init"
                ),
                "dataset": dataset,
                "split": Msg(f"lab.split.{split}"),
                **item,
            },
        ),
        ("lab.user.feed_standardised" if m["standardised"] else "lab.user.feed_raw", {}),
    ]
    if u.channels_fit != "same":
        out.append((f"lab.user.channels_{u.channels_fit}", {"c": m["in_channels"]}))
    out.append(("lab.receptive_field.user.how", {"n": len(u.layers)}))
    for i, lay in enumerate(u.layers):
        words = {
            "i": i + 1,
            "name": lay.name,
            "kind": lay.kind,
            "out": "×".join(map(str, lay.out)),
            "measured": f"{lay.measured[0]}×{lay.measured[1]}",
            "mjump": lay.measured_jump or "—",
            "verdict": "✓" if lay.agree else ("≥" if lay.clipped else "✗"),
        }
        if lay.formula:
            words.update(formula=lay.formula, jump=lay.formula_jump)
            out.append(("lab.receptive_field.user.layer", words))
        else:
            out.append(("lab.receptive_field.user.layer_no_formula", words))
    if u.truncated:
        out.append(("lab.receptive_field.user.truncated", {"n": u.truncated}))
    if u.chain:
        out.append(("lab.receptive_field.user.chain", {"n": len(u.layers)}))
    else:
        lay = u.layers[u.first_branch - 1]
        key = "clipped" if lay.clipped and lay.formula else "branch"
        out.append((f"lab.receptive_field.user.{key}", {"i": u.first_branch, "name": lay.name}))
    last = u.layers[-1]
    area = (last.box[1] - last.box[0] + 1) * (last.box[3] - last.box[2] + 1)
    out.append(
        (
            "lab.receptive_field.user.real",
            {
                "nonzero": last.nonzero_real,
                "area": area,
                "real": _pct(last.share_real),
                "shuf": _pct(last.share_shuffled),
                "lin": _pct(last.share_linear),
                "uniform": 25.0,
            },
        )
    )
    out.append(("lab.receptive_field.user.truth", {}))
    return out


def draw_user(u: UserFields, lang: str) -> dict[str, Figure]:
    return {"growth": _growth(u, lang), "gradients": _gradients(u, lang)}


def _growth(u: UserFields, lang: str) -> Figure:
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import MaxNLocator

    from cnnlab.i18n import t
    from cnnlab.lab.receptive_field_figures import style_erf_axis

    fig = Figure(figsize=(15, 4.8), layout="constrained")
    ax, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.25, 1, 1])
    ax.imshow(u.image, cmap="gray")
    colors = colormaps["viridis"]
    n = len(u.layers)
    for i, lay in enumerate(u.layers):
        top, bottom, left, right = lay.box
        ax.add_patch(
            Rectangle(
                (left - 0.5, top - 0.5),
                right - left + 1,
                bottom - top + 1,
                fill=False,
                edgecolor=colors((i + 1) / max(n, 1)),
                linewidth=1.6,
                label=f"{i + 1}. {lay.name} ({lay.kind})",
            )
        )
    ax.set_title(
        t("lab.receptive_field.user.fig.on_image", lang, name=u.model["name"]), fontsize=10
    )
    ax.axis("off")
    if n <= 12:
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    depth = list(range(1, n + 1))
    formula = [lay.formula if lay.formula else np.nan for lay in u.layers]
    ax2.plot(depth, formula, "o-", label=t("lab.receptive_field.fig.size", lang))
    ax2.plot(
        depth,
        [lay.measured[0] for lay in u.layers],
        "x",
        color="#d62728",
        markersize=10,
        label=t("lab.receptive_field.user.fig.measured", lang),
    )
    ax2.axhline(
        u.image.shape[0],
        color="#2ca02c",
        linestyle=":",
        label=t("lab.receptive_field.fig.image", lang, h=u.image.shape[0]),
    )
    ax2.set_xlabel(t("lab.receptive_field.fig.depth", lang))
    ax2.set_ylabel(t("lab.receptive_field.fig.pixels", lang))
    ax2.set_title(t("lab.receptive_field.fig.growth", lang), fontsize=10)
    ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    ax3.axhline(
        25.0, color="#7f7f7f", linestyle=":", label=t("lab.receptive_field.fig.uniform", lang)
    )
    for attr, style, color, key in (
        ("share_linear", "o-", "#1f77b4", "lab.receptive_field.user.fig.linear"),
        ("share_real", "s--", "#d62728", "lab.receptive_field.user.fig.real"),
        ("share_shuffled", "s--", "#ff7f0e", "lab.receptive_field.user.fig.shuffled"),
    ):
        ax3.plot(
            depth,
            [100 * getattr(lay, attr) for lay in u.layers],
            style,
            color=color,
            label=t(key, lang),
        )
    style_erf_axis(ax3, lang)
    return fig


def _gradients(u: UserFields, lang: str) -> Figure:
    """The linearised copy's |gradient| for the deepest layers, and the model's own last."""
    from cnnlab.i18n import t
    from cnnlab.lab.receptive_field_figures import gradient_panels

    show, fig, axes = gradient_panels(len(u.layers))
    for ax, i in zip(axes, show):
        g, lay = u.grad_linear[i], u.layers[i]
        ax.imshow(u.image, cmap="gray", alpha=0.35)
        ax.imshow(np.ma.masked_where(g <= 0, g), cmap="magma", alpha=0.9, vmin=0)
        ax.set_title(
            t("lab.receptive_field.user.fig.grad", lang, i=i + 1, name=lay.name, m=lay.measured[0]),
            fontsize=8,
        )
    ax = axes[len(show)]
    ax.imshow(u.image, cmap="gray")
    g = u.grad_real
    ax.imshow(np.ma.masked_where(g <= 0, g), cmap="viridis", alpha=0.85, vmin=0)
    ax.set_title(t("lab.receptive_field.user.fig.real_last", lang), fontsize=8)
    fig.suptitle(t("lab.receptive_field.user.fig.grad_title", lang), fontsize=10)
    return fig


__all__ = ["UserLayer", "UserFields", "measure_user", "explain_user", "draw_user"]
