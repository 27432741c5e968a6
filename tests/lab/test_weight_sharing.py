"""weight-sharing: parameter and multiply-add formulas against real layers, the locality × sharing
decomposition, seeds and the paired test, and verdicts that follow the test."""

from __future__ import annotations

import dataclasses
import io
import os
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch

from cnnlab import lab
from cnnlab.errors import ConfigError
from cnnlab.jsonable import equal, from_json, to_jsonable
from cnnlab.lab.stats import Paired, mcnemar
from cnnlab.lab.weight_sharing import (
    KINDS,
    WeightSharingNumbers,
    build_layer,
    counted_macs,
    explain,
    layer_macs,
    layer_params,
)
from cnnlab.viz.fonts import hangul_font

QUICK = {"n_train": 300, "n_test": 100, "epochs": 1, "channels": 2, "seeds": 1}
TWO_SEEDS = {"n_train": 300, "n_test": 100, "epochs": 1, "channels": 8, "seeds": 2}
CONFIGS = [(1, 8, 28, 3), (1, 16, 28, 5), (3, 4, 12, 3), (2, 5, 9, 1), (1, 1, 7, 7)]


@pytest.fixture(scope="module")
def two_seeds():
    return lab.run("weight-sharing", **TWO_SEEDS)


@pytest.mark.parametrize("c_in,c_out,size,k", CONFIGS)
def test_lc_params_are_positions_times_conv_and_match_numel(
    c_in: int, c_out: int, size: int, k: int
) -> None:
    counts = {kind: layer_params(kind, c_in, c_out, size, k)[0] for kind in KINDS}
    for kind in KINDS:
        layer = build_layer(kind, c_in, c_out, size, k)
        assert counts[kind] == sum(p.numel() for p in layer.parameters()), kind
    positions = size * size  # same padding: output is size × size
    assert counts["locally_connected"] == positions * counts["conv"]
    assert counts["fully_connected"] == (c_in * positions) * (c_out * positions) + c_out * positions


@pytest.mark.parametrize("c_in,c_out,size,k", CONFIGS)
def test_macs_formula_matches_flop_counter_on_real_layers(
    c_in: int, c_out: int, size: int, k: int
) -> None:
    macs = {kind: layer_macs(kind, c_in, c_out, size, k)[0] for kind in KINDS}
    for kind in KINDS:
        assert macs[kind] == counted_macs(
            build_layer(kind, c_in, c_out, size, k), (1, c_in, size, size)
        ), kind
    assert macs["conv"] == macs["locally_connected"]  # sharing changes no multiply-add
    assert macs["fully_connected"] == (c_in * size * size) * (c_out * size * size)


def test_lc_does_as_many_multiplications_as_conv_by_hand() -> None:
    # Independent of any counter: a locally connected layer with every position's kernel set to the
    # conv kernel IS the conv; so it does the same dot products, one per output value.
    from cnnlab.models import LocallyConnected2d

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(2, 3, 3, padding=1)
    lc = LocallyConnected2d(2, 3, 6, 3, padding=1)
    with torch.no_grad():
        lc.weight.copy_(conv.weight.reshape(3, -1).expand_as(lc.weight))  # (L, C_out, C_in·k·k)
        lc.bias.copy_(conv.bias[:, None, None].expand_as(lc.bias))
    x = torch.rand(2, 2, 6, 6)
    torch.testing.assert_close(lc(x), conv(x))


def test_defaults_numbers_in_the_note_sense() -> None:
    assert layer_params("conv", 1, 8, 28, 3) == (80, "8·1·3·3 + 8 = 80")
    assert layer_params("locally_connected", 1, 8, 28, 3)[0] == 784 * 80 == 62_720
    assert layer_params("fully_connected", 1, 8, 28, 3)[0] == 784 * 6272 + 6272
    assert (
        layer_macs("conv", 1, 8, 28, 3)[0]
        == layer_macs("locally_connected", 1, 8, 28, 3)[0]
        == 56_448
    )
    assert layer_macs("fully_connected", 1, 8, 28, 3)[0] == 784 * 6272 == 4_917_248


def test_locality_times_sharing_is_the_total_ratio_exactly() -> None:
    p = {kind: Fraction(layer_params(kind, 1, 8, 28, 3)[0]) for kind in KINDS}
    locality = p["fully_connected"] / p["locally_connected"]
    sharing = p["locally_connected"] / p["conv"]
    assert sharing == 784 and locality == Fraction(157, 2)  # 78.5
    assert locality * sharing == p["fully_connected"] / p["conv"] == 61_544


def test_quick_run_numbers_progress_and_reproducibility() -> None:
    events: list[dict] = []
    a = lab.run("weight-sharing", callback=events.append, **QUICK)
    n = a.numbers
    assert n["formula_matches_numel"] is True and n["lc_equals_positions_times_conv"] is True
    assert n["macs_match_counter"] is True and n["factors_multiply_exactly"] is True
    assert n["ratio_lc_to_conv"] == 784
    assert n["ratio_fc_to_lc"] * n["ratio_lc_to_conv"] == pytest.approx(n["ratio_fc_to_conv"])
    assert (
        n["layer_params"]["conv"]
        < n["layer_params"]["locally_connected"]
        < n["layer_params"]["fully_connected"]
    )
    assert set(n["accuracy"]) == set(KINDS) and all(0 <= v <= 1 for v in n["accuracy"].values())
    b = lab.run("weight-sharing", **QUICK)
    assert a.numbers["accuracy"] == b.numbers["accuracy"]  # seeded: same numbers
    assert "p.numel()" in a.text("en") and "매개변수" in a.text("ko")
    assert "FlopCounterMode" in a.text("en")
    train = [e for e in events if e["kind"] == "train"]
    assert {e["model"] for e in train} == set(KINDS)
    assert {"epoch": 1, "epochs": 1}.items() <= train[-1].items()
    assert [e["index"] for e in events if e.get("stage") == "seed"] == [1]
    keys = [key for key, _ in a.messages]
    assert "lab.weight_sharing.one_seed" in keys  # the quick run says it has one seed
    assert "one seed only" in a.text("en") and "시드가 하나뿐" in a.text("ko")


def test_seeds_spread_and_pooled_paired_test(two_seeds) -> None:
    n = two_seeds.data
    assert n.seeds == (0, 1)
    one = lab.run("weight-sharing", **{**TWO_SEEDS, "seeds": 1}).data
    for kind in KINDS:
        per_seed = n.accuracy_per_seed[kind]
        assert len(per_seed) == 2
        assert per_seed[0] == one.accuracy_per_seed[kind][0]  # seed s trains the same either way
        s = n.accuracy_spread[kind]
        assert s.n == 2 and s.mean == pytest.approx(np.mean(per_seed))
        assert s.std == pytest.approx(np.std(per_seed, ddof=1))
        assert n.accuracy[kind] == pytest.approx(s.mean)
    assert n.accuracy_per_seed["conv"][0] != n.accuracy_per_seed["conv"][1]  # seeds differ
    for rival in ("locally_connected", "fully_connected"):
        test = n.paired[f"conv_vs_{rival}"]
        # pooled over seeds × images: the discordant counts give the accuracy difference exactly
        assert test.n == 2 * n.n_test
        pooled = (test.a_only - test.b_only) / test.n
        assert pooled == pytest.approx(n.accuracy["conv"] - n.accuracy[rival])
        assert (
            test.p_value
            == mcnemar(
                [True] * test.a_only + [False] * test.b_only,
                [False] * test.a_only + [True] * test.b_only,
            ).p_value
        )
        assert len(n.paired_p_per_seed[f"conv_vs_{rival}"]) == 2
    assert "lab.weight_sharing.one_seed" not in [key for key, _ in two_seeds.messages]
    for kind in KINDS:  # the seed control: seed 0 vs seed 1 of the same network, same images
        test, per_seed = n.seed_to_seed[kind], n.accuracy_per_seed[kind]
        assert test.n == n.n_test
        assert (test.a_only - test.b_only) / test.n == pytest.approx(per_seed[0] - per_seed[1])
    for rival in ("locally_connected", "fully_connected"):
        ahead = sum(a > b for a, b in zip(n.accuracy_per_seed["conv"], n.accuracy_per_seed[rival]))
        assert n.conv_ahead_in[f"conv_vs_{rival}"] == ahead


def test_numbers_round_trip_through_json(two_seeds) -> None:
    arrays: dict = {}
    data = to_jsonable(two_seeds.data, arrays, "weight-sharing")
    back = from_json(WeightSharingNumbers, data, arrays)
    assert equal(back, two_seeds.data)
    assert lab.get("weight-sharing").load(data, arrays).text("en") == two_seeds.text("en")


def _with_test(
    n: WeightSharingNumbers, rival: str, p: float, conv_acc: float, rival_acc: float
) -> WeightSharingNumbers:
    paired = {**n.paired, f"conv_vs_{rival}": Paired(30, 20, p, 200)}
    return dataclasses.replace(
        n, paired=paired, accuracy={**n.accuracy, "conv": conv_acc, rival: rival_acc}
    )


@pytest.mark.parametrize(
    "rival,short", [("locally_connected", "sharing"), ("fully_connected", "dense")]
)
def test_verdict_follows_the_paired_test(two_seeds, rival: str, short: str) -> None:
    n = two_seeds.data
    cases = [
        (0.30, 0.90, 0.85, "within_noise"),  # a 5-point gap that the test calls noise
        (0.001, 0.90, 0.85, "conv_better"),
        (0.001, 0.85, 0.90, "rival_better"),
    ]
    for p, conv_acc, rival_acc, verdict in cases:
        keys = [key for key, _ in explain(_with_test(n, rival, p, conv_acc, rival_acc))]
        assert f"lab.weight_sharing.{short}_{verdict}" in keys, (p, verdict)
    text = lab.get("weight-sharing").result(_with_test(n, rival, 0.3, 0.9, 0.85)).text("en")
    assert "within noise" in text


def test_seed_caveat_when_another_seed_differs_as_much(two_seeds) -> None:
    n = _with_test(two_seeds.data, "locally_connected", 0.001, 0.90, 0.85)
    calm, jumpy = Paired(30, 28, 0.9, 100), Paired(60, 20, 1e-5, 100)
    quiet = dataclasses.replace(n, seed_to_seed=dict.fromkeys(KINDS, calm))
    assert "lab.weight_sharing.seed_caveat" not in [key for key, _ in explain(quiet)]
    noisy = dataclasses.replace(n, seed_to_seed={**quiet.seed_to_seed, "conv": jumpy})
    keys = [key for key, _ in explain(noisy)]
    assert (
        keys[keys.index("lab.weight_sharing.sharing_conv_better") + 1]
        == "lab.weight_sharing.seed_caveat"
    )
    text = lab.get("weight-sharing").result(noisy).text("en")
    assert "two seeds of the same network also differ" in text
    # within noise: no caveat needed
    calm_test = dataclasses.replace(
        noisy,
        paired={
            **noisy.paired,
            "conv_vs_locally_connected": Paired(30, 28, 0.9, 200),
            "conv_vs_fully_connected": Paired(30, 28, 0.9, 200),
        },
    )
    assert "lab.weight_sharing.seed_caveat" not in [key for key, _ in explain(calm_test)]


def test_figure_shows_both_factors_and_the_same_compute(two_seeds) -> None:
    fig = two_seeds.figures_in("en")["params_accuracy"]
    assert len(fig.axes) == 3
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "locality ÷78.5" in texts and "sharing ÷784" in texts and "the same" in texts
    bar_heights = [[round(p.get_height()) for p in ax.patches] for ax in fig.axes[:2]]
    assert bar_heights == [[80, 62_720, 4_923_520], [56_448, 56_448, 4_917_248]]
    assert sum("McNemar p" in t for t in texts) == 2


@pytest.mark.skipif(
    hangul_font() is None and not os.environ.get("CI"),
    reason="no Hangul font (CI installs fonts-nanum and never skips this)",
)
def test_korean_figure_renders_without_missing_glyphs(two_seeds) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = two_seeds.figures_in("ko")["params_accuracy"]
        fig.savefig(io.BytesIO(), format="png")
    missing = [w for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert missing == []
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "국소성 ÷78.5" in texts and "가중치 공유 ÷784" in texts


def test_same_input_and_output_shapes() -> None:
    x = torch.zeros(2, 1, 28, 28)  # (N, C, H, W)
    shapes = {kind: tuple(build_layer(kind, 1, 8, 28, 3)(x).shape) for kind in KINDS}
    assert set(shapes.values()) == {(2, 8, 28, 28)}


@pytest.mark.parametrize(
    "bad,match",
    [
        ({"kernel": 4}, r"kernel = 4 is not valid\. Valid: 1, 3, 5, 7"),
        ({"channels": 0}, r"channels = 0 is out of range; valid: 1\.\.16"),
        ({"channels": 17}, r"channels = 17 is out of range; valid: 1\.\.16"),
        ({"n_train": -1}, r"n_train = -1 is out of range"),
        ({"epochs": 0}, r"epochs = 0 is out of range; valid: 1\.\.100"),
        ({"seeds": 0}, r"seeds = 0 is out of range"),
    ],
)
def test_invalid_params_raise_before_work(bad: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        lab.get("weight-sharing").make_params(**bad)


def test_more_images_than_the_dataset_holds() -> None:
    with pytest.raises(ConfigError, match=r"n_train = 5000 is out of range; valid: 10\.\.4000"):
        lab.run("weight-sharing", data="mnist-sample", n_train=5000, epochs=1)
