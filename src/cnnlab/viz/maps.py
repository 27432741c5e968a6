"""Feature-map grids: rows of channels drawn in grayscale with titles, axes off."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def feature_map_grid(rows: Sequence[np.ndarray], titles: Sequence[Sequence[str]],
                     suptitle: str | None = None, cell: float = 2.6) -> Figure:
    """One row per map stack. ``rows[r]`` is ``(C, H, W)``; ``titles[r][c]`` titles each map.

    Each map gets its own gray scale (min→black, max→white), as ``plt.imshow(cmap='gray')`` does in
    the lecture note, and a shape label so padding's effect (26 vs 28) is visible.
    """
    from matplotlib.figure import Figure

    n_rows, n_cols = len(rows), max(r.shape[0] for r in rows)
    fig = Figure(figsize=(cell * n_cols, cell * n_rows + (0.5 if suptitle else 0)),
                 layout="constrained")
    axes: Any = fig.subplots(n_rows, n_cols, squeeze=False)
    for r, maps in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.axis("off")
            if c < maps.shape[0]:
                ax.imshow(maps[c], cmap="gray")
                ax.set_title(titles[r][c], fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


__all__ = ["feature_map_grid"]
