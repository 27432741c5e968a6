"""A global-average-pooling classifier: no flatten, so the head does not depend on the image size.

    [Conv2d(k, same) → BatchNorm2d → ReLU] with MaxPool2d(2) after every block but the last
      → AdaptiveAvgPool2d(1) (N, c_last, 1, 1) → Flatten (N, c_last) → Linear → (N, num_classes)

Shapes for the defaults (``channels=(32, 64, 128)``, 28×28)::

    (N, 1, 28, 28) → (N, 32, 14, 14) → (N, 64, 7, 7) → (N, 128, 7, 7) → GAP (N, 128) → (N, 10)

Parameter count by formula (:func:`gap_net_params`), ``c_0 = in_channels``::

    Σ_i [c_{i-1}·c_i·k² + (2·c_i if batch_norm else c_i)] + c_last·classes + classes

Independent of the image size — the same weights accept 28×28 or 56×56 input, the point of GAP.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnlab.geometry import check_positive
from cnnlab.models.checks import check_channels, check_dropout


def gap_net_params(
    in_channels: int = 1,
    num_classes: int = 10,
    channels: Sequence[int] = (32, 64, 128),
    kernel_size: int = 3,
    batch_norm: bool = True,
) -> int:
    """Parameter count of :class:`GAPNet` by the formula in the module docstring."""
    total, c_prev = 0, in_channels
    for c in channels:
        total += c_prev * c * kernel_size**2 + (2 * c if batch_norm else c)
        c_prev = c
    return total + c_prev * num_classes + num_classes


class GAPNet(nn.Module):
    """``(N, in_channels, H, W) → (N, num_classes)`` for any ``H, W`` ≥ ``2**(len(channels)-1)``.

    ``image_size`` is accepted (and ignored) so every registry model takes the same arguments.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int = 28,
        channels: Sequence[int] = (32, 64, 128),
        kernel_size: int = 3,
        batch_norm: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_positive("in_channels", in_channels)
        check_positive("num_classes", num_classes)
        check_positive("kernel_size", kernel_size)
        channels = check_channels(channels)
        check_dropout(dropout)
        layers: list[nn.Module] = []
        c_prev = in_channels
        for i, c in enumerate(channels):
            layers.append(
                nn.Conv2d(c_prev, c, kernel_size, padding=kernel_size // 2, bias=not batch_norm)
            )
            if batch_norm:
                layers.append(nn.BatchNorm2d(c))
            layers.append(nn.ReLU(inplace=True))
            if i < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
            c_prev = c
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]  # (N, C, 1, 1) -> (N, C)
        if dropout:
            head.append(nn.Dropout(dropout))
        head.append(nn.Linear(c_prev, num_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


__all__ = ["GAPNet", "gap_net_params"]
