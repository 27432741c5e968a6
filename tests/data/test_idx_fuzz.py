"""The IDX reader on arbitrary bytes (hypothesis, bounded examples): an array of the declared shape
or a DataError naming the file — never another exception, never an allocation past the file's size.
And labels outside the dataset's classes refused when the dataset loads."""

from __future__ import annotations

import gzip
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlab.data import get_dataset
from cnnlab.data.idx import DTYPES, read_idx, write_idx
from cnnlab.data.mnist import check_labels
from cnnlab.errors import DataError

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


def _read(data: bytes, gz: bool) -> tuple[np.ndarray | None, int]:
    """read_idx on ``data`` written to a temp file; (array or None on DataError, file size)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("f.idx.gz" if gz else "f.idx")
        body = gzip.compress(data, mtime=0) if gz else data
        path.write_bytes(body)
        try:
            arr = read_idx(path)
        except DataError as exc:
            assert str(path) in str(exc)  # the message names the file
            return None, len(data)
        return arr, len(data)


@FUZZ
@given(data=st.binary(max_size=256), gz=st.booleans())
def test_random_bytes_give_an_array_or_a_data_error(data: bytes, gz: bool) -> None:
    arr, size = _read(data, gz)
    if arr is not None:
        assert arr.nbytes <= size  # the payload is in the file: nothing allocated past it


# A plausible header (magic 0, a known or unknown dtype code, 0..9 dims of any uint32) and a payload
# of any length: the dims usually disagree with the payload, sometimes by 10^9 images.
headers = st.builds(
    lambda code, dims, payload: (
        bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + payload
    ),
    code=st.sampled_from([*DTYPES, 0x00, 0x0A, 0xFF]),
    dims=st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 8), max_size=9),
    payload=st.binary(max_size=128),
)


@FUZZ
@given(data=headers, gz=st.booleans())
def test_structured_headers_give_an_array_or_a_data_error(data: bytes, gz: bool) -> None:
    arr, size = _read(data, gz)
    if arr is not None:
        ndim = data[3]
        dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
        assert arr.shape == dims and arr.nbytes <= size


@FUZZ
@given(
    arr=st.integers(1, 3).flatmap(
        lambda nd: st.lists(st.integers(0, 4), min_size=nd, max_size=nd).flatmap(
            lambda shape: st.sampled_from(["u1", "i1", "i2", "i4", "f4", "f8"]).map(
                lambda dt: np.arange(int(np.prod(shape)), dtype=dt).reshape(shape)
            )
        )
    ),
    gz=st.booleans(),
)
def test_written_arrays_read_back(arr: np.ndarray, gz: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_idx(Path(tmp) / ("a.idx.gz" if gz else "a.idx"), arr)
        back = read_idx(path)
    assert back.dtype == arr.dtype and back.shape == arr.shape and np.array_equal(back, arr)


def test_a_billion_images_header_is_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "big.idx"
    path.write_bytes(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 10**9, 28, 28) + b"\0" * 784)
    with pytest.raises(DataError, match=r"big\.idx"):
        read_idx(path)


# ---- labels outside the classes ---------------------------------------------------------------


def _mnist_dir(tmp_path: Path, labels: np.ndarray) -> Path:
    """A --data-dir holding a tiny MNIST test split: 4 blank images and ``labels``."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((len(labels), 28, 28), np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels)
    return folder


def test_label_past_the_classes_is_refused_naming_file_and_index(tmp_path: Path) -> None:
    folder = _mnist_dir(tmp_path, np.array([3, 9, 200, 11], np.uint8))
    with pytest.raises(DataError) as info:
        get_dataset("mnist", train=False, root=str(folder))
    msg = info.value.message("en")
    assert "t10k-labels-idx1-ubyte.gz" in msg
    assert "index 2 has label 200 (2 bad in all); valid: 0..9" in msg
    assert "2번 레이블이 200입니다(모두 2개). 가능한 범위는 0..9" in info.value.message("ko")


def test_good_labels_load(tmp_path: Path) -> None:
    folder = _mnist_dir(tmp_path, np.array([0, 9, 5, 1], np.uint8))
    ds = get_dataset("mnist", train=False, root=str(folder))
    assert ds.labels.tolist() == [0, 9, 5, 1]


def test_negative_and_float_labels_are_refused() -> None:
    with pytest.raises(
        DataError,
        match=r"classes: index 1 has label -1 \(1 bad in all\); valid: 0..9",
    ):
        check_labels(np.array([0, -1, 4], np.int8), 10, "x")
    with pytest.raises(DataError, match=r"Labels in 'x' are float32 numbers"):
        check_labels(np.array([0.0, 1.5], np.float32), 10, "x")
