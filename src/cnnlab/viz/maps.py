"""Feature-map grids: rows of channels drawn in grayscale with titles, axes off."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def feature_map_grid(
    rows: Sequence[np.ndarray],
    titles: Sequence[Sequence[str]],
    suptitle: str | None = None,
    cell: float = 2.6,
    true_scale: bool = False,
) -> Figure:
    """One row per map stack. ``rows[r]`` is ``(C, H, W)``; ``titles[r][c]`` titles each map.

    By default each map gets its own gray scale (min→black, max→white), as
    ``plt.imshow(cmap='gray')`` does in the lecture note, and fills its cell. With ``true_scale``
    every map is drawn at its true size in pixels, centred on the largest map of its column (a 26×26
    map sits inside a 28×28 one exactly where its cells are), and each column shares one gray scale
    — so the same kernel's maps differ only where their values differ.
    """
    from matplotlib.figure import Figure

    n_rows, n_cols = len(rows), max(r.shape[0] for r in rows)
    fig = Figure(
        figsize=(cell * n_cols, cell * n_rows + (0.5 if suptitle else 0)), layout="constrained"
    )
    axes: Any = fig.subplots(n_rows, n_cols, squeeze=False)
    h_max = max(r.shape[-2] for r in rows)
    w_max = max(r.shape[-1] for r in rows)
    for c in range(n_cols):
        column = [maps[c] for maps in rows if c < maps.shape[0]]
        vmin = min(float(m.min()) for m in column) if true_scale else None
        vmax = max(float(m.max()) for m in column) if true_scale else None
        for r, maps in enumerate(rows):
            ax = axes[r][c]
            ax.axis("off")
            if c >= maps.shape[0]:
                continue
            ax.imshow(maps[c], cmap="gray", vmin=vmin, vmax=vmax)
            if true_scale:  # pad the view, not the data: (h_max - h) / 2 blank cells on each side
                dh, dw = (h_max - maps.shape[-2]) / 2, (w_max - maps.shape[-1]) / 2
                ax.set_xlim(-0.5 - dw, maps.shape[-1] - 0.5 + dw)
                ax.set_ylim(maps.shape[-2] - 0.5 + dh, -0.5 - dh)
                ax.axis("on")
                ax.set_xticks([])
                ax.set_yticks([])
            ax.set_title(titles[r][c], fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


__all__ = ["feature_map_grid"]
