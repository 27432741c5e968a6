"""What every in-memory dataset shares, images and series alike: labels, the split, torchvision's
``targets``, ``len`` and one index check whose message names the valid range."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnlab.errors import ConfigError


class LabelledArrays:
    """Base of :class:`~cnnlab.data.mnist.IdxImageDataset` and
    :class:`~cnnlab.data.series.dataset.SeriesDataset`: subclasses set ``name``, ``labels``
    (int64 ``(N,)``) and ``train``."""

    name: str
    labels: np.ndarray
    train: bool

    @property
    def split(self) -> str:
        return "train" if self.train else "test"

    @property
    def targets(self) -> Any:
        """torchvision's name: int64 tensor (N,), sharing memory with ``labels``."""
        import torch

        return torch.from_numpy(self.labels)

    def __len__(self) -> int:
        return len(self.labels)

    def check_index(self, index: int) -> int:
        """Return ``index`` if valid, else ConfigError naming the valid range."""
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
            raise ConfigError(
                "error.index", value=index, dataset=self.name, split=self.split, n=n, last=n - 1
            )
        return index


__all__ = ["LabelledArrays"]
