"""The in-memory series dataset: ``ds[i] -> (tensor (C, L) float32, int label)``.

The same interface as the image sets (:class:`cnnlab.data.mnist.IdxImageDataset`): whole-array
access through ``ds.series`` (NumPy ``(N, C, L)`` float32) and ``ds.labels`` (int64 ``(N,)``), and
torchvision's ``ds.data`` / ``ds.targets`` as torch tensors sharing the same memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cnnlab.data.base import LabelledArrays
from cnnlab.errors import DataError


class SeriesDataset(LabelledArrays):
    """``N`` series of ``C`` channels and ``L`` steps, with integer labels and class names.

    ``padding`` is the largest number of zeros appended to any series to reach ``L`` (0 when all
    series had the same length) and ``lengths`` (int64 ``(N,)``) each series' own length;
    ``znorm`` says whether each series was z-normalised per channel.
    """

    def __init__(
        self,
        series: np.ndarray,
        labels: np.ndarray,
        *,
        name: str,
        train: bool,
        classes: Sequence[str],
        source: str = "",
        path: str = "",
        znorm: bool = False,
        padding: int = 0,
        transform: Callable[[Any], Any] | None = None,
        lengths: np.ndarray | None = None,
    ) -> None:
        if (
            series.ndim != 3
            or labels.ndim != 1
            or len(series) != len(labels)
            or series.dtype != np.float32
        ):
            raise DataError(
                "data.series.shape",
                name=name,
                series=f"{series.shape} {series.dtype}",
                labels=str(labels.shape),
            )
        self.series = series  # (N, C, L) float32
        self.labels = labels.astype(np.int64, copy=False)  # (N,)
        self.name = name
        self.train = train
        self.classes = list(classes)
        self.source = source
        self.path = path
        self.znorm = znorm
        self.padding = padding
        self.transform = transform
        # (N,) int64: each series' own length before padding (all L when nothing was padded)
        self.lengths = (
            np.full(len(labels), series.shape[2], dtype=np.int64) if lengths is None else lengths
        )

    @property
    def channels(self) -> int:
        return int(self.series.shape[1])

    @property
    def length(self) -> int:
        return int(self.series.shape[2])

    @property
    def data(self) -> Any:
        """torchvision's name: float32 tensor (N, C, L), sharing memory with ``series``."""
        import torch

        return torch.from_numpy(self.series)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        """``(tensor (C, L) float32, label)``."""
        import torch

        i = self.check_index(int(index))
        x = torch.from_numpy(self.series[i])  # (C, L), a view
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.labels[i])

    def describe(self, lang: str | None = None) -> str:
        """One line: size, shape, classes, standardisation and padding, in the user's language."""
        from cnnlab.i18n import Msg, t

        norm = Msg(
            "data.series.norm.znorm"
            if self.znorm
            else "data.series.norm.raw"
            if self.name.startswith("ucr:")
            else "data.series.norm.none"
        )
        pad = Msg("data.series.padded", padding=self.padding) if self.padding else ""
        return t(
            "data.series.describe",
            lang,
            name=self.name,
            split=Msg(f"data.series.split.{self.split}"),
            n=len(self),
            channels=self.channels,
            length=self.length,
            classes=len(self.classes),
            norm=norm,
            padding=pad,
        )

    def __repr__(self) -> str:
        return (
            f"SeriesDataset(name={self.name!r}, split={self.split!r}, n={len(self)}, "
            f"channels={self.channels}, length={self.length})"
        )


def znormalise(series: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Z-normalise each series per channel over its time axis, as is UCR practice.

    ``series`` (N, C, L) → (N, C, L) float32 with mean 0 and standard deviation 1 per (n, c); a
    constant channel (std < ``eps``) becomes all zeros instead of dividing by zero. Variable-length
    sets are normalised before padding, so the padded zeros do not enter the statistics.
    """
    x = series.astype(np.float64)
    mean = x.mean(axis=-1, keepdims=True)  # (N, C, 1)
    std = x.std(axis=-1, keepdims=True)  # (N, C, 1)
    out: np.ndarray = ((x - mean) / np.where(std < eps, 1.0, std)).astype(np.float32)
    return out


def pad_series(rows: Sequence[np.ndarray], length: int | None = None) -> tuple[np.ndarray, int]:
    """Stack series (C, L_i) into (N, C, L), zeros appended at the end (post-padding).

    ``L`` is ``length`` when given (at least the longest series), else the longest series.
    Returns the array and the largest number of zeros appended to one series.
    """
    longest = max(max(r.shape[-1] for r in rows), length or 0)
    shortest = min(r.shape[-1] for r in rows)
    out = np.zeros((len(rows), rows[0].shape[0], longest), dtype=np.float32)  # (N, C, L)
    for i, r in enumerate(rows):
        out[i, :, : r.shape[-1]] = r
    return out, longest - shortest


def check_min_length(ds: SeriesDataset, min_length: int, option: str = "kernel_size") -> None:
    """Refuse a dataset with a series shorter than ``min_length`` steps (e.g. a kernel size).

    Each series' own length counts, not the padded one: a kernel wider than the real data would
    only see padding. Raises DataError naming the dataset, the first too-short series (its index
    in ``ds``), its length, the option and its value.
    """
    from cnnlab.i18n import Msg

    short = np.flatnonzero(ds.lengths < min_length)
    if len(short):
        i = int(short[0])
        raise DataError(
            "data.series.too_short",
            name=ds.name,
            split=Msg(f"data.series.split.{ds.split}"),
            index=i,
            length=int(ds.lengths[i]),
            option=option,
            value=min_length,
        )


__all__ = ["SeriesDataset", "znormalise", "pad_series", "check_min_length"]
