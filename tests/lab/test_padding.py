"""The note's padding experiment: shapes, formula, the 2×3 figure, both languages."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image

from cnnlab import lab
from cnnlab.viz.fonts import hangul_font


def test_shapes_match_note_and_formula() -> None:
    r = lab.run("padding", index=0)
    assert r.numbers["input_shape"] == [1, 1, 28, 28]
    assert r.numbers["no_padding_shape"] == [1, 3, 26, 26]
    assert r.numbers["padding_shape"] == [1, 3, 28, 28]
    assert r.numbers["formula_matches_torch"] is True
    assert r.numbers["parameters_per_model"] == 3 * 1 * 3 * 3 + 3


def test_seeded_and_reproducible() -> None:
    a, b = lab.run("padding", seed=3), lab.run("padding", seed=3)
    c = lab.run("padding", seed=4)
    assert a.numbers["padding_range"] == b.numbers["padding_range"]
    assert a.numbers["padding_range"] != c.numbers["padding_range"]


def test_unbatched_input_gives_same_maps() -> None:
    # Teaching truth: Conv2d also accepts an unbatched (C, H, W) tensor.
    from cnnlab.data import get_dataset
    from cnnlab.models.padding_pair import CNN_WithPadding

    x, _ = get_dataset("mnist-sample")[0]
    torch.manual_seed(0)
    model = CNN_WithPadding()
    torch.testing.assert_close(model(x), model(x.unsqueeze(0))[0])


def test_figure_is_2x3_grid(tmp_path: Path) -> None:
    r = lab.run("padding")
    fig = r.figures["feature_maps"]
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 6
    rows = sorted({round(ax.get_position().y0, 3) for ax in images})
    cols = sorted({round(ax.get_position().x0, 3) for ax in images})
    assert len(rows) == 2 and len(cols) == 3
    top = [ax for ax in images if round(ax.get_position().y0, 3) == rows[1]]
    assert sorted(ax.get_title() for ax in top) == [f"[No Pad] Map {i} (26×26)" for i in (1, 2, 3)]
    assert {ax.images[0].get_array().shape for ax in top} == {(26, 26)}
    written = r.save(tmp_path)
    png = Image.open(written["feature_maps.png"])
    png.load()
    assert png.width > png.height  # 3 wide, 2 tall
    svg = written["feature_maps.svg"].read_text()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg


@pytest.mark.skipif(
    hangul_font() is None and not os.environ.get("CI"),
    reason="no Hangul font installed (CI installs fonts-nanum and never skips this)",
)
def test_korean_figure_renders_without_missing_glyphs() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = lab.run("padding", lang="ko")
        buf = io.BytesIO()
        r.figures["feature_maps"].savefig(buf, format="png")
    glyph = [w for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert glyph == []
    titles = [ax.get_title() for ax in r.figures["feature_maps"].axes if ax.images]
    assert "[패딩 없음] 맵 1 (26×26)" in titles
    assert r.lang == "ko"


def test_text_in_both_languages() -> None:
    r = lab.run("padding")
    assert "cross-correlation" in r.text("en")
    assert "교차상관" in r.text("ko")
    html = r._repr_html_()
    assert html.count("<img") == 1 and "data:image/png;base64," in html


def test_no_hangul_font_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    import cnnlab.viz.fonts as fonts

    monkeypatch.setattr(fonts, "setup_fonts", lambda: None)
    monkeypatch.setattr(fonts, "_warned", False)
    with pytest.warns(
        UserWarning, match=r"No Korean \(Hangul\) font found.*apt-get install fonts-nanum"
    ):
        assert fonts.figure_lang("ko") == "en"
    r = lab.run("padding", lang="ko")  # warned once already: no second warning, English titles
    assert r.lang == "en" and "교차상관" in r.text("ko")
    assert "[No Pad] Map 1 (26×26)" in [ax.get_title() for ax in r.figures["feature_maps"].axes]
