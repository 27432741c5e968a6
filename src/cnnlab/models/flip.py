"""Test-time flip averaging: how cnnlab predicts with a model trained on mirrored images.

A model trained with random horizontal flips (``--augment flip``, for clothes, not digits) has seen
every image both ways round. Marked ``test_flip`` (:class:`~cnnlab.models.SimpleCNN`'s keyword,
kept in its checkpoint), its prediction for an image is the mean of the logits for the image and
for its mirror image ``x.flip(-1)``: two looks at the same garment, one answer. The model's
``forward`` is unchanged, so feature maps, summaries and every inspection hook see one image.

Measured on Fashion-MNIST (``benchmarks/train_fashion.py``): worth about 0.4 points of test
accuracy after flip training; after training without flips it costs points instead (the mirror
image is then out of distribution), which is why the recipes set it only together with
``augment="flip"``.
"""

from __future__ import annotations

import torch
from torch import nn


def uses_test_flip(model: nn.Module) -> bool:
    """True when ``model`` predicts with flip averaging (it is marked ``test_flip``)."""
    return bool(getattr(model, "test_flip", False))


def predict_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``model``'s logits for ``x (N, C, H, W)`` as cnnlab predicts: ``model(x)``, or in eval mode
    for a model marked ``test_flip`` the mean of ``model(x)`` and ``model(x.flip(-1))``."""
    logits = model(x)
    if uses_test_flip(model) and not model.training:
        logits = (logits + model(x.flip(-1))) / 2
    return logits


__all__ = ["predict_logits", "uses_test_flip"]
