"""Figures of ``pattern``: the planted-pattern detector (part 1) and, for part 2, the kernels with
their top patches and the trained-vs-untrained control (or, for ``--model``, the user's kernels
against the same layer re-initialised) — drawn only from the numbers, in any language."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cnnlab.lab.stats import spread

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from cnnlab.lab.pattern import Learned, PatternNumbers

ROW_KEYS = {
    "trained": "lab.pattern.fig.row_trained",
    "untrained": "lab.pattern.fig.row_untrained",
    "yours": "lab.pattern.user.fig.row_yours",  # --model
    "control": "lab.pattern.user.fig.row_control",
}
BAR_KEYS = {
    "trained": (
        "lab.pattern.fig.bar_trained",
        "lab.pattern.fig.bar_untrained",
        "lab.pattern.fig.bar_random",
    ),
    "user": (
        "lab.pattern.user.fig.bar_yours",
        "lab.pattern.user.fig.bar_control",
        "lab.pattern.user.fig.bar_random",
    ),
}


def draw(n: PatternNumbers, lang: str) -> dict[str, Figure]:
    figures = {"detector": _detector_figure(n, lang)}
    if n.learned is not None:
        figures["learned_kernels"] = _learned_figure(n.learned, lang)
        figures["top_patch_control"] = _control_figure(n.learned, lang)
    return figures


def _detector_figure(n: PatternNumbers, lang: str) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from cnnlab.i18n import t

    s = n.size
    k = n.pattern_mask - n.pattern_mask.mean()
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    axes = fig.subplots(1, 4, width_ratios=[1, 0.55, 1, 1])
    axes[0].imshow(n.image, cmap="gray")
    r, c = n.planted_top_left
    axes[0].add_patch(Rectangle((c - 0.5, r - 0.5), s, s, fill=False, edgecolor="#2ca02c", lw=1.5))
    axes[0].set_title(t("lab.pattern.fig.image", lang, r=r, c=c), fontsize=9)
    lim = float(np.abs(k).max())
    axes[1].imshow(k, cmap="coolwarm", vmin=-lim, vmax=lim)
    axes[1].set_title(t("lab.pattern.fig.kernel", lang, s=s), fontsize=9)
    for ax, m, key, res in (
        (axes[2], n.score_map, "zero_mean", n.zero_mean),
        (axes[3], n.raw_map, "raw", n.raw_kernel),
    ):
        im = ax.imshow(m, cmap="magma")
        fig.colorbar(im, ax=ax, shrink=0.8)
        pr, pc = res.peak
        sr, sc = res.second
        ax.plot(
            [pc],
            [pr],
            "o",
            mfc="none",
            mec="#2ca02c",
            ms=12,
            mew=2,
            label=t("lab.pattern.fig.peak", lang),
        )
        ax.plot(
            [sc],
            [sr],
            "s",
            mfc="none",
            mec="#1f77b4",
            ms=10,
            mew=2,
            label=t("lab.pattern.fig.second", lang),
        )
        ax.set_title(t(f"lab.pattern.fig.map_{key}", lang, pr=pr, pc=pc), fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def _learned_figure(le: Learned, lang: str) -> Figure:
    """Four rows over the channels: trained kernel, its top patch, untrained kernel, its top patch
    (first seed; kernels red +, blue −, each on its own symmetric scale; patches on [0, 1])."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    c = le.channels
    user = le.kind == "user"  # --model: the user's first conv and the same layer re-initialised
    rows = (
        ("yours" if user else "trained", le.kernels, le.patches, le.cosine_top),
        (
            "control" if user else "untrained",
            le.kernels_untrained,
            le.patches_untrained,
            le.cosine_top_untrained,
        ),
    )
    fig = Figure(figsize=(0.85 * c + 1.4, 5.6), layout="constrained")
    axes = fig.subplots(4, c, squeeze=False)
    for r, (key, kernels, patches, cos) in enumerate(rows):
        for ch in range(c):
            ka, pa = axes[2 * r][ch], axes[2 * r + 1][ch]
            lim = float(np.abs(kernels[ch]).max()) or 1.0
            ka.imshow(kernels[ch], cmap="RdBu_r", vmin=-lim, vmax=lim)
            pa.imshow(patches[ch], cmap="gray", vmin=0, vmax=1)
            pa.set_title(f"{cos[ch]:.2f}", fontsize=7)
            for ax in (ka, pa):
                ax.set_xticks([])
                ax.set_yticks([])
        for ax, label in (
            (axes[2 * r][0], t(ROW_KEYS[key], lang)),
            (axes[2 * r + 1][0], t("lab.pattern.fig.row_patch", lang)),
        ):
            ax.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    if user:
        fig.suptitle(t("lab.pattern.user.fig.learned", lang, seed=le.seeds[0]), fontsize=10)
    else:
        fig.suptitle(
            t("lab.pattern.fig.learned", lang, seed=le.seeds[0], acc=100 * le.accuracy[0]),
            fontsize=10,
        )
    return fig


def _control_figure(le: Learned, lang: str) -> Figure:
    """Mean top-patch cosine per seed: trained kernels, their untrained start, inked random."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    fig = Figure(figsize=(5.6, 3.6), layout="constrained")
    ax = fig.subplots()
    bars = BAR_KEYS["user" if le.kind == "user" else "trained"]
    groups = (
        (bars[0], le.per_seed_top, "#d62728"),
        (bars[1], le.per_seed_untrained, "#7f7f7f"),
        (bars[2], le.per_seed_random, "#1f77b4"),
    )
    for x, (_key, values, color) in enumerate(groups):
        mean = float(np.mean(values))
        std = spread(values).std
        ax.bar(x, mean, color=color, alpha=0.35, yerr=std, capsize=6)
        ax.plot([x] * len(values), values, "o", color=color, ms=5)
        ax.text(x + 0.42, mean, f"{mean:.2f}", ha="right", va="bottom", fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(3), [t(g[0], lang) for g in groups], fontsize=8)
    ax.set_ylabel(t("lab.pattern.fig.cosine", lang), fontsize=9)
    if le.kind == "user":
        ax.set_title(
            t("lab.pattern.user.fig.control", lang, k=le.n_kernels, p=le.p_value), fontsize=9
        )
    else:
        ax.set_title(
            t("lab.pattern.fig.control", lang, seeds=len(le.seeds), p=le.p_value), fontsize=9
        )
    return fig


__all__ = ["draw", "ROW_KEYS", "BAR_KEYS"]
