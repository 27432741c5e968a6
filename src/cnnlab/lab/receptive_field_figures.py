"""Figures of ``receptive-field``: the centre unit's field per layer on the digit, size and jump
against depth, the central share against depth, and the |gradient| maps (drawn only from the
numbers, in any language)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from cnnlab.lab.receptive_field import LayerField, ReceptiveFieldNumbers


def _box_patch(
    box: tuple[int, ...], color: Any, lw: float = 1.8, label: str | None = None, style: str = "-"
) -> Any:
    from matplotlib.patches import Rectangle

    top, bottom, left, right = box
    return Rectangle(
        (left - 0.5, top - 0.5),
        right - left + 1,
        bottom - top + 1,
        fill=False,
        edgecolor=color,
        linewidth=lw,
        label=label,
        linestyle=style,
    )


def _central_box(lf: LayerField) -> tuple[float, float, float, float]:
    """The central half-width square of the centre unit's field, as pixel edges (top, bottom, …)."""
    half = lf.size / 4
    cy = lf.left + lf.unit[0] * lf.jump + (lf.size - 1) / 2
    cx = lf.left + lf.unit[1] * lf.jump + (lf.size - 1) / 2
    return cy - half, cy + half, cx - half, cx + half


def _central_patch(lf: LayerField, color: str) -> Any:
    from matplotlib.patches import Rectangle

    top, bottom, left, right = _central_box(lf)
    return Rectangle(
        (left, top),
        right - left,
        bottom - top,
        fill=False,
        edgecolor=color,
        linewidth=1.0,
        linestyle="--",
    )


def gradient_panels(n_layers: int) -> tuple[list[int], Figure, list[Any]]:
    """The gradient figure's grid: the deepest (at most 7) layers' indices, one panel each plus
    one for the real network, four per row, every axis blank until drawn on."""
    from matplotlib.figure import Figure

    show = list(range(n_layers))[-7:]
    ncols = min(4, len(show) + 1)
    nrows = -(-(len(show) + 1) // ncols)
    fig = Figure(figsize=(2.8 * ncols, 2.9 * nrows + 0.4), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes:
        ax.axis("off")
    return show, fig, axes


def style_erf_axis(ax: Any, lang: str) -> None:
    """The effective-field panel's axes: central share in % against depth (integer ticks)."""
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    from cnnlab.i18n import t

    ax.set_ylim(0, 100)
    ax.yaxis.set_major_formatter(PercentFormatter())
    ax.set_xlabel(t("lab.receptive_field.fig.depth", lang))
    ax.set_ylabel(t("lab.receptive_field.fig.share", lang))
    ax.set_title(t("lab.receptive_field.fig.erf", lang), fontsize=10)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def draw(n: ReceptiveFieldNumbers, lang: str) -> dict[str, Figure]:
    if n.user is not None:
        from cnnlab.lab.receptive_field_model import draw_user

        return draw_user(n.user, lang)
    return {"growth": _growth_figure(n, lang), "gradients": _gradient_figure(n, lang)}


def _growth_figure(n: ReceptiveFieldNumbers, lang: str) -> Figure:
    """Left: the centre unit's field per layer on the digit. Middle: size/jump vs depth.
    Right: the central share vs depth (uniform reference, linearised, random nets, shuffled)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from cnnlab.i18n import t

    fig = Figure(figsize=(15, 4.8), layout="constrained")
    ax, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.25, 1, 1])
    ax.imshow(n.image, cmap="gray")
    colors = colormaps["viridis"]
    count = len(n.layers)
    for lf in n.layers:
        ax.add_patch(
            _box_patch(
                lf.box,
                colors(lf.depth / max(count, 1)),
                label=t(
                    "lab.receptive_field.fig.box", lang, depth=lf.depth, kind=lf.kind, size=lf.size
                ),
            )
        )
    ax.set_title(t("lab.receptive_field.fig.on_digit", lang, label=n.label), fontsize=10)
    ax.axis("off")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)

    depth = [lf.depth for lf in n.layers]
    ax2.plot(
        depth, [lf.size for lf in n.layers], "o-", label=t("lab.receptive_field.fig.size", lang)
    )
    ax2.plot(
        depth,
        [lf.measured for lf in n.layers],
        "x",
        color="#d62728",
        markersize=10,
        label=t("lab.receptive_field.fig.measured", lang),
    )
    ax2.plot(
        depth,
        [lf.jump for lf in n.layers],
        "s--",
        color="#7f7f7f",
        label=t("lab.receptive_field.fig.jump", lang),
    )
    ax2.axhline(
        n.input_shape[-2],
        color="#2ca02c",
        linestyle=":",
        label=t("lab.receptive_field.fig.image", lang, h=n.input_shape[-2]),
    )
    ax2.set_xlabel(t("lab.receptive_field.fig.depth", lang))
    ax2.set_ylabel(t("lab.receptive_field.fig.pixels", lang))
    ax2.set_title(t("lab.receptive_field.fig.growth", lang), fontsize=10)
    ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)

    pct = 100.0
    ax3.axhline(
        pct * n.uniform_share,
        color="#7f7f7f",
        linestyle=":",
        label=t("lab.receptive_field.fig.uniform", lang),
    )
    ax3.plot(
        depth,
        [pct * lf.share_linear for lf in n.layers],
        "o-",
        color="#1f77b4",
        label=t("lab.receptive_field.fig.linear", lang),
    )
    for attr, color, key in (
        ("share_real", "#d62728", "lab.receptive_field.fig.real_nets"),
        ("share_shuffled", "#ff7f0e", "lab.receptive_field.fig.shuffled"),
    ):
        sp = [getattr(lf, attr) for lf in n.layers]
        ax3.errorbar(
            depth,
            [pct * s.mean for s in sp],
            yerr=[pct * s.std for s in sp],
            fmt="s--",
            color=color,
            capsize=3,
            markersize=4,
            label=t(key, lang, seeds=n.seeds),
        )
    style_erf_axis(ax3, lang)
    return fig


def _gradient_figure(n: ReceptiveFieldNumbers, lang: str) -> Figure:
    """One panel per layer: |gradient| of the linearised stack on a linear scale (0 … its max), the
    formula's box (green) and the central half-width square (dashed); last: the real network."""

    from cnnlab.i18n import t

    show, fig, axes = gradient_panels(len(n.layers))
    for ax, i in zip(axes, show):
        g, lf = n.grad_linear[i], n.layers[i]
        shown = np.ma.masked_where(g <= 0, g)  # outside the field: the digit shows through
        ax.imshow(n.image, cmap="gray", alpha=0.35)
        ax.imshow(shown, cmap="magma", alpha=0.9, vmin=0, vmax=float(g.max()) or 1.0)
        ax.add_patch(_box_patch(lf.box, "#2ca02c", lw=1.2))
        ax.add_patch(_central_patch(lf, "#17becf"))
        ax.set_title(
            t(
                "lab.receptive_field.fig.grad",
                lang,
                depth=lf.depth,
                size=lf.size,
                share=100 * lf.share_linear,
            ),
            fontsize=9,
        )
    ax, last = axes[len(show)], n.layers[-1]
    ax.imshow(n.image, cmap="gray")
    ax.imshow(np.ma.masked_where(n.grad_real <= 0, n.grad_real), cmap="viridis", alpha=0.85, vmin=0)
    ax.add_patch(_box_patch(last.box, "#2ca02c", lw=1.2))
    ax.add_patch(_central_patch(last, "#17becf"))
    ax.set_title(t("lab.receptive_field.fig.real", lang), fontsize=9)
    fig.suptitle(t("lab.receptive_field.fig.grad_title", lang), fontsize=10)
    return fig


__all__ = ["draw"]
