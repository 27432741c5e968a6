"""weight-sharing: the parameter formulas against real layers, and a tiny trained comparison."""

from __future__ import annotations

import pytest
import torch

from cnnlab import lab
from cnnlab.errors import ConfigError
from cnnlab.lab.weight_sharing import KINDS, build_layer, layer_params

QUICK = {"n_train": 300, "n_test": 100, "epochs": 1, "channels": 2}


@pytest.mark.parametrize("c_in,c_out,size,k", [(1, 8, 28, 3), (1, 16, 28, 5), (3, 4, 12, 3),
                                               (2, 5, 9, 1), (1, 1, 7, 7)])
def test_lc_params_are_positions_times_conv_and_match_numel(c_in: int, c_out: int, size: int,
                                                            k: int) -> None:
    counts = {kind: layer_params(kind, c_in, c_out, size, k)[0] for kind in KINDS}
    for kind in KINDS:
        layer = build_layer(kind, c_in, c_out, size, k)
        assert counts[kind] == sum(p.numel() for p in layer.parameters()), kind
    positions = size * size  # same padding: output is size × size
    assert counts["locally_connected"] == positions * counts["conv"]
    assert counts["fully_connected"] == (c_in * positions) * (c_out * positions) + c_out * positions


def test_same_input_and_output_shapes() -> None:

    x = torch.zeros(2, 1, 28, 28)  # (N, C, H, W)
    shapes = {kind: tuple(build_layer(kind, 1, 8, 28, 3)(x).shape) for kind in KINDS}
    assert set(shapes.values()) == {(2, 8, 28, 28)}


def test_defaults_numbers_in_the_note_sense() -> None:
    assert layer_params("conv", 1, 8, 28, 3) == (80, "8·1·3·3 + 8 = 80")
    assert layer_params("locally_connected", 1, 8, 28, 3)[0] == 784 * 80 == 62_720
    assert layer_params("fully_connected", 1, 8, 28, 3)[0] == 784 * 6272 + 6272


def test_quick_run_numbers_progress_and_reproducibility() -> None:
    events: list[dict] = []
    a = lab.run("weight-sharing", callback=events.append, **QUICK)
    n = a.numbers
    assert n["formula_matches_numel"] is True and n["lc_equals_positions_times_conv"] is True
    assert n["ratio_lc_to_conv"] == 784
    assert n["layer_params"]["conv"] < n["layer_params"]["locally_connected"] \
        < n["layer_params"]["fully_connected"]
    assert set(n["accuracy"]) == set(KINDS) and all(0 <= v <= 1 for v in n["accuracy"].values())
    b = lab.run("weight-sharing", **QUICK)
    assert a.numbers["accuracy"] == b.numbers["accuracy"]  # seeded: same numbers
    assert "p.numel()" in a.text("en") and "매개변수" in a.text("ko")
    train = [e for e in events if e["kind"] == "train"]
    assert {e["model"] for e in train} == set(KINDS)
    assert {"epoch": 1, "epochs": 1}.items() <= train[-1].items()


@pytest.mark.parametrize("bad,match", [
    ({"kernel": 4}, r"kernel = 4 is not valid\. Valid: 1, 3, 5, 7"),
    ({"channels": 0}, r"channels = 0 is out of range; valid: 1\.\.16"),
    ({"channels": 17}, r"channels = 17 is out of range; valid: 1\.\.16"),
    ({"n_train": -1}, r"n_train = -1 is out of range"),
    ({"epochs": 0}, r"epochs = 0 is out of range; valid: 1\.\.100"),
])
def test_invalid_params_raise_before_work(bad: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        lab.get("weight-sharing").make_params(**bad)


def test_more_images_than_the_dataset_holds() -> None:
    with pytest.raises(ConfigError, match=r"n_train = 5000 is out of range; valid: 10\.\.4000"):
        lab.run("weight-sharing", data="mnist-sample", n_train=5000, epochs=1)
