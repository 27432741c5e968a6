"""Feature maps of every layer: forward hooks that record each module's output for one input.

    >>> maps = feature_maps(model, x)                    # x: (N, C, H, W)
    >>> [(m.name, m.kind, m.shape) for m in maps]
    [('features.0', 'Conv2d', (1, 32, 28, 28)), ('features.1', 'BatchNorm2d', ...), ...]

By default every leaf module (one without children) is recorded, in the order the forward pass calls
it; ``layers`` picks modules by qualified name (``model.named_modules()``), ``kinds`` by class name.

Two details that make the recorded maps trustworthy:

- outputs are **cloned** in the hook: ``ReLU(inplace=True)`` overwrites its input, which is the
  previous layer's output — without the copy the "BatchNorm" map would show the ReLU result;
- the hooks are removed, gradient mode and ``model.training`` restored in ``finally``, so a failing
  forward leaves the model exactly as it was (torchinfo does the same).

The model runs in eval mode by default (BatchNorm uses its running statistics, Dropout is off): the
maps are what the trained network computes at inference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cnnlab.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class FeatureMap:
    """One module's output for the recorded input.

    name:   qualified module name (``"features.0"``), as in ``model.named_modules()``
    kind:   module class name (``"Conv2d"``, ``"ReLU"``, ``"MaxPool2d"``, …)
    output: a detached copy of the output, e.g. ``(N, C, H, W)`` for conv/pool layers, ``(N, F)``
            after ``Flatten``/``Linear``
    """

    name: str
    kind: str
    output: torch.Tensor

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.output.shape)

    @property
    def is_spatial(self) -> bool:
        """True for ``(N, C, H, W)`` maps — the ones that can be drawn as images."""
        return self.output.ndim == 4


def leaf_names(model: nn.Module) -> list[str]:
    """Qualified names of the modules without children (computing layers), in definition order."""
    return [name for name, m in model.named_modules() if name and not any(m.children())]


def _select(
    model: nn.Module, layers: Sequence[str] | None, kinds: Iterable[str] | None
) -> dict[str, nn.Module]:
    modules = dict(model.named_modules())
    if layers is None:
        chosen = {n: modules[n] for n in leaf_names(model)}
    else:
        unknown = [n for n in layers if n not in modules or not n]
        if unknown:
            raise ConfigError(
                "inspect.feature_maps.unknown_layer",
                names=", ".join(map(str, unknown)),
                valid=", ".join(n for n in modules if n),
            )
        chosen = {n: modules[n] for n in layers}
    if kinds is not None:
        wanted = set(kinds)
        chosen = {n: m for n, m in chosen.items() if type(m).__name__ in wanted}
    return chosen


def feature_maps(
    model: nn.Module,
    x: torch.Tensor,
    layers: Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    train_mode: bool = False,
) -> list[FeatureMap]:
    """Run ``model(x)`` once and return the outputs of the chosen modules in call order.

    Args:
        model: any ``nn.Module``; it is left unchanged (hooks removed, training flag restored).
        x: the input batch, e.g. ``(1, 1, 28, 28)`` for one MNIST digit.
        layers: qualified names to record; None = every leaf module. Unknown names raise
            ConfigError listing the valid ones (before the forward pass).
        kinds: keep only modules of these class names (e.g. ``{"ReLU", "MaxPool2d"}``).
        train_mode: run in training mode instead of eval mode.

    A module called twice in one forward pass is recorded twice. Non-tensor outputs are skipped.
    """
    import torch

    chosen = _select(model, layers, kinds)
    recorded: list[FeatureMap] = []

    def make_hook(name: str) -> Any:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            if torch.is_tensor(output):
                # clone: a later in-place op (ReLU(inplace=True)) would otherwise rewrite this map
                recorded.append(FeatureMap(name, type(module).__name__, output.detach().clone()))

        return hook

    was_training = model.training
    handles = []
    try:
        for name, module in chosen.items():
            handles.append(module.register_forward_hook(make_hook(name)))
        model.train(train_mode)
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return recorded


__all__ = ["FeatureMap", "feature_maps", "leaf_names"]
