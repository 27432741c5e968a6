"""Layers: each one's output and gradients (input, weight, bias) equal its torch.nn twin (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn as tnn

from cnnlab.engine import nn

TIGHT = dict(rtol=1e-10, atol=1e-12)


def twin_of(layer: nn.Module) -> tnn.Module:
    """The torch layer with the same hyperparameters and the engine layer's weights."""
    kinds = {
        nn.Conv1d: lambda l: tnn.Conv1d(l.weight.shape[1], l.weight.shape[0], l.weight.shape[2], l.stride, l.padding, l.dilation),
        nn.Conv2d: lambda l: tnn.Conv2d(l.weight.shape[1], l.weight.shape[0], l.weight.shape[2:], l.stride, l.padding, l.dilation),
        nn.Linear: lambda l: tnn.Linear(l.weight.shape[1], l.weight.shape[0]),
        nn.MaxPool1d: lambda l: tnn.MaxPool1d(l.kernel_size, l.stride, l.padding),
        nn.AvgPool1d: lambda l: tnn.AvgPool1d(l.kernel_size, l.stride, l.padding),
        nn.AvgPool2d: lambda l: tnn.AvgPool2d(l.kernel_size, l.stride, l.padding),
        nn.MaxPool2d: lambda l: tnn.MaxPool2d(l.kernel_size, l.stride, l.padding),
        nn.ReLU: lambda l: tnn.ReLU(),
        nn.Flatten: lambda l: tnn.Flatten(),
    }
    twin = kinds[type(layer)](layer).double()
    with torch.no_grad():
        for (_, p), tp in zip(layer.named_parameters(), twin.parameters(), strict=True):
            tp.copy_(torch.from_numpy(p.data))
    return twin


@pytest.mark.parametrize(
    "layer, shape",
    [
        (nn.Conv2d(3, 4, 3, stride=2, padding=1, dtype=np.float64, rng=np.random.default_rng(0)), (2, 3, 7, 7)),
        (nn.Conv2d(2, 3, (2, 3), padding="same", dilation=2, dtype=np.float64, rng=np.random.default_rng(1)), (2, 2, 6, 5)),
        (nn.Conv1d(3, 5, 4, stride=2, padding=2, dtype=np.float64, rng=np.random.default_rng(2)), (2, 3, 11)),
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
    twin = twin_of(layer)
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
    twin = twin_of(layer)
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
