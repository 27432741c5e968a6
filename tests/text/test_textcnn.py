"""TextCNN: shapes vs the formula, parameter count by formula, max-over-time positions."""

from __future__ import annotations

import pytest
import torch

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.models import build, build_from_spec, count_params, num_params
from cnnlab.models.textcnn import TextCNN, textcnn_params

CASES = [
    {},
    {"embed_dim": 16, "widths": (2, 3), "channels": 8, "dropout": 0.0},
    {"embed_dim": 64, "widths": (2, 3, 4, 5), "channels": [128, 128, 128, 128]},
    {"embed_dim": 8, "widths": [3], "channels": [5], "padding_idx": None},
    {"embed_dim": 8, "widths": (3, 5), "channels": (4, 6)},
]


@pytest.mark.parametrize("kw", CASES, ids=lambda kw: str(kw) or "default")
def test_forward_shape_and_param_formula(kw: dict) -> None:
    torch.manual_seed(0)
    model = build("textcnn", vocab_size=50, num_classes=3, **kw)
    ids = torch.randint(0, 50, (4, 20))
    assert model(ids).shape == (4, 3)
    assert count_params("textcnn", vocab_size=50, num_classes=3, **kw) == num_params(model)
    rebuilt = build_from_spec(model.cnnlab_spec.to_dict())
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in model.parameters()]


def test_docstring_numbers() -> None:
    """The module docstring's example: V=10,000, E=128, widths 3/4/5 of 100, two classes."""
    assert textcnn_params(10_000, 2) == 1_434_502
    assert textcnn_params(10_000, 2) == 10_000 * 128 + 38_500 + 51_300 + 64_100 + 602


def test_feature_map_lengths_follow_l_minus_w_plus_1() -> None:
    model = TextCNN(30, 2, embed_dim=8, widths=(2, 3, 5), channels=4)
    maps = model.feature_maps(torch.randint(0, 30, (2, 11)))
    assert [tuple(m.shape) for m in maps] == [(2, 4, 10), (2, 4, 9), (2, 4, 7)]


def test_short_input_is_padded_to_the_widest_kernel() -> None:
    model = TextCNN(30, 2, embed_dim=8, widths=(3, 5), channels=4).eval()
    short = torch.tensor([[7, 8]])
    padded = torch.tensor([[7, 8, 0, 0, 0]])
    torch.testing.assert_close(model(short), model(padded))


def test_padding_embedding_stays_zero() -> None:
    model = TextCNN(30, 2, embed_dim=8)
    assert torch.count_nonzero(model.embedding.weight[0]) == 0


def test_max_over_time_gives_the_kept_values_and_where_they_fired() -> None:
    torch.manual_seed(1)
    model = TextCNN(40, 3, embed_dim=6, widths=(2, 4), channels=5, dropout=0.5).eval()
    ids = torch.randint(0, 40, (3, 12))
    mot = model.max_over_time(ids)
    assert mot.values.shape == mot.positions.shape == (3, 10)
    assert mot.widths.tolist() == [2] * 5 + [4] * 5
    # the kept values are what the linear layer reads: logits from them equal forward (eval mode)
    torch.testing.assert_close(model.fc(mot.values), model(ids))
    # each position is where its filter's map holds the kept value, inside the valid range
    for g, m in enumerate(model.feature_maps(ids)):  # (N, C, L - w + 1)
        for f in range(5):
            pos = mot.positions[:, g * 5 + f]
            assert (pos <= ids.shape[1] - mot.widths[g * 5 + f]).all()
            torch.testing.assert_close(m[torch.arange(3), f, pos], mot.values[:, g * 5 + f])
    # recomputing one filter by hand on its n-gram gives the same value
    conv = model.convs[1]
    n, f = 0, 2
    s = int(mot.positions[n, 5 + f])
    window = model.embedding(ids[n, s : s + 4]).T  # (E, 4)
    by_hand = torch.relu((conv.weight[f] * window).sum() + conv.bias[f])
    torch.testing.assert_close(by_hand, mot.values[n, 5 + f])


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="one per width"):
        TextCNN(30, 2, widths=(3, 4), channels=(4, 5, 6))
    with pytest.raises(ConfigError, match="dropout"):
        TextCNN(30, 2, dropout=1.0)
    with pytest.raises(ConfigError, match="vocab_size"):
        TextCNN(1, 2)
    with pytest.raises(ShapeError, match=r"\(N, L\)"):
        TextCNN(30, 2)(torch.zeros(2, 3, 4, dtype=torch.long))
