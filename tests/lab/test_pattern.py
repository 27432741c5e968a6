"""Pattern detector: the planted pattern is found where it was planted, with contrast; the score map
moves with the image; learned first-layer kernels resemble their most exciting patches."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnnlab import lab
from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.lab.pattern import PATTERNS, make_pattern, peak_and_contrast


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize(("row", "col", "background"),
                         [(18, 3, "digit"), (2, 20, "digit"), (10, 10, "noise"), (0, 0, "noise")])
def test_planted_pattern_is_found(pattern: str, row: int, col: int, background: str) -> None:
    r = lab.run("pattern", data="mnist-sample", pattern=pattern, row=row, col=col,
                background=background, train=False, seed=1)
    zm = r.numbers["zero_mean"]
    assert zm["found"] is True and zm["peak"] == [row, col]
    assert zm["ratio"] > 1.2 and zm["margin_in_std"] > 1  # an L corner resembles stroke edges most


def test_zero_mean_kernel_beats_raw_kernel_on_contrast() -> None:
    n = lab.run("pattern", data="mnist-sample", train=False).numbers
    assert n["zero_mean"]["ratio"] > 3 * n["raw_kernel"]["ratio"]
    assert n["planted_centre"] == [20, 5] and n["score_map_shape"] == [24, 24]


def test_score_map_moves_with_the_image() -> None:
    # equivariance, exactly: correlating a shifted image gives the shifted score map
    g = torch.Generator().manual_seed(0)
    x = torch.rand(28, 28, generator=g)
    k = make_pattern("ring", 5) - make_pattern("ring", 5).mean()
    score = F.conv2d(x[None, None], k[None, None])[0, 0]
    shifted = torch.roll(x, shifts=(3, 2), dims=(0, 1))
    score_s = F.conv2d(shifted[None, None], k[None, None])[0, 0]
    torch.testing.assert_close(score_s[3:, 2:], score[:-3, :-2], rtol=0, atol=1e-5)


def test_peak_and_contrast_excludes_the_neighbourhood() -> None:
    s = torch.zeros(10, 10)
    s[4, 4], s[4, 5], s[9, 0] = 5.0, 4.9, 2.0  # 4.9 is inside the exclusion zone
    res = peak_and_contrast(s, 3)
    assert res["peak"] == [4, 4] and res["second"] == [9, 0] and res["ratio"] == 2.5


def test_learned_kernels_match_their_top_patches() -> None:
    r = lab.run("pattern", data="mnist-sample", train_size=300, epochs=1)
    learned = r.numbers["learned"]
    assert learned["channels"] == 16 and len(learned["cosine_top"]) == 16
    assert learned["mean_cosine_top"] > learned["mean_cosine_random"] + 0.3
    assert set(r.figures) == {"detector", "learned_kernels"}


def test_bad_placement(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"row 25, col 3 does not fit.*row 0\.\.23, col 0\.\.23"):
        lab.run("pattern", data="mnist-sample", row=25, train=False)
    with pytest.raises(ConfigError, match=r"size = 15 is out of range; valid: 3\.\.14"):
        lab.run("pattern", size=15)
    out = tmp_path / "o"
    assert main(["lab", "pattern", "--data", "mnist-sample", "--col", "30", "--no-train",
                 "--out", str(out)]) == 2
    assert "does not fit" in capsys.readouterr().err and not out.exists()
