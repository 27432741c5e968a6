"""cnn-vs-fc: pixel order is a relabelling for an MLP (exactly), but not for a CNN; parameters and
multiply-adds both ways; seeds, paired tests and verdicts that follow them."""

from __future__ import annotations

import dataclasses
import io
import os
import warnings

import numpy as np
import pytest
import torch

from cnnlab import lab
from cnnlab.errors import ConfigError
from cnnlab.jsonable import equal, from_json, to_jsonable
from cnnlab.lab.cnn_vs_fc import (
    PAIRS,
    CnnVsFcNumbers,
    cnn_macs,
    counted_macs,
    explain,
    mlp_macs,
    mlp_with_permuted_inputs,
    pixel_permutation,
    shuffle_pixels,
)
from cnnlab.lab.stats import Paired
from cnnlab.models import build
from cnnlab.viz.fonts import hangul_font

MEDIUM = {"n_train": 2000, "n_test": 500, "epochs": 3, "seeds": 2}  # enough steps for both to learn


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


@pytest.mark.parametrize(
    "c,size,channels,hidden",
    [(1, 28, (16, 32), 64), (3, 32, (4, 8, 16), 0), (1, 28, (8,), 32), (2, 12, (5, 7), 16)],
)
def test_cnn_macs_formula_matches_flop_counter(
    c: int, size: int, channels: tuple, hidden: int
) -> None:
    model = build("cnn", in_channels=c, image_size=size, channels=channels, hidden=hidden)
    assert cnn_macs(c, size, channels, hidden)["total"] == counted_macs(model, (1, c, size, size))


@pytest.mark.parametrize("c,size,hidden", [(1, 28, (256, 128)), (3, 32, (64,)), (1, 9, (7, 5, 3))])
def test_mlp_macs_formula_matches_flop_counter(c: int, size: int, hidden: tuple) -> None:
    model = build("mlp", in_channels=c, image_size=size, hidden=hidden)
    assert mlp_macs(c, size, hidden)["total"] == counted_macs(model, (1, c, size, size))


def test_default_costs_both_ways() -> None:
    cnn, mlp = cnn_macs(1, 28, (16, 32), 64), mlp_macs(1, 28, (256, 128))
    assert cnn == {
        "total": 1_117_056,
        "conv_layers": 16 * 9 * 784 + 16 * 32 * 9 * 196,
        "classifier": 32 * 7 * 7 * 64 + 64 * 10,
    }
    assert mlp == {"total": 784 * 256 + 256 * 128 + 128 * 10, "first_layer": 784 * 256}
    assert round(105_914 / 235_146, 2) == 0.45  # fewer parameters …
    assert round(cnn["total"] / mlp["total"], 1) == 4.8  # … but more multiply-adds


def test_exact_control_identical_training(medium) -> None:
    ctrl = medium.numbers["mlp_permuted_init_control"]
    assert ctrl["prediction_agreement"] >= 0.998  # same trajectory; at most a float-order tie flips
    assert ctrl["max_first_layer_diff"] < 1e-4
    original = medium.numbers["accuracy_per_seed"]["mlp"]["original"][0]  # the same seed
    assert ctrl["accuracy"] == pytest.approx(original, abs=0.002)


def test_mlp_unchanged_within_noise_cnn_hurt(medium) -> None:
    n = medium.numbers
    assert n["mlp_unchanged_within_noise"] is True
    assert n["paired"]["mlp_original_vs_shuffled"]["p_value"] >= 0.05  # McNemar, pooled seeds
    assert n["change_when_shuffled"]["cnn"] < 0  # locality destroyed
    assert n["paired"]["cnn_original_vs_shuffled"]["p_value"] < 0.05
    assert n["cnn_advantage"]["shuffled"] < n["cnn_advantage"]["original"]
    p = n["params"]
    assert p["cnn"]["total"] == p["cnn"]["conv_layers"] + p["cnn"]["classifier"]
    assert p["mlp"]["first_layer"] == 784 * 256 + 256
    assert n["params_match_formula"] is True and n["macs_match_counter"] is True
    assert n["param_ratio"] == pytest.approx(105_914 / 235_146)
    assert n["mac_ratio"] == pytest.approx(1_117_056 / 234_752)
    assert "pixel order" in medium.text("en") and "픽셀" in medium.text("ko")
    assert "0.45× the MLP's parameters, but 4.8× its multiply-adds" in medium.text("en")
    assert set(medium.figures) == {"accuracy", "shuffled_digits"}


def test_seeds_spread_and_pooled_paired_tests(medium) -> None:
    n = medium.data
    assert n.seeds == (0, 1)
    for model in ("cnn", "mlp"):
        for kind in ("original", "shuffled"):
            per_seed = n.accuracy_per_seed[model][kind]
            s = n.accuracy_spread[model][kind]
            assert len(per_seed) == 2 and s.n == 2
            assert s.mean == pytest.approx(np.mean(per_seed)) == n.accuracy[model][kind]
            assert s.std == pytest.approx(np.std(per_seed, ddof=1))
    for name, (a, b) in PAIRS.items():
        test = n.paired[name]
        assert test.n == 2 * n.n_test  # seeds × the same test images
        # the discordant counts give the accuracy difference exactly: the pairing is real
        assert (test.a_only - test.b_only) / test.n == pytest.approx(
            n.accuracy[a[0]][a[1]] - n.accuracy[b[0]][b[1]]
        )
    assert "lab.cnn_vs_fc.one_seed" not in [key for key, _ in medium.messages]
    # the seed control: seed 0 vs seed 1 of the same model on the same original images
    for model in ("cnn", "mlp"):
        test = n.seed_to_seed[model]
        per_seed = n.accuracy_per_seed[model]["original"]
        assert test.n == n.n_test
        assert (test.a_only - test.b_only) / test.n == pytest.approx(per_seed[0] - per_seed[1])


def test_quick_run_says_one_seed() -> None:
    r = lab.run("cnn-vs-fc", n_train=200, n_test=50, epochs=1, seeds=1)
    assert "lab.cnn_vs_fc.one_seed" in [key for key, _ in r.messages]
    assert r.data.seed_to_seed == {}  # no second seed to compare with
    assert "one seed only" in r.text("en") and "시드가 하나뿐" in r.text("ko")


def test_numbers_round_trip_through_json(medium) -> None:
    arrays: dict = {}
    data = to_jsonable(medium.data, arrays, "cnn-vs-fc")
    assert "cnn-vs-fc.digits_original" in arrays  # the drawn digits go to the sidecar
    assert equal(from_json(CnnVsFcNumbers, data, arrays), medium.data)
    assert lab.get("cnn-vs-fc").load(data, arrays).text("ko") == medium.text("ko")


def _with(n: CnnVsFcNumbers, name: str, p: float, **changes) -> CnnVsFcNumbers:
    return dataclasses.replace(n, paired={**n.paired, name: Paired(40, 20, p, 1000)}, **changes)


def test_verdicts_follow_the_paired_tests(medium) -> None:
    n = medium.data
    keys = lambda numbers: [key for key, _ in explain(numbers)]  # noqa: E731
    ahead = {"original": 0.05, "shuffled": 0.05}
    behind = {"original": -0.05, "shuffled": -0.05}
    assert "lab.cnn_vs_fc.original_within_noise" in keys(
        _with(n, "cnn_vs_mlp", 0.2, cnn_advantage=ahead)
    )  # a 5-point gap the test calls noise
    assert "lab.cnn_vs_fc.original_cnn_better" in keys(
        _with(n, "cnn_vs_mlp", 0.001, cnn_advantage=ahead)
    )
    assert "lab.cnn_vs_fc.original_mlp_better" in keys(
        _with(n, "cnn_vs_mlp", 0.001, cnn_advantage=behind)
    )
    assert "lab.cnn_vs_fc.shuffled_within_noise" in keys(
        _with(n, "cnn_vs_mlp_shuffled", 0.5, cnn_advantage=ahead)
    )
    calm, jumpy = Paired(30, 28, 0.9, 1000), Paired(60, 20, 1e-5, 1000)
    changed = _with(
        n,
        "mlp_original_vs_shuffled",
        0.01,
        mlp_unchanged_within_noise=False,
        seed_to_seed={"mlp": calm, "cnn": calm},
    )
    assert "lab.cnn_vs_fc.mlp_changed" in keys(changed)
    # … unless another seed alone moves the MLP as much: then the text says so
    seed_noise = dataclasses.replace(changed, seed_to_seed={"mlp": jumpy, "cnn": calm})
    assert "lab.cnn_vs_fc.mlp_seed_noise" in keys(seed_noise)
    assert "two seeds of the same MLP" in lab.get("cnn-vs-fc").result(seed_noise).text("en")
    hurt = {"cnn": -0.05, "mlp": 0.0}
    assert "lab.cnn_vs_fc.cnn_not_hurt" in keys(
        _with(n, "cnn_original_vs_shuffled", 0.3, change_when_shuffled=hurt)
    )
    assert "lab.cnn_vs_fc.cnn_hurt" in keys(
        _with(n, "cnn_original_vs_shuffled", 0.001, change_when_shuffled=hurt)
    )
    # "the advantage is gone" only when there was one (significant on the original images)
    lost = _with(
        _with(n, "cnn_vs_mlp", 0.001),
        "cnn_vs_mlp_shuffled",
        0.5,
        cnn_advantage={"original": 0.05, "shuffled": 0.0},
    )
    assert "lab.cnn_vs_fc.advantage_lost" in keys(lost)
    never = _with(
        _with(n, "cnn_vs_mlp", 0.3),
        "cnn_vs_mlp_shuffled",
        0.5,
        cnn_advantage={"original": 0.01, "shuffled": 0.0},
    )
    assert "lab.cnn_vs_fc.advantage_lost" not in keys(never)


def test_figure_draws_costs_seeds_and_tests(medium) -> None:
    fig = medium.figures_in("en")["accuracy"]
    ax_cost, ax_acc = fig.axes[:2]
    heights = sorted(round(p.get_height()) for p in ax_cost.patches)
    assert heights == sorted([105_914, 235_146, 1_117_056, 234_752])
    assert sum("McNemar p" in t.get_text() for t in ax_acc.texts) == len(PAIRS)
    dots = sum(len(c.get_offsets()) for c in ax_acc.collections if hasattr(c, "get_offsets"))
    assert dots >= 2 * 2 * 2  # models × data × seeds


@pytest.mark.skipif(
    hangul_font() is None and not os.environ.get("CI"),
    reason="no Hangul font (CI installs fonts-nanum and never skips this)",
)
def test_korean_figures_render_without_missing_glyphs(medium) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for fig in medium.figures_in("ko").values():
            fig.savefig(io.BytesIO(), format="png")
    missing = [w for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert missing == []


def test_reproducible() -> None:
    a = lab.run("cnn-vs-fc", n_train=200, n_test=50, epochs=1, seeds=1)
    b = lab.run("cnn-vs-fc", n_train=200, n_test=50, epochs=1, seeds=1)
    assert a.numbers["accuracy"] == b.numbers["accuracy"]


def test_invalid_params() -> None:
    with pytest.raises(ConfigError, match=r"perm_seed = -1 is out of range"):
        lab.get("cnn-vs-fc").make_params(perm_seed=-1)
    with pytest.raises(ConfigError, match=r"seeds = 0 is out of range"):
        lab.get("cnn-vs-fc").make_params(seeds=0)
    with pytest.raises(ConfigError, match=r"n_test = 2000 is out of range; valid: 10\.\.1000"):
        lab.run("cnn-vs-fc", data="mnist-sample", n_test=2000)
