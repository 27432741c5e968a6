"""translation: zero-fill shifts, exact conv equivariance off the borders, approximate pooling."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnnlab import lab
from cnnlab.errors import ConfigError
from cnnlab.lab.translation import shift_images

QUICK = {"n_train": 300, "n_test": 100, "epochs": 1, "max_shift": 3}


@pytest.fixture(scope="module")
def quick():
    return lab.run("translation", **QUICK)


def test_shift_moves_and_zero_fills() -> None:
    x = torch.arange(1, 26, dtype=torch.float32).view(1, 1, 5, 5)  # (N, C, H, W)
    s = shift_images(x, 1, -2)
    assert torch.equal(s[0, 0, 1:, :3], x[0, 0, :4, 2:])
    assert s[0, 0, 0].abs().sum() == 0 and s[0, 0, :, 3:].abs().sum() == 0
    assert torch.equal(shift_images(x, 0, 0), x)
    with pytest.raises(ConfigError,
                       match=r"Cannot shift a 5×5 image by \(dy, dx\) = \(5, 0\).*-4\.\.4"):
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
    circ = F.conv2d(F.pad(torch.roll(x, (shift, -shift), (2, 3)), (1,) * 4, mode="circular"), w) \
        - torch.roll(F.conv2d(F.pad(x, (1,) * 4, mode="circular"), w), (shift, -shift), (2, 3))
    assert circ.abs().max() < 1e-12


def test_trained_cnn_equivariance_numbers(quick) -> None:
    eq = quick.numbers["equivariance"]
    assert eq["conv_max_abs_diff_interior"] < 1e-10
    assert eq["conv_max_abs_diff_circular"] < 1e-10
    assert eq["conv_max_abs_diff_full_frame"] > 1e-3
    assert eq["pooled_2px_max_abs_diff_interior"] < 1e-10  # whole pooled cell: equivariant
    assert eq["pooled_1px_relative_change"] > 0.05  # one pixel: not invariant
    assert "equal up to rounding" in quick.text("en") and "등변" in quick.text("ko")


def test_accuracy_curves(quick) -> None:
    n = quick.numbers
    assert n["shifts"] == [0, 1, 2, 3]
    for name, curve in n["accuracy_vs_shift"].items():
        assert len(curve) == 4 and all(0.0 <= a <= 1.0 for a in curve)
        assert curve[0] == pytest.approx(n["models"][name]["accuracy"])  # shift 0 = plain test set
    assert set(quick.figures) == {"accuracy_vs_shift", "equivariance"}


@pytest.mark.parametrize("bad,match", [
    ({"max_shift": 28}, r"max_shift = 28 is out of range; valid: 0\.\.27"),
    ({"max_shift": -1}, r"max_shift = -1 is out of range"),
    ({"eq_shift": 0}, r"eq_shift = 0 is out of range; valid: 1\.\.27"),
])
def test_invalid_params(bad: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        lab.get("translation").make_params(**bad)


def test_index_beyond_test_set_fails_before_training() -> None:
    with pytest.raises(ConfigError, match=r"index = 100 is out of range; valid: 0\.\.99"):
        lab.run("translation", n_train=20, n_test=100, index=100)
