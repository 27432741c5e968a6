"""Layers: each one's output and gradients (input, weight, bias) equal its torch.nn twin (f64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab.engine import nn
from cnnlab.engine.torch_twin import to_torch
from cnnlab.errors import ConfigError

TIGHT = dict(rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "layer, shape",
    [
        (
            nn.Conv2d(3, 4, 3, stride=2, padding=1, dtype=np.float64, rng=np.random.default_rng(0)),
            (2, 3, 7, 7),
        ),
        (
            nn.Conv2d(
                2,
                3,
                (2, 3),
                padding="same",
                dilation=2,
                dtype=np.float64,
                rng=np.random.default_rng(1),
            ),
            (2, 2, 6, 5),
        ),
        (
            nn.Conv1d(3, 5, 4, stride=2, padding=2, dtype=np.float64, rng=np.random.default_rng(2)),
            (2, 3, 11),
        ),
        (nn.Linear(7, 3, dtype=np.float64, rng=np.random.default_rng(3)), (4, 7)),
        (nn.MaxPool2d(3, 2, 1), (2, 2, 7, 7)),
        (nn.AvgPool2d(2), (2, 2, 6, 6)),
        (nn.MaxPool1d(3), (2, 2, 9)),
        (nn.AvgPool1d(2, 1), (2, 2, 9)),
        (nn.ReLU(), (2, 3, 4)),
        (nn.Flatten(), (2, 3, 4, 5)),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else str(v),
)
def test_layer_matches_torch(layer: nn.Module, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    twin = to_torch(layer, torch.float64)
    tx = torch.tensor(x, requires_grad=True)
    ty = twin(tx)
    g = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(layer(x), ty.detach().numpy(), **TIGHT)
    np.testing.assert_allclose(layer.backward(g), tx.grad.numpy(), **TIGHT)
    for p, tp in zip(layer.parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), **TIGHT)


def test_sgd_matches_torch_with_weight_decay() -> None:
    rng = np.random.default_rng(5)
    layer = nn.Linear(4, 3, dtype=np.float64, rng=rng)
    twin = to_torch(layer, torch.float64)
    opt = nn.SGD(layer.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    topt = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    for _ in range(3):
        x = rng.standard_normal((5, 4))
        opt.zero_grad()
        layer(x)
        layer.backward(np.ones((5, 3)))
        opt.step()
        topt.zero_grad()
        twin(torch.tensor(x)).backward(torch.ones(5, 3, dtype=torch.float64))
        topt.step()
    for p, tp in zip(layer.parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), **TIGHT)


def test_gradients_accumulate_until_zero_grad() -> None:
    layer = nn.Linear(2, 2, dtype=np.float64, rng=np.random.default_rng(6))
    x = np.ones((1, 2))
    for _ in range(2):
        layer(x)
        layer.backward(np.ones((1, 2)))
    np.testing.assert_array_equal(layer.bias.grad, [2.0, 2.0])
    layer.zero_grad()
    assert layer.bias.grad is None


def test_torch_twin_of_an_unsupported_layer() -> None:
    """A layer type without a twin is a ConfigError naming it and the supported types."""

    class Tanh(nn.Module):
        def forward(self, x: np.ndarray) -> np.ndarray:
            return np.tanh(x)

    with pytest.raises(
        ConfigError,
        match=r"to_torch: layer type 'Tanh' has no PyTorch twin; supported layer types: "
        r"Conv2d, Conv1d, Linear, .*ReLU, Flatten, Sequential\.",
    ) as info:
        to_torch(nn.Sequential(nn.ReLU(), Tanh()))
    assert "층 종류 'Tanh'에 대응하는 PyTorch 모듈이 없습니다" in info.value.message("ko")


def test_torch_twin_of_a_network() -> None:
    """``to_torch`` keeps bias-less layers bias-less and a whole LeNet-5 equal to the engine's."""
    conv = nn.Conv2d(2, 3, 3, bias=False, rng=np.random.default_rng(5), dtype=np.float64)
    twin = to_torch(conv)
    assert twin.bias is None and twin.weight.dtype == torch.float64
    net = nn.lenet5(np.random.default_rng(6))
    tnet = to_torch(net)
    assert (
        sum(p.numel() for p in tnet.parameters())
        == sum(p.data.size for p in net.parameters())
        == 61706
    )
    x = np.random.default_rng(7).standard_normal((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(
        net(x), tnet(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )
