"""Tiny real data and a tiny model so the training tests stay within seconds on 2 cores."""

from __future__ import annotations

import torch

from cnnlab.data import get_dataset
from cnnlab.models import build

TINY_CNN = {"channels": (4, 8), "hidden": 16, "dropout": 0.2}


def tiny_data(n_train: int = 512, n_val: int = 256) -> tuple[tuple, tuple]:
    """``((x, y), (xv, yv))``: uint8 (N, 28, 28) digits from the embedded mnist-sample."""
    train, test = get_dataset("mnist-sample", train=True), get_dataset("mnist-sample", train=False)
    return (
        (train.data[:n_train].clone(), train.targets[:n_train].clone()),
        (test.data[:n_val].clone(), test.targets[:n_val].clone()),
    )


def tiny_model(seed: int = 0, **kw) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build("cnn", **{**TINY_CNN, **kw})
