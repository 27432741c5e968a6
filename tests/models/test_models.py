"""Every registered model: forward shape, parameter count by formula == sum(numel), bad options."""

from __future__ import annotations

import pytest
import torch

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.models import (
    CNN_NoPadding,
    CNN_WithPadding,
    LocallyConnected2d,
    build,
    build_from_spec,
    count_params,
    locally_connected_params,
    names,
    num_params,
    padding_pair_params,
)
from cnnlab.models.series import SERIES_MODELS
from cnnlab.models.textcnn import TEXT_MODELS

# (name, kwargs) — defaults plus a non-default variant of each, all on 28×28 grayscale.
CASES = [
    ("cnn", {}),
    ("cnn", {"channels": (8, 16, 32), "batch_norm": False, "hidden": 0, "dropout": 0.3}),
    ("cnn", {"channels": [4], "kernel_size": 5, "pool": 4, "in_channels": 3, "num_classes": 7}),
    ("cnn", {"channels": (16, 32), "pool_first": True}),
    ("cnn", {"channels": (16, 32), "pool_first": True, "strided_stem": True, "test_flip": True}),
    ("cnn", {"channels": (4, 8), "kernel_size": 5, "pool": 3, "strided_stem": True}),
    ("mlp", {}),
    ("mlp", {"hidden": (32,), "dropout": 0.2, "num_classes": 3}),
    ("lc", {}),
    ("lc", {"channels": (4, 8), "hidden": 0, "kernel_size": 5}),
    ("gap", {}),
    ("gap", {"channels": (8, 16), "batch_norm": False, "dropout": 0.1}),
    ("classic", {}),
]


def _ids(case: tuple[str, dict]) -> str:
    return f"{case[0]}-{'-'.join(f'{k}={v}' for k, v in case[1].items()) or 'default'}"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_forward_shape_and_param_formula(case):
    name, kw = case
    torch.manual_seed(0)
    model = build(name, **kw)
    c = kw.get("in_channels", 1)
    x = torch.randn(3, c, 28, 28)
    out = model(x)
    assert out.shape == (3, kw.get("num_classes", 10))
    assert torch.isfinite(out).all()
    assert count_params(name, **kw) == num_params(model)
    # the spec round-trips through JSON-able form to the same architecture
    rebuilt = build_from_spec(model.cnnlab_spec.to_dict())
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in model.parameters()]


def test_every_registered_model_is_covered():
    # the series models (N, C, L) are covered by tests/models/test_series_models.py, the text
    # models (N, L) by tests/text/test_textcnn.py
    assert {name for name, _ in CASES} == set(names()) - set(SERIES_MODELS) - set(TEXT_MODELS)


def test_pool_first_is_the_same_function_without_batch_norm():
    """Max-pool and ReLU commute, so without BN the reordered block computes the same logits."""
    torch.manual_seed(0)
    plain = build("cnn", channels=(4, 8), batch_norm=False)
    fast = build("cnn", channels=(4, 8), batch_norm=False, pool_first=True)
    fast.load_state_dict(plain.state_dict())  # same parameters, same keys
    assert [type(m).__name__ for m in fast.features[:3]] == ["Conv2d", "MaxPool2d", "ReLU"]
    x = torch.randn(5, 1, 28, 28)
    torch.testing.assert_close(fast(x), plain(x), rtol=0, atol=1e-6)
    # with BN the statistics are taken after pooling: same parameter count, different function
    bn = build("cnn", channels=(4, 8), pool_first=True)
    assert [type(m).__name__ for m in bn.features[:4]] == [
        "Conv2d",
        "MaxPool2d",
        "BatchNorm2d",
        "ReLU",
    ]
    assert num_params(bn) == num_params(build("cnn", channels=(4, 8)))


@pytest.mark.parametrize(
    ("size", "kernel", "pool"), [(28, 3, 2), (27, 3, 2), (28, 5, 3), (9, 1, 2)]
)
def test_strided_stem_downsamples_by_the_conv_formula(size, kernel, pool):
    """The stem is one conv of stride ``pool``, padding ``k//2``: out = ⌊(s + 2⌊k/2⌋ − k)/pool⌋ + 1
    (for odd sizes that differs from pooling's ⌊s/pool⌋), and the first Linear is sized by it."""
    model = build(
        "cnn", channels=(3, 5), kernel_size=kernel, pool=pool, image_size=size, strided_stem=True
    )
    stem = model.features[0]
    assert (stem.stride, stem.padding) == ((pool, pool), (kernel // 2, kernel // 2))
    assert [type(m).__name__ for m in model.features[:4]] == [
        "Conv2d",
        "BatchNorm2d",
        "ReLU",
        "Conv2d",
    ]  # no pool in the stem block
    s1 = (size + 2 * (kernel // 2) - kernel) // pool + 1
    x = torch.randn(2, 1, size, size)
    assert model.features[:3](x).shape == (2, 3, s1, s1)
    assert model(x).shape == (2, 10)
    assert count_params(
        "cnn", channels=(3, 5), kernel_size=kernel, pool=pool, image_size=size, strided_stem=True
    ) == num_params(model)


def test_test_flip_averages_the_image_and_its_mirror_only_when_predicting():
    from cnnlab.models.flip import predict_logits

    torch.manual_seed(0)
    model = build("cnn", channels=(4, 8), test_flip=True).eval()
    plain = build("cnn", channels=(4, 8)).eval()
    plain.load_state_dict(model.state_dict())  # no parameter of its own
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        both = (plain(x) + plain(x.flip(3))) / 2
        torch.testing.assert_close(predict_logits(model, x), both)
        torch.testing.assert_close(model(x), plain(x))  # forward (and hooks) see one image
        torch.testing.assert_close(predict_logits(plain, x), plain(x))
        assert not torch.allclose(predict_logits(model, x), plain(x))
    model.train()  # training steps are never averaged
    torch.manual_seed(1)
    a = predict_logits(model, x)
    torch.manual_seed(1)
    torch.testing.assert_close(a, model(x))
    # the mark survives the checkpoint's JSON spec
    assert build_from_spec(model.cnnlab_spec.to_dict()).test_flip is True


def test_padding_pair_shapes_and_params():
    x = torch.zeros(2, 1, 28, 28)
    assert CNN_NoPadding()(x).shape == (2, 3, 26, 26)
    assert CNN_WithPadding()(x).shape == (2, 3, 28, 28)
    assert (
        num_params(CNN_NoPadding()) == num_params(CNN_WithPadding()) == padding_pair_params() == 30
    )


def test_known_counts_from_docstrings():
    # numbers quoted in the module docstrings, so a formula change shows up here
    assert count_params("mlp") == 235_146
    assert count_params("classic") == 1_199_882
    assert locally_connected_params(1, 16, 28, 3, padding=1) == 125_440


def test_gap_net_accepts_any_image_size():
    model = build("gap", channels=(4, 8))
    assert (
        model(torch.randn(2, 1, 28, 28)).shape == model(torch.randn(2, 1, 56, 40)).shape == (2, 10)
    )


@pytest.mark.parametrize("kernel,stride,padding", [(3, 1, 0), (3, 1, 1), (5, 2, 2), (2, 2, 0)])
def test_locally_connected_with_shared_weights_equals_conv(kernel, stride, padding):
    """Tie every position's kernel to one conv kernel → identical output to Conv2d (float64)."""
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(3, 4, kernel, stride=stride, padding=padding).double()
    lc = LocallyConnected2d(3, 4, (11, 9), kernel, stride=stride, padding=padding).double()
    n_pos = lc.weight.shape[0]
    with torch.no_grad():
        lc.weight.copy_(conv.weight.reshape(1, 4, -1).expand(n_pos, -1, -1))
        lc.bias.copy_(conv.bias.view(4, 1, 1).expand_as(lc.bias))
    x = torch.randn(2, 3, 11, 9, dtype=torch.float64)
    torch.testing.assert_close(lc(x), conv(x))


def test_locally_connected_weights_are_not_shared():
    """Changing one position's kernel changes only that output position."""
    torch.manual_seed(2)
    lc = LocallyConnected2d(1, 2, 6, 3, padding=1)
    x = torch.randn(1, 1, 6, 6)
    before = lc(x).detach()
    with torch.no_grad():
        lc.weight[7].add_(1.0)  # position 7 = row 1, col 1
    diff = (lc(x).detach() - before).abs().sum(dim=1)[0]  # (6, 6)
    assert diff[1, 1] > 0
    diff[1, 1] = 0
    assert diff.abs().max() == 0


def test_unknown_model_lists_valid_names():
    with pytest.raises(ConfigError, match=r"Unknown model 'resnet'.*cnn, mlp, lc, gap"):
        build("resnet")


def test_unknown_option_names_the_option():
    with pytest.raises(ConfigError, match=r"no option 'chanels'.*channels"):
        build("cnn", chanels=(8,))


@pytest.mark.parametrize(
    "kw,err,pattern",
    [
        ({"channels": ()}, ConfigError, "non-empty"),
        ({"channels": (8, -1)}, ConfigError, r"channels must be an integer >= 1, got -1"),
        ({"dropout": 1.5}, ConfigError, r"dropout must be a probability"),
        ({"channels": (4, 4, 4, 4, 4, 4)}, ShapeError, "Kernel too large"),
    ],
)
def test_bad_options(kw, err, pattern):
    with pytest.raises(err, match=pattern):
        build("cnn", **kw)
