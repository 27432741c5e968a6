"""read_idx_cached: decoded once, memory-mapped after; a changed source or a broken copy is decoded
again; an unusable cache folder only costs the speed-up."""

from __future__ import annotations

import os

import numpy as np

from cnnlab.data.idx import read_idx_cached, write_idx


def _source(tmp_path, seed=0, n=5):
    arr = np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    return write_idx(tmp_path / "imgs-idx3-ubyte.gz", arr), arr


def test_decoded_once_then_mapped(tmp_path):
    src, arr = _source(tmp_path)
    cache = tmp_path / "cache"
    first = read_idx_cached(src, cache)
    assert not isinstance(first, np.memmap) and np.array_equal(first, arr)
    (copy,) = cache.glob("*.npy")
    assert copy.name.startswith("imgs-idx3-ubyte.") and not list(cache.glob(".*.part"))
    second = read_idx_cached(src, cache)
    assert isinstance(second, np.memmap) and np.array_equal(second, arr)
    second[0, 0, 0] ^= 1  # copy-on-write: the caller may write, the file does not change
    assert np.array_equal(read_idx_cached(src, cache), arr)


def test_changed_source_is_decoded_again_and_old_copy_removed(tmp_path):
    src, _ = _source(tmp_path)
    cache = tmp_path / "cache"
    read_idx_cached(src, cache)
    _, arr2 = _source(tmp_path, seed=1, n=7)  # same path, new content and size
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    got = read_idx_cached(src, cache)
    assert got.shape == (7, 28, 28) and np.array_equal(got, arr2)
    assert len(list(cache.glob("*.npy"))) == 1


def test_broken_copy_is_rewritten(tmp_path):
    src, arr = _source(tmp_path)
    cache = tmp_path / "cache"
    read_idx_cached(src, cache)
    (copy,) = cache.glob("*.npy")
    copy.write_bytes(copy.read_bytes()[:200])  # truncated
    assert np.array_equal(read_idx_cached(src, cache), arr)
    assert isinstance(read_idx_cached(src, cache), np.memmap)


def test_unusable_cache_folder_still_reads(tmp_path):
    src, arr = _source(tmp_path)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert np.array_equal(read_idx_cached(src, blocked / "cache"), arr)
    assert np.array_equal(read_idx_cached(src, None), arr)
