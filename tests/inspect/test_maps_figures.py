"""The looks figures render in both languages with every glyph (no tofu), for 1 and 3 channels."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

from cnnlab.viz.fonts import setup_fonts
from cnnlab.viz.looks import maps_figure, wants_figure, where_figure


def _render(fig: object) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" becomes a failure
        fig.savefig(buf, format="png", dpi=60)  # type: ignore[attr-defined]
    return buf.getvalue()


@pytest.mark.parametrize("lang,channels", [("en", 1), ("ko", 3)])
def test_figures_render_every_glyph(lang: str, channels: int) -> None:
    if lang == "ko" and setup_fonts() is None:
        pytest.skip("no Hangul font installed (figures fall back to English)")
    rng = np.random.default_rng(0)
    image = rng.random((channels, 12, 10)).astype(np.float32)
    figs = [
        maps_figure(image, rng.random((5, 6, 5)), "block.conv", "Conv2d", "net", lang),
        wants_figure(
            rng.random((channels, 4, 4)),
            np.linspace(-1, 3, 9),
            (0.5, 1.0),
            rng.random((4, channels, 4, 4)),
            [2.0, 1.5, 1.2, 1.0],
            ["a", "b", "c", "d"],
            "block.conv",
            2,
            (4, 4),
            lang,
        ),
        where_figure(
            image, rng.random((12, 10)), rng.random((12, 10)), "a", 0.9, "a", "act", (3, 2), lang
        ),
    ]
    for fig in figs:
        assert _render(fig)[:8] == b"\x89PNG\r\n\x1a\n"
    titles = [t.get_text() for ax in figs[1].axes for t in (ax.title,)]
    if lang == "ko":
        assert any("위" in t for t in titles)  # "1위 2.00 (a)": the Korean catalog was used
