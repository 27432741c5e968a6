"""IDX reader/writer: round trips and every corruption, refused before allocation."""

from __future__ import annotations

import gzip
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from cnnlab.data.idx import read_idx, write_idx
from cnnlab.errors import DataError


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["x.idx", "x.idx.gz"])
def test_round_trip(tmp_path: Path, dtype: str, name: str) -> None:
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((7, 5, 3)) * 100).astype(dtype)
    path = write_idx(tmp_path / name, arr)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, arr)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")


def test_labels_one_dimensional(tmp_path: Path) -> None:
    labels = np.arange(10, dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l.gz", labels)), labels)


def test_header_layout_is_big_endian(tmp_path: Path) -> None:
    arr = np.zeros((2, 28, 28), np.uint8)
    raw = write_idx(tmp_path / "i.idx", arr).read_bytes()
    assert raw[:4] == b"\x00\x00\x08\x03"
    assert struct.unpack(">3I", raw[4:16]) == (2, 28, 28)
    assert len(raw) == 16 + 2 * 28 * 28


def test_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 20)
    with pytest.raises(DataError, match=r"Not an IDX file: .*bad.idx starts with bytes 01020801"):
        read_idx(path)


def test_unknown_dtype_code(tmp_path: Path) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DataError, match=r"unknown dtype code 0x07; valid codes: 0x08"):
        read_idx(path)


def test_truncated_gzip(tmp_path: Path) -> None:
    good = write_idx(tmp_path / "ok.gz", np.arange(5000, dtype=np.int32)).read_bytes()
    path = tmp_path / "cut.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(
        DataError, match=r"cut.gz: the header declares 5000 .* the file is truncated or corrupt"
    ):
        read_idx(path)


def test_garbage_gzip_stream(tmp_path: Path) -> None:
    path = tmp_path / "junk.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 60)
    with pytest.raises(DataError, match=r"junk.gz"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_header_payload_mismatch(tmp_path: Path, gz: bool) -> None:
    body = b"\x00\x00\x08\x02" + struct.pack(">2I", 10, 10) + b"\x00" * 99  # one byte short
    path = tmp_path / ("short.gz" if gz else "short.idx")
    path.write_bytes(gzip.compress(body) if gz else body)
    holds = "the gzip size field says 99 bytes" if gz else "the file holds 99 bytes"
    with pytest.raises(DataError, match=rf"header declares 10 x 10 \(100 bytes\) but {holds}"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_absurd_dimensions_refused_without_allocating(tmp_path: Path, gz: bool) -> None:
    # A header claiming 10^9 images of 28x28 (784 GB) with a 784-byte payload.
    body = b"\x00\x00\x08\x03" + struct.pack(">3I", 10**9, 28, 28) + b"\x00" * 784
    path = tmp_path / ("bomb.gz" if gz else "bomb.idx")
    path.write_bytes(gzip.compress(body) if gz else body)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"header declares 1000000000 x 28 x 28"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20  # refused before any large buffer was allocated


def test_trailing_garbage(tmp_path: Path) -> None:
    body = b"\x00\x00\x08\x01" + struct.pack(">I", 4) + b"\x01\x02\x03\x04" + b"extra"
    path = tmp_path / "long.idx"
    path.write_bytes(body)
    with pytest.raises(
        DataError, match=r"header declares 4 \(4 bytes\) but the file holds 9 bytes"
    ):
        read_idx(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"IDX file not found: .*nope.idx"):
        read_idx(tmp_path / "nope.idx")


def test_write_unsupported_dtype(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"Cannot write dtype complex128 as IDX; valid: uint8"):
        write_idx(tmp_path / "c.idx", np.zeros(3, np.complex128))
    assert list(tmp_path.iterdir()) == []
