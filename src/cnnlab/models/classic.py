"""The network of PyTorch's classic MNIST example (pytorch/examples, ``mnist/main.py``).

The side-by-side reference for the training benchmark, layer for layer::

    (N, 1, 28, 28) → Conv2d(1, 32, 3) → ReLU (N, 32, 26, 26)
      → Conv2d(32, 64, 3) → ReLU (N, 64, 24, 24) → MaxPool2d(2) (N, 64, 12, 12) → Dropout(0.25)
      → Flatten (N, 9216) → Linear(9216, 128) → ReLU
      → Dropout(0.5) → Linear(128, 10)

Parameters: (1·32·9+32) + (32·64·9+64) + (9216·128+128) + (128·10+10) = 1,199,882
(:func:`classic_net_params`). The example trains it with Adadelta(lr=1.0), StepLR(gamma=0.7),
batch 64, and ends in ``log_softmax`` + NLL loss, which equals cross-entropy on these logits.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.geometry import check_positive


def classic_net_params(in_channels: int = 1, num_classes: int = 10, image_size: int = 28) -> int:
    """Parameter count of :class:`ClassicNet` by the formula in the module docstring."""
    s = (image_size - 4) // 2  # two valid 3×3 convs, then a 2×2 pool
    return (
        (in_channels * 32 * 9 + 32)
        + (32 * 64 * 9 + 64)
        + (64 * s * s * 128 + 128)
        + (128 * num_classes + num_classes)
    )


class ClassicNet(nn.Module):
    """``(N, in_channels, S, S) → (N, num_classes)`` logits; ``S ≥ 6``."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28) -> None:
        super().__init__()
        check_positive("num_classes", num_classes)
        check_positive("image_size", image_size, minimum=6)
        s = (image_size - 4) // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Dropout(0.25),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (N, 64, s, s) -> (N, 64*s*s)
            nn.Linear(64 * s * s, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


__all__ = ["ClassicNet", "classic_net_params"]
