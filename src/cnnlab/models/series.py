"""Models for 1-D series (sensor channels × time): the FCN of the time-series literature and an MLP.

``FCN1d`` (registry name ``cnn1d``) is the Fully Convolutional Network of Wang, Yan & Oates 2017
("Time series classification from scratch with deep neural networks"), the strongest plain baseline
of Fawaz et al. 2019's benchmark::

    [ZeroPad 'same' → Conv1d(k_i) → BatchNorm1d → ReLU] × 3, widths 128-256-128, kernels 8-5-3
      → global pooling over time (N, c_last) → Linear → (N, num_classes)

Shapes for the defaults on MNIST-1D (``in_channels=1``, ``L=40``)::

    (N, 1, 40) → (N, 128, 40) → (N, 256, 40) → (N, 128, 40) → pool (N, 128) → (N, 10)

'same' padding keeps the length at every block (PyTorch splits an even kernel's padding
``k-1`` as ``(k-1)//2`` on the left and the rest on the right), so the net accepts any length and
the global pooling makes the head independent of it. Parameter count by formula
(:func:`fcn1d_params`), ``c_0 = in_channels``::

    Σ_i [c_{i-1}·c_i·k_i + (2·c_i if batch_norm else c_i)] + c_last·classes + classes

(with BatchNorm the conv bias is dropped: BN's shift replaces it). Defaults, one channel, ten
classes: 1·128·8 + 256 + 128·256·5 + 512 + 256·128·3 + 256 + 128·10 + 10 = 265,482.

``MLP1d`` (``mlp1d``) is the baseline without weight sharing or a notion of neighbours::

    (N, C, L) → Flatten (N, C·L) → [Linear → ReLU → (Dropout)] × len(hidden) → Linear → (N, classes)

    Σ_i (d_{i-1}·d_i + d_i) + d_last·classes + classes,   d_0 = C·L

Defaults on MNIST-1D (``hidden=(100, 100)``, the MNIST-1D paper's MLP): 40·100+100 + 100·100+100
+ 100·10+10 = 15,210. It needs ``length``: its first layer has one weight per time step.

Both take ``(N, C, L)``, and also ``(N, C, 1, L)`` — the one-pixel-high image form in which
:func:`cnnlab.train.fit` carries series, so one training loop serves images and series.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.geometry import check_positive, same_padding
from cnnlab.models.checks import check_channels, check_dropout
from cnnlab.models.mlp import mlp_layers

POOLS = ("avg", "max")
SERIES_MODELS = ("cnn1d", "mlp1d")  # registry names that take (N, C, L) series, not images


FCN_KERNELS = (8, 5, 3)  # Wang et al. 2017: wide first kernel, narrower deeper ones


def _kernels(kernel_size: int | Sequence[int] | None, n: int) -> tuple[int, ...]:
    """One kernel size per block: an int applies to every block, a sequence gives each its own,
    None the FCN's 8-5-3 cut or extended with 3 to ``n`` blocks."""
    if kernel_size is None:
        return (FCN_KERNELS + (3,) * n)[:n]
    if isinstance(kernel_size, int):  # check_positive refuses a bool
        return (check_positive("kernel_size", kernel_size),) * n
    ks = check_channels(kernel_size, "kernel_size")
    if len(ks) != n:
        raise ConfigError("error.model_series_kernels", value=list(ks), n=n)
    return ks


def _as_ncl(x: torch.Tensor) -> torch.Tensor:
    """``(N, C, L)`` from ``(N, C, L)`` or the trainer's ``(N, C, 1, L)``."""
    return x.flatten(2) if x.ndim == 4 else x  # (N, C, 1, L) -> (N, C, L)


def fcn1d_params(
    in_channels: int = 1,
    num_classes: int = 10,
    length: int | None = None,
    channels: Sequence[int] = (128, 256, 128),
    kernel_size: int | Sequence[int] | None = None,
    global_pool: str = "avg",
    batch_norm: bool = True,
) -> int:
    """Parameter count of :class:`FCN1d` by the formula in the module docstring."""
    channels = check_channels(channels)
    total, c_prev = 0, in_channels
    for c, k in zip(channels, _kernels(kernel_size, len(channels)), strict=True):
        total += c_prev * c * k + (2 * c if batch_norm else c)
        c_prev = c
    return total + c_prev * num_classes + num_classes


class FCN1d(nn.Module):
    """``(N, in_channels, L) → (N, num_classes)`` logits for any ``L ≥ 1``.

    Args:
        in_channels: sensor channels ``C`` (1 for MNIST-1D, 6 for BasicMotions).
        num_classes: output logits.
        length: accepted and ignored (the global pooling makes the net length-free), so every
            series model takes the same arguments.
        channels: widths of the conv blocks (the FCN's 128-256-128; e.g. ``(32, 64, 32)`` is
            ~16× cheaper).
        kernel_size: one int for every block, or one per block; None = the FCN's 8-5-3 (cut or
            extended with 3 to the number of blocks).
        global_pool: ``"avg"`` (the FCN's) or ``"max"`` over time.
        batch_norm: BatchNorm1d after each conv (the conv then has no bias).
        dropout: before the linear head (0 = off).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        length: int | None = None,
        channels: Sequence[int] = (128, 256, 128),
        kernel_size: int | Sequence[int] | None = None,
        global_pool: str = "avg",
        batch_norm: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_positive("in_channels", in_channels)
        check_positive("num_classes", num_classes)
        if length is not None:
            check_positive("length", length)
        channels = check_channels(channels)
        kernels = _kernels(kernel_size, len(channels))
        if global_pool not in POOLS:
            raise ConfigError("error.model_global_pool", value=global_pool, valid=", ".join(POOLS))
        check_dropout(dropout)
        layers: list[nn.Module] = []
        c_prev = in_channels
        for c, k in zip(channels, kernels, strict=True):
            # 'same' as explicit zeros, split as PyTorch does (an even kernel's extra one on the
            # right): identical output, without padding="same"'s copy-warning for even kernels
            layers.append(nn.ConstantPad1d(same_padding(k), 0.0))
            layers.append(nn.Conv1d(c_prev, c, k, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(c))
            layers.append(nn.ReLU(inplace=True))
            c_prev = c
        self.features = nn.Sequential(*layers)
        pool = nn.AdaptiveAvgPool1d(1) if global_pool == "avg" else nn.AdaptiveMaxPool1d(1)
        head: list[nn.Module] = [pool, nn.Flatten()]  # (N, C, 1) -> (N, C)
        if dropout:
            head.append(nn.Dropout(dropout))
        head.append(nn.Linear(c_prev, num_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(_as_ncl(x)))


def mlp1d_params(
    in_channels: int = 1,
    num_classes: int = 10,
    length: int = 40,
    hidden: Sequence[int] = (100, 100),
) -> int:
    """Parameter count of :class:`MLP1d` by the formula in the module docstring."""
    dims = [in_channels * length, *check_channels(hidden, "hidden"), num_classes]
    return sum(a * b + b for a, b in itertools.pairwise(dims))


class MLP1d(nn.Module):
    """``(N, in_channels, length) → (N, num_classes)``: every time step wired to every unit.

    Args:
        in_channels, length: input shape ``(C, L)``; the first layer has ``C·L`` inputs.
        num_classes: output logits.
        hidden: widths of the hidden layers (the MNIST-1D paper's MLP: two of 100).
        dropout: after each hidden ReLU (0 = off).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        length: int = 40,
        hidden: Sequence[int] = (100, 100),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_positive("in_channels", in_channels)
        check_positive("num_classes", num_classes)
        check_positive("length", length)
        hidden = check_channels(hidden, "hidden")
        check_dropout(dropout)
        self.in_shape = (in_channels, length)
        # (N, C, L) -> (N, C*L) -> … -> (N, num_classes)
        self.net = mlp_layers(in_channels * length, hidden, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _as_ncl(x)
        if tuple(x.shape[1:]) != self.in_shape:
            raise ConfigError(
                "error.model_series_shape", shape=list(x.shape[1:]), expected=list(self.in_shape)
            )
        return self.net(x)


__all__ = ["FCN1d", "MLP1d", "fcn1d_params", "mlp1d_params", "POOLS", "SERIES_MODELS"]
