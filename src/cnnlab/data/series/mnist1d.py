"""MNIST-1D (Greydanus 2020): ten 1-D digit templates, padded, sheared, translated and noised.

Built locally by the ``mnist1d`` package's own ``make_dataset`` with the paper's default arguments
(``get_dataset_args()``: 5,000 series, 80/20 split → 4,000 train / 1,000 test, length 40, seed 42).
``make_dataset`` only generates; it never touches the network (the package's ``get_dataset`` would
download a pickle by URL, so it is not used). The generator seeds NumPy's and ``random``'s global
state; both are restored afterwards so building the set does not change anyone else's randomness.

The first build (~3 s) is cached as ``data_home()/mnist1d/mnist1d.npz`` (written atomically) and
verified on every load (keys, shapes, dtypes, label range). The generator standardises the whole
set once (mean 0, std 1 over all values) — that is the paper's data; no per-series z-normalisation
is added (``znorm`` is False).

``mnist1d-shuffled`` is the control: the same series with their 40 positions permuted by one fixed
permutation, ``numpy.random.default_rng(SHUFFLE_SEED).permutation(40)``, the same for train and
test. It keeps every value and every label and destroys only which positions are neighbours.
"""

from __future__ import annotations

import random
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.data.download import data_home
from cnnlab.data.series.dataset import SeriesDataset
from cnnlab.errors import DataError
from cnnlab.fileio import atomic_open

N_TRAIN, N_TEST, LENGTH, N_CLASSES = 4000, 1000, 40, 10
SHUFFLE_SEED = 20200101  # the one permutation of the 40 positions for mnist1d-shuffled
CACHE_NAME = "mnist1d.npz"
CLASSES = [str(d) for d in range(N_CLASSES)]
_EXPECTED = {
    "x": ((N_TRAIN, LENGTH), np.float32),
    "y": ((N_TRAIN,), np.int64),
    "x_test": ((N_TEST, LENGTH), np.float32),
    "y_test": ((N_TEST,), np.int64),
}


def cache_path() -> Path:
    return data_home() / "mnist1d" / CACHE_NAME


def shuffle_permutation() -> np.ndarray:
    """The fixed permutation of the 40 positions used by ``mnist1d-shuffled`` (int64 (40,))."""
    return np.random.default_rng(SHUFFLE_SEED).permutation(LENGTH)


def generate() -> dict[str, np.ndarray]:
    """Run ``mnist1d.data.make_dataset`` with the default args; x float32, y int64."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as exc:
        raise DataError("data.series.extra_missing", name="mnist1d", package="mnist1d") from exc
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        made = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return {key: np.asarray(made[key]).astype(dtype) for key, (_, dtype) in _EXPECTED.items()}


def load_cache(path: Path) -> dict[str, np.ndarray]:
    """Read and verify the cached ``.npz``; DataError naming the path if it is not what we wrote."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError("data.series.cache_corrupt", path=str(path), reason=str(exc)) from exc
    for key, (shape, dtype) in _EXPECTED.items():
        got = arrays.get(key)
        if got is None or got.shape != shape or got.dtype != dtype:
            found = "missing" if got is None else f"{got.shape} {got.dtype}"
            raise DataError(
                "data.series.cache_corrupt",
                path=str(path),
                reason=f"{key}: {found}, expected {shape} {np.dtype(dtype).name}",
            )
    for key in ("y", "y_test"):
        if arrays[key].min() < 0 or arrays[key].max() >= N_CLASSES:
            raise DataError(
                "data.series.cache_corrupt",
                path=str(path),
                reason=f"{key}: labels outside 0..{N_CLASSES - 1}",
            )
    return arrays


def load_arrays() -> tuple[dict[str, np.ndarray], str]:
    """The four arrays and where they came from (``"cache"`` or ``"generated"``)."""
    path = cache_path()
    if path.exists():
        return load_cache(path), "cache"
    arrays = generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy's stub wants a str path or file
    return arrays, "generated"


class MNIST1D(SeriesDataset):
    """MNIST-1D with the image datasets' signature; ``ds[i] -> (tensor (1, 40), label)``."""

    shuffled = False

    def __init__(
        self,
        root: Any = None,
        train: bool = True,
        download: bool = False,
        transform: Callable[[Any], Any] | None = None,
        progress: Any = None,
    ) -> None:
        del root, download, progress  # generated locally: nothing to look for or download
        arrays, source = load_arrays()
        x = arrays["x" if train else "x_test"]  # (N, 40)
        if self.shuffled:
            x = x[:, shuffle_permutation()]
        super().__init__(
            np.ascontiguousarray(x[:, None, :]),  # (N, 1, 40)
            arrays["y" if train else "y_test"],
            name="mnist1d-shuffled" if self.shuffled else "mnist1d",
            train=train,
            classes=CLASSES,
            source=source,
            path=str(cache_path()),
            znorm=False,
            transform=transform,
        )


class MNIST1DShuffled(MNIST1D):
    """The control: MNIST-1D with one fixed permutation of its 40 positions (train = test)."""

    shuffled = True


__all__ = ["MNIST1D", "MNIST1DShuffled", "shuffle_permutation", "SHUFFLE_SEED", "cache_path"]
