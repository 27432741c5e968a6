"""MNIST-family datasets with torchvision's interface, read from IDX files.

``MNIST(root, train=True, download=False, transform=None)``;
``ds[i] -> (tensor[1, 28, 28] in [0, 1], int label)``. Whole-array access for fast training:
``ds.images`` (uint8 NumPy ``(N, 28, 28)``),
``ds.labels`` (int64 ``(N,)``), and torchvision's ``ds.data`` / ``ds.targets`` as torch tensors
(zero-copy views of the same memory).

Where files are looked for, in order: ``root`` (and ``root/<name>``) when given; the cache
``data_home()/<name>`` (md5-checked); the dataset's system directories (e.g. Debian's
``/usr/share/datasets/fashion-mnist``). Each file may be gzipped or raw.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.data.base import LabelledArrays
from cnnlab.data.download import Progress, data_home, fetch, md5sum
from cnnlab.data.idx import read_idx_cached
from cnnlab.data.registry import REGISTRY, DatasetSpec
from cnnlab.errors import ChecksumError, DataError

DECODED = "decoded"  # data_home() subfolder of the decoded .npy copies (cnnlab.data.idx)


@dataclass(frozen=True)
class Located:
    images: Path
    labels: Path
    source: str  # "data-dir" | "cache" | "system" | "embedded"


def _find(folder: Path, filename: str) -> Path | None:
    for name in (filename, filename.removesuffix(".gz")):
        if (folder / name).is_file():
            return folder / name
    return None


def locate(
    spec: DatasetSpec, train: bool, root: str | os.PathLike[str] | None = None
) -> Located | None:
    """Find the image and label files of one split, or None. Cached gzip files are md5-checked."""
    img, lab = spec.file(train, "images"), spec.file(train, "labels")
    candidates: list[tuple[Path, str]] = []
    if root is not None:
        candidates += [(Path(root), "data-dir"), (Path(root) / spec.name, "data-dir")]
    candidates.append((data_home() / spec.name, "cache"))
    candidates += [(Path(d), "system") for d in spec.system_dirs]
    for folder, source in candidates:
        found_img, found_lab = _find(folder, img.filename), _find(folder, lab.filename)
        if found_img and found_lab:
            if source == "cache":
                for path, fs in ((found_img, img), (found_lab, lab)):
                    if path.name == fs.filename and (actual := md5sum(path)) != fs.md5:
                        raise ChecksumError(
                            "data.cache.md5", path=str(path), expected=fs.md5, actual=actual
                        )
            return Located(found_img, found_lab, source)
    return None


def download_split(spec: DatasetSpec, train: bool, progress: Progress | None = None) -> Located:
    """Download one split's two files into the cache (atomically, md5-verified)."""
    dest = data_home() / spec.name
    paths = []
    for kind in ("images", "labels"):
        fs = spec.file(train, kind)
        existing = _find(dest, fs.filename)
        paths.append(existing or fetch(fs.filename, fs.md5, spec.mirrors, dest, progress=progress))
    return Located(paths[0], paths[1], "cache")


def check_labels(labels: np.ndarray, n_classes: int, path: str) -> None:
    """Refuse labels that are not integers in ``0..n_classes-1``, naming the file and the first
    bad index (a label 200 would otherwise crash training deep inside the loss)."""
    if labels.dtype.kind not in "iu":
        raise DataError("bounds.data.label_dtype", path=path, dtype=str(labels.dtype))
    bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if bad.size:
        first = int(bad[0])
        raise DataError(
            "bounds.data.label",
            path=path,
            index=first,
            label=int(labels[first]),
            n=int(bad.size),
            high=n_classes - 1,
        )


class IdxImageDataset(LabelledArrays):
    """28×28 grayscale images + integer labels held in memory as NumPy arrays."""

    name = "idx"
    classes: tuple[str, ...] = tuple(str(d) for d in range(10))

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        *,
        train: bool,
        transform: Callable[[Any], Any] | None = None,
        source: str = "",
        path: str = "",
        labels_file: str = "",
    ) -> None:
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                "data.shape_mismatch", images=str(images.shape), labels=str(labels.shape)
            )
        check_labels(labels, len(self.classes), labels_file or path)
        self.images = images  # (N, H, W) uint8
        self.labels = labels.astype(np.int64, copy=False)  # (N,)
        self.train = train
        self.transform = transform
        self.source = source
        self.path = path

    @property
    def data(self) -> Any:
        """torchvision's name: uint8 tensor (N, H, W), sharing memory with ``images``."""
        import torch

        return torch.from_numpy(self.images)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        """``(tensor[1, H, W] float32 in [0, 1], label)`` — what torchvision's ToTensor gives."""
        import torch

        i = self.check_index(int(index))
        x = torch.from_numpy(self.images[i]).to(torch.float32).div_(255.0).unsqueeze(0)  # (1, H, W)
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.labels[i])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(split={self.split!r}, n={len(self)}, source={self.source!r})"


class MNISTFamily(IdxImageDataset):
    """Base for the registry's datasets; subclasses set ``name``."""

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        train: bool = True,
        download: bool = False,
        transform: Callable[[Any], Any] | None = None,
        progress: Progress | None = None,
    ) -> None:
        spec = REGISTRY[self.name]
        found = locate(spec, train, root)
        if found is None:
            if not download:
                raise DataError(
                    "data.not_found",
                    name=self.name,
                    split="train" if train else "test",
                    cache=str(data_home() / self.name),
                )
            found = download_split(spec, train, progress)
        decoded = data_home() / DECODED  # the files decoded once, memory-mapped after that
        images = read_idx_cached(found.images, decoded)
        labels = read_idx_cached(found.labels, decoded)
        if (
            images.dtype != np.uint8
            or images.ndim != 3
            or labels.ndim != 1
            or len(images) != len(labels)
        ):
            raise DataError(
                "data.shape_mismatch",
                images=f"{images.shape} {images.dtype}",
                labels=str(labels.shape),
            )
        self.classes = spec.classes
        super().__init__(
            images,
            labels,
            train=train,
            transform=transform,
            source=found.source,
            path=str(found.images.parent),
            labels_file=str(found.labels),
        )


class MNIST(MNISTFamily):
    name = "mnist"


class FashionMNIST(MNISTFamily):
    name = "fashion-mnist"


class KMNIST(MNISTFamily):
    name = "kmnist"


__all__ = [
    "check_labels",
    "MNIST",
    "FashionMNIST",
    "KMNIST",
    "MNISTFamily",
    "IdxImageDataset",
    "locate",
    "Located",
]
