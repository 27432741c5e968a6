"""The note's Feature Learning → Classification pipeline as one configurable network.

    [Conv2d(k, padding=k//2) → (BatchNorm2d) → ReLU → MaxPool2d(pool)] × len(channels)
        → Flatten → (Linear(flat, hidden) → ReLU → Dropout) → Linear(·, num_classes)

``pool_first=True`` orders each block Conv2d → MaxPool2d → (BatchNorm2d) → ReLU instead: the same
parameters, a quarter of the elements through BatchNorm and ReLU (with ``pool=2``). Max-pooling and
ReLU commute exactly (both monotone); BatchNorm's statistics are then taken over the pooled map, so
the function differs slightly, not the capacity. On 2 CPU cores BatchNorm, ReLU and pooling — not
the convolutions — take most of a training step of a small net, so this ordering trains ~25% faster
(``benchmarks/train_fashion.py`` uses it).

``strided_stem=True`` makes the first block downsample with the convolution itself — stride
``pool``, padding ``k//2`` — instead of conv + max-pool: the same parameters, the full-size map
(28×28 for MNIST) is never computed, so the first conv costs a quarter and its pooling nothing.
Fashion-MNIST's default recipe uses it (``cnnlab.train.recipes``: about a quarter less time per
epoch for ~0.2 points, measured there).

``test_flip=True`` changes no layer: it marks a model trained on random horizontal flips, whose
prediction (:func:`cnnlab.models.flip.predict_logits`, used by every face that predicts or
evaluates) averages the logits of an image and of its mirror image. Plain ``forward`` — and every
inspection hook — sees one image, as always.

Shapes for the defaults (``channels=(32, 64)``, 28×28 grayscale)::

    (N, 1, 28, 28) → block 1 → (N, 32, 14, 14) → block 2 → (N, 64, 7, 7)
        → flatten (N, 3136) → FC (N, 128) → output (N, 10)

Parameter count by formula (:func:`simple_cnn_params`), with ``c_0 = in_channels``::

    Σ_i [c_{i-1}·c_i·k² + (2·c_i if batch_norm else c_i)]     # conv weights + (BN γ,β | conv bias)
    + flat·hidden + hidden + hidden·classes + classes          # hidden > 0
    (or flat·classes + classes when hidden == 0),  flat = c_last · s_last²

With BatchNorm the conv bias is dropped: BN's β makes it redundant (it would be subtracted away by
the batch mean). The spatial size after each block is ``floor(s / pool)`` (same-padding keeps ``s``
through the conv); :func:`cnnlab.geometry.out_size` validates it so a too-deep stack raises a
ShapeError naming the numbers instead of a matmul error at the first forward.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnlab.geometry import check_positive, out_size
from cnnlab.models.checks import check_channels, check_dropout


def block_spatial(
    image_size: int, n_blocks: int, pool: int, strided_stem: bool = False, kernel_size: int = 3
) -> list[int]:
    """Spatial size after each conv(same)+pool block: ``[s_1, …, s_n]``, validated.

    With ``strided_stem`` the first block is one conv of stride ``pool`` and padding ``k//2``."""
    sizes, s = [], image_size
    for i in range(n_blocks):
        if i == 0 and strided_stem:
            s = out_size(s, kernel_size, stride=pool, padding=kernel_size // 2).out
        else:
            s = out_size(s, pool, stride=pool).out
        sizes.append(s)
    return sizes


def simple_cnn_params(
    in_channels: int = 1,
    num_classes: int = 10,
    image_size: int = 28,
    channels: Sequence[int] = (32, 64),
    kernel_size: int = 3,
    pool: int = 2,
    batch_norm: bool = True,
    hidden: int = 128,
    strided_stem: bool = False,
) -> int:
    """Parameter count of :class:`SimpleCNN` by the formula in the module docstring."""
    total, c_prev = 0, in_channels
    for c in channels:
        total += c_prev * c * kernel_size**2 + (2 * c if batch_norm else c)
        c_prev = c
    s = (
        block_spatial(image_size, len(channels), pool, strided_stem, kernel_size)[-1]
        if channels
        else image_size
    )
    flat = c_prev * s * s
    if hidden:
        return total + flat * hidden + hidden + hidden * num_classes + num_classes
    return total + flat * num_classes + num_classes


def classifier_head(flat: int, hidden: int, dropout: float, num_classes: int) -> nn.Sequential:
    """The "Classification" half: flatten → [FC → ReLU] → [dropout] → FC to the classes.

    ``(N, C, s, s) -> (N, num_classes)`` with ``flat = C*s*s``; ``hidden=0`` means one linear layer.
    """
    head: list[nn.Module] = [nn.Flatten()]  # (N, C, s, s) -> (N, C*s*s)
    if hidden:
        head += [nn.Linear(flat, hidden), nn.ReLU(inplace=True)]
    if dropout:
        head.append(nn.Dropout(dropout))
    head.append(nn.Linear(hidden or flat, num_classes))
    return nn.Sequential(*head)


class SimpleCNN(nn.Module):
    """``(N, in_channels, S, S) → (N, num_classes)`` logits; see the module docstring for shapes.

    Args:
        in_channels: image channels (1 for the MNIST family).
        num_classes: output logits.
        image_size: input height = width ``S``; needed to size the first FC layer.
        channels: output channels of each conv block; its length is the number of blocks ``k``.
        kernel_size: odd conv kernel; padding ``k//2`` keeps the size ("same").
        pool: max-pool window and stride after each block.
        batch_norm: BatchNorm2d after each conv (and no conv bias).
        dropout: dropout probability before the last Linear (0 = off).
        hidden: width of the hidden FC layer; 0 goes straight from flatten to the output.
        pool_first: order each block conv → pool → (BN) → ReLU (faster; see the module docstring).
        strided_stem: the first block downsamples by its conv's stride instead of a max-pool.
        test_flip: predictions average the image and its mirror image (module docstring).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int = 28,
        channels: Sequence[int] = (32, 64),
        kernel_size: int = 3,
        pool: int = 2,
        batch_norm: bool = True,
        dropout: float = 0.0,
        hidden: int = 128,
        pool_first: bool = False,
        strided_stem: bool = False,
        test_flip: bool = False,
    ) -> None:
        super().__init__()
        check_positive("in_channels", in_channels)
        check_positive("num_classes", num_classes)
        check_positive("kernel_size", kernel_size)
        check_positive("pool", pool)
        check_positive("hidden", hidden, minimum=0)
        channels = check_channels(channels)
        check_dropout(dropout)
        s_last = block_spatial(image_size, len(channels), pool, strided_stem, kernel_size)[-1]
        self.test_flip = bool(test_flip)  # read by cnnlab.models.flip.predict_logits
        layers: list[nn.Module] = []
        c_prev = in_channels
        for i, c in enumerate(channels):
            stem = strided_stem and i == 0
            conv = nn.Conv2d(
                c_prev,
                c,
                kernel_size,
                stride=pool if stem else 1,
                padding=kernel_size // 2,
                bias=not batch_norm,
            )
            norm_act = ([nn.BatchNorm2d(c)] if batch_norm else []) + [nn.ReLU(inplace=True)]
            if stem:  # the stride did the downsampling: no pool in this block
                layers += [conv, *norm_act]
            elif pool_first:
                layers += [conv, nn.MaxPool2d(pool), *norm_act]
            else:
                layers += [conv, *norm_act, nn.MaxPool2d(pool)]
            c_prev = c
        self.features = nn.Sequential(*layers)
        self.classifier = classifier_head(c_prev * s_last * s_last, hidden, dropout, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


__all__ = ["SimpleCNN", "simple_cnn_params", "block_spatial"]
