"""The multilayer-perceptron baseline: every pixel wired to every hidden unit (no weight sharing).

    (N, C, S, S) → Flatten (N, C·S²) → [Linear → ReLU → (Dropout)] × len(hidden)
                 → Linear → (N, classes)

Parameter count by formula (:func:`mlp_params`), with ``d_0 = C·S²`` and ``d_i = hidden[i-1]``::

    Σ_i (d_{i-1}·d_i + d_i) + d_last·classes + classes

For 28×28 grayscale and ``hidden=(256, 128)``: 784·256+256 + 256·128+128 + 128·10+10 = 235,146 —
the number the lecture contrasts with a conv layer's 3·1·3·3 + 3 = 30.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from cnnlab.geometry import check_positive
from cnnlab.models.checks import check_channels, check_dropout


def mlp_params(
    in_channels: int = 1,
    num_classes: int = 10,
    image_size: int = 28,
    hidden: Sequence[int] = (256, 128),
) -> int:
    """Parameter count of :class:`MLP` by the formula in the module docstring."""
    dims = [in_channels * image_size * image_size, *hidden, num_classes]
    return sum(a * b + b for a, b in itertools.pairwise(dims))


class MLP(nn.Module):
    """``(N, in_channels, S, S) → (N, num_classes)`` logits.

    Args:
        in_channels, image_size: input shape ``(C, S, S)``; the first layer has ``C·S²`` inputs.
        num_classes: output logits.
        hidden: widths of the hidden layers.
        dropout: dropout probability after each hidden ReLU (0 = off).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int = 28,
        hidden: Sequence[int] = (256, 128),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_positive("in_channels", in_channels)
        check_positive("num_classes", num_classes)
        check_positive("image_size", image_size)
        hidden = check_channels(hidden, "hidden")
        check_dropout(dropout)
        # (N, C, S, S) -> (N, C*S*S) -> … -> (N, num_classes)
        self.net = mlp_layers(in_channels * image_size * image_size, hidden, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def mlp_layers(
    d_in: int, hidden: Sequence[int], num_classes: int, dropout: float = 0.0
) -> nn.Sequential:
    """Flatten → [Linear → ReLU (→ Dropout)] per ``hidden`` width → Linear: the fully connected
    stack of :class:`MLP` and of the series baseline ``mlp1d`` (same layers, same state-dict
    keys)."""
    layers: list[nn.Module] = [nn.Flatten()]  # (N, ...) -> (N, d_in)
    d_prev = d_in
    for d in hidden:
        layers += [nn.Linear(d_prev, d), nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        d_prev = d
    layers.append(nn.Linear(d_prev, num_classes))
    return nn.Sequential(*layers)


__all__ = ["MLP", "mlp_params", "mlp_layers"]
