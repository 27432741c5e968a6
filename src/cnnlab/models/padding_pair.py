"""The lecture note's padding demo pair: one ``Conv2d(1, 3, 3)`` with padding 0 and with padding 1.

Shapes (input ``(N, 1, 28, 28)``)::

    CNN_NoPadding    -> (N, 3, 26, 26)   # 28 + 2*0 - 3 + 1 = 26
    CNN_WithPadding  -> (N, 3, 28, 28)   # 28 + 2*1 - 3 + 1 = 28

Parameters (both): ``out*in*k*k + out = 3*1*3*3 + 3 = 30`` (:func:`padding_pair_params`).
The class names follow the note exactly (hence the underscore), so learners recognise them.
"""

from __future__ import annotations

import torch
from torch import nn

IN_CHANNELS = 1  # grayscale MNIST, as in the note
OUT_CHANNELS = 3  # three feature maps, as in the note
KERNEL = 3  # 3x3 kernel, as in the note


def padding_pair_params(
    in_channels: int = IN_CHANNELS, out_channels: int = OUT_CHANNELS, kernel: int = KERNEL
) -> int:
    """Parameter count of one conv layer by formula: ``out*in*k*k + out`` (weights + biases)."""
    return out_channels * in_channels * kernel * kernel + out_channels


class CNN_NoPadding(nn.Module):
    """``Conv2d(1, 3, 3, padding=0)``: ``(N, 1, H, W) -> (N, 3, H-2, W-2)``; 30 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(IN_CHANNELS, OUT_CHANNELS, KERNEL, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class CNN_WithPadding(nn.Module):
    """``Conv2d(1, 3, 3, padding=1)``: ``(N, 1, H, W) -> (N, 3, H, W)``, size kept; 30 params."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(IN_CHANNELS, OUT_CHANNELS, KERNEL, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


__all__ = ["CNN_NoPadding", "CNN_WithPadding", "padding_pair_params"]
