"""Series models: forward shapes, parameter formulas == sum(numel), 'same' padding, bad options."""

from __future__ import annotations

import pytest
import torch

from cnnlab.errors import ConfigError
from cnnlab.models import build, build_from_spec, count_params, names, num_params
from cnnlab.models.series import SERIES_MODELS

# (name, kwargs, (C, L)) — defaults plus non-default variants
CASES = [
    ("cnn1d", {}, (1, 40)),
    ("cnn1d", {"channels": (16, 32, 16), "kernel_size": 3}, (1, 40)),
    ("cnn1d", {"in_channels": 6, "num_classes": 4, "global_pool": "max"}, (6, 100)),
    (
        "cnn1d",
        {"channels": [8, 8], "kernel_size": [4, 7], "batch_norm": False, "in_channels": 3},
        (3, 5),
    ),
    ("cnn1d", {"channels": (32,), "dropout": 0.2, "num_classes": 2, "length": 150}, (1, 150)),
    ("mlp1d", {}, (1, 40)),
    ("mlp1d", {"in_channels": 6, "length": 100, "hidden": (64,), "num_classes": 4}, (6, 100)),
    ("mlp1d", {"hidden": [32, 16, 8], "dropout": 0.1, "length": 24}, (1, 24)),
]


def _ids(case: tuple) -> str:
    return f"{case[0]}-{'-'.join(f'{k}={v}' for k, v in case[1].items()) or 'default'}"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_forward_shape_and_param_formula(case):
    name, kw, (c, length) = case
    torch.manual_seed(0)
    model = build(name, **kw)
    x = torch.randn(3, c, length)
    out = model(x)
    assert out.shape == (3, kw.get("num_classes", 10))
    assert torch.isfinite(out).all()
    # the trainer's one-pixel-high image form gives the same logits
    model.eval()
    torch.testing.assert_close(model(x.unsqueeze(2)), model(x), rtol=0, atol=0)
    assert count_params(name, **kw) == num_params(model)
    rebuilt = build_from_spec(model.cnnlab_spec.to_dict())
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in model.parameters()]


def test_series_models_are_registered_and_covered():
    assert set(SERIES_MODELS) <= set(names())
    assert {name for name, _, _ in CASES} == set(SERIES_MODELS)


def test_known_counts_from_docstring():
    assert count_params("cnn1d") == 265_482  # the FCN's 128-256-128, 8-5-3 on one channel
    assert count_params("mlp1d") == 15_210  # 40 → 100 → 100 → 10
    # FCN on BasicMotions (6 channels, 4 classes) by hand
    expected = 6 * 128 * 8 + 256 + 128 * 256 * 5 + 512 + 256 * 128 * 3 + 256 + 128 * 4 + 4
    assert count_params("cnn1d", in_channels=6, num_classes=4) == expected


def test_fcn_layers_follow_wang_2017():
    model = build("cnn1d")
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [(m.out_channels, m.kernel_size[0]) for m in convs] == [(128, 8), (256, 5), (128, 3)]
    assert all(m.bias is None for m in convs)  # BatchNorm's shift replaces the bias
    assert isinstance(model.classifier[0], torch.nn.AdaptiveAvgPool1d)


def test_fcn_same_padding_keeps_length_and_accepts_any_length():
    model = build("cnn1d", channels=(4, 8, 4)).eval()
    for length in (1, 7, 40, 333):  # even kernel 8 too: 'same' keeps every length
        assert model.features(torch.randn(2, 1, length)).shape == (2, 4, length)
        assert model(torch.randn(2, 1, length)).shape == (2, 10)


def test_fcn_global_pool_is_translation_invariant_for_max_pool_on_circular_shift():
    """Without padding effects (a signal far from both ends), max-pooled logits ignore a shift."""
    torch.manual_seed(0)
    model = build("cnn1d", channels=(4, 4), kernel_size=3, global_pool="max").eval()
    x = torch.zeros(1, 1, 60)
    x[0, 0, 20:26] = torch.tensor([1.0, 3.0, -2.0, 0.5, 2.0, -1.0])
    shifted = torch.roll(x, 7, dims=2)  # the bump stays away from the borders
    torch.testing.assert_close(model(shifted), model(x), rtol=1e-6, atol=1e-6)


def test_fcn_matches_a_hand_built_torch_stack():
    """Same weights in a plain nn.Sequential of the paper's layers → the same logits (float64)."""
    torch.manual_seed(3)
    model = build("cnn1d", channels=(5, 6), kernel_size=(4, 3), in_channels=2).double().eval()
    ref = torch.nn.Sequential(
        torch.nn.Conv1d(2, 5, 4, padding="same", bias=False),
        torch.nn.BatchNorm1d(5),
        torch.nn.ReLU(),
        torch.nn.Conv1d(5, 6, 3, padding="same", bias=False),
        torch.nn.BatchNorm1d(6),
        torch.nn.ReLU(),
    ).double()
    params = [p for p in model.features.parameters()]
    with torch.no_grad():
        for p, q in zip(ref.parameters(), params, strict=True):
            p.copy_(q)
    ref.eval()
    x = torch.randn(4, 2, 19, dtype=torch.float64)
    feats = ref(x).mean(dim=2)  # global average pooling over time: (N, 6)
    logits = feats @ model.classifier[-1].weight.T + model.classifier[-1].bias
    torch.testing.assert_close(model(x), logits)


@pytest.mark.parametrize(
    "name,kw,match",
    [
        ("cnn1d", {"global_pool": "mean"}, "global_pool.*avg, max.*'mean'"),
        ("cnn1d", {"kernel_size": [8, 5]}, r"kernel_size.*\(3\).*\[8, 5\]"),
        ("cnn1d", {"kernel_size": 0}, "kernel_size"),
        ("cnn1d", {"channels": []}, "channels"),
        ("cnn1d", {"length": 0}, "length"),
        ("mlp1d", {"length": 0}, "length"),
        ("mlp1d", {"hidden": []}, "hidden"),
        ("mlp1d", {"image_size": 28}, "image_size.*in_channels, num_classes, length"),
    ],
)
def test_bad_options_are_config_errors(name, kw, match):
    with pytest.raises(ConfigError, match=match):
        build(name, **kw)


def test_mlp_rejects_a_series_of_another_length():
    model = build("mlp1d", length=40)
    with pytest.raises(ConfigError, match=r"\(C, L\) = \[1, 40\].*\[1, 39\]"):
        model(torch.randn(2, 1, 39))
