"""Pooling: shapes and window values on a real digit; which shifts pooling commutes with (exact for
whole cells, aliasing in between, less with a blur), and the controls behind those sentences."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab import lab
from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.lab.pooling import binomial, blur_subsample, pool_by, residuals, shift_right


@pytest.fixture(scope="module")
def result():
    return lab.run("pooling", data="mnist-sample", n_images=200, seeds=3)


def test_shapes_and_window_values(result) -> None:
    n = result.numbers
    assert n["input_shape"] == [1, 1, 28, 28]
    assert n["maxpool_shape"] == n["avgpool_shape"] == [1, 1, 14, 14]
    win = torch.tensor(n["window"])  # (4, 4)
    blocks = win.reshape(2, 2, 2, 2).permute(0, 2, 1, 3).reshape(2, 2, 4)  # (2, 2, p·p)
    torch.testing.assert_close(torch.tensor(n["window_max"]), blocks.amax(-1))
    torch.testing.assert_close(torch.tensor(n["window_avg"]), blocks.mean(-1))
    assert (torch.tensor(n["window_max"]) >= torch.tensor(n["window_avg"])).all()
    # the drawn pooled maps are torch's own pooling of the drawn digit
    img = torch.tensor(n["image"])[None, None]
    torch.testing.assert_close(torch.tensor(n["maps"]["max"]), F.max_pool2d(img, 2)[0, 0])
    torch.testing.assert_close(torch.tensor(n["maps"]["avg"]), F.avg_pool2d(img, 2)[0, 0])


def test_whole_cell_shifts_commute_exactly_and_odd_shifts_alias(result) -> None:
    n = result.numbers
    assert n["shifts"] == [0, 1, 2, 3, 4] and n["aligned"] == [2, 4] and n["misaligned"] == [1, 3]
    assert n["aligned_max"] == 0.0  # exact, not just small: the same values, moved
    for m in n["methods"]:
        for curve in [n["residual_pixels"][m], *n["residual_conv"][m]]:
            assert curve[0] == 0.0 and curve[2] == 0.0 and curve[4] == 0.0
            assert curve[1] > 0.2 and curve[3] > 0.2  # aliasing: far from a pure move
        assert n["misaligned_conv"][m]["n"] == 3


def test_blur_reduces_aliasing_for_every_seed(result) -> None:
    n = result.numbers
    for plain, blurred in (("max", "max_blur"), ("avg", "avg_blur")):
        for a, b in zip(n["residual_conv"][plain], n["residual_conv"][blurred], strict=True):
            assert b[1] < 0.9 * a[1]  # every seed, by a margin
        assert n["blur_reduction"][plain]["low"] > 5  # percent
        assert n["residual_pixels"][blurred][1] < 0.9 * n["residual_pixels"][plain][1]
    assert "BlurPool" in result.text("en") and "lowers this residual for every seed" in result.text(
        "en"
    )


def test_controls_conv_moves_exactly_and_global_max_is_a_reference(result) -> None:
    n = result.numbers
    assert n["conv_equivariance_max_abs_error"] == 0.0  # bias-free conv on a zero canvas
    assert n["global_max_residual"] == 0.0
    en, ko = result.text("en"), result.text("ko")
    assert "exact by construction, not a finding" in en and "기준값" in ko
    assert "Control: the conv layer alone" in en and "대조 실험" in ko


def test_residual_is_zero_for_a_pure_move_and_picks_the_nearer_cell() -> None:
    g = torch.Generator().manual_seed(0)
    pooled = F.pad(torch.rand(3, 2, 5, 5, generator=g), (0, 4))  # (N, C, 5, 9), room to move
    assert torch.equal(residuals(pooled, shift_right(pooled, 1), 2, 2), torch.zeros(3))
    # s = 3 with pool 2: either 1 or 2 whole cells; a 2-cell move is a pure move → 0
    assert torch.equal(residuals(pooled, shift_right(pooled, 2), 3, 2), torch.zeros(3))
    # no move at all is not accepted for s = 3 (k ∈ {1, 2}): residual ≈ ‖a − S_1 a‖ / ‖a‖ > 0
    assert (residuals(pooled, pooled, 3, 2) > 0.1).all()


def test_pooling_methods_against_torch() -> None:
    assert binomial(2).tolist() == [0.25, 0.5, 0.25]
    assert binomial(3).tolist() == pytest.approx([1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16])
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 8, 8, generator=g, dtype=torch.float64)
    torch.testing.assert_close(pool_by("max", x, 2), F.max_pool2d(x, 2))
    torch.testing.assert_close(pool_by("avg", x, 2), F.avg_pool2d(x, 2))
    # MaxBlurPool by hand: dense 2×2 max (stride 1), [1,2,1]⊗[1,2,1]/16 blur, every other cell
    dense = F.max_pool2d(F.pad(x, (0, 1, 0, 1)), 2, stride=1)  # (2, 3, 8, 8)
    k = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64)
    k2 = (torch.outer(k, k) / 16).expand(3, 1, 3, 3)
    want = F.conv2d(dense, k2, padding=1, groups=3)[..., ::2, ::2]
    torch.testing.assert_close(pool_by("max_blur", x, 2), want)
    assert pool_by("avg_blur", x, 2).shape == (2, 3, 4, 4)
    # the blur keeps a constant away from the zero padding
    ones = torch.ones(1, 1, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(
        blur_subsample(ones, 2)[..., 1:, 1:], torch.ones(1, 1, 3, 3, dtype=torch.float64)
    )
    with pytest.raises(ValueError, match=r"unknown pooling method 'min'; valid: max, avg"):
        pool_by("min", x, 2)


def test_shift_right_is_exact() -> None:
    x = torch.arange(2 * 3 * 5, dtype=torch.float32).reshape(1, 2, 3, 5)
    y = shift_right(x, 2)
    assert torch.equal(y[..., 2:], x[..., :3]) and torch.equal(y[..., :2], torch.zeros(1, 2, 3, 2))
    assert torch.equal(shift_right(x, 0), x)


def test_pool_3_aligned_shifts_are_multiples_of_3() -> None:
    n = lab.run("pooling", data="mnist-sample", n_images=20, seeds=1, pool=3, max_shift=4).numbers
    assert n["aligned"] == [3] and n["misaligned"] == [1, 2, 4]
    assert n["aligned_max"] == 0.0 and min(n["residual_pixels"]["max"][i] for i in (1, 2, 4)) > 0.1
    assert len(n["blur_kernel"]) == 5


def test_reproducible_and_one_seed_is_said() -> None:
    a = lab.run("pooling", data="mnist-sample", n_images=20, seeds=1, seed=1)
    b = lab.run("pooling", data="mnist-sample", n_images=20, seeds=1, seed=1)
    assert a.numbers["residual_conv"] == b.numbers["residual_conv"]
    assert "one conv seed only" in a.text("en") and "시드가 하나뿐" in a.text("ko")
    assert a.numbers["residual_conv_std"]["max"] == [0.0] * 5


def test_figures(result, tmp_path) -> None:
    assert set(result.figures) == {"max_vs_avg", "residual"}
    fig = result.figures["residual"]
    lines = [ln for ax in fig.axes for ln in ax.get_lines()]
    assert len(lines) == 8  # four poolings × (pixels, features)
    np.testing.assert_allclose(
        lines[4].get_ydata(), 100 * np.array(result.numbers["residual_conv_mean"]["max"])
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for fig in result.figures_in("ko").values():
            fig.savefig(io.BytesIO(), format="png")
    assert not [w for w in caught if "missing from" in str(w.message)]
    titles = [ax.get_title() for ax in result.figures_in("ko")["max_vs_avg"].axes]
    assert "최대 풀링(2): 14×14" in titles


def test_bad_parameters(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"max_shift = 28 is out of range; valid: 1\.\.27"):
        lab.run("pooling", max_shift=28)
    with pytest.raises(ConfigError, match=r"pool = 15 is out of range; valid: 2\.\.14"):
        lab.run("pooling", pool=15)
    with pytest.raises(
        ConfigError, match=r"max_shift = 2 is smaller than pool = 3.*valid: 3\.\.27"
    ):
        lab.run("pooling", data="mnist-sample", pool=3, max_shift=2)
    with pytest.raises(ConfigError, match=r"seeds = 0 is out of range; valid: 1\.\.20"):
        lab.run("pooling", seeds=0)
    out = tmp_path / "o"
    assert main(["lab", "pooling", "--max-shift", "-1", "--out", str(out)]) == 2
    assert "max_shift = -1 is out of range" in capsys.readouterr().err and not out.exists()
