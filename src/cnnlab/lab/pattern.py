"""Convolution as a pattern detector: a kernel responds most where the image looks like the kernel.

Part 1 (planted pattern). A small binary pattern ``p`` (``size×size``: cross, plus, corner, ring) is
written into a real digit (or a noise image) with its top-left corner at ``(row, col)``, then noise
is added. Correlating with the zero-mean kernel ``k = p − mean(p)``::

    score[i, j] = Σ_ab k[a, b] · x[i+a, j+b]        (F.conv2d, no padding: (H-s+1, W-s+1))

For an image with values in [0, 1] the largest possible score is reached exactly by a window equal to
``p`` (1 where ``k > 0``, 0 where ``k < 0``), so the map peaks at the planted place. Reported: the
peak, its score, and its contrast against the best score at least ``size`` pixels away. The raw
pattern as kernel (not zero-mean) is compared: it rewards any bright region, so a thick stroke can
score as high as the pattern — subtracting the mean is what makes the kernel a *shape* detector.

Part 2 (learned kernels, when ``train``): a SimpleCNN with 5×5 first-layer kernels is trained with
:func:`cnnlab.train.fit` for ``epochs`` on ``train_size`` digits; for every first-layer channel the
image patch that excites it most (largest activation after BatchNorm + ReLU) is found among those
digits, and its cosine similarity with the kernel is compared with random patches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnlab.errors import ConfigError
from cnnlab.lab.common import DataParams, open_data
from cnnlab.lab.registry import register
from cnnlab.result import Result

PATTERNS = ("cross", "plus", "corner", "ring")
BACKGROUNDS = ("digit", "noise")
KERNEL = 5  # first-layer kernel of the trained CNN: 5×5 shows more shape than 3×3


@dataclass
class PatternParams(DataParams):
    index: int = field(default=0, metadata={"help": "lab.param.index", "min": 0})
    # the digit the pattern is planted in
    pattern: str = field(default="cross", metadata={"help": "lab.pattern.param.pattern",
                                                    "choices": PATTERNS})
    # an X: a shape no digit stroke has exactly
    size: int = field(default=5, metadata={"help": "lab.pattern.param.size", "min": 3, "max": 14})
    # 5×5: the scale of a stroke segment
    row: int = field(default=18, metadata={"help": "lab.pattern.param.row", "min": 0})
    col: int = field(default=3, metadata={"help": "lab.pattern.param.col", "min": 0})
    # top-left corner of the planted pattern; (18, 3) sits beside/over the strokes of digit 0
    background: str = field(default="digit", metadata={"help": "lab.pattern.param.background",
                                                       "choices": BACKGROUNDS})
    noise: float = field(default=0.1, metadata={"help": "lab.pattern.param.noise", "min": 0.0,
                                                "max": 1.0})
    # std of Gaussian noise added everywhere (pattern included), so the match is never exact
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0})
    # noise, noise background and CNN training
    train: bool = field(default=True, metadata={"help": "lab.pattern.param.train"})
    # part 2: train a CNN and show its learned kernels with their most exciting patches
    train_size: int = field(default=2000, metadata={"help": "lab.pattern.param.train_size",
                                                    "min": 100, "max": 60000})
    epochs: int = field(default=1, metadata={"help": "lab.pattern.param.epochs", "min": 1, "max": 20})


def make_pattern(name: str, size: int) -> Any:
    """Binary ``(size, size)`` float tensor: 1 on the shape, 0 elsewhere."""
    import torch

    i = torch.arange(size)
    r, c = i[:, None], i[None, :]
    mid = size // 2
    if name == "cross":
        m = (r == c) | (r + c == size - 1)
    elif name == "plus":
        m = (r == mid) | (c == mid)
    elif name == "corner":
        m = ((r == 0) & (c < size)) | ((c == 0) & (r < size))
    else:  # ring: the border of the square
        m = (r == 0) | (c == 0) | (r == size - 1) | (c == size - 1)
    return m.float()


def peak_and_contrast(score: Any, exclude: int) -> dict[str, Any]:
    """Peak of a ``(H', W')`` score map, and the best score at Chebyshev distance ≥ ``exclude``."""
    import torch

    w = score.shape[1]
    flat = int(score.argmax())
    pr, pc = divmod(flat, w)
    rr = torch.arange(score.shape[0])[:, None]
    cc = torch.arange(w)[None, :]
    far = ((rr - pr).abs() >= exclude) | ((cc - pc).abs() >= exclude)
    rest = score[far]
    second = float(rest.max()) if rest.numel() else float("nan")
    sr, sc = divmod(int(torch.where(far, score, torch.tensor(float("-inf"))).argmax()), w)
    std = float(score.std())
    peak = float(score[pr, pc])
    return {"peak": [pr, pc], "score": peak, "second": [sr, sc], "second_score": second,
            "ratio": peak / second if second > 0 else None,
            "margin_in_std": (peak - second) / std if std > 0 else None}


@register("pattern", PatternParams, "lab.pattern.title",
          quick={"data": "mnist-sample", "train_size": 300, "epochs": 1})
def run(params: PatternParams, *, lang: str | None = None, callback: Any = None) -> Result:
    import torch
    import torch.nn.functional as F

    ds = open_data(params)
    i = ds.check_index(params.index)
    h, w = ds.images.shape[-2:]
    s = params.size
    if s > min(h, w):
        raise ConfigError("lab.pattern.bad_size", value=s, high=min(h, w))
    if params.row > h - s or params.col > w - s:
        raise ConfigError("lab.pattern.bad_place", row=params.row, col=params.col, size=s,
                          hi_row=h - s, hi_col=w - s)

    g = torch.Generator().manual_seed(params.seed)
    digit, label = ds[i]  # (1, H, W) in [0, 1]
    base = digit[0].clone() if params.background == "digit" else torch.rand(h, w, generator=g)
    pat = make_pattern(params.pattern, s)  # (s, s)
    x = base.clone()
    x[params.row: params.row + s, params.col: params.col + s] = pat  # plant
    x = x + params.noise * torch.randn(h, w, generator=g)  # (H, W)

    k = pat - pat.mean()  # zero-mean kernel
    score = F.conv2d(x[None, None], k[None, None])[0, 0]  # (H-s+1, W-s+1)
    raw = F.conv2d(x[None, None], pat[None, None])[0, 0]
    zm, rw = peak_and_contrast(score, s), peak_and_contrast(raw, s)
    planted = [params.row, params.col]

    numbers: dict[str, Any] = {
        "dataset": ds.name, "split": ds.split, "index": i, "label": label,
        "pattern": params.pattern, "size": s, "planted_top_left": planted,
        "planted_centre": [params.row + s // 2, params.col + s // 2],
        "background": params.background, "noise": params.noise, "seed": params.seed,
        "score_map_shape": list(score.shape),
        "zero_mean": {**zm, "found": zm["peak"] == planted},
        "raw_kernel": {**rw, "found": rw["peak"] == planted},
    }
    result = Result("pattern", numbers)
    result.say("lab.pattern.setup", pattern=params.pattern, size=s, row=params.row, col=params.col,
               background=params.background, dataset=ds.name, index=i, label=label,
               noise=params.noise)
    result.say("lab.pattern.rule", shape=list(score.shape))
    result.say("lab.pattern.zero_mean", peak=zm["peak"], score=zm["score"],
               second=zm["second_score"], ratio=zm["ratio"] or float("nan"),
               margin=zm["margin_in_std"] or float("nan"),
               verdict=_verdict(numbers["zero_mean"]["found"]))
    result.say("lab.pattern.raw", peak=rw["peak"], score=rw["score"], second=rw["second_score"],
               ratio=rw["ratio"] or float("nan"), verdict=_verdict(numbers["raw_kernel"]["found"]))
    result.say("lab.pattern.why")

    learned = None
    if params.train:
        learned = _learned_kernels(params, ds, callback)
        numbers["learned"] = {k_: v for k_, v in learned.items() if k_ not in ("kernels", "patches")}
        result.say("lab.pattern.learned", n=learned["channels"], size=params.train_size,
                   epochs=params.epochs, acc=100 * learned["val_accuracy"],
                   cos=learned["mean_cosine_top"], rnd=learned["mean_cosine_random"])
        result.say("lab.pattern.learned_truth")
    else:
        result.say("lab.pattern.no_training")

    from cnnlab.viz.fonts import figure_lang

    flang = figure_lang(lang)
    result.lang = flang
    result.figures["detector"] = _detector_figure(x, pat, k, score, raw, numbers, flang)
    if learned is not None:
        result.figures["learned_kernels"] = _learned_figure(learned, flang)
    return result


def _verdict(found: bool) -> str:
    return "✓" if found else "✗"


def _learned_kernels(params: PatternParams, ds: Any, callback: Any) -> dict[str, Any]:
    """Train a small SimpleCNN with ``fit``; first-layer kernels and their most exciting patches."""
    import torch
    import torch.nn.functional as F

    from cnnlab.data import get_dataset
    from cnnlab.models import build
    from cnnlab.train import TrainConfig, fit, seed_everything
    from cnnlab.train.tensors import Preprocess

    n = min(params.train_size, len(ds))
    x_raw = torch.from_numpy(ds.images[:n]).float().div(255).unsqueeze(1)  # (n, 1, H, W)
    y = torch.from_numpy(ds.labels[:n])
    test = get_dataset(params.data, train=False, root=params.data_dir, download=params.download)
    m = min(1000, len(test))
    val = (torch.from_numpy(test.images[:m]), torch.from_numpy(test.labels[:m]))

    seed_everything(params.seed)
    model = build("cnn", channels=(16, 32), kernel_size=KERNEL, hidden=64)
    cb = (lambda ev: callback({"experiment": "pattern", **ev})) if callback is not None else None
    fitted = fit(model, (x_raw, y), val, TrainConfig(epochs=params.epochs, batch_size=64, lr=0.05,
                                                     seed=params.seed, channels_last=False), cb)
    model.eval()
    pre = Preprocess.fit(x_raw)  # the standardisation fit applied (same data → same numbers)
    first = model.features[:3]  # Conv2d → BatchNorm2d → ReLU
    with torch.no_grad():
        act = first(pre.apply(x_raw))  # (n, C, H, W)
    weight = model.features[0].weight.detach()[:, 0]  # (C, k, k)
    gamma_sign = torch.sign(model.features[1].weight.detach())  # BN may flip a kernel's sign
    effective = weight * gamma_sign[:, None, None]

    c, pad = weight.shape[0], KERNEL // 2
    padded = F.pad(x_raw, (pad, pad, pad, pad))  # (n, 1, H+2p, W+2p): patch of every output cell
    flat = act.flatten(2)  # (n, C, H·W)
    per_img, where = flat.max(dim=2)  # (n, C)
    best_img = per_img.argmax(dim=0)  # (C,)
    g = torch.Generator().manual_seed(params.seed)
    patches, cos_top, cos_rnd = [], [], []
    hw = act.shape[-1]

    def cosine(a: Any, b: Any) -> float:
        a, b = a - a.mean(), b - b.mean()
        return float((a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-12))

    for ch in range(c):
        img = int(best_img[ch])
        r, q = divmod(int(where[img, ch]), hw)
        patch = padded[img, 0, r: r + KERNEL, q: q + KERNEL]
        patches.append(patch)
        cos_top.append(cosine(effective[ch], patch))
        rnd = []
        for _ in range(20):  # random patches: the baseline similarity
            j = int(torch.randint(n, (1,), generator=g))
            rr, qq = (int(v) for v in torch.randint(hw, (2,), generator=g))
            rnd.append(cosine(effective[ch], padded[j, 0, rr: rr + KERNEL, qq: qq + KERNEL]))
        cos_rnd.append(sum(rnd) / len(rnd))
    acc = fitted.metrics.accuracy if fitted.metrics is not None else float("nan")
    return {"channels": c, "kernel": KERNEL, "train_size": n, "epochs": params.epochs,
            "val_accuracy": acc, "val_size": m,
            "cosine_top": cos_top, "cosine_random": cos_rnd,
            "mean_cosine_top": sum(cos_top) / c, "mean_cosine_random": sum(cos_rnd) / c,
            "kernels": effective, "patches": patches}


def _detector_figure(x: Any, pat: Any, k: Any, score: Any, raw: Any, n: dict[str, Any],
                     lang: str) -> Any:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from cnnlab.i18n import t

    s = pat.shape[0]
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    axes = fig.subplots(1, 4, width_ratios=[1, 0.55, 1, 1])
    axes[0].imshow(x.numpy(), cmap="gray")
    r, c = n["planted_top_left"]
    axes[0].add_patch(Rectangle((c - 0.5, r - 0.5), s, s, fill=False, edgecolor="#2ca02c", lw=1.5))
    axes[0].set_title(t("lab.pattern.fig.image", lang, r=r, c=c), fontsize=9)
    lim = float(k.abs().max())
    axes[1].imshow(k.numpy(), cmap="coolwarm", vmin=-lim, vmax=lim)
    axes[1].set_title(t("lab.pattern.fig.kernel", lang, s=s), fontsize=9)
    for ax, m, key, res in ((axes[2], score, "zero_mean", n["zero_mean"]),
                            (axes[3], raw, "raw", n["raw_kernel"])):
        im = ax.imshow(m.numpy(), cmap="magma")
        fig.colorbar(im, ax=ax, shrink=0.8)
        pr, pc = res["peak"]
        sr, sc = res["second"]
        ax.plot([pc], [pr], "o", mfc="none", mec="#2ca02c", ms=12, mew=2,
                label=t("lab.pattern.fig.peak", lang))
        ax.plot([sc], [sr], "s", mfc="none", mec="#1f77b4", ms=10, mew=2,
                label=t("lab.pattern.fig.second", lang))
        ax.set_title(t(f"lab.pattern.fig.map_{key}", lang, pr=pr, pc=pc), fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def _learned_figure(learned: dict[str, Any], lang: str) -> Any:
    """Row pairs: each learned kernel (sign-corrected), then the patch that excites it most."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    c = learned["channels"]
    cols = 8
    rows = -(-c // cols)
    fig = Figure(figsize=(1.45 * cols, 3.2 * rows + 0.5), layout="constrained")
    axes = fig.subplots(2 * rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ch in range(c):
        rr, cc = 2 * (ch // cols), ch % cols
        kern = learned["kernels"][ch]
        lim = float(kern.abs().max())
        axes[rr][cc].imshow(kern.numpy(), cmap="coolwarm", vmin=-lim, vmax=lim)
        axes[rr][cc].set_title(t("lab.pattern.fig.k", lang, i=ch + 1), fontsize=8)
        axes[rr + 1][cc].imshow(learned["patches"][ch].numpy(), cmap="gray", vmin=0, vmax=1)
        axes[rr + 1][cc].set_title(f"cos {learned['cosine_top'][ch]:.2f}", fontsize=8)
    fig.suptitle(t("lab.pattern.fig.learned", lang, acc=100 * learned["val_accuracy"]),
                 fontsize=10)
    return fig


__all__ = ["PatternParams", "PATTERNS", "make_pattern", "peak_and_contrast", "run"]
