"""ucr:<Name> through aeon's .ts loader: the shipped sets, z-normalisation, padding, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from cnnlab.data import get_dataset, names
from cnnlab.data.series import check_min_length
from cnnlab.data.series.ucr import available, sort_classes
from cnnlab.errors import DataError

aeon_datasets = pytest.importorskip("aeon.datasets")


def _raw(name: str, split: str) -> tuple[list[np.ndarray], np.ndarray]:
    root = Path(aeon_datasets.__file__).parent / "data" / name
    x, y = aeon_datasets.load_from_ts_file(str(root / f"{name}_{split}.ts"))
    return [np.asarray(r, dtype=np.float64) for r in x], np.asarray(y).astype(str)


@pytest.mark.parametrize(
    ("name", "n_train", "n_test", "channels", "length", "classes"),
    [
        ("GunPoint", 50, 150, 1, 150, ["1", "2"]),
        ("BasicMotions", 40, 40, 6, 100, ["badminton", "running", "standing", "walking"]),
        ("JapaneseVowels", 270, 370, 12, 29, [str(i) for i in range(1, 10)]),
    ],
)
def test_shipped_sets(
    name: str, n_train: int, n_test: int, channels: int, length: int, classes: list[str]
) -> None:
    for train, n in ((True, n_train), (False, n_test)):
        ds = get_dataset(f"ucr:{name}", train=train)
        assert ds.series.shape == (n, channels, length) and ds.series.dtype == np.float32
        assert ds.labels.dtype == np.int64 and ds.classes == classes
        assert ds.znorm == (channels == 1)  # UCR practice for univariate; UEA multivariate as is
        assert (ds.name, ds.channels, ds.length) == (f"ucr:{name}", channels, length)
        x, _ = ds[0]
        assert x.shape == (channels, length) and x.dtype == torch.float32
        # the labels are aeon's labels, mapped to sorted class indices
        raw, raw_labels = _raw(name, "TRAIN" if train else "TEST")
        assert [ds.classes[i] for i in ds.labels] == raw_labels.tolist()
        # univariate: each series z-normalised over its own (unpadded) steps; multivariate: as is
        for i in (0, n // 2, n - 1):
            own = int(ds.lengths[i])
            assert own == raw[i].shape[-1]
            real = ds.series[i, :, :own].astype(np.float64)  # (C, own)
            expected = raw[i]
            if channels == 1:
                np.testing.assert_allclose(real.mean(axis=-1), 0, atol=1e-5)
                np.testing.assert_allclose(real.std(axis=-1), 1, atol=1e-4)
                expected = (raw[i] - raw[i].mean(-1, keepdims=True)) / raw[i].std(-1, keepdims=True)
            np.testing.assert_allclose(real, expected, rtol=1e-4, atol=1e-5)
            assert not ds.series[i, :, own:].any()  # post-padding with zeros


def test_variable_length_padding_is_reported() -> None:
    ds = get_dataset("ucr:JapaneseVowels", train=True)
    lengths = [r.shape[-1] for s in ("TRAIN", "TEST") for r in _raw("JapaneseVowels", s)[0]]
    assert ds.length == max(lengths) == 29 and ds.padding == max(lengths) - min(lengths)
    assert f"zero-padded at the end, by up to {ds.padding} steps" in ds.describe()
    assert "zero-padded" not in get_dataset("ucr:GunPoint").describe()
    assert "z-normalised per channel" in get_dataset("ucr:GunPoint").describe()
    assert "used as published" in get_dataset("ucr:BasicMotions").describe()
    with pytest.raises(
        DataError, match=r"Series \d+ of ucr:JapaneseVowels \(train\) has 7 steps, "
    ):
        check_min_length(ds, 8)
    check_min_length(ds, int(ds.lengths.min()))


def test_offline_list_and_missing_set() -> None:
    shipped = available()
    for name in ("GunPoint", "ItalyPowerDemand", "ArrowHead", "BasicMotions", "OSULeaf", "ACSF1"):
        assert name in shipped
    assert "Covid3Month" not in shipped  # a regression set
    assert "ucr:ECG200" in names()
    with pytest.raises(
        DataError, match=r"'ECG200' is not available offline.*GunPoint.*ECG200_TRAIN"
    ):
        get_dataset("ucr:ECG200")
    with pytest.raises(DataError, match=r"'../GunPoint' is not available offline"):
        get_dataset("ucr:../GunPoint")
    with pytest.raises(
        DataError, match=r"'Covid3Month' .* has no class labels: it is a regression"
    ):
        get_dataset("ucr:Covid3Month")


def test_a_set_placed_in_the_cache_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    folder = tmp_path / "ucr" / "Tiny"
    folder.mkdir(parents=True)
    head = "@problemName Tiny\n@timeStamps false\n@univariate true\n@equalLength true\n"
    head += "@seriesLength 4\n@classLabel true b a\n@data\n"
    (folder / "Tiny_TRAIN.ts").write_text(head + "1,2,3,4:b\n4,3,2,9:a\n")
    (folder / "Tiny_TEST.ts").write_text(head + "0,0,1,0:a\n")
    ds = get_dataset("ucr:Tiny", train=True)
    assert ds.source == "cache" and ds.classes == ["a", "b"] and ds.labels.tolist() == [1, 0]
    x = np.array([1, 2, 3, 4.0])
    np.testing.assert_allclose(ds.series[0, 0], (x - x.mean()) / x.std(), rtol=1e-6)
    assert "Tiny" in available()


def test_classes_sort_numerically() -> None:
    assert sort_classes(np.array(["10", "2", "1", "2"])) == ["1", "2", "10"]
    assert sort_classes(np.array(["b", "a", "10"])) == ["10", "a", "b"]


def test_series_table_lists_shapes() -> None:
    from cnnlab.data.series import series_table

    rows = {r["name"]: r for r in series_table()}
    assert rows["mnist1d"]["train"] == [4000, 1, 40] and rows["mnist1d-shuffled"]["test"] == [
        1000,
        1,
        40,
    ]
    assert rows["mnist1d"]["source"] == "generated on first use"  # the test's empty cache
    assert rows["ucr:BasicMotions"]["train"] == [40, 6, 100] and rows["ucr:GunPoint"]["test"] == [
        150,
        1,
        150,
    ]
    assert rows["ucr:JapaneseVowels"]["padding"] == 22 and rows["ucr:OSULeaf"]["classes"] == 6
