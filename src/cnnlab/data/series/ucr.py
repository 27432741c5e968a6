"""``ucr:<Name>``: UCR/UEA classification sets read by ``aeon``'s own ``.ts`` loader, offline.

aeon 1.x ships a few sets inside its package (``aeon/datasets/data/<Name>/<Name>_TRAIN.ts`` and
``_TEST.ts``): GunPoint, ItalyPowerDemand, ArrowHead, OSULeaf, ACSF1 (univariate), BasicMotions
(6 channels: a wrist watch's accelerometer and gyroscope), JapaneseVowels and PickupGestureWiimoteZ
(variable length). They are read with ``aeon.datasets.load_from_ts_file``. ``load_classification``
is not called because, for a set it does not ship, it tries to download from Zenodo; cnnlab never
goes to the network for these sets. A set that is not shipped can be placed by hand as
``data_home()/ucr/<Name>/<Name>_{TRAIN,TEST}.ts`` (looked at first).

Preparation, as is UCR practice: each series is z-normalised per channel (mean 0, std 1 over its
own time steps; a constant channel becomes zeros). Variable-length sets are normalised first and
then zero-padded at the end to the longest series of both splits, so train and test have the same
length; the largest padding is reported in :meth:`SeriesDataset.describe`. Class names are the
labels of both splits, sorted (numerically when every label is a number), so an index means the same
class in train and test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.data.download import data_home
from cnnlab.data.series.dataset import SeriesDataset, pad_series, znormalise
from cnnlab.errors import DataError

SPLITS = {True: "TRAIN", False: "TEST"}


def aeon_data_dir() -> Path:
    """The folder of the sets aeon ships; DataError (install the extra) without aeon."""
    try:
        import aeon.datasets
    except ImportError as exc:
        raise DataError("data.series.extra_missing", name="ucr:", package="aeon") from exc
    return Path(aeon.datasets.__file__).parent / "data"


def _is_classification(path: Path) -> bool:
    """True when the ``.ts`` header declares class labels (aeon also ships regression sets)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            low = line.strip().lower()
            if low.startswith("@classlabel"):
                return low.split()[1:2] == ["true"]
            if low.startswith("@data"):
                break
    return False


def _folders() -> list[Path]:
    folders = [data_home() / "ucr"]
    return [*folders, aeon_data_dir()]


def available() -> list[str]:
    """The classification sets readable offline (the cache's and aeon's), sorted."""
    found: set[str] = set()
    for root in _folders():
        if not root.is_dir():
            continue
        for folder in root.iterdir():
            name = folder.name
            train, test = folder / f"{name}_TRAIN.ts", folder / f"{name}_TEST.ts"
            if train.is_file() and test.is_file() and _is_classification(train):
                found.add(name)
    return sorted(found)


def locate(name: str) -> tuple[Path, Path, str]:
    """The TRAIN and TEST files of ``name`` and their source (``"cache"`` or ``"aeon"``)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):  # a set's name, never a path
        raise DataError(
            "data.ucr.not_offline",
            name=name,
            available=", ".join(available()),
            cache=str(data_home() / "ucr"),
        )
    for root, source in zip(_folders(), ("cache", "aeon"), strict=True):
        train, test = (root / name / f"{name}_{SPLITS[s]}.ts" for s in (True, False))
        if train.is_file() and test.is_file():
            if not _is_classification(train):
                raise DataError("data.ucr.not_classification", name=name, path=str(train))
            return train, test, source
    raise DataError(
        "data.ucr.not_offline",
        name=name,
        available=", ".join(available()),
        cache=str(data_home() / "ucr" / name),
    )


def _read(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """Series as a list of (C, L_i) float64 arrays and labels as str, via aeon's loader."""
    from aeon.datasets import load_from_ts_file

    try:
        x, y = load_from_ts_file(str(path))
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise DataError("data.ucr.unreadable", path=str(path), reason=str(exc)) from exc
    rows = [np.asarray(r, dtype=np.float64) for r in x]  # (N, C, L) array or list of (C, L_i)
    for i, r in enumerate(rows):
        if not np.isfinite(r).all():
            step = int(np.argwhere(~np.isfinite(r))[0][-1])
            raise DataError("data.ucr.not_finite", path=str(path), row=i, step=step)
    return rows, np.asarray(y).astype(str)


def sort_classes(labels: np.ndarray) -> list[str]:
    """Distinct labels sorted numerically when all are numbers ('2' < '10'), else as text."""
    distinct = sorted(set(labels.tolist()))
    try:
        return sorted(distinct, key=float)
    except ValueError:
        return distinct


def load_ucr(
    name: str, train: bool = True, transform: Callable[[Any], Any] | None = None
) -> SeriesDataset:
    """Read one split of UCR/UEA set ``name``: univariate series z-normalised, multivariate ones as
    published, zero-padded to the longest, labels as indices."""
    return load_ucr_splits(name, transform)[0 if train else 1]


def load_ucr_splits(
    name: str, transform: Callable[[Any], Any] | None = None
) -> tuple[SeriesDataset, SeriesDataset]:
    """Both splits of ``name`` (train, test), each file read once."""
    train_path, test_path, source = locate(name)
    splits = {True: _read(train_path), False: _read(test_path)}
    classes = sort_classes(np.concatenate([splits[True][1], splits[False][1]]))
    index = {c: i for i, c in enumerate(classes)}
    longest = max(r.shape[-1] for s in splits.values() for r in s[0])
    # UCR practice z-normalises each univariate series; the UEA multivariate sets are used as
    # published: per-series z-normalisation erases the levels that tell JapaneseVowels' speakers
    # apart (measured with cnn1d, 150 epochs: 83% with it, 98-99% without)
    univariate = all(r.shape[0] == 1 for s in splits.values() for r in s[0])
    shortest = min(r.shape[-1] for s in splits.values() for r in s[0])
    out = []
    for train in (True, False):
        rows, labels = splits[train]
        if univariate:  # each (C, L_i), normalised before padding
            rows = [znormalise(r[None])[0] for r in rows]
        series, _ = pad_series(rows, length=longest)  # (N, C, longest)
        out.append(
            SeriesDataset(
                series,
                np.array([index[v] for v in labels], dtype=np.int64),
                name=f"ucr:{name}",
                train=train,
                classes=classes,
                source=source,
                path=str(train_path if train else test_path),
                znorm=univariate,
                padding=longest - shortest,
                transform=transform,
                lengths=np.array([r.shape[-1] for r in rows], dtype=np.int64),
            )
        )
    return out[0], out[1]


__all__ = ["load_ucr", "load_ucr_splits", "available", "locate", "aeon_data_dir", "sort_classes"]
