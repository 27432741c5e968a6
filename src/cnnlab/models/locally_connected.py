"""A convolution whose weights are NOT shared across positions — the weight-sharing ablation.

A ``Conv2d`` slides one ``(C_out, C_in, k, k)`` kernel over every position. ``LocallyConnected2d``
has the same receptive fields and output shape but a separate kernel (and bias) for each of the
``L = H_out·W_out`` output positions::

    weight (L, C_out, C_in·k·k)      bias (C_out, H_out, W_out)
    params = H_out·W_out·(C_out·C_in·k² + C_out)          # conv: C_out·C_in·k² + C_out

so the count grows with the image while a conv's does not (28×28, 1→16 channels, k=3, padding 1:
784·(16·9+16) = 125,440 vs 160). Forward is ``unfold`` + one batched matmul (``einsum``), the
efficient formulation — no Python loop over positions::

    x (N, C_in, H, W) → unfold → (N, C_in·k·k, L) → einsum('nkl,lok->nol') → (N, C_out, L)
      → view (N, C_out, H_out, W_out) + bias
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from cnnlab.geometry import check_positive, conv_out_shape, pair
from cnnlab.models.checks import check_channels, check_dropout
from cnnlab.models.simple_cnn import block_spatial, classifier_head


def locally_connected_params(
    in_channels: int,
    out_channels: int,
    input_size: int | Sequence[int],
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    bias: bool = True,
) -> int:
    """``H_out·W_out·(C_out·C_in·k² + C_out)`` (the ``+ C_out`` only with ``bias``)."""
    h, w = conv_out_shape(pair(input_size, 2, "input_size"), kernel_size, stride, padding)
    return h * w * (out_channels * in_channels * kernel_size**2 + (out_channels if bias else 0))


class LocallyConnected2d(nn.Module):
    """Unshared-weight 2-D "convolution": ``(N, C_in, H, W) → (N, C_out, H_out, W_out)``.

    ``H_out = (H + 2·padding - k) // stride + 1`` as for Conv2d. The input size is fixed at
    construction because there is one kernel per output position.

    Args:
        in_channels, out_channels: as Conv2d.
        input_size: ``H`` or ``(H, W)`` of the input.
        kernel_size, stride, padding: as Conv2d (square kernel, symmetric padding).
        bias: a separate bias per output channel and position.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        input_size: int | Sequence[int],
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_positive("in_channels", in_channels)
        check_positive("out_channels", out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.input_size = pair(input_size, 2, "input_size")
        self.output_size = conv_out_shape(self.input_size, kernel_size, stride, padding)
        n_pos = self.output_size[0] * self.output_size[1]
        fan_in = in_channels * kernel_size * kernel_size
        self.weight = nn.Parameter(torch.empty(n_pos, out_channels, fan_in))  # (L, C_out, C_in·k·k)
        self.bias = nn.Parameter(torch.empty(out_channels, *self.output_size)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Same fan-in scaling as Conv2d's default init, so the ablation changes only the sharing.
        bound = 1.0 / math.sqrt(self.weight.shape[-1])
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cols = F.unfold(x, self.kernel_size, padding=self.padding, stride=self.stride)  # (N, K, L)
        out = torch.einsum("nkl,lok->nol", cols, self.weight)  # (N, C_out, L)
        out = out.reshape(x.shape[0], self.out_channels, *self.output_size)  # (N, C_out, Ho, Wo)
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, input_size={self.input_size}, "
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"bias={self.bias is not None}"
        )


def lc_net_params(
    in_channels: int = 1,
    num_classes: int = 10,
    image_size: int = 28,
    channels: Sequence[int] = (16, 32),
    kernel_size: int = 3,
    pool: int = 2,
    hidden: int = 128,
) -> int:
    """Parameter count of :class:`LCNet`: Σ blocks ``s_{i-1}²·(c_{i-1}·c_i·k² + c_i)`` + the head.

    ``s_{i-1}`` is the block's input size (same padding keeps it through the LC layer).
    """
    total, c_prev, s = 0, in_channels, image_size
    sizes = block_spatial(image_size, len(channels), pool)
    for c, s_next in zip(channels, sizes):
        total += s * s * (c_prev * c * kernel_size**2 + c)
        c_prev, s = c, s_next
    flat = c_prev * s * s
    if hidden:
        return total + flat * hidden + hidden + hidden * num_classes + num_classes
    return total + flat * num_classes + num_classes


class LCNet(nn.Module):
    """:class:`~cnnlab.models.simple_cnn.SimpleCNN`'s layout with LocallyConnected2d layers.

    ``[LC(k, padding=k//2) → ReLU → MaxPool(pool)] × len(channels) → Flatten → FC(hidden) → ReLU
    → (Dropout) → FC(num_classes)``; ``(N, C, S, S) → (N, num_classes)``. No BatchNorm: a
    per-channel BN would re-share parameters across positions, muddying the ablation.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int = 28,
        channels: Sequence[int] = (16, 32),
        kernel_size: int = 3,
        pool: int = 2,
        dropout: float = 0.0,
        hidden: int = 128,
    ) -> None:
        super().__init__()
        check_positive("num_classes", num_classes)
        check_positive("pool", pool)
        check_positive("hidden", hidden, minimum=0)
        channels = check_channels(channels)
        check_dropout(dropout)
        sizes = block_spatial(image_size, len(channels), pool)
        layers: list[nn.Module] = []
        c_prev, s = in_channels, image_size
        for c, s_next in zip(channels, sizes):
            layers += [
                LocallyConnected2d(c_prev, c, s, kernel_size, padding=kernel_size // 2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(pool),
            ]
            c_prev, s = c, s_next
        self.features = nn.Sequential(*layers)
        self.classifier = classifier_head(c_prev * s * s, hidden, dropout, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


__all__ = ["LocallyConnected2d", "LCNet", "locally_connected_params", "lc_net_params"]
