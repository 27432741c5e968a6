"""translation: zero-fill shifts, exact stride-1 conv equivariance off the frame (not on it),
stride 2 and pooling only for whole cells, accuracy under shifts over seeds with paired tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab import lab
from cnnlab.errors import ConfigError
from cnnlab.lab.stats import Paired, spread
from cnnlab.lab.translation import (
    DIRECTIONS,
    Comparison,
    _p_text,
    _verdict,
    shift_directions,
    shift_each,
    shift_images,
)

QUICK = {"n_train": 300, "n_test": 100, "epochs": 1, "max_shift": 3, "seeds": 2}


@pytest.fixture(scope="module")
def quick():
    return lab.run("translation", **QUICK)


def test_shift_moves_and_zero_fills() -> None:
    x = torch.arange(1, 26, dtype=torch.float32).view(1, 1, 5, 5)  # (N, C, H, W)
    s = shift_images(x, 1, -2)
    assert torch.equal(s[0, 0, 1:, :3], x[0, 0, :4, 2:])
    assert s[0, 0, 0].abs().sum() == 0 and s[0, 0, :, 3:].abs().sum() == 0
    assert torch.equal(shift_images(x, 0, 0), x)
    with pytest.raises(
        ConfigError, match=r"Cannot shift a 5×5 image by \(dy, dx\) = \(5, 0\).*-4\.\.4"
    ):
        shift_images(x, 5, 0)


@pytest.mark.parametrize("shift", [1, 2, 5])
def test_random_conv_is_equivariant_away_from_borders(shift: int) -> None:
    # The claim itself, on any stride-1 conv: float64, random weights and image.
    g = torch.Generator().manual_seed(shift)
    x = torch.randn(1, 2, 20, 20, generator=g, dtype=torch.float64)
    w = torch.randn(4, 2, 3, 3, generator=g, dtype=torch.float64)
    y_of_shifted = F.conv2d(shift_images(x, shift, -shift), w, padding=1)
    shifted_y = shift_images(F.conv2d(x, w, padding=1), shift, -shift)
    m = shift + 1  # shift + padding
    inner = (y_of_shifted - shifted_y)[..., m:-m, m:-m]
    assert inner.abs().max() < 1e-12
    assert (y_of_shifted - shifted_y).abs().max() > 1e-3  # the border really differs
    circ = F.conv2d(
        F.pad(torch.roll(x, (shift, -shift), (2, 3)), (1,) * 4, mode="circular"), w
    ) - torch.roll(F.conv2d(F.pad(x, (1,) * 4, mode="circular"), w), (shift, -shift), (2, 3))
    assert circ.abs().max() < 1e-12


@pytest.mark.parametrize("shift,exact", [(2, True), (4, True), (1, False), (3, False)])
def test_random_stride2_conv_is_equivariant_for_whole_cells_only(shift: int, exact: bool) -> None:
    g = torch.Generator().manual_seed(shift)
    x = F.pad(torch.randn(1, 2, 16, 16, generator=g, dtype=torch.float64), (4,) * 4)  # (1,2,24,24)
    w = torch.randn(4, 2, 3, 3, generator=g, dtype=torch.float64)
    y = F.conv2d(x, w, stride=2, padding=1)  # (1, 4, 12, 12)
    y_of_shifted = F.conv2d(shift_images(x, 0, shift), w, stride=2, padding=1)
    best = min(
        float((y_of_shifted - shift_images(y, 0, k)).norm() / y.norm())
        for k in {shift // 2, -(-shift // 2)}
    )
    assert (best < 1e-12) == exact
    if not exact:
        assert best > 0.1


def test_trained_cnn_equivariance_numbers(quick) -> None:
    eq = quick.numbers["equivariance"]
    assert eq["conv_max_abs_diff_interior"] < 1e-10
    assert eq["conv_max_abs_diff_circular"] < 1e-10
    assert eq["conv_max_abs_diff_frame"] > 1e-3  # measured on the frame cells only
    assert eq["stride2_2px_max_abs_diff_interior"] < 1e-10  # whole output cell: equivariant
    assert eq["stride2_1px_relative_residual"] > 0.05  # half a cell: no whole-cell move fits
    assert eq["pooled_2px_max_abs_diff_interior"] < 1e-10  # whole pooled cell: equivariant
    assert eq["pooled_1px_relative_residual"] > 0.05  # one pixel: not even after the best move
    assert "equal up to rounding" in quick.text("en") and "등변" in quick.text("ko")
    assert "On the frame rows and columns" in quick.text("en")
    assert {k: np.asarray(v).shape for k, v in eq["maps"].items()}["f0"] == (14, 14)


def test_accuracy_curves(quick) -> None:
    n = quick.numbers
    assert n["shifts"] == [0, 1, 2, 3] and n["seeds"] == 2
    for name, curve in n["accuracy_vs_shift"].items():
        assert len(curve) == 4 and all(0.0 <= a <= 1.0 for a in curve)
        per_seed = np.array(n["accuracy_per_seed"][name])  # (seeds, shifts)
        assert per_seed.shape == (2, 4)
        np.testing.assert_allclose(curve, per_seed.mean(0))
        np.testing.assert_allclose(n["accuracy_vs_shift_std"][name], per_seed.std(0, ddof=1))
        # shift 0 = the plain test set: the same accuracy fit measured, seed by seed
        assert per_seed[:, 0].mean() == pytest.approx(n["models"][name]["accuracy"]["mean"])
        assert n["models"][name]["accuracy"]["n"] == 2
    assert set(quick.figures) == {"accuracy_vs_shift", "equivariance"}


def test_paired_comparisons_follow_their_p_value(quick) -> None:
    n = quick.numbers
    cmps = n["comparisons"]
    assert [(c["a"], c["b"], c["shift"]) for c in cmps] == [
        ("gap", "cnn", 0),
        ("gap", "cnn", 3),
        ("cnn", "mlp", 0),
        ("cnn", "mlp", 3),
    ]
    keys = [k for k, _ in quick.messages if k.startswith("lab.translation.cmp_")]
    for c, key in zip(cmps, keys, strict=True):
        assert c["test"]["n"] == 2 * 100  # pooled over 2 seeds × 100 test images
        curve_a = n["accuracy_vs_shift"][c["a"]][c["shift"]]
        assert c["accuracy_a"]["mean"] == pytest.approx(curve_a)
        assert key.endswith("_noise") == (c["test"]["p_value"] >= 0.05)
    assert "McNemar p =" in quick.text("en") and "맥니마 검정" in quick.text("ko")


def test_verdict_follows_the_test() -> None:
    hi, lo = spread([0.9, 0.92]), spread([0.5, 0.52])
    sig, flat = Paired(40, 2, 1e-9, 100), Paired(5, 4, 1.0, 100)
    assert _verdict(Comparison("gap", "cnn", 4, hi, lo, sig)) == "better"
    assert _verdict(Comparison("gap", "cnn", 4, lo, hi, sig)) == "worse"
    assert _verdict(Comparison("gap", "cnn", 4, hi, lo, flat)) == "noise"  # big gap, p ≥ 0.05
    assert (_p_text(0.0), _p_text(1.8e-17), _p_text(0.58)) == ("< 1e-300", "1.8e-17", "0.58")


def test_shifted_test_set_moves_each_image_in_its_direction() -> None:
    d = shift_directions(50)
    assert np.array_equal(d, shift_directions(50)) and set(d.tolist()) == {0, 1, 2, 3}
    x = torch.rand(50, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    moved = shift_each(x, 2, d)
    for i in range(50):
        dy, dx = DIRECTIONS[d[i]]
        assert torch.equal(moved[i], shift_images(x[i : i + 1], 2 * dy, 2 * dx)[0])
    assert torch.equal(shift_each(x, 0, d), x)


def test_one_seed_is_said() -> None:
    r = lab.run("translation", n_train=100, n_test=50, epochs=1, max_shift=1, seeds=1)
    assert "one seed only" in r.text("en") and "시드가 하나뿐" in r.text("ko")
    assert r.numbers["accuracy_vs_shift_std"]["cnn"] == [0.0, 0.0]


@pytest.mark.parametrize(
    "bad,match",
    [
        ({"max_shift": 28}, r"max_shift = 28 is out of range; valid: 0\.\.27"),
        ({"max_shift": -1}, r"max_shift = -1 is out of range"),
        ({"eq_shift": 0}, r"eq_shift = 0 is out of range; valid: 1\.\.27"),
        ({"seeds": 0}, r"seeds = 0 is out of range; valid: 1\.\.20"),
    ],
)
def test_invalid_params(bad: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        lab.get("translation").make_params(**bad)


def test_index_beyond_test_set_fails_before_training() -> None:
    with pytest.raises(ConfigError, match=r"index = 100 is out of range; valid: 0\.\.99"):
        lab.run("translation", n_train=20, n_test=100, index=100)


def test_korean_figures_render_every_glyph(quick) -> None:
    import io
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for fig in quick.figures_in("ko").values():
            fig.savefig(io.BytesIO(), format="png")
    assert not [w for w in caught if "missing from" in str(w.message)]
    ax = quick.figures_in("ko")["accuracy_vs_shift"].axes[0]
    assert ax.get_ylabel() == "테스트 정확도(%), 시드 2개의 평균 ± 표준편차"
