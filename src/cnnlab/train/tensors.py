"""Whole datasets as in-memory tensors, and the normalisation that travels with a checkpoint.

The MNIST family fits in memory many times over (60,000·784 floats = 188 MB), so the hot loop never
calls ``__getitem__``: one gather of a batch of rows per step. :func:`as_tensors` accepts

- a torchvision-like dataset with ``.data`` (uint8 ``(N, H, W)`` or ``(N, C, H, W)``) and
  ``.targets``,
- a ``(x, y)`` pair of tensors, or a ``TensorDataset``,
- any indexable dataset returning ``(tensor (C, H, W), label)`` — stacked once, slowly, as a
  fallback,
- a series dataset (``.series`` NumPy ``(N, C, L)``, ``.labels``): carried as ``(N, C, 1, L)``, a
  one-pixel-high image, so the same loop, standardisation and checkpoints serve series (the series
  models accept both forms),
- a text dataset (``.ids`` int64 ``(N, L)`` token ids, ``.labels``; :mod:`cnnlab.train.text`):
  carried as it is — ids are not pixels, so :class:`Preprocess` leaves integer inputs untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from cnnlab.errors import DataError


@dataclass
class Preprocess:
    """Per-channel standardisation ``(x/255 - mean) / std`` fitted on the training images."""

    mean: list[float]
    std: list[float]

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, C, H, W)`` float in [0, 1] → standardised float32 (token ids pass unchanged)."""
        if not x.is_floating_point():
            return x
        mean = torch.tensor(self.mean, dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(1, -1, 1, 1)
        return (x - mean) / std

    def apply_(self, x: torch.Tensor) -> torch.Tensor:
        """In-place :meth:`apply` for a float32 tensor we own: no second dataset-sized copy."""
        if not x.is_floating_point():
            return x
        mean = torch.tensor(self.mean, dtype=x.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype).view(1, -1, 1, 1)
        return x.sub_(mean).div_(std)

    def to_dict(self) -> dict[str, Any]:
        return {"scale": "x/255", "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocess:
        return cls([float(v) for v in data["mean"]], [float(v) for v in data["std"]])

    @classmethod
    def fit(cls, x: torch.Tensor) -> Preprocess:
        """Mean and std per channel of ``x (N, C, H, W)`` in [0, 1] (float64 sums: no drift);
        none for integer token ids."""
        if not x.is_floating_point():
            return cls([], [])
        c = x.shape[1]
        s1 = torch.zeros(c, dtype=torch.float64)
        s2 = torch.zeros(c, dtype=torch.float64)
        for i in range(0, len(x), 4096):  # float64 in chunks: no dataset-sized temporary
            chunk = x[i : i + 4096].double()
            s1 += chunk.sum(dim=(0, 2, 3))
            s2 += (chunk * chunk).sum(dim=(0, 2, 3))
        count = x.numel() // c
        mean = s1 / count
        var = (s2 - count * mean * mean) / max(count - 1, 1)  # unbiased, as torch.std
        std = var.clamp(min=0).sqrt().clamp(min=1e-6)  # a constant image set must not divide by 0
        return cls(mean.tolist(), std.tolist())


def _as_nchw_unit(x: torch.Tensor) -> torch.Tensor:
    """Images to float32 ``(N, C, H, W)`` in [0, 1]: uint8 is divided by 255, (N, H, W) gets C=1."""
    if x.ndim == 3:
        x = x.unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
    if x.ndim != 4:
        raise DataError("error.train_data_shape", shape=str(tuple(x.shape)))
    if x.dtype == torch.uint8:
        return x.to(torch.float32).div_(255.0)
    return x.to(torch.float32, copy=True)  # a copy: fit() standardises it in place


def is_series(data: Any) -> bool:
    """True for a series dataset: one with ``.series`` ``(N, C, L)`` rather than images."""
    return getattr(data, "series", None) is not None


def is_text(data: Any) -> bool:
    """True for a text dataset: one with ``.ids`` (int64 token ids ``(N, L)``)."""
    return getattr(data, "ids", None) is not None


def as_tensors(data: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x (N, C, H, W) float32 in [0, 1], y (N,) int64)`` from any supported dataset form;
    ``(x (N, L) int64, y)`` for a text dataset."""
    if is_text(data):
        x, y = torch.as_tensor(data.ids), torch.as_tensor(data.labels)
        if x.ndim != 2 or x.dtype != torch.int64 or len(x) != len(y) or len(x) == 0:
            raise DataError("error.train_data_len", n_x=len(x), n_y=len(y))
        return x, y.to(torch.int64)
    if is_series(data):
        x = torch.as_tensor(data.series).unsqueeze(2)  # (N, C, L) -> (N, C, 1, L)
        y = torch.as_tensor(data.labels)
    elif (
        isinstance(data, (tuple, list)) and len(data) == 2 and all(torch.is_tensor(t) for t in data)
    ):
        x, y = data
    elif hasattr(data, "tensors"):  # TensorDataset
        x, y = data.tensors[0], data.tensors[1]
    elif hasattr(data, "data") and hasattr(data, "targets"):
        x, y = data.data, data.targets
        x = x if torch.is_tensor(x) else torch.as_tensor(x)
        y = y if torch.is_tensor(y) else torch.as_tensor(y)
    else:
        try:
            items = [data[i] for i in range(len(data))]
        except (TypeError, KeyError) as exc:
            raise DataError("error.train_data_type", kind=type(data).__name__) from exc
        x = torch.stack([torch.as_tensor(item[0]) for item in items])
        y = torch.tensor([int(item[1]) for item in items])
    if len(x) != len(y) or len(x) == 0:
        raise DataError("error.train_data_len", n_x=len(x), n_y=len(y))
    return _as_nchw_unit(x), y.to(torch.int64)


ROLL_STEPS = 3  # ``augment="roll"``: shift each series by -3..3 steps (the MNIST-1D recipe)


def random_roll(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Each sample of ``x (B, C, H, W)`` rolled circularly along W by its own shift in
    ``[-max_shift, max_shift]`` — ``torch.roll`` per sample, as one gather."""
    b, length = x.shape[0], x.shape[-1]
    shift = torch.randint(-max_shift, max_shift + 1, (b, 1), generator=generator)  # (B, 1)
    pos = (torch.arange(length).view(1, -1) - shift) % length  # (B, W): out[i] = x[i - shift]
    return x.gather(3, pos.view(b, 1, 1, length).expand_as(x))


def class_names(data: Any, num_classes: int) -> list[str]:
    """The dataset's ``classes`` if it has them, else ``"0".."K-1"``."""
    classes = getattr(data, "classes", None)
    if classes is not None and len(classes) == num_classes:
        return [str(c) for c in classes]
    return [str(i) for i in range(num_classes)]


__all__ = [
    "Preprocess",
    "as_tensors",
    "class_names",
    "is_series",
    "is_text",
    "random_roll",
    "ROLL_STEPS",
]
