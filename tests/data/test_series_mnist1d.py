"""MNIST-1D and its shuffled twin: shapes, dtypes, the cache, the fixed permutation."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnlab.data import get_dataset, image_names, is_valid_name, names, resolve, series_names
from cnnlab.data.series.mnist1d import SHUFFLE_SEED, cache_path, shuffle_permutation
from cnnlab.errors import DataError

pytest.importorskip("mnist1d")


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("m1d")


@pytest.fixture
def cache(shared_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One cache for the module, so the set is generated once (~3 s)."""
    monkeypatch.setenv("CNNLAB_DATA", str(shared_cache))
    return shared_cache


def test_shapes_dtypes_and_item(cache: Path) -> None:
    train, test = get_dataset("mnist1d", train=True), get_dataset("mnist1d", train=False)
    assert (len(train), len(test)) == (4000, 1000)
    assert train.series.shape == (4000, 1, 40) and train.series.dtype == np.float32
    assert test.labels.shape == (1000,) and test.labels.dtype == np.int64
    assert (train.channels, train.length, train.name, train.split) == (1, 40, "mnist1d", "train")
    assert train.classes == [str(d) for d in range(10)]
    assert set(np.unique(train.labels)) == set(range(10))
    x, y = train[7]
    assert isinstance(x, torch.Tensor) and x.shape == (1, 40) and x.dtype == torch.float32
    assert y == int(train.labels[7]) and torch.equal(x, torch.from_numpy(train.series[7]))
    # .data / .targets are zero-copy views of .series / .labels
    assert train.data.data_ptr() == train.series.ctypes.data
    assert train.targets.data_ptr() == train.labels.ctypes.data
    assert "4,000 series × 1 channel(s) × 40 steps, 10 classes" in train.describe()


def test_matches_the_generator_and_leaves_global_rng_alone(cache: Path) -> None:
    from mnist1d.data import get_dataset_args, make_dataset

    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    ds = get_dataset("mnist1d", train=False)
    assert (np.random.rand(), random.random()) == (expected_np, expected_py)
    made = make_dataset(get_dataset_args())
    np.testing.assert_allclose(ds.series[:, 0], made["x_test"].astype(np.float32))
    np.testing.assert_array_equal(ds.labels, made["y_test"])


def test_second_load_reads_the_cache(cache: Path) -> None:
    get_dataset("mnist1d")
    path = cache_path()
    assert path.is_file() and path.parent.parent == cache
    before = path.stat().st_mtime_ns
    ds = get_dataset("mnist1d")
    assert ds.source == "cache" and path.stat().st_mtime_ns == before
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".part")]


def test_corrupt_cache_is_refused_with_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    path = cache_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a zip file")
    with pytest.raises(DataError, match=rf"{path}.*not what cnnlab wrote.*Delete it"):
        get_dataset("mnist1d")
    np.savez(path, x=np.zeros((4000, 40), np.float64))  # wrong dtype, keys missing
    with pytest.raises(DataError, match=r"x: \(4000, 40\) float64, expected \(4000, 40\) float32"):
        get_dataset("mnist1d")


def test_shuffled_twin_is_one_fixed_permutation(cache: Path) -> None:
    perm = shuffle_permutation()
    assert np.array_equal(perm, np.random.default_rng(SHUFFLE_SEED).permutation(40))
    assert sorted(perm.tolist()) == list(range(40)) and not np.array_equal(perm, np.arange(40))
    for train in (True, False):
        plain = get_dataset("mnist1d", train=train)
        shuffled = get_dataset("mnist1d-shuffled", train=train)
        assert shuffled.name == "mnist1d-shuffled" and shuffled.series.shape == plain.series.shape
        np.testing.assert_array_equal(shuffled.labels, plain.labels)
        # same permutation for every series, in both splits
        np.testing.assert_array_equal(shuffled.series, plain.series[:, :, perm])
        # a permutation of the same values
        np.testing.assert_array_equal(
            np.sort(shuffled.series, axis=-1), np.sort(plain.series, axis=-1)
        )


def test_names_accept_series_and_keep_image_names() -> None:
    for name in ("mnist1d", "mnist1d-shuffled", "mnist", "mnist-sample", "auto"):
        assert name in names() and is_valid_name(name)
    for bad in ("mnist2d", "", "mnist1d "):
        assert bad not in names() and not is_valid_name(bad)
    assert "mnist1d" in series_names() and "mnist" not in series_names()
    assert "mnist1d" not in image_names() and "fashion-mnist" in image_names()
    assert resolve("mnist1d").describe().startswith("Data: mnist1d, MNIST-1D generated locally")
    assert "permuted by one fixed permutation" in resolve("mnist1d-shuffled").describe()
    assert "z-normalised per channel" in resolve("ucr:GunPoint").describe()
    assert "split 80/20 per class (seed 0)" in resolve("csv:a.csv").describe()
    assert "z-정규화" in resolve("csv:a.csv").describe("ko")
    with pytest.raises(DataError, match=r"Unknown dataset 'mnist2d'. Valid: auto, .*mnist1d"):
        resolve("mnist2d")


def _lag1(x: np.ndarray) -> float:
    """Mean correlation of each series with itself one step later, x (N, L)."""
    x = x - x.mean(axis=1, keepdims=True)
    num = (x[:, 1:] * x[:, :-1]).sum(axis=1)
    den = np.sqrt((x[:, 1:] ** 2).sum(axis=1) * (x[:, :-1] ** 2).sum(axis=1))
    return float((num / den).mean())


def test_shuffling_destroys_neighbourhood(cache: Path) -> None:
    """The control removes what a kernel relies on: neighbouring steps stop being alike."""
    plain = get_dataset("mnist1d").series[:, 0].astype(np.float64)  # (N, 40)
    shuffled = get_dataset("mnist1d-shuffled").series[:, 0].astype(np.float64)
    assert _lag1(plain) > 0.7  # measured 0.77: smooth templates plus correlated noise
    assert abs(_lag1(shuffled)) < 0.1  # measured 0.03
