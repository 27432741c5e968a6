"""One forward pass of a classifier, kept whole: probabilities, every spatial map, first kernels.

What a live page needs for one drawing, from one forward (:func:`feature_maps` records every leaf
module; the last recorded output is the logits)::

    >>> p = probe(model, x)                          # x: (1, C, H, W), already standardised
    >>> p.probs.shape, [m.shape for m in p.maps][:2], p.kernels.shape
    ((10,), [(8, 28, 28), (8, 28, 28)], (8, 1, 3, 3))

``maps`` are the 4-D outputs (conv, batch-norm, activation, pooling) in call order with the batch
axis dropped; an MLP has none. ``kernels`` is the first ``Conv2d``'s weight ``(C_out, C_in, k, k)``
or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cnnlab.inspect.feature_maps import feature_maps

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class Map:
    """One layer's output for the probed input: ``values (C, H, W)`` float32."""

    name: str
    kind: str
    values: np.ndarray


@dataclass(frozen=True)
class Probe:
    probs: np.ndarray  # (num_classes,) softmax of the logits, float64 summing to 1
    maps: list[Map]  # spatial outputs in forward order, batch axis dropped
    kernels: np.ndarray | None  # first Conv2d weight (C_out, C_in, kH, kW), or None


def first_conv(model: nn.Module) -> nn.Module | None:
    """The first ``Conv2d`` in ``model.modules()`` order, or None."""
    for m in model.modules():
        if type(m).__name__ == "Conv2d":
            return m
    return None


def probe(model: nn.Module, x: torch.Tensor, with_maps: bool = True) -> Probe:
    """Run ``model`` once on ``x (1, C, H, W)``; return its probabilities and (optionally) maps.

    The model runs in eval mode under ``torch.no_grad`` and is left as it was
    (:func:`~cnnlab.inspect.feature_maps.feature_maps` restores the training flag). The maps are
    those of ``x`` itself; the probabilities are the model's prediction, flip-averaged for a model
    marked ``test_flip`` (:mod:`cnnlab.models.flip`).
    """
    import torch

    from cnnlab.models.flip import predict_logits, uses_test_flip

    maps: list[Map] = []
    if with_maps:
        recorded = feature_maps(model, x)
        logits = recorded[-1].output
        maps = [Map(m.name, m.kind, m.output[0].float().numpy()) for m in recorded if m.is_spatial]
    if not with_maps or uses_test_flip(model):  # the prediction needs its own forward pass(es)
        was = model.training
        model.eval()
        try:
            with torch.inference_mode():
                logits = predict_logits(model, x)
        finally:
            model.train(was)
    probs = torch.softmax(logits.double().reshape(-1), dim=0).numpy()  # (num_classes,)
    conv = first_conv(model)
    kernels = None
    if with_maps and conv is not None:
        weight: torch.Tensor = conv.weight  # type: ignore[assignment]
        kernels = weight.detach().float().numpy().copy()  # (C_out, C_in, kH, kW)
    return Probe(probs, maps, kernels)


__all__ = ["Map", "Probe", "probe", "first_conv"]
