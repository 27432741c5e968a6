"""Receptive fields of any layer (formula on chains, measured on branching nets) and top patches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.inspect.patches import UnitField, cut, top_patches, unit_field


class Images:
    """A tiny image dataset in cnnlab's shape: ``ds[i] -> (tensor (C, H, W), label)``."""

    def __init__(self, x: torch.Tensor) -> None:
        self.x = x

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.x[i], i % 3


class Residual(nn.Module):
    """stem 3×3 → (dilated 3×3 branch + identity) → max-pool 2: not a chain."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, padding=1)
        self.branch = nn.Conv2d(4, 4, 3, padding=2, dilation=2)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stem(x)
        return self.pool(self.act(self.branch(y) + y))


def test_measured_field_of_a_branching_net_matches_the_hand_computed_one() -> None:
    # by hand (per axis): stem k3 p1 → r 3, j 1, left -1; the dilated branch (effective kernel 5,
    # p2) widens it to r 3 + 4 = 7, left -1 - 2 = -3 (the identity path adds nothing wider);
    # max-pool 2/2 → r 7 + 1 = 8, j 2, left -3.
    torch.manual_seed(0)
    model = Residual()
    hand = {"stem": ((3, 3), (1, 1), (-1, -1)), "act": ((7, 7), (1, 1), (-3, -3))}
    hand["pool"] = ((8, 8), (2, 2), (-3, -3))
    for layer, answer in hand.items():
        # this module's measurement on the real model, and the summary's (default "auto")
        measured = unit_field(model, layer, (2, 16, 16), method="measured")
        auto = unit_field(model, layer, (2, 16, 16))
        assert measured.method == "measured"
        assert (measured.size, measured.jump, measured.left) == answer, layer
        assert (auto.size, auto.jump, auto.left) == answer, layer
    assert unit_field(model, "pool", (2, 16, 16)).method == "measured"  # past the branch
    assert unit_field(model, "stem", (2, 16, 16)).method == "formula"  # before it
    # a field larger than the image: the canvas grows until the box is free of the border
    assert unit_field(model, "pool", (2, 6, 6), method="measured").size == (8, 8)


def test_formula_and_measurement_agree_on_a_chain() -> None:
    torch.manual_seed(0)
    chain = nn.Sequential(
        nn.Conv2d(3, 4, (3, 5), padding=(1, 2)),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, stride=2, dilation=2),
        nn.BatchNorm2d(4),
        nn.ReLU(),
    )
    chain.eval()
    for layer in ("0", "2", "3", "5"):
        formula = unit_field(chain, layer, (3, 24, 30))
        measured = unit_field(chain, layer, (3, 24, 30), method="measured")
        assert formula.method == "formula" and measured.method == "measured"
        assert (formula.size, formula.jump, formula.left) == (
            measured.size,
            measured.jump,
            measured.left,
        ), layer
    assert unit_field(chain, "5", (3, 24, 30)).size == (12, 14)  # r = 4 + 4·2, 6 + 4·2 (W)


def test_formula_refused_where_it_does_not_apply() -> None:
    with pytest.raises(ConfigError, match=r"only when the model is an nn\.Sequential chain"):
        unit_field(Residual(), "pool", (2, 8, 8), method="formula")
    with pytest.raises(ConfigError, match="Unknown receptive-field method exact; valid: auto"):
        unit_field(Residual(), "pool", (2, 8, 8), method="exact")


def _blob_model() -> nn.Sequential:
    """Channel 0 sums the 3×3 window of both input channels; channel 1 is minus that."""
    conv = nn.Conv2d(2, 2, 3, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0] = 1.0
        conv.weight[1] = -1.0
    return nn.Sequential(conv)


def test_top_patches_are_the_brightest_windows_cut_from_the_images() -> None:
    gen = torch.Generator().manual_seed(0)
    x = 0.2 * torch.rand(12, 2, 9, 11, generator=gen)  # 2 channels, 9×11
    for i in range(12):  # a bright 3×3 square at a different place in each image
        r, c = 1 + i % 5, 2 * (i % 4)
        x[i, :, r : r + 3, c : c + 3] += 0.1 * i
    model = _blob_model()
    tp = top_patches(model, "0", Images(x), k=4, channels=[0, 1])
    assert tp.field == UnitField((3, 3), (1, 1), (0, 0), "formula")
    assert tp.patches.shape == (2, 4, 2, 3, 3)
    assert tp.indices[0].tolist() == [11, 10, 9, 8]  # brightest squares first
    assert np.all(np.diff(tp.activations[0]) <= 0)
    for rank in range(4):
        i = int(tp.indices[0, rank])
        r, c = 1 + i % 5, 2 * (i % 4)
        assert tp.units[0, rank].tolist() == [r, c]  # the winning unit sits on the square
        assert tp.boxes[0, rank].tolist() == [r, r + 2, c, c + 2]
        np.testing.assert_allclose(tp.patches[0, rank], x[i, :, r : r + 3, c : c + 3].numpy())
        # the activation is the conv applied to exactly that patch
        assert tp.activations[0, rank] == pytest.approx(float(tp.patches[0, rank].sum()), rel=1e-5)
    assert tp.labels[0].tolist() == [int(i) % 3 for i in tp.indices[0]]
    # channel 1 (minus the sum) prefers the darkest windows: all negative, the least negative first
    assert np.all(tp.activations[1] < 0) and np.all(np.diff(tp.activations[1]) <= 0)
    assert tp.channel_mean.shape == (2,) and tp.n_images == 12 and tp.map_shape == (2, 7, 9)


def test_patch_cells_outside_the_image_are_padding() -> None:
    image = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    patch = cut(image, (-1, 1, 2, 4), pad_value=-9)  # rows -1..1, cols 2..4
    assert patch.tolist() == [[[-9, -9, -9], [2, 3, -9], [6, 7, -9]]]


def test_a_flat_layer_gives_whole_images() -> None:
    """A Linear/Flatten output has one feature per "channel" that sees the whole image: its top
    patches are the images themselves, ranked by the feature."""
    x = torch.rand(6, 2, 5, 4)
    model = nn.Sequential(nn.Flatten(), nn.Linear(40, 3))
    tp = top_patches(model, "1", Images(x), k=3, channels=[2])
    assert tp.field == UnitField((5, 4), (1, 1), (0, 0), "formula", whole=True)
    assert tp.patches.shape == (1, 3, 2, 5, 4) and tp.map_shape == (3, 1, 1)
    logits = model(x)[:, 2].detach()
    assert tp.indices[0].tolist() == logits.argsort(descending=True)[:3].tolist()
    np.testing.assert_allclose(tp.patches[0, 0], x[int(tp.indices[0, 0])].numpy())


def test_top_patch_errors_name_the_valid_values() -> None:
    x = torch.rand(5, 2, 8, 8)
    model = nn.Sequential(_blob_model(), nn.Flatten(2))  # (N, 2, 36): neither a map nor flat
    with pytest.raises(
        ConfigError,
        match=r"Channel 2 does not exist in layer 0: it has 2 channels, numbered 0\.\.1",
    ):
        top_patches(model, "0", Images(x), k=2, channels=[2])
    with pytest.raises(
        ConfigError, match=r"Layer 1 gives an output of shape \(5, 2, 36\), not a map"
    ):
        top_patches(model, "1", Images(x), k=2)
    with pytest.raises(ConfigError, match="Only 5 images to scan, fewer than the 6 top patches"):
        top_patches(model, "0", Images(x), k=6)
    with pytest.raises(ConfigError, match="No layer named 2"):
        top_patches(model, "2", Images(x), k=2)
