"""csv:<path>: wide and long files, labels, padding, the split, and every refused file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cnnlab.data import get_dataset, is_valid_name, names
from cnnlab.data.series import check_min_length
from cnnlab.data.series.csv_series import TEST_FRACTION, stratified_split
from cnnlab.errors import DataError


def _write(tmp_path: Path, text: str, name: str = "s.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _z(x: list[float]) -> np.ndarray:
    a = np.array(x, dtype=np.float64)
    return (a - a.mean()) / a.std()


def test_names_accept_csv_paths() -> None:
    assert "csv:/any/file.csv" in names() and is_valid_name("csv:x.csv")
    assert "csv:" not in names() and "csv:<path>" in list(names())


def test_wide_string_labels_znorm_and_padding(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "t0,t1,t2,t3,label\n1,2,3,4,walk\n4,3,2,1,run\n0,5,1,,walk\n2,2,9,9,run\n1,0,0,0,walk\n",
    )
    ds = get_dataset(f"csv:{path},{path}", train=True)  # the same file as both splits
    assert ds.series.shape == (5, 1, 4) and ds.series.dtype == np.float32
    assert ds.classes == ["run", "walk"] and ds.labels.tolist() == [1, 0, 1, 0, 1]
    np.testing.assert_allclose(ds.series[0, 0], _z([1, 2, 3, 4]), rtol=1e-6)
    np.testing.assert_allclose(ds.series[2, 0, :3], _z([0, 5, 1]), rtol=1e-6)
    assert ds.series[2, 0, 3] == 0 and ds.lengths.tolist() == [4, 4, 3, 4, 4]
    assert ds.padding == 1 and "zero-padded at the end, by up to 1 steps" in ds.describe()
    x, y = ds[2]
    assert x.shape == (1, 4) and y == 1
    with pytest.raises(
        DataError, match=r"Series 2 of csv:.* has 3 steps, shorter than kernel_size=4"
    ):
        check_min_length(ds, 4)


def test_integer_labels_sort_numerically_and_label_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "cls,a,b\n10,1,2\n2,3,1\n1,0,1\n2,5,5\n")
    ds = get_dataset(f"csv:{path},{path}", label_column="cls")
    assert ds.classes == ["1", "2", "10"] and ds.labels.tolist() == [2, 1, 0, 1]
    np.testing.assert_array_equal(ds.series[3, 0], [0, 0])  # a constant series becomes zeros
    with pytest.raises(DataError, match=r"no label column 'label'; columns found: cls, a, b"):
        get_dataset(f"csv:{path}")


def test_single_file_stratified_split(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    labels = [0] * 20 + [1] * 10 + [2] * 5
    lines = [",".join(f"{v:.3f}" for v in rng.normal(size=6)) + f",{c}" for c in labels]
    path = _write(tmp_path, "a,b,c,d,e,f,label\n" + "\n".join(lines) + "\n")
    train, test = get_dataset(f"csv:{path}"), get_dataset(f"csv:{path}", train=False)
    assert np.bincount(test.labels).tolist() == [4, 2, 1]  # 20 % of each class
    assert np.bincount(train.labels).tolist() == [16, 8, 4]
    both = np.concatenate([train.series, test.series])
    assert len({row.tobytes() for row in both}) == len(labels)  # disjoint and complete
    mask = stratified_split(np.array(labels))
    assert mask.sum() == 7 and np.array_equal(mask, stratified_split(np.array(labels)))
    assert TEST_FRACTION == 0.2
    again = get_dataset(f"csv:{path}", train=False)
    np.testing.assert_array_equal(again.series, test.series)  # the same split every time


def test_long_format_channels_time_order_and_padding(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "id,time,channel,value,label\n"
        "s1,2,acc,3,up\ns1,0,acc,1,up\ns1,1,acc,2,up\n"
        "s1,0,gyr,5,up\ns1,1,gyr,4,up\ns1,2,gyr,0,up\n"
        "s2,0,gyr,1,down\ns2,1,gyr,2,down\ns2,0,acc,7,down\ns2,1,acc,9,down\n",
    )
    ds = get_dataset(f"csv:{path},{path}")
    assert ds.series.shape == (2, 2, 3) and ds.classes == ["down", "up"]
    assert ds.labels.tolist() == [1, 0] and ds.lengths.tolist() == [3, 2] and ds.padding == 1
    np.testing.assert_allclose(ds.series[0, 0], _z([1, 2, 3]), rtol=1e-6)  # acc, by time
    np.testing.assert_allclose(ds.series[0, 1], _z([5, 4, 0]), rtol=1e-6)  # gyr
    np.testing.assert_allclose(ds.series[1, 0, :2], _z([7, 9]), rtol=1e-6)
    assert ds.series[1, :, 2].tolist() == [0, 0]
    one = _write(tmp_path, "ID,Time,Value,label\na,1,1,x\na,0,3,x\nb,0,1,y\nb,1,2,y\n", "one.csv")
    ds = get_dataset(f"csv:{one},{one}")
    assert ds.series.shape == (2, 1, 2) and ds.series[0, 0].tolist() == [1, -1]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("a,b,label\n1,nan,x\n2,3,y\n", r"line 2, column 'b': 'nan' is not a finite number"),
        ("a,b,label\n1,2,x\n2,inf,y\n", r"line 3, column 'b': 'inf' is not a finite number"),
        ("a,b,label\n1,2,x\n2,three,y\n", r"line 3, column 'b': 'three' is not a number"),
        ("a,b,label\n1,2,x\n2,3,y,4\n", r"line 3: 4 cells but the header has 3 columns"),
        ("a,b,c,label\n1,,3,x\n2,3,4,y\n", r"line 2: column 'b' is empty but later columns"),
        ("a,b,label\n1,2,x\n3,4,\n", r"line 3: the label column 'label' is empty"),
        ("a,b,label\n1,2,x\n,,y\n", r"line 3: the series has no values, only a label"),
        ("label\nx\ny\n", r"has only the label column \(label\)"),
        ("a,b,label\n1,2,x\n2,3,x\n", r"column 'label' holds one class only \('x'\)"),
        ("a,b,label\n", r"has no data: it is empty or holds only a header"),
        ("a,b,label\n1,2,x\n3,4,y\n", r"has 2 series and no class with 2 or more"),
        ("", r"has no data: it is empty"),
        ("  \n\n", r"has no data: it is empty"),
        ("id,time,value,label\na,0,1,x\na,1,2,y\n", r"line 3: series 'a' has label 'y', but"),
        ("id,time,value,label\na,0,1,x\na,0,2,x\n", r"line 3: series 'a' has a second value"),
        ("id,time,value,label\na,0,1,x\na,1\n", r"line 3: 2 cells but the header has 4"),
        (
            "id,time,channel,value,label\na,0,p,1,x\na,0,q,1,x\nb,0,p,1,y\n",
            r"series 'b' \(from line 4\) has no values for channel 'q'",
        ),
        (
            "id,time,channel,value,label\na,0,p,1,x\na,1,q,1,x\n",
            r"series 'a' \(from line 2\) has different times in different channels",
        ),
    ],
)
def test_refused_files(tmp_path: Path, text: str, pattern: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(DataError, match=pattern) as info:
        get_dataset(f"csv:{path}")
    assert str(path) in str(info.value)
    assert info.value.message("ko")  # the Korean message renders too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]  # nothing written


def test_not_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,b,label\n1,2,café\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1.csv is not UTF-8: byte 0xe9 at offset 17"):
        get_dataset(f"csv:{path}")


def test_missing_file_and_test_file_channels(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"CSV file .*nope.csv does not exist"):
        get_dataset(f"csv:{tmp_path / 'nope.csv'}")
    train = _write(tmp_path, "id,time,channel,value,label\na,0,p,1,x\nb,0,p,2,y\n", "tr.csv")
    test = _write(tmp_path, "id,time,channel,value,label\na,0,q,1,x\nb,0,q,2,y\n", "te.csv")
    with pytest.raises(DataError, match=r"te.csv has channels q, but the training file has p"):
        get_dataset(f"csv:{train},{test}", train=False)


def test_two_files_share_classes_and_length(tmp_path: Path) -> None:
    train = _write(tmp_path, "a,b,c,label\n1,2,3,x\n3,2,1,y\n", "tr.csv")
    test = _write(tmp_path, "a,b,label\n1,2,z\n2,1,x\n", "te.csv")
    tr, te = get_dataset(f"csv:{train},{test}"), get_dataset(f"csv:{train},{test}", train=False)
    assert tr.classes == te.classes == ["x", "y", "z"]
    assert te.labels.tolist() == [2, 0] and tr.length == te.length == 3 and te.padding == 1
    assert te.path == str(test) and tr.path == str(train)


def test_cli_refuses_a_bad_csv_with_exit_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cnnlab.cli import main

    path = _write(tmp_path, "a,b,label\n1,2,x\n2,inf,y\n")
    out = tmp_path / "run"
    args = ["train", "--model", "mlp1d", "--data", f"csv:{path}", "--out", str(out)]
    assert main([*args, "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "line 3, column 'b': 'inf' is not a finite number" in err and "Traceback" not in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]
