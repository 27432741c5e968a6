"""A small ResNet for 28×28 digits — the kind of model a user writes in their own file.

Try it with cnnlab's inspection tools (nothing here imports cnnlab)::

    cnnlab summary --model examples/resnet_small.py:ResNetSmall --input-size 1,28,28
    cnnlab summary --model examples/resnet_small.py:ResNetSmall --kw width=32 --kw in_channels=3 \\
        --input-size 3,32,32

Residual blocks (He et al. 2016, "Deep Residual Learning for Image Recognition"): two 3×3 convs
with BatchNorm, added to a shortcut — the identity, or a strided 1×1 conv where the block halves
the map and changes the channel count. The ``+`` makes the data flow branch: the summary measures
the receptive fields after the first block from input gradients instead of the chain formula.
"""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """conv3×3 → BN → ReLU → conv3×3 → BN, plus the shortcut, then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:  # match the shape of the residual path
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))  # (N, c_out, H/s, W/s)
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNetSmall(nn.Module):
    """stem conv3×3 → 3 stages of ``blocks`` blocks (width, 2·width, 4·width; the last two halve
    the map) → global average pool → Linear. ``(N, in_channels, H, W)`` → ``(N, num_classes)``.
    """

    def __init__(
        self, in_channels: int = 1, num_classes: int = 10, width: int = 16, blocks: int = 1
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        stages = []
        c = width
        for i, c_out in enumerate((width, 2 * width, 4 * width)):
            for b in range(blocks):
                stride = 2 if i > 0 and b == 0 else 1
                stages.append(BasicBlock(c, c_out, stride))
                c = c_out
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))  # (N, 4·width, H/4, W/4)
        return self.fc(torch.flatten(self.pool(x), 1))
