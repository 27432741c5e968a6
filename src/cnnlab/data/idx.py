"""The IDX file format (MNIST's), read and written — gzip or raw.

Layout (LeCun, "THE MNIST DATABASE", file formats section)::

    bytes 0-1  0x00 0x00          magic, always zero
    byte  2    dtype code         0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32,
                                  0x0D float32, 0x0E float64
    byte  3    ndim
    then       ndim × uint32      dimension sizes, big-endian
    then       payload            prod(dims) values, big-endian, C order

The reader validates magic, dtype code and that the header's dimensions match the payload size
*before* allocating: a header claiming 10^9 images is refused, not allocated. For gzip files the
uncompressed size comes from the gzip trailer (ISIZE, size mod 2^32).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.errors import DataError
from cnnlab.fileio import atomic_open

DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
CODES = {dt.newbyteorder("="): code for code, dt in DTYPES.items()}
MAX_NDIM = 8  # MNIST uses 1 (labels) and 3 (images); anything past this is not an IDX file
MAX_BYTES = 8 << 30  # 8 GiB: 170× MNIST's training images; a header past this is not a dataset here
CHUNK = 1 << 20  # gzip payloads are read 1 MiB at a time


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes (regardless of its name)."""
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _payload_size(path: Path, gz: bool) -> int:
    """Total uncompressed size of the file (gzip: ISIZE trailer, exact below 4 GiB)."""
    if not gz:
        return path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() < 18:  # 10-byte header + 8-byte trailer is the smallest gzip file
            raise DataError("data.idx.corrupt", path=str(path), reason="gzip file too short")
        fh.seek(-4, os.SEEK_END)
        (size,) = struct.unpack("<I", fh.read(4))  # ISIZE: uncompressed size mod 2**32
        return int(size)


def _read_at_most(fh: Any, n: int) -> bytes:
    """Up to ``n`` bytes, in chunks: memory grows with what the file holds, not with what its
    header claims (a gzip trailer can agree with a false header modulo 2^32)."""
    chunks = []
    while n > 0:
        chunk = fh.read(min(n, CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzip or raw) into a native-endian array of its declared shape.

    Raises DataError (naming the file) for a wrong magic number, an unknown dtype code, a header
    whose dimensions disagree with the payload size, or a truncated/corrupt gzip stream.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError("data.idx.missing", path=str(p))
    gz = is_gzip(p)
    opener = gzip.open if gz else open
    try:
        with opener(p, "rb") as fh:
            head = fh.read(4)
            if len(head) < 4 or head[:2] != b"\x00\x00":
                raise DataError("data.idx.magic", path=str(p), magic=head.hex())
            code, ndim = head[2], head[3]
            if code not in DTYPES:
                valid = ", ".join(f"0x{c:02X}" for c in DTYPES)
                raise DataError("data.idx.dtype", path=str(p), code=f"0x{code:02X}", valid=valid)
            if not 1 <= ndim <= MAX_NDIM:
                raise DataError("data.idx.ndim", path=str(p), ndim=ndim, max=MAX_NDIM)
            raw_dims = fh.read(4 * ndim)
            if len(raw_dims) < 4 * ndim:
                raise DataError("data.idx.corrupt", path=str(p), reason="header is truncated")
            dims = struct.unpack(f">{ndim}I", raw_dims)
            dtype = DTYPES[code]
            expected = math.prod(dims) * dtype.itemsize  # exact: no float rounding
            # The shape itself must be one NumPy can hold, zero-sized axes aside (0 × 2^32 × 2^32
            # is empty, yet no array has that shape).
            span = math.prod(max(d, 1) for d in dims) * dtype.itemsize
            if span > MAX_BYTES:
                raise DataError(
                    "bounds.idx.too_big",
                    path=str(p),
                    dims=" x ".join(map(str, dims)),
                    size=f"{span / 2**30:,.1f}",
                    limit=MAX_BYTES >> 30,
                )
            header = 4 + 4 * ndim
            actual = _payload_size(p, gz) - header
            # gzip's ISIZE is the size mod 2^32, so compare modulo that for gzip files.
            mismatch = (expected - actual) % (1 << 32) if gz else expected - actual
            if mismatch != 0:
                raise DataError(
                    "data.idx.size_gz" if gz else "data.idx.size",
                    path=str(p),
                    dims=" x ".join(map(str, dims)),
                    expected=expected,
                    actual=actual,
                )
            payload = _read_at_most(fh, expected)
            if len(payload) != expected or fh.read(1):
                raise DataError(
                    "data.idx.size",
                    path=str(p),
                    dims=" x ".join(map(str, dims)),
                    expected=expected,
                    actual=len(payload),
                )
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(
            "data.idx.corrupt", path=str(p), reason=str(exc) or type(exc).__name__
        ) from exc
    return np.frombuffer(payload, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx_cached(path: str | os.PathLike[str], cache_dir: Path | None) -> np.ndarray:
    """:func:`read_idx`, decoded once: later calls memory-map a ``.npy`` copy from ``cache_dir``.

    Decompressing and parsing Fashion-MNIST's 47 MB of images takes a noticeable part of a short
    training command; mapping the decoded array is almost free, and the pages are shared with
    every other process reading the same file. The copy's name carries the source's resolved path
    (hashed), size and modification time, so a changed or replaced source is decoded afresh; the
    copy is written atomically (a crashed writer leaves no half file) and a copy that cannot be
    read is decoded again and rewritten. The array is mapped copy-on-write (``mmap_mode="c"``):
    writable for the caller, the file never changes. ``cache_dir=None`` or an unwritable one:
    plain :func:`read_idx`.
    """
    p = Path(path)
    if cache_dir is None or not p.is_file():
        return read_idx(p)  # read_idx names a missing file
    stat = p.stat()
    where = hashlib.sha1(str(p.resolve()).encode()).hexdigest()[:12]
    stem = f"{p.name.removesuffix('.gz')}.{where}"
    target = cache_dir / f"{stem}.{stat.st_size}.{stat.st_mtime_ns}.npy"
    if target.is_file():
        try:
            cached: np.ndarray = np.load(target, mmap_mode="c", allow_pickle=False)
            return cached
        except (OSError, ValueError):  # truncated or foreign: decode again below
            pass
    array = read_idx(p)
    with contextlib.suppress(OSError):  # a read-only cache only costs the speed-up
        cache_dir.mkdir(parents=True, exist_ok=True)
        with atomic_open(target, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
        for old in cache_dir.glob(f"{stem}.*.npy"):  # copies of older versions of this source
            if old != target:
                old.unlink(missing_ok=True)
    return array


def write_idx(
    path: str | os.PathLike[str], array: np.ndarray, compress: bool | None = None
) -> Path:
    """Write ``array`` as IDX, atomically. ``compress=None`` gzips when the name ends in ``.gz``."""
    p = Path(path)
    arr = np.ascontiguousarray(array)
    code = CODES.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise DataError(
            "data.idx.write_dtype",
            dtype=str(arr.dtype),
            valid="uint8, int8, int16, int32, float32, float64",
        )
    if not 1 <= arr.ndim <= MAX_NDIM:
        raise DataError("data.idx.ndim", path=str(p), ndim=arr.ndim, max=MAX_NDIM)
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    body = header + arr.astype(DTYPES[code], copy=False).tobytes()
    gz = p.name.endswith(".gz") if compress is None else compress
    with atomic_open(p, "wb") as fh:
        # mtime=0 keeps the output byte-identical across runs (stable md5s for tests and releases).
        fh.write(gzip.compress(body, mtime=0) if gz else body)
    return p


__all__ = ["read_idx", "read_idx_cached", "write_idx", "is_gzip", "DTYPES"]
