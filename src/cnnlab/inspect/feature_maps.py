"""Feature maps of every layer: forward hooks that record each module's output for one input.

    >>> maps = feature_maps(model, x)                    # x: (N, C, H, W)
    >>> [(m.name, m.kind, m.shape) for m in maps]
    [('features.0', 'Conv2d', (1, 32, 28, 28)), ('features.1', 'BatchNorm2d', ...), ...]

By default every leaf module (one without children) is recorded, in the order the forward pass calls
it; ``layers`` picks modules by qualified name (``model.named_modules()``), ``kinds`` by class name.
:func:`default_layers` is the "sensible choice" for figures: the convolution, pooling and
activation leaves (``MAP_KINDS``). It works on any ``nn.Module`` — Sequential or not, branching or
not — because a hook sees whatever the module returns, however ``forward`` is written.

:func:`layer_output` runs the model only **up to** one layer and keeps the autograd graph: the
tools that need gradients (activation maximisation, Grad-CAM, measured receptive fields) start from
it. The forward pass is stopped by an exception raised in the hook, so the layers after it (a
``Linear`` that expects 28×28 inputs) never run — a larger canvas than the model was built for
still works.

Two details that make the recorded maps trustworthy:

- outputs are **cloned** in the hook: ``ReLU(inplace=True)`` overwrites its input, which is the
  previous layer's output — without the copy the "BatchNorm" map would show the ReLU result;
- the hooks are removed, gradient mode and ``model.training`` restored in ``finally``, so a failing
  forward leaves the model exactly as it was (torchinfo does the same).

The model runs in eval mode by default (BatchNorm uses its running statistics, Dropout is off): the
maps are what the trained network computes at inference.
"""

from __future__ import annotations

import contextlib
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


# Leaf classes whose outputs are worth drawing as maps: convolutions, pools, activations.
MAP_KINDS = (
    "Conv1d",
    "Conv2d",
    "ConvTranspose2d",
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "GELU",
    "SiLU",
    "ELU",
    "Sigmoid",
    "Tanh",
    "Hardswish",
    "Mish",
)


def leaf_names(model: nn.Module) -> list[str]:
    """Qualified names of the modules without children (computing layers), in definition order."""
    return [name for name, m in model.named_modules() if name and not any(m.children())]


def default_layers(model: nn.Module) -> list[str]:
    """The leaves worth drawing: every convolution, pooling and activation (``MAP_KINDS``)."""
    modules = dict(model.named_modules())
    return [n for n in leaf_names(model) if type(modules[n]).__name__ in MAP_KINDS]


def find_module(model: nn.Module, name: str) -> nn.Module:
    """The submodule called ``name`` (qualified, as in ``model.named_modules()``).

    Raises ConfigError naming ``name`` and listing every valid name — the one message every tool
    (maps, top patches, maximisation, Grad-CAM) gives for a mistyped layer.
    """
    modules = dict(model.named_modules())
    if not isinstance(name, str) or not name or name not in modules:
        raise ConfigError(
            "inspect.feature_maps.unknown_layer",
            names=str(name),
            valid=", ".join(n for n in modules if n),
        )
    return modules[name]


def _select(
    model: nn.Module, layers: Sequence[str] | str | None, kinds: Iterable[str] | None
) -> dict[str, nn.Module]:
    modules = dict(model.named_modules())
    if isinstance(layers, str):
        layers = [layers]
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
    layers: Sequence[str] | str | None = None,
    kinds: Iterable[str] | None = None,
    train_mode: bool = False,
) -> list[FeatureMap]:
    """Run ``model(x)`` once and return the outputs of the chosen modules in call order.

    Args:
        model: any ``nn.Module``; it is left unchanged (hooks removed, training flag restored).
        x: the input batch, e.g. ``(1, 1, 28, 28)`` for one MNIST digit.
        layers: qualified names to record (one name or a list); None = every leaf module;
            :func:`default_layers` for the drawable ones. Unknown names raise ConfigError listing
            the valid ones (before the forward pass).
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


class _Stop(Exception):
    """Raised by :func:`layer_output`'s hook to end the forward pass at the chosen layer."""


def layer_output(
    model: nn.Module, x: torch.Tensor, layer: str, *, stop: bool = True, use_input: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(output of layer, model output or None)`` for ``x``, **with** the autograd graph.

    The model runs in eval mode; ``stop=True`` ends the forward pass at ``layer`` (the model output
    is then None), ``stop=False`` runs it to the end (Grad-CAM needs both). ``use_input=True``
    returns the layer's (first) input instead of its output — the pre-activation of a ReLU. The
    hook is removed and ``model.training`` restored in ``finally``. A layer that forward never
    calls, or that returns no tensor, raises ConfigError naming it.
    """
    import torch

    module = find_module(model, layer)
    captured: list[torch.Tensor] = []

    def hook(module: nn.Module, inputs: Any, output: Any) -> Any:
        if torch.is_tensor(output) and not captured:
            captured.append(output)
            if stop:
                raise _Stop
            # the rest of the model gets a copy: a following ReLU(inplace=True) would otherwise
            # overwrite the captured map (its values and its place in the graph)
            return output.clone()
        return None

    def pre_hook(module: nn.Module, inputs: Any) -> None:
        # a pre-hook runs before an in-place ReLU overwrites its input; clone keeps the graph
        if inputs and torch.is_tensor(inputs[0]) and not captured:
            captured.append(inputs[0].clone())
            if stop:
                raise _Stop

    was_training = model.training
    handle = (
        module.register_forward_pre_hook(pre_hook)
        if use_input
        else module.register_forward_hook(hook)
    )
    out = None
    try:
        model.eval()
        with contextlib.suppress(_Stop):  # the hook ended the forward pass at the layer
            out = model(x)
    finally:
        handle.remove()
        model.train(was_training)
    if not captured:
        raise ConfigError("inspect.feature_maps.not_called", name=layer)
    return captured[0], out


__all__ = [
    "FeatureMap",
    "feature_maps",
    "leaf_names",
    "default_layers",
    "find_module",
    "layer_output",
    "MAP_KINDS",
]
