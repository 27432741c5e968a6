"""Downloads from a real HTTP server on loopback: success, md5 mismatch, connection cut mid-file."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from cnnlab.data import MNIST, get_dataset
from cnnlab.data.download import data_home, download, fetch
from cnnlab.data.idx import write_idx
from cnnlab.data.registry import REGISTRY, FileSpec
from cnnlab.errors import ChecksumError, DataError, DownloadError
from tests.data.http_server import serve


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def served(tmp_path: Path):
    """A folder of tiny MNIST-format files and a server for it."""
    root = tmp_path / "www"
    root.mkdir()
    rng = np.random.default_rng(1)
    for prefix, n in (("train", 20), ("t10k", 8)):
        write_idx(
            root / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), np.uint8)
        )
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    with serve(root) as url:
        yield root, url


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_success(served, tmp_path: Path) -> None:
    root, url = served
    name = "t10k-labels-idx1-ubyte.gz"
    dest = tmp_path / "cache" / name
    seen: list[int] = []
    got = download(
        url + name, dest, _md5(root / name), progress=lambda done, total: seen.append(done)
    )
    assert got == dest and dest.read_bytes() == (root / name).read_bytes()
    assert seen[-1] == dest.stat().st_size
    assert _leftovers(dest.parent) == [name]  # no temp file left beside it


def test_md5_mismatch_leaves_nothing(served, tmp_path: Path) -> None:
    _, url = served
    dest = tmp_path / "cache" / "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(
        ChecksumError,
        match=r"wrong md5 \(expected 0{32}, got [0-9a-f]{32}\); the file was discarded",
    ):
        download(url + dest.name, dest, "0" * 32)
    assert _leftovers(dest.parent) == []


def test_connection_cut_mid_file_leaves_nothing(served, tmp_path: Path) -> None:
    root, url = served
    name = "train-images-idx3-ubyte.gz"
    dest = tmp_path / "cache" / name
    with pytest.raises(
        DownloadError, match=r"failed: .*(closed after \d+ of \d+ bytes|IncompleteRead|incomplete)"
    ):
        download(url + "cut/" + name, dest, _md5(root / name))
    assert _leftovers(dest.parent) == []


def test_http_404_and_all_mirrors(served, tmp_path: Path) -> None:
    _, url = served
    with pytest.raises(
        DownloadError,
        match=r"Could not download missing.gz from any mirror .*404.*Nothing was written",
    ):
        fetch("missing.gz", "0" * 32, [url, url + "cut/"], tmp_path / "c")
    assert _leftovers(tmp_path / "c") == []


def test_unreachable_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a loopback port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match=rf"127.0.0.1:{port}/x.gz failed"):
        download(f"http://127.0.0.1:{port}/x.gz", tmp_path / "x.gz", "0" * 32, timeout=5)
    assert _leftovers(tmp_path) == []


@pytest.fixture
def local_mnist(served, monkeypatch: pytest.MonkeyPatch):
    """Point the registry's mnist entry at the loopback server, with the served files' md5s."""
    root, url = served
    spec = REGISTRY["mnist"]
    files = {
        role: FileSpec(fs.filename, _md5(root / fs.filename)) for role, fs in spec.files.items()
    }
    monkeypatch.setitem(REGISTRY, "mnist", dataclasses.replace(spec, files=files, mirrors=(url,)))
    return root


def test_dataset_download_into_cache(local_mnist: Path) -> None:
    ds = MNIST(train=False, download=True)
    assert len(ds) == 8 and ds.source == "cache"
    assert sorted(_leftovers(data_home() / "mnist")) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    again = get_dataset("mnist", train=False)  # now cached: no download needed
    np.testing.assert_array_equal(again.images, ds.images)


def test_corrupt_cached_file_is_refused_and_named(local_mnist: Path) -> None:
    MNIST(train=False, download=True)
    cached = data_home() / "mnist" / "t10k-images-idx3-ubyte.gz"
    cached.write_bytes(cached.read_bytes()[:-10])
    with pytest.raises(
        ChecksumError, match=r"Cached file .*mnist/t10k-images-idx3-ubyte.gz fails its md5 check"
    ):
        MNIST(train=False)


def test_missing_without_download_suggests_alternatives(local_mnist: Path) -> None:
    with pytest.raises(
        DataError,
        match=r"'mnist' \(train\) is not available offline.*--data mnist-sample.*--data-dir",
    ):
        get_dataset("mnist", train=True)
