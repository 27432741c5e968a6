"""cnn-vs-fc: pixel order is a relabelling for an MLP (exactly), but not for a CNN."""

from __future__ import annotations

import pytest
import torch

from cnnlab import lab
from cnnlab.errors import ConfigError
from cnnlab.lab.cnn_vs_fc import mlp_with_permuted_inputs, pixel_permutation, shuffle_pixels
from cnnlab.models import build

MEDIUM = {"n_train": 2000, "n_test": 500, "epochs": 3}  # enough steps for both to learn


@pytest.fixture(scope="module")
def medium():
    return lab.run("cnn-vs-fc", **MEDIUM)


def test_shuffle_is_one_fixed_permutation() -> None:
    x = torch.rand(3, 2, 28, 28)  # (N, C, H, W)
    perm = pixel_permutation(28 * 28, seed=5)
    xs = shuffle_pixels(x, perm)
    assert torch.equal(perm, pixel_permutation(28 * 28, seed=5))  # seeded: the same every time
    assert torch.equal(xs.flatten(2).sort(-1).values, x.flatten(2).sort(-1).values)
    assert torch.equal(xs[1, 0].flatten(), x[1, 0].flatten()[perm])  # same order in every image
    assert torch.equal(xs[2, 1].flatten(), x[2, 1].flatten()[perm])  # … and every channel
    inverse = torch.argsort(perm)
    assert torch.equal(shuffle_pixels(xs, inverse), x)


def test_mlp_with_permuted_columns_is_the_same_function() -> None:
    torch.manual_seed(0)
    mlp = build("mlp").eval()
    x = torch.rand(8, 1, 28, 28)
    perm = pixel_permutation(784, seed=1)
    with torch.no_grad():
        expected = mlp(x)
        got = mlp_with_permuted_inputs(mlp, perm)(shuffle_pixels(x, perm))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_exact_control_identical_training(medium) -> None:
    ctrl = medium.numbers["mlp_permuted_init_control"]
    assert ctrl["prediction_agreement"] >= 0.998  # same trajectory; at most a float-order tie flips
    assert ctrl["max_first_layer_diff"] < 1e-4
    original = medium.numbers["accuracy"]["mlp"]["original"]
    assert ctrl["accuracy"] == pytest.approx(original, abs=0.002)


def test_mlp_unchanged_within_noise_cnn_hurt(medium) -> None:
    n = medium.numbers
    assert n["mlp_unchanged_within_noise"] is True
    assert abs(n["change_when_shuffled"]["mlp"]) <= n["noise_2se"]["mlp"]
    assert n["change_when_shuffled"]["cnn"] < 0  # locality destroyed
    assert n["cnn_advantage"]["shuffled"] < n["cnn_advantage"]["original"]
    p = n["params"]
    assert p["cnn"]["total"] == p["cnn"]["conv_layers"] + p["cnn"]["classifier"]
    assert p["mlp"]["first_layer"] == 784 * 256 + 256
    assert "pixel order" in medium.text("en") and "픽셀" in medium.text("ko")
    assert set(medium.figures) == {"accuracy", "shuffled_digits"}


def test_reproducible() -> None:
    a = lab.run("cnn-vs-fc", n_train=200, n_test=50, epochs=1)
    b = lab.run("cnn-vs-fc", n_train=200, n_test=50, epochs=1)
    assert a.numbers["accuracy"] == b.numbers["accuracy"]


def test_invalid_params() -> None:
    with pytest.raises(ConfigError, match=r"perm_seed = -1 is out of range"):
        lab.get("cnn-vs-fc").make_params(perm_seed=-1)
    with pytest.raises(ConfigError, match=r"n_test = 2000 is out of range; valid: 10\.\.1000"):
        lab.run("cnn-vs-fc", data="mnist-sample", n_test=2000)
