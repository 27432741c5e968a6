"""Datasets: IDX files, the MNIST family (download + cache), the embedded ``mnist-sample``, and
the series sets (``mnist1d``, ``mnist1d-shuffled``, ``ucr:<Name>``, ``csv:<path>``; see
:mod:`cnnlab.data.series`).

Torch-free at import time (tensors are created lazily) so the CLI starts instantly.

    >>> from cnnlab.data import get_dataset
    >>> ds = get_dataset("mnist-sample", train=True)
    >>> x, y = ds[0]          # x: tensor (1, 28, 28) in [0, 1], y: int
    >>> ds.images.shape       # (4000, 28, 28) uint8 — fast whole-array access
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cnnlab.data.download import Progress, data_home
from cnnlab.data.folder import PLACEHOLDER as FOLDER_PLACEHOLDER
from cnnlab.data.folder import FolderDataset, FolderOptions, is_folder_name, open_folder
from cnnlab.data.idx import read_idx, write_idx
from cnnlab.data.mnist import KMNIST, MNIST, FashionMNIST, IdxImageDataset, locate
from cnnlab.data.registry import REGISTRY
from cnnlab.data.sample import MNISTSample
from cnnlab.data.series import PLACEHOLDERS, SERIES, SeriesDataset, is_series_name, open_series
from cnnlab.data.text import TEXT_NAMES, TextData, is_text_name, load_text
from cnnlab.errors import DataError


class DatasetClass(Protocol):
    """What every registered dataset class is called with (torchvision's signature)."""

    def __call__(
        self,
        root: str | os.PathLike[str] | None = ...,
        train: bool = ...,
        download: bool = ...,
        transform: Any = ...,
        progress: Progress | None = ...,
    ) -> IdxImageDataset: ...


DATASETS: dict[str, DatasetClass] = {
    "mnist": MNIST,
    "fashion-mnist": FashionMNIST,
    "kmnist": KMNIST,
    "mnist-sample": MNISTSample,
}
AUTO = "auto"


class Names(list[str]):
    """The dataset names as a list, whose ``in`` also accepts the open-ended ``ucr:<Name>`` and
    ``csv:<path>`` (so ``name in names()`` — and the lab's ``choices`` check — stays right)."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and is_valid_name(name)


def names() -> Names:
    """Every name ``get_dataset`` accepts, ``auto`` first; open-ended ones as ``ucr:<Name>``."""
    return Names([AUTO, *DATASETS, FOLDER_PLACEHOLDER, *SERIES, *PLACEHOLDERS, *TEXT_NAMES])


def image_names() -> list[str]:
    """The image datasets' names, ``auto`` first (for options that need images); ``in`` also
    accepts any ``folder:<path>``."""
    return _ImageNames([AUTO, *DATASETS, FOLDER_PLACEHOLDER])


class _ImageNames(list[str]):
    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name == AUTO or name in DATASETS or is_folder_name(name))


def series_names() -> Names:
    """The series datasets' names (``ucr:``/``csv:`` open-ended; ``in`` accepts any of them)."""
    return _SeriesNames([*SERIES, *PLACEHOLDERS])


class _SeriesNames(Names):
    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and is_series_name(name)


def is_valid_name(name: str) -> bool:
    """True for any name ``get_dataset`` accepts: an image set, ``auto`` or a series name."""
    return (
        name == AUTO
        or name in DATASETS
        or is_series_name(name)
        or is_folder_name(name)
        or is_text_name(name)
    )


@dataclass(frozen=True)
class Resolution:
    """Which dataset ``auto`` (or an explicit name) resolved to, and why (the one-line notice)."""

    name: str
    source: str  # "data-dir" | "cache" | "system" | "embedded" | "download"
    reason_key: str  # i18n key explaining the choice

    def describe(self, lang: str | None = None) -> str:
        from cnnlab.i18n import Msg, t

        source = Msg(f"data.status.{self.source.replace('-', '_')}")  # a word, in the language
        return t(self.reason_key, lang, name=self.name, source=source)


def resolve(
    name: str = AUTO,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
    train: bool = True,
) -> Resolution:
    """Decide which dataset a request means. ``auto``: full MNIST if local/cached, else the sample.

    A ``data_dir`` given explicitly must exist (for every name) and hold the IDX dataset asked for
    (for ``auto``: MNIST);
    otherwise DataError names the folder — the embedded sample is the fallback only for ``auto``
    without a ``data_dir``.
    """
    if data_dir is not None:  # the embedded sample needs none, but a missing folder is still a typo
        _check_data_dir(Path(data_dir), "mnist" if name == AUTO else name, train)
    if name == AUTO:
        if locate(REGISTRY["mnist"], train, data_dir) is not None:
            return Resolution("mnist", "local", "data.using.auto_mnist")
        return Resolution("mnist-sample", "embedded", "data.using.auto_sample")
    if is_series_name(name):
        kind = name.split(":")[0] if ":" in name else name.replace("-", "_")
        return Resolution(name, "series", f"data.series.using.{kind}")
    if is_folder_name(name):
        return Resolution(name, "folder", "data.folder.using")
    if is_text_name(name):
        return Resolution(name, "text", "data.text.using")
    if name not in DATASETS:
        raise DataError("data.unknown", name=name, valid=", ".join(names()))
    if name == "mnist-sample":
        return Resolution(name, "embedded", "data.using.explicit")
    found = locate(REGISTRY[name], train, data_dir)
    return Resolution(
        name,
        found.source if found else ("download" if download else "missing"),
        "data.using.explicit",
    )


def _check_data_dir(folder: Path, name: str, train: bool) -> None:
    """Refuse a ``--data-dir`` that is missing or does not hold ``name``'s files for this split."""
    if not folder.is_dir():
        raise DataError("data.data_dir.missing", path=str(folder))
    if name not in REGISTRY:
        return
    found = locate(REGISTRY[name], train, folder)
    if found is None or found.source != "data-dir":
        spec = REGISTRY[name]
        files = ", ".join(spec.file(train, kind).filename for kind in ("images", "labels"))
        raise DataError(
            "data.data_dir.empty",
            path=str(folder),
            name=name,
            split="train" if train else "test",
            files=files,
        )


def get_dataset(
    name: str = AUTO,
    train: bool = True,
    root: str | os.PathLike[str] | None = None,
    download: bool = False,
    transform: Any = None,
    progress: Progress | None = None,
    *,
    label_column: str = "label",
    folder: FolderOptions | None = None,
) -> Any:
    """Open a dataset by registry name (see :func:`names`), torchvision-style.

    Returns an :class:`IdxImageDataset` for an image name and a :class:`SeriesDataset` for a series
    name (``label_column`` is used by ``csv:`` and ``csvtext:`` only), a :class:`TextData` for
    ``nsmc`` and ``csvtext:<path>``, a :class:`FolderDataset` for
    ``folder:<path>`` (transform and split from ``folder``, default :class:`FolderOptions`).
    Raises DataError for an unknown name (listing
    the valid ones) or for data that is neither local, cached nor downloadable (suggesting
    ``mnist-sample`` or ``--data-dir``).
    """
    if is_series_name(name):
        return open_series(name, train=train, transform=transform, label_column=label_column)
    if is_folder_name(name):
        return open_folder(name, train=train, transform=transform, options=folder)
    if is_text_name(name):  # raw texts: cnnlab.train.text tokenises and encodes them
        split = "train" if train else "test"
        return load_text(name, split, root, download, label_column=label_column, progress=progress)
    resolved = resolve(name, root, download, train).name
    return DATASETS[resolved](
        root=root, train=train, download=download, transform=transform, progress=progress
    )


__all__ = [
    "DATASETS",
    "AUTO",
    "names",
    "Names",
    "image_names",
    "series_names",
    "is_valid_name",
    "SERIES",
    "TextData",
    "is_text_name",
    "load_text",
    "SeriesDataset",
    "resolve",
    "Resolution",
    "get_dataset",
    "read_idx",
    "write_idx",
    "data_home",
    "MNIST",
    "FashionMNIST",
    "KMNIST",
    "MNISTSample",
    "IdxImageDataset",
    "FolderDataset",
    "FolderOptions",
    "is_folder_name",
]
