"""Figures for looking inside any CNN: a layer's maps, what a channel wants to see, where it looks.

Every builder takes plain arrays (viz sits beside :mod:`cnnlab.inspect`, not above it) and returns a
``matplotlib.figure.Figure``; titles come from the ``looks.fig.*`` catalog keys in the figure
language (:func:`cnnlab.viz.fonts.figure_lang`: English when no Hangul font is installed).

Images are ``(C, H, W)`` in ``[0, 1]``: one channel is drawn in gray, three as RGB, any other count
as the mean over channels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.i18n import t
from cnnlab.viz.fonts import figure_lang

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def show_image(ax: Axes, image: np.ndarray, scaled: bool = False) -> None:
    """Draw ``image (C, H, W)``: gray for C=1, RGB for C=3, the channel mean otherwise.

    ``scaled``: stretch min→max to black→white (a patch of a standardised image, a maximised input
    that uses only part of the range); otherwise values are read as ``[0, 1]``.
    """
    img = np.asarray(image, dtype=np.float64)
    if scaled:
        lo, hi = float(img.min()), float(img.max())
        img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    if img.shape[0] == 3:
        ax.imshow(np.clip(img.transpose(1, 2, 0), 0, 1), interpolation="nearest")  # (H, W, 3)
    else:
        ax.imshow(img.mean(axis=0), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _gray(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` luminance of ``image (C, H, W)`` for an overlay background."""
    return np.clip(np.asarray(image, dtype=np.float64).mean(axis=0), 0, 1)


def maps_figure(
    image: np.ndarray,
    maps: np.ndarray,
    layer: str,
    kind: str,
    model: str,
    lang: str | None = None,
    max_channels: int = 32,
    columns: int = 8,
) -> Figure:
    """The input and the first ``max_channels`` maps of one layer, ``maps (K, h, w)``.

    Each map has its own gray scale (min → black, max → white) and is titled with its channel
    number and maximum, so a map that is 0 everywhere (a silent ReLU channel) says so.
    """
    from matplotlib.figure import Figure

    lang = figure_lang(lang)
    shown = maps[:max_channels]
    k = len(shown)
    cols = min(columns, k)
    rows = math.ceil(k / cols)
    cell = 1.35
    # a fixed grid, no constrained layout: with 30+ titled axes the layout solver costs seconds
    fig = Figure(figsize=(cell * (cols + 2.2), cell * rows + 0.8))
    grid = fig.add_gridspec(
        rows,
        cols + 2,
        left=0.01,
        right=0.99,
        bottom=0.02,
        top=1 - 0.75 / (cell * rows + 0.8),
        wspace=0.12,
        hspace=0.35,
    )
    ax = fig.add_subplot(grid[:, :2])
    show_image(ax, image)
    ax.set_title(t("looks.fig.input", lang, shape="×".join(map(str, image.shape))), fontsize=9)
    for i in range(k):
        a = fig.add_subplot(grid[i // cols, 2 + i % cols])
        a.axis("off")
        a.imshow(shown[i], cmap="gray", interpolation="nearest")
        a.set_title(t("looks.fig.channel", lang, c=i, top=float(shown[i].max())), fontsize=7)
    fig.suptitle(
        t(
            "looks.fig.maps",
            lang,
            model=model,
            layer=layer,
            kind=kind,
            n=len(maps),
            shown=k,
            h=maps.shape[-2],
            w=maps.shape[-1],
        ),
        fontsize=10,
    )
    return fig


def wants_figure(
    maximized: np.ndarray,
    trajectory: np.ndarray,
    noise: tuple[float, float],
    patches: np.ndarray,
    activations: Sequence[float],
    labels: Sequence[str],
    layer: str,
    channel: int,
    field: Sequence[int],
    lang: str | None = None,
) -> Figure:
    """ "What channel ``channel`` wants to see" next to the real patches that excite it most.

    maximized:   (C, h, w) the optimised input cut to the centre unit's field (or the whole image)
    trajectory:  (steps + 1,) the activation during the ascent; ``noise`` = (mean, max) on noise
    patches:     (k, C, h, w) the top real patches, best first, with their ``activations`` and
                 ``labels`` (class names)
    field:       the receptive field (h, w) in pixels, for the title
    """
    from matplotlib.figure import Figure

    lang = figure_lang(lang)
    k = len(patches)
    cols = min(3, k) if k <= 9 else math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    fig = Figure(
        figsize=(3.0 + 1.25 * cols + 0.2, max(3.6, 1.35 * rows + 0.9)), layout="constrained"
    )
    subs: Any = fig.subfigures(1, 2, width_ratios=[3.0, 1.25 * cols])  # (2,) SubFigures
    left, right = subs[0], subs[1]
    ax_img, ax_traj = left.subplots(2, 1, height_ratios=[2.2, 1])
    show_image(ax_img, maximized, scaled=True)
    ax_img.set_title(t("looks.fig.wants", lang, value=float(trajectory[-1])), fontsize=9)
    steps = np.arange(len(trajectory))
    ax_traj.plot(steps, trajectory, color="C0", lw=1.5)
    ax_traj.axhline(noise[0], color="0.5", ls=":", lw=1)
    ax_traj.axhline(noise[1], color="0.3", ls="--", lw=1)
    top_real = float(activations[0]) if len(activations) else float("nan")
    ax_traj.axhline(top_real, color="C3", ls="-.", lw=1)
    ax_traj.legend(
        [
            t("looks.fig.ascent", lang),
            t("looks.fig.noise_mean", lang),
            t("looks.fig.noise_max", lang),
            t("looks.fig.best_real", lang),
        ],
        fontsize=6,
        loc="lower right",
    )
    ax_traj.set_xlabel(t("looks.fig.step", lang), fontsize=7)
    ax_traj.tick_params(labelsize=6)
    axes: Any = right.subplots(rows, cols, squeeze=False)
    for i, a in enumerate(axes.flat):
        if i >= k:
            a.axis("off")
            continue
        show_image(a, patches[i])
        a.set_title(
            t("looks.fig.patch", lang, rank=i + 1, value=float(activations[i]), label=labels[i]),
            fontsize=7,
        )
    right.suptitle(t("looks.fig.top_patches", lang, k=k), fontsize=9)
    fig.suptitle(
        t("looks.fig.wants_title", lang, layer=layer, c=channel, h=field[0], w=field[1]),
        fontsize=10,
    )
    return fig


def where_figure(
    image: np.ndarray,
    saliency: np.ndarray,
    cam: np.ndarray,
    predicted: str,
    prob: float,
    target: str,
    layer: str,
    cam_shape: Sequence[int],
    lang: str | None = None,
) -> Figure:
    """The input, its saliency and its Grad-CAM, both overlaid on the input in gray.

    saliency, cam: ``(H, W)`` in [0, 1] (:class:`cnnlab.inspect.attribution.Looks`).
    """
    from matplotlib.figure import Figure

    lang = figure_lang(lang)
    fig = Figure(figsize=(9.6, 3.6), layout="constrained")
    axes: Any = fig.subplots(1, 3)
    show_image(axes[0], image)
    axes[0].set_title(t("looks.fig.where_input", lang, label=predicted, p=100 * prob), fontsize=9)
    for ax, heat, cmap, key in (
        (axes[1], saliency, "hot", "looks.fig.saliency"),
        (axes[2], cam, "jet", "looks.fig.gradcam"),
    ):
        ax.imshow(_gray(image), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        im = ax.imshow(heat, cmap=cmap, alpha=0.55, vmin=0, vmax=1, interpolation="bilinear")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(t(key, lang, layer=layer, h=cam_shape[0], w=cam_shape[1]), fontsize=9)
    fig.colorbar(im, ax=axes[2], fraction=0.046, pad=0.02)
    fig.suptitle(t("looks.fig.where_title", lang, target=target), fontsize=10)
    return fig


__all__ = ["maps_figure", "wants_figure", "where_figure", "show_image"]
