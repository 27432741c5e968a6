"""Pooling: max vs average on a real digit, and how much a small shift changes features with and
without pooling.

Part 1: ``MaxPool2d(p)`` and ``AvgPool2d(p)`` on the digit ``(1, 1, 28, 28) → (1, 1, 28/p, 28/p)``;
the values of one ``2p×2p`` window (the inkiest pool-aligned one) and its ``2×2`` pooled outputs.

Part 2: features ``f`` of a fixed random ``Conv2d(1, C, 3, padding=1) + ReLU`` (seeded), followed by
nothing, one max-pool, one average pool, two max-pools or a global max-pool. For each shift ``s``
(the digit moved ``s`` pixels right, zeros filling in) and ``n_images`` digits::

    relative change = ‖f(shift_s x) − f(x)‖₂ / ‖f(x)‖₂           (averaged over the digits)

Without pooling the conv map only moves (equivariance: ``conv(shift x) = shift(conv x)`` away from the
border), but compared position by position it changes a lot; pooling over ``p×p`` windows makes
a shift smaller than the window change the features less — partial, not full, invariance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnlab.errors import ConfigError
from cnnlab.lab.common import DataParams, open_data
from cnnlab.lab.registry import register
from cnnlab.result import Result

FEATURES = ("pixels", "conv", "conv_maxpool", "conv_avgpool", "conv_maxpool2", "conv_globalmax")


@dataclass
class PoolingParams(DataParams):
    index: int = field(default=0, metadata={"help": "lab.param.index", "min": 0})
    # the digit whose pooled values are shown
    pool: int = field(default=2, metadata={"help": "lab.pooling.param.pool", "min": 1, "max": 14})
    # the note's MaxPool2d(2): halves each side
    max_shift: int = field(default=4, metadata={"help": "lab.pooling.param.max_shift", "min": 1,
                                                "max": 27})
    # shifts 0..max_shift pixels; MNIST digits have a 4-pixel empty margin, so ≤ 4 loses no ink
    n_images: int = field(default=500, metadata={"help": "lab.pooling.param.n_images", "min": 1})
    # digits averaged for the shift curves (the first n of the split)
    channels: int = field(default=8, metadata={"help": "lab.pooling.param.channels", "min": 1,
                                               "max": 256})
    # feature maps of the random conv layer
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0})
    # seeds the random conv layer


def shift_right(x: Any, s: int) -> Any:
    """``x (N, C, H, W)`` moved ``s`` pixels right, zeros entering on the left (nothing wraps)."""
    import torch.nn.functional as F

    if s == 0:
        return x
    return F.pad(x, (s, 0))[..., : x.shape[-1]]  # pad left by s, crop the right s columns


def features(x: Any, conv: Any, pool: int) -> dict[str, Any]:
    """Each feature kind of the module docstring for ``x (N, 1, H, W)``, flattened to ``(N, D)``."""
    import torch.nn.functional as F

    c = F.relu(conv(x))  # (N, C, H, W)
    out = {"pixels": x, "conv": c, "conv_maxpool": F.max_pool2d(c, pool),
           "conv_avgpool": F.avg_pool2d(c, pool),
           "conv_maxpool2": F.max_pool2d(F.max_pool2d(c, pool), pool) if c.shape[-1] >= pool * pool
           else F.max_pool2d(c, pool),
           "conv_globalmax": F.adaptive_max_pool2d(c, 1)}
    return {k: v.flatten(1) for k, v in out.items()}


def _window(img: Any, pool: int) -> tuple[int, int]:
    """Top-left of the pool-aligned ``2p×2p`` window where max and average pooling differ most
    (a stroke edge: the most instructive values to show)."""
    import torch.nn.functional as F

    x = img[None, None]  # (1, 1, H, W)
    gap = F.max_pool2d(x, pool) - F.avg_pool2d(x, pool)  # (1, 1, H/p, W/p)
    score = F.avg_pool2d(gap, 2, stride=1)[0, 0]  # 2×2 pooled cells = one 2p×2p window
    r, c = divmod(int(score.argmax()), score.shape[1])
    return r * pool, c * pool


@register("pooling", PoolingParams, "lab.pooling.title", quick={"data": "mnist-sample",
                                                                 "n_images": 100})
def run(params: PoolingParams, *, lang: str | None = None, callback: Any = None) -> Result:
    import torch
    import torch.nn.functional as F
    from torch import nn

    ds = open_data(params)
    i = ds.check_index(params.index)
    h = ds.images.shape[-1]
    if params.max_shift >= h:
        raise ConfigError("lab.pooling.bad_shift", value=params.max_shift, high=h - 1, size=h)
    if 2 * params.pool > h:
        raise ConfigError("lab.pooling.bad_pool", value=params.pool, high=h // 2, size=h)
    n = min(params.n_images, len(ds))

    # Part 1: one digit
    x, label = ds[i]  # (1, H, W)
    xb = x.unsqueeze(0)  # (1, 1, H, W)
    mx, av = F.max_pool2d(xb, params.pool), F.avg_pool2d(xb, params.pool)  # (1, 1, H/p, W/p)
    r0, c0 = _window(x[0], params.pool)
    w = 2 * params.pool
    win = x[0, r0: r0 + w, c0: c0 + w]  # (2p, 2p)
    win_max = F.max_pool2d(win[None, None], params.pool)[0, 0]  # (2, 2)
    win_avg = F.avg_pool2d(win[None, None], params.pool)[0, 0]

    # Part 2: shift sensitivity, averaged over n digits
    torch.manual_seed(params.seed)
    conv = nn.Conv2d(1, params.channels, 3, padding=1)
    images = torch.from_numpy(ds.images[:n]).float().div(255).unsqueeze(1)  # (n, 1, H, W)
    shifts = list(range(params.max_shift + 1))
    curves: dict[str, list[float]] = {k: [] for k in FEATURES}
    with torch.no_grad():
        base = features(images, conv, params.pool)
        for s in shifts:
            moved = features(shift_right(images, s), conv, params.pool)
            for k in FEATURES:
                rel = (moved[k] - base[k]).norm(dim=1) / base[k].norm(dim=1).clamp_min(1e-12)
                curves[k].append(float(rel.mean()))
            if callback is not None:
                callback({"experiment": "pooling", "shift": s})
        # equivariance of the conv itself, columns away from the border only
        c1 = F.relu(conv(shift_right(images, 1)))
        c0_ = shift_right(F.relu(conv(images)), 1)
        inner = slice(2, h - 1)
        equiv = float((c1[..., inner] - c0_[..., inner]).abs().max())

    at1 = {k: curves[k][1] for k in FEATURES}
    numbers = {
        "dataset": ds.name, "split": ds.split, "index": i, "label": label, "pool": params.pool,
        "seed": params.seed, "n_images": n, "channels": params.channels,
        "input_shape": list(xb.shape), "maxpool_shape": list(mx.shape),
        "avgpool_shape": list(av.shape),
        "window_top_left": [r0, c0], "window": win.tolist(),
        "window_max": win_max.tolist(), "window_avg": win_avg.tolist(),
        "shifts": shifts, "relative_change": curves, "relative_change_at_1": at1,
        "conv_equivariance_max_abs_error": equiv,
    }

    result = Result("pooling", numbers)
    result.say("lab.pooling.data", dataset=ds.name, split=ds.split, index=i, label=label)
    result.say("lab.pooling.shapes", pool=params.pool, shape=list(xb.shape), out=list(mx.shape))
    result.say("lab.pooling.window", r=r0, c=c0, w=w,
               mx=[[round(v, 2) for v in row] for row in win_max.tolist()],
               av=[[round(v, 2) for v in row] for row in win_avg.tolist()])
    result.say("lab.pooling.max_vs_avg")
    result.say("lab.pooling.shift_setup", n=n, channels=params.channels)
    result.say("lab.pooling.at1", pixels=100 * at1["pixels"], conv=100 * at1["conv"],
               mp=100 * at1["conv_maxpool"], ap=100 * at1["conv_avgpool"],
               mp2=100 * at1["conv_maxpool2"], gm=100 * at1["conv_globalmax"], pool=params.pool)
    result.say("lab.pooling.equivariance", err=equiv)
    result.say("lab.pooling.truth", pool=params.pool)

    from cnnlab.viz.fonts import figure_lang

    flang = figure_lang(lang)
    result.lang = flang
    result.figures["max_vs_avg"] = _pool_figure(x[0].numpy(), mx[0, 0].numpy(), av[0, 0].numpy(),
                                                win.numpy(), win_max.numpy(), win_avg.numpy(),
                                                (r0, c0), flang)
    result.figures["shift"] = _shift_figure(shifts, curves, params.pool, flang)
    return result


def _values(ax: Any, m: Any, title: str) -> None:
    ax.imshow(m, cmap="gray", vmin=0, vmax=1)
    for (a, b), v in zip(((a, b) for a in range(m.shape[0]) for b in range(m.shape[1])),
                         m.flatten().tolist()):
        ax.text(b, a, f"{v:.2f}", ha="center", va="center", fontsize=8,
                color="black" if v > 0.5 else "white")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def _pool_figure(img: Any, mx: Any, av: Any, win: Any, win_max: Any, win_avg: Any,
                 corner: tuple[int, int], lang: str) -> Any:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from cnnlab.i18n import t

    fig = Figure(figsize=(13, 3.4), layout="constrained")
    axes = fig.subplots(1, 6, width_ratios=[1, 1, 1, 1.25, 0.8, 0.8])
    axes[0].imshow(img, cmap="gray")
    w = win.shape[0]
    axes[0].add_patch(Rectangle((corner[1] - 0.5, corner[0] - 0.5), w, w, fill=False,
                                edgecolor="#d62728", linewidth=1.5))
    axes[0].set_title(t("lab.pooling.fig.input", lang, h=img.shape[0]), fontsize=9)
    axes[1].imshow(mx, cmap="gray")
    axes[1].set_title(t("lab.pooling.fig.max", lang, h=mx.shape[0]), fontsize=9)
    axes[2].imshow(av, cmap="gray")
    axes[2].set_title(t("lab.pooling.fig.avg", lang, h=av.shape[0]), fontsize=9)
    for ax in axes[:3]:
        ax.axis("off")
    _values(axes[3], win, t("lab.pooling.fig.window", lang, w=w))
    _values(axes[4], win_max, t("lab.pooling.fig.win_max", lang))
    _values(axes[5], win_avg, t("lab.pooling.fig.win_avg", lang))
    return fig


def _shift_figure(shifts: list[int], curves: dict[str, list[float]], pool: int, lang: str) -> Any:
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    fig = Figure(figsize=(7.5, 4.4), layout="constrained")
    ax = fig.subplots()
    styles = {"pixels": ":", "conv": "-", "conv_maxpool": "-", "conv_avgpool": "--",
              "conv_maxpool2": "-", "conv_globalmax": "-."}
    for k in FEATURES:
        ax.plot(shifts, [100 * v for v in curves[k]], styles[k], marker="o",
                label=t(f"lab.pooling.fig.{k}", lang, p=pool))
    ax.set_xlabel(t("lab.pooling.fig.shift", lang))
    ax.set_ylabel(t("lab.pooling.fig.change", lang))
    ax.set_title(t("lab.pooling.fig.shift_title", lang), fontsize=10)
    ax.set_xticks(shifts)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


__all__ = ["PoolingParams", "FEATURES", "features", "shift_right", "run"]
