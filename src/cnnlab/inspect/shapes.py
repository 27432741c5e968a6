"""Output-size arithmetic for convolution and pooling — kept here for backwards compatibility.

The formula, ``'same'`` padding and their validation live in :mod:`cnnlab.geometry` (the bottom
layer, torch-free); this module re-exports its names so ``from cnnlab.inspect.shapes import
out_size`` keeps working. New code imports :mod:`cnnlab.geometry`.
"""

from __future__ import annotations

from cnnlab.geometry import (
    FORMULA,
    OutSize,
    Size,
    check_positive,
    conv_out_shape,
    out_size,
    pair,
    pool_out_size,
    same_padding,
)

__all__ = [
    "FORMULA",
    "OutSize",
    "Size",
    "check_positive",
    "conv_out_shape",
    "out_size",
    "pair",
    "pool_out_size",
    "same_padding",
]
