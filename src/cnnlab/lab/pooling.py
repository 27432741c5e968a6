"""Pooling: max vs average on a real digit, and which shifts a stride-``p`` pooling layer commutes
with — exactly for whole cells, only approximately (aliasing) in between, better with a blur first.

Part 1: ``MaxPool2d(p)`` and ``AvgPool2d(p)`` on the digit ``(1, 1, 28, 28) → (1, 1, 28/p, 28/p)``;
the values of one ``2p×2p`` window (the one where the two differ most) and its ``2×2`` pooled
outputs.

Part 2 (Zhang 2019, "Making convolutional networks shift-invariant again"). Features
``f = ReLU(conv(x))`` of a seeded random ``Conv2d(1, C, 3, padding=1, bias=False)``; without a bias
the zero background stays exactly zero, so the conv map moves with the input (measured:
``conv_equivariance_max_abs_error``) and any residual below comes from the pooling. Each digit sits
on a zero canvas widened by ``margin`` pixels on every side, so no ink leaves the frame for shifts
``s = 0 … max_shift`` to the right. For a pooling ``P`` of stride ``p``::

    residual(s) = min over k in {floor(s/p), ceil(s/p)} of ‖P(S_s f) − S_k P(f)‖₂ / ‖P(f)‖₂

(``S_s``: move right by ``s`` pixels, ``S_k``: by ``k`` pooled cells; averaged over the digits.)
For ``s`` a multiple of ``p`` every window lands on another whole window and the residual is 0;
for other shifts the windows are cut differently and the pooled map changes by more than a move
(aliasing). Methods: ``max`` = ``MaxPool2d(p)``, ``avg`` = ``AvgPool2d(p)``, ``max_blur`` =
``MaxPool2d(p, stride=1)`` → binomial blur → keep every ``p``-th cell (Zhang's MaxBlurPool),
``avg_blur`` = the same with ``AvgPool2d(p, stride=1)``. The blur is the binomial filter of length
``2p - 1`` (``[1, 2, 1] ⊗ [1, 2, 1] / 16`` for ``p = 2``). The same residual on the raw pixels (no
conv, no seed) is a second view. Global max pooling is exact by construction (the largest value of a
map does not depend on where it sits): a reference, not a finding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.errors import ConfigError
from cnnlab.i18n import Msg
from cnnlab.lab.common import DataParams, item_words, open_data
from cnnlab.lab.registry import SEED_MAX, register
from cnnlab.lab.stats import Spread, spread
from cnnlab.progress import Progress, emit
from cnnlab.result import Message

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

METHODS = ("max", "avg", "max_blur", "avg_blur")
BLURRED = {"max": "max_blur", "avg": "avg_blur"}  # plain pooling → its anti-aliased version
BATCH = 100  # digits per forward pass: keeps the widened canvases small in memory


@dataclass
class PoolingParams(DataParams):
    index: int = field(default=0, metadata={"help": "lab.param.index", "min": 0})
    # the digit whose pooled values are shown
    pool: int = field(default=2, metadata={"help": "lab.pooling.param.pool", "min": 2, "max": 14})
    # the note's MaxPool2d(2): halves each side (1 would be the identity: nothing to measure)
    max_shift: int = field(
        default=4, metadata={"help": "lab.pooling.param.max_shift", "min": 1, "max": 27}
    )
    # shifts 0..max_shift pixels = 0..2 pooled cells for pool 2; must reach one whole cell (≥ pool)
    n_images: int = field(
        default=200, metadata={"help": "lab.pooling.param.n_images", "min": 1, "max": 60_000}
    )
    # digits averaged for the residual curves (the first n of the split); 500 moved every residual
    # by less than 0.6 points (max pooling 41.0 → 41.4 ± 2.7%) for 2.5× the time
    channels: int = field(
        default=8, metadata={"help": "lab.pooling.param.channels", "min": 1, "max": 256}
    )
    # feature maps of the random conv layer
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0, "max": SEED_MAX})
    # the first conv seed; the others are seed + 1, …
    seeds: int = field(default=3, metadata={"help": "lab.pooling.param.seeds", "min": 1, "max": 20})
    # random conv layers the residuals are averaged over (mean ± std)


@dataclass(frozen=True)
class PoolingNumbers:
    dataset: str
    split: str
    index: int
    label: int
    pool: int
    seed: int
    seeds: int
    n_images: int
    channels: int
    input_shape: tuple[int, ...]  # (N, C, H, W) of the one digit
    maxpool_shape: tuple[int, ...]
    avgpool_shape: tuple[int, ...]
    window_top_left: tuple[int, int]
    window: np.ndarray  # (2p, 2p) pixel values
    window_max: np.ndarray  # (2, 2)
    window_avg: np.ndarray  # (2, 2)
    image: np.ndarray  # (H, W)
    maps: dict[str, np.ndarray]  # method → (H/p, W/p) pooled digit
    blur_kernel: list[float]  # the 1-D binomial filter (the 2-D one is its outer product)
    margin: int  # zero pixels added on each side of the digit for the shift test
    canvas: int  # side of the widened canvas
    shifts: tuple[int, ...]
    aligned: tuple[int, ...]  # nonzero shifts that are multiples of pool
    misaligned: tuple[int, ...]  # the others
    methods: tuple[str, ...]
    residual_pixels: dict[str, list[float]]  # method → residual per shift, on raw pixels
    residual_conv: dict[str, list[list[float]]]  # method → seed → residual per shift
    residual_conv_mean: dict[str, list[float]]  # method → mean over seeds per shift
    residual_conv_std: dict[str, list[float]]  # method → sample std over seeds (0: one seed)
    aligned_max: float  # largest residual at aligned shifts, any method, seed or pixels
    misaligned_conv: dict[str, Spread]  # method → mean residual over misaligned shifts, over seeds
    misaligned_pixels: dict[str, float]
    blur_reduction: dict[str, Spread]  # plain method → % reduction of misaligned residual by blur
    blur_reduction_pixels: dict[str, float]
    global_max_residual: float  # max |globalmax(f(S_s x)) − globalmax(f(x))|: 0 by construction
    conv_equivariance_max_abs_error: float  # max |f(S_1 x) − S_1 f(x)| over the whole canvas


# --------------------------------------------------------------------------------------------------
# the operations


def shift_right(x: torch.Tensor, s: int) -> torch.Tensor:
    """``x (N, C, H, W)`` moved ``s`` pixels right, zeros entering on the left (nothing wraps)."""
    import torch.nn.functional as F

    if s == 0:
        return x
    return F.pad(x, (s, 0))[..., : x.shape[-1]]  # pad left by s, crop the right s columns


def binomial(pool: int) -> np.ndarray:
    """The 1-D binomial blur for stride ``pool``: row ``2·pool − 2`` of Pascal's triangle, sum 1.

    ``pool = 2`` gives ``[1, 2, 1] / 4`` (Zhang 2019's default "Tri-3" filter).
    """
    n = 2 * pool - 2
    row = np.array([math.comb(n, i) for i in range(n + 1)], dtype=np.float64)
    return row / row.sum()


def blur_subsample(x: torch.Tensor, pool: int) -> torch.Tensor:
    """Blur each channel of ``x (N, C, H, W)`` with the 2-D binomial filter (zero padding, size
    kept), then keep every ``pool``-th row and column → ``(N, C, ceil(H/p), ceil(W/p))``."""
    import torch
    import torch.nn.functional as F

    b = torch.from_numpy(binomial(pool)).to(x.dtype)
    k = torch.outer(b, b).expand(x.shape[1], 1, len(b), len(b))  # (C, 1, 2p-1, 2p-1) depthwise
    return F.conv2d(x, k, padding=pool - 1, groups=x.shape[1])[..., ::pool, ::pool]


def pool_by(method: str, x: torch.Tensor, pool: int) -> torch.Tensor:
    """One of :data:`METHODS` on ``x (N, C, H, W)`` with ``H, W`` multiples of ``pool``."""
    import torch.nn.functional as F

    if method == "max":
        return F.max_pool2d(x, pool)
    if method == "avg":
        return F.avg_pool2d(x, pool)
    dense = F.pad(x, (0, pool - 1, 0, pool - 1))  # stride 1 keeps the size: (N, C, H, W) out
    if method == "max_blur":  # padding with 0 is padding with -inf here: x ≥ 0 (pixels, ReLU)
        return blur_subsample(F.max_pool2d(dense, pool, stride=1), pool)
    if method == "avg_blur":
        return blur_subsample(F.avg_pool2d(dense, pool, stride=1), pool)
    raise ValueError(f"unknown pooling method {method!r}; valid: {', '.join(METHODS)}")


def residuals(
    pooled: torch.Tensor, pooled_shifted: torch.Tensor, s: int, pool: int
) -> torch.Tensor:
    """Per-image ``min_k ‖pooled_shifted − S_k pooled‖ / ‖pooled‖`` over the two whole-cell shifts
    ``k`` next to ``s / pool`` (one when ``pool`` divides ``s``) → ``(N,)``."""
    import torch

    norm = pooled.flatten(1).norm(dim=1).clamp_min(1e-12)  # (N,)
    ks = sorted({s // pool, -(-s // pool)})
    per_k = [(pooled_shifted - shift_right(pooled, k)).flatten(1).norm(dim=1) / norm for k in ks]
    return torch.stack(per_k).amin(0)


def _window(img: torch.Tensor, pool: int) -> tuple[int, int]:
    """Top-left of the pool-aligned ``2p×2p`` window where max and average pooling differ most
    (a stroke edge: the most instructive values to show)."""
    import torch.nn.functional as F

    x = img[None, None]  # (1, 1, H, W)
    gap = F.max_pool2d(x, pool) - F.avg_pool2d(x, pool)  # (1, 1, H/p, W/p)
    score = F.avg_pool2d(gap, 2, stride=1)[0, 0]  # 2×2 pooled cells = one 2p×2p window
    r, c = divmod(int(score.argmax()), score.shape[1])
    return r * pool, c * pool


# --------------------------------------------------------------------------------------------------
# measure → explain → draw


def measure(params: PoolingParams, progress: Progress | None = None) -> PoolingNumbers:
    import torch
    import torch.nn.functional as F
    from torch import nn

    p = params.pool
    ds = open_data(params)
    i = ds.check_index(params.index)
    h = ds.images.shape[-1]
    if 2 * p > h:
        raise ConfigError("lab.pooling.bad_pool", value=p, high=h // 2, size=h)
    if params.max_shift < p:
        raise ConfigError("lab.pooling.bad_shift", value=params.max_shift, pool=p)
    n = min(params.n_images, len(ds))

    # Part 1: one digit
    x, label = ds[i]  # (1, H, W)
    xb = x.unsqueeze(0)  # (1, 1, H, W)
    maps = {m: pool_by(m, xb, p)[0, 0].numpy() for m in METHODS}  # each (H/p, W/p)
    r0, c0 = _window(x[0], p)
    w = 2 * p
    win = x[0, r0 : r0 + w, c0 : c0 + w]  # (2p, 2p)
    win_max = F.max_pool2d(win[None, None], p)[0, 0]  # (2, 2)
    win_avg = F.avg_pool2d(win[None, None], p)[0, 0]

    # Part 2: a canvas no shifted ink leaves — the conv reaches 1 px, the dense pooling p - 1 to
    # the right and the blur p - 1 either side; a multiple of p keeps the pooling grid in place.
    margin = p * math.ceil((params.max_shift + 2 * p - 1) / p)
    shifts = tuple(range(params.max_shift + 1))
    aligned = tuple(s for s in shifts if s and s % p == 0)
    misaligned = tuple(s for s in shifts if s % p)
    images = torch.from_numpy(ds.images[:n]).float().div(255).unsqueeze(1)  # (n, 1, H, W)
    images = F.pad(images, (margin,) * 4)  # (n, 1, H + 2m, W + 2m), zeros all round
    seeds = [params.seed + k for k in range(params.seeds)]
    convs = []
    for sd in seeds:
        torch.manual_seed(sd)
        convs.append(nn.Conv2d(1, params.channels, 3, padding=1, bias=False).eval())

    sums = {(src, m): [0.0] * len(shifts) for src in ["pixels", *seeds] for m in METHODS}
    global_max = equiv = 0.0
    with torch.no_grad():
        for start in range(0, n, BATCH):
            batch = images[start : start + BATCH]  # (b, 1, H', W')
            feats: dict[Any, torch.Tensor] = {"pixels": batch}
            feats.update({sd: F.relu(conv(batch)) for sd, conv in zip(seeds, convs, strict=True)})
            for src, conv in zip(seeds, convs, strict=True):
                moved = F.relu(conv(shift_right(batch, 1)))
                equiv = max(equiv, float((moved - shift_right(feats[src], 1)).abs().max()))
            for src, f in feats.items():
                base = {m: pool_by(m, f, p) for m in METHODS}
                top = f.amax((2, 3))  # (b, C): global max pooling
                for j, s in enumerate(shifts):
                    fs = (
                        shift_right(batch, s)
                        if src == "pixels"
                        else F.relu(convs[seeds.index(src)](shift_right(batch, s)))
                    )
                    for m in METHODS:
                        r = residuals(base[m], pool_by(m, fs, p), s, p)
                        sums[src, m][j] += float(r.sum())
                    global_max = max(global_max, float((fs.amax((2, 3)) - top).abs().max()))
            emit(progress, "stage", stage="shift", index=min(start + BATCH, n), total=n)

    def mean(src: Any, m: str) -> list[float]:
        return [v / n for v in sums[src, m]]

    per_seed = {m: [mean(sd, m) for sd in seeds] for m in METHODS}
    over_mis = {
        m: [float(np.mean([c[s] for s in misaligned])) for c in per_seed[m]] for m in METHODS
    }
    pixels = {m: mean("pixels", m) for m in METHODS}
    pix_mis = {m: float(np.mean([pixels[m][s] for s in misaligned])) for m in METHODS}
    at_aligned = [v[s] for c in per_seed.values() for v in c for s in aligned]
    at_aligned += [pixels[m][s] for m in METHODS for s in aligned]
    return PoolingNumbers(
        dataset=ds.name,
        split=ds.split,
        index=i,
        label=int(label),
        pool=p,
        seed=params.seed,
        seeds=params.seeds,
        n_images=n,
        channels=params.channels,
        input_shape=tuple(xb.shape),
        maxpool_shape=(1, 1, *maps["max"].shape),
        avgpool_shape=(1, 1, *maps["avg"].shape),
        window_top_left=(r0, c0),
        window=win.numpy(),
        window_max=win_max.numpy(),
        window_avg=win_avg.numpy(),
        image=x[0].numpy(),
        maps=maps,
        blur_kernel=binomial(p).tolist(),
        margin=margin,
        canvas=images.shape[-1],
        shifts=shifts,
        aligned=aligned,
        misaligned=misaligned,
        methods=METHODS,
        residual_pixels=pixels,
        residual_conv=per_seed,
        residual_conv_mean={m: np.mean(per_seed[m], 0).tolist() for m in METHODS},
        residual_conv_std={
            m: (
                np.std(per_seed[m], 0, ddof=1) if len(seeds) > 1 else np.zeros(len(shifts))
            ).tolist()
            for m in METHODS
        },
        aligned_max=float(max(at_aligned)),
        misaligned_conv={m: spread(over_mis[m]) for m in METHODS},
        misaligned_pixels=pix_mis,
        blur_reduction={
            m: spread(
                [100 * (1 - b / a) for a, b in zip(over_mis[m], over_mis[BLURRED[m]], strict=True)]
            )
            for m in BLURRED
        },
        blur_reduction_pixels={m: 100 * (1 - pix_mis[BLURRED[m]] / pix_mis[m]) for m in BLURRED},
        global_max_residual=global_max,
        conv_equivariance_max_abs_error=equiv,
    )


def _rounded(m: np.ndarray) -> list[list[float]]:
    """Rows of ``m`` as Python floats, 2 decimals (float32 ``tolist`` shows its binary noise)."""
    return [[round(float(v), 2) for v in row] for row in m]


def _pct(sp: Spread) -> dict[str, float]:
    return {"mean": 100 * sp.mean, "std": 100 * sp.std}


def explain(n: PoolingNumbers) -> list[Message]:
    mis = {m: _pct(n.misaligned_conv[m]) for m in METHODS}
    msgs: list[Message] = [
        (
            "lab.pooling.data",
            {
                "dataset": n.dataset,
                "split": Msg(f"lab.split.{n.split}"),
                **item_words(n.dataset, n.index, n.label),
            },
        ),
        (
            "lab.pooling.shapes",
            {"pool": n.pool, "shape": list(n.input_shape), "out": list(n.maxpool_shape)},
        ),
        (
            "lab.pooling.window",
            {
                "r": n.window_top_left[0],
                "c": n.window_top_left[1],
                "w": 2 * n.pool,
                "mx": _rounded(n.window_max),
                "av": _rounded(n.window_avg),
            },
        ),
        ("lab.pooling.max_vs_avg", {}),
        (
            "lab.pooling.residual_setup",
            {
                "n": n.n_images,
                "canvas": n.canvas,
                "margin": n.margin,
                "s": n.shifts[-1],
                "channels": n.channels,
                "seeds": n.seeds,
            },
        ),
        ("lab.pooling.equivariance", {"err": n.conv_equivariance_max_abs_error}),
        (
            "lab.pooling.aligned",
            {"pool": n.pool, "aligned": ", ".join(map(str, n.aligned)), "max": n.aligned_max},
        ),
        (
            "lab.pooling.misaligned",
            {
                "shifts": ", ".join(map(str, n.misaligned)),
                "mx": mis["max"]["mean"],
                "mx_sd": mis["max"]["std"],
                "av": mis["avg"]["mean"],
                "av_sd": mis["avg"]["std"],
                "mb": mis["max_blur"]["mean"],
                "mb_sd": mis["max_blur"]["std"],
                "ab": mis["avg_blur"]["mean"],
                "ab_sd": mis["avg_blur"]["std"],
                "seeds": n.seeds,
            },
        ),
    ]
    red = n.blur_reduction
    kernel = "[" + ", ".join(f"{v * 4 ** (n.pool - 1):g}" for v in n.blur_kernel) + "]"
    if all(red[m].low > 0 for m in BLURRED):  # every seed: the blur lowers the residual
        msgs.append(
            (
                "lab.pooling.blur_reduces",
                {
                    "kernel": kernel,
                    "div": 4 ** (n.pool - 1),
                    "mx": red["max"].mean,
                    "mx_sd": red["max"].std,
                    "av": red["avg"].mean,
                    "av_sd": red["avg"].std,
                },
            )
        )
    else:
        msgs.append(
            (
                "lab.pooling.blur_mixed",
                {
                    "kernel": kernel,
                    "div": 4 ** (n.pool - 1),
                    "mx": red["max"].mean,
                    "av": red["avg"].mean,
                },
            )
        )
    msgs += [
        (
            "lab.pooling.pixels",
            {
                "mx": 100 * n.misaligned_pixels["max"],
                "mb": 100 * n.misaligned_pixels["max_blur"],
                "av": 100 * n.misaligned_pixels["avg"],
                "ab": 100 * n.misaligned_pixels["avg_blur"],
                "red": n.blur_reduction_pixels["max"],
            },
        ),
        ("lab.pooling.global_max", {"err": n.global_max_residual}),
    ]
    if n.seeds == 1:
        msgs.append(("lab.pooling.one_seed", {}))
    msgs.append(("lab.pooling.truth", {"pool": n.pool}))
    return msgs


def _values(ax: Any, m: np.ndarray, title: str) -> None:
    ax.imshow(m, cmap="gray", vmin=0, vmax=1)
    for (a, b), v in np.ndenumerate(m):
        ax.text(
            b,
            a,
            f"{v:.2f}",
            ha="center",
            va="center",
            fontsize=8,
            color="black" if v > 0.5 else "white",
        )
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def _pool_figure(n: PoolingNumbers, lang: str) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from cnnlab.i18n import t

    fig = Figure(figsize=(15, 3.4), layout="constrained")
    axes = fig.subplots(1, 7, width_ratios=[1, 1, 1, 1, 1.25, 0.8, 0.8])
    axes[0].imshow(n.image, cmap="gray", vmin=0, vmax=1)
    w = n.window.shape[0]
    r0, c0 = n.window_top_left
    axes[0].add_patch(
        Rectangle((c0 - 0.5, r0 - 0.5), w, w, fill=False, edgecolor="#d62728", linewidth=1.5)
    )
    axes[0].set_title(t("lab.pooling.fig.input", lang, h=n.image.shape[0]), fontsize=9)
    for ax, m in zip(axes[1:4], ("max", "avg", "max_blur"), strict=True):
        ax.imshow(n.maps[m], cmap="gray", vmin=0, vmax=1)  # one scale: pixel values in [0, 1]
        ax.set_title(
            t(f"lab.pooling.fig.map_{m}", lang, p=n.pool, h=n.maps[m].shape[0]), fontsize=9
        )
    for ax in axes[:4]:
        ax.axis("off")
    _values(axes[4], n.window, t("lab.pooling.fig.window", lang, w=w))
    _values(axes[5], n.window_max, t("lab.pooling.fig.win_max", lang))
    _values(axes[6], n.window_avg, t("lab.pooling.fig.win_avg", lang))
    return fig


STYLES = {
    "max": ("-", "o", "#1f77b4"),
    "avg": ("-", "s", "#ff7f0e"),
    "max_blur": ("--", "o", "#1f77b4"),
    "avg_blur": ("--", "s", "#ff7f0e"),
}


def _residual_figure(n: PoolingNumbers, lang: str) -> Figure:
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    fig = Figure(figsize=(12, 4.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    x = np.array(n.shifts)
    panels = (
        (
            axes[0],
            {m: (np.array(n.residual_pixels[m]), None) for m in METHODS},
            t("lab.pooling.fig.pixels_title", lang),
        ),
        (
            axes[1],
            {
                m: (np.array(n.residual_conv_mean[m]), np.array(n.residual_conv_std[m]))
                for m in METHODS
            },
            t("lab.pooling.fig.conv_title", lang, channels=n.channels, seeds=n.seeds),
        ),
    )
    for ax, curves, title in panels:
        for s in n.aligned:  # the shifts pooling commutes with
            ax.axvspan(s - 0.2, s + 0.2, color="#2ca02c", alpha=0.12, linewidth=0)
        for m, (y, sd) in curves.items():
            ls, marker, color = STYLES[m]
            ax.plot(
                x,
                100 * y,
                linestyle=ls,
                marker=marker,
                color=color,
                label=t(f"lab.pooling.fig.{m}", lang, p=n.pool),
            )
            if sd is not None and n.seeds > 1:
                ax.fill_between(x, 100 * (y - sd), 100 * (y + sd), color=color, alpha=0.15)
        ax.set_xticks(x)
        ax.set_xlabel(t("lab.pooling.fig.shift", lang))
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(t("lab.pooling.fig.residual", lang))
    axes[1].legend(fontsize=8)
    fig.suptitle(t("lab.pooling.fig.residual_title", lang, p=n.pool), fontsize=11)
    return fig


def draw(n: PoolingNumbers, lang: str) -> dict[str, Figure]:
    return {"max_vs_avg": _pool_figure(n, lang), "residual": _residual_figure(n, lang)}


EXPERIMENT = register(
    "pooling",
    PoolingParams,
    "lab.pooling.title",
    numbers=PoolingNumbers,
    measure=measure,
    explain=explain,
    draw=draw,
    quick={"data": "mnist-sample", "n_images": 100, "seeds": 1},
)

__all__ = [
    "PoolingParams",
    "PoolingNumbers",
    "METHODS",
    "shift_right",
    "binomial",
    "blur_subsample",
    "pool_by",
    "residuals",
    "measure",
    "explain",
    "draw",
    "EXPERIMENT",
]
