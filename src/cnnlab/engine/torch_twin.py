"""The PyTorch twin of an engine network: same layers, same hyperparameters, same weights.

This is the one engine module that imports torch (the ops never do); it exists so that "agrees with
PyTorch" can be checked by anyone — the tests, the benchmarks, a learner in a notebook::

    net = nn.lenet5(np.random.default_rng(0))
    twin = to_torch(net)                     # torch.nn.Sequential with the engine's initial weights
    np.allclose(net(x), twin(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn as tnn

from cnnlab.engine import nn
from cnnlab.errors import ConfigError


def _conv(cls: type[tnn.Module]) -> Callable[[nn.Conv2d], tnn.Module]:
    return lambda layer: cls(
        layer.weight.shape[1],
        layer.weight.shape[0],
        tuple(layer.weight.shape[2:]),
        layer.stride,
        layer.padding,
        layer.dilation,
        bias=layer.bias is not None,
    )


def _pool(cls: type[tnn.Module]) -> Callable[[nn._Pool], tnn.Module]:
    return lambda layer: cls(layer.kernel_size, layer.stride, layer.padding)


# exact types: Conv1d subclasses Conv2d in the engine, so isinstance would pick the wrong twin
_TWINS: dict[type, Callable[[Any], tnn.Module]] = {
    nn.Conv2d: _conv(tnn.Conv2d),
    nn.Conv1d: _conv(tnn.Conv1d),
    nn.Linear: lambda m: tnn.Linear(m.weight.shape[1], m.weight.shape[0], bias=m.bias is not None),
    nn.MaxPool2d: _pool(tnn.MaxPool2d),
    nn.AvgPool2d: _pool(tnn.AvgPool2d),
    nn.MaxPool1d: _pool(tnn.MaxPool1d),
    nn.AvgPool1d: _pool(tnn.AvgPool1d),
    nn.ReLU: lambda _: tnn.ReLU(),
    nn.Flatten: lambda _: tnn.Flatten(),
    nn.Sequential: lambda m: tnn.Sequential(*(_structure(layer) for layer in m.layers)),
}


def _structure(layer: nn.Module) -> tnn.Module:
    twin = _TWINS.get(type(layer))
    if twin is None:
        raise ConfigError(
            "engine.torch_twin_layer",
            layer=type(layer).__name__,
            valid=", ".join(cls.__name__ for cls in _TWINS),
        )
    return twin(layer)


def to_torch(module: nn.Module, dtype: torch.dtype | None = None) -> tnn.Module:
    """The ``torch.nn`` module equal to ``module``, its parameters copied from the engine's.

    ``dtype`` defaults to the engine parameters' dtype (torch's default for a layer without any).
    A layer type without a twin (exact type: a subclass is not its parent) raises ConfigError
    naming it and the supported types.
    """
    twin = _structure(module)
    params = list(module.named_parameters())
    if dtype is None and params:
        dtype = torch.from_numpy(params[0][1].data).dtype
    if dtype is not None:
        twin = twin.to(dtype)
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(params, twin.named_parameters(), strict=True):
            if name != tname:  # an internal invariant: same layer order, same parameter names
                raise RuntimeError(f"torch twin out of step: engine {name!r} vs torch {tname!r}")
            tp.copy_(torch.from_numpy(p.data))
    return twin


__all__ = ["to_torch"]
