"""NSMC and csvtext:<path>: search path, structural checks, empty rows, git-blob SHA-1 downloads
from a real HTTP server on 127.0.0.1, the user's CSV/TSV."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from cnnlab.data import get_dataset, names, resolve
from cnnlab.data import text as text_mod
from cnnlab.data.download import data_home, git_blob_sha1
from cnnlab.data.text import NSMC_CLASSES, load_text, locate_nsmc, parse_nsmc
from cnnlab.errors import ChecksumError, DataError, DownloadError
from tests.data.http_server import serve
from tests.text.conftest import reviews, write_nsmc


def test_git_blob_sha1_is_gits_object_id() -> None:
    content = "id\tdocument\tlabel\n1\t재밌다\t1\n".encode()
    expected = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
    assert git_blob_sha1(content) == expected
    assert (
        git_blob_sha1(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"
    )  # git hash-object


def test_parse_counts_and_drops_empty_documents() -> None:
    text = "id\tdocument\tlabel\n1\t좋다\t1\n2\t\t0\n3\t   \t1\n4\t별로\t0\r\n"
    texts, labels, lines, dropped = parse_nsmc(text, "x.txt")
    assert texts == ["좋다", "별로"] and labels.tolist() == [1, 0] and dropped == 2
    assert lines.tolist() == [2, 5] and labels.dtype == np.int64


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("id\ttext\tlabel\n1\ta\t1\n", "not an NSMC file.*'text'"),
        ("id\tdocument\tlabel\n1\ta\t1\n2\tb\n", "line 3: 2 column"),
        ("id\tdocument\tlabel\n1\ta\t1\n2\tb\t5\n", "line 3: label '5' is not one of 0, 1"),
        ("", "is empty"),
    ],
)
def test_structural_checks(text: str, match: str) -> None:
    with pytest.raises(DataError, match=match):
        parse_nsmc(text, "x.txt")


def test_found_through_the_data_path(
    nsmc_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "empty"
    other.mkdir()
    monkeypatch.setenv("CNNLAB_DATA_PATH", f"{other}:{nsmc_dir}")
    data = load_text("nsmc", "train")
    assert data.source == "data-path" and len(data) == 400 and data.classes == NSMC_CLASSES
    assert data.path == str(nsmc_dir / "nsmc" / "ratings_train.txt")
    assert load_text("nsmc", "test").labels.tolist()[:4] == [0, 1, 0, 1]


def test_data_dir_wins_and_gzip_tsv_names_work(
    nsmc_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CNNLAB_DATA_PATH", str(nsmc_dir))
    mine = tmp_path / "mine"
    mine.mkdir()
    body = "id\tdocument\tlabel\n1\t좋다\t1\n2\t별로\t0\n3\t\t1\n"
    (mine / "train.tsv.gz").write_bytes(gzip.compress(body.encode()))
    data = load_text("nsmc", "train", data_dir=mine)
    assert data.source == "data-dir" and data.texts == ["좋다", "별로"] and data.dropped_empty == 1
    with pytest.raises(DataError, match="does not exist or is not a folder"):
        load_text("nsmc", "train", data_dir=tmp_path / "nope")


def test_missing_offline_says_where_it_looked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CNNLAB_DATA_PATH", raising=False)
    with pytest.raises(DataError, match=r"not available offline.*CNNLAB_DATA_PATH.*--download"):
        load_text("nsmc", "test")


def test_registered_names() -> None:
    assert "nsmc" in names() and "csvtext:any.csv" in names()
    assert resolve("nsmc").source == "text"


# ------------------------------------------------------------------------ download (loopback)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Official-named NSMC files on a loopback server; the registry points at it with their real
    git blob SHA-1s."""
    www = tmp_path / "www"
    write_nsmc(www / "ratings_train.txt", reviews(40, 0))
    write_nsmc(www / "ratings_test.txt", reviews(20, 1))
    files = {
        split: (f"ratings_{split}.txt", git_blob_sha1((www / f"ratings_{split}.txt").read_bytes()))
        for split in ("train", "test")
    }
    monkeypatch.setattr(text_mod, "NSMC_FILES", files)
    monkeypatch.delenv("CNNLAB_DATA_PATH", raising=False)
    with serve(www) as url:
        monkeypatch.setattr(text_mod, "NSMC_MIRRORS", (url,))
        yield www, files


def test_download_verifies_the_sha1_and_caches(served) -> None:
    www, _ = served
    data = load_text("nsmc", "train", download=True)
    assert data.source == "download" and len(data) == 40
    cached = data_home() / "nsmc" / "ratings_train.txt"
    assert cached.read_bytes() == (www / "ratings_train.txt").read_bytes()
    assert sorted(p.name for p in cached.parent.iterdir()) == ["ratings_train.txt"]  # no temp
    again = get_dataset("nsmc", train=True)  # found in the cache now, no download
    assert again.source == "cache" and again.texts == data.texts


def test_sha1_mismatch_leaves_nothing(served, monkeypatch: pytest.MonkeyPatch) -> None:
    _, files = served
    monkeypatch.setattr(text_mod, "NSMC_FILES", {**files, "test": ("ratings_test.txt", "0" * 40)})
    with pytest.raises(DownloadError, match="wrong git blob SHA-1"):
        load_text("nsmc", "test", download=True)
    folder = data_home() / "nsmc"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_corrupt_cached_official_file_is_refused(served) -> None:
    load_text("nsmc", "train", download=True)
    cached = data_home() / "nsmc" / "ratings_train.txt"
    cached.write_bytes(cached.read_bytes().replace("정말".encode(), "진짜".encode()))
    with pytest.raises(ChecksumError, match="fails its git blob SHA-1 check"):
        load_text("nsmc", "train")


# ------------------------------------------------------------------------ csvtext:<path>


def test_csv_with_quotes_and_a_stratified_split(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    rows = ["text,label", '"좋다, 정말",2', *[f"리뷰 {i},{i % 3}" for i in range(59)]]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    train = load_text(f"csvtext:{path}", "train")
    test = load_text(f"csvtext:{path}", "test")
    assert train.classes == ("0", "1", "2") and len(train) + len(test) == 60
    assert np.bincount(test.labels).tolist() == [4, 4, 4]  # 20% of each class of 20
    assert "좋다, 정말" in train.texts + test.texts
    assert set(train.texts).isdisjoint(test.texts)
    assert load_text(f"csvtext:{path}", "test").texts == test.texts  # the same split every time


def test_tsv_two_files_and_named_columns(tmp_path: Path) -> None:
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    a.write_text('리뷰\t점수\n"따옴표" 그대로\t1\n별로\t0\n\t1\n', encoding="utf-8")
    b.write_text("리뷰\t점수\n좋아요\t1\n", encoding="utf-8")
    spec = f"csvtext:{a},{b}"
    train = load_text(spec, "train", text_column="리뷰", label_column="점수")
    test = load_text(spec, "test", text_column="리뷰", label_column="점수")
    assert train.texts == ['"따옴표" 그대로', "별로"] and train.dropped_empty == 1
    assert test.texts == ["좋아요"] and test.labels.tolist() == [1]


@pytest.mark.parametrize(
    ("body", "kw", "match"),
    [
        (b"text,label\n\xed\x95\x9c,1\n\xff\xfe,0\n", {}, "not UTF-8.*0xff at offset 17"),
        (b"review_text,label\na,1\nb,0\n", {}, "no text column.*found: review_text, label"),
        (b"text,y\na,1\nb,0\n", {}, "no column 'label' \\(--label-column\\).*found: text, y"),
        (b"text,label\na,1\nb,1\n", {}, "single class \\('1' in all 2 rows\\)"),
        (b"text,label\na,1\nb,pos\n", {}, "line 3: label 'pos' in column 'label' is not an int"),
        (b"text,label\n,1\n  ,0\n", {}, "no row with a non-empty text \\(2 empty"),
        (b"text,label\na,1\nb,0\n", {"text_column": "body"}, "no column 'body'"),
    ],
)
def test_bad_csv_input(tmp_path: Path, body: bytes, kw: dict, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(body)
    with pytest.raises(DataError, match=match):
        load_text(f"csvtext:{path}", "train", **kw)


def test_missing_file_and_unseen_test_label(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_text(f"csvtext:{tmp_path / 'none.csv'}", "train")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("text,label\na,0\nb,1\n", encoding="utf-8")
    b.write_text("text,label\nc,7\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 2: label '7' does not occur.*0, 1"):
        load_text(f"csvtext:{a},{b}", "test")


def test_shared_nsmc_copy_if_on_the_data_path() -> None:
    """The real 150k/50k copies, when $CNNLAB_DATA_PATH has them (scripts/test.sh sets it)."""
    if locate_nsmc("train") is None:
        pytest.skip("no nsmc/ on CNNLAB_DATA_PATH")
    train = load_text("nsmc", "train")
    assert len(train) + train.dropped_empty == 150_000
    assert set(np.unique(train.labels).tolist()) == {0, 1}


def test_data_download_command(served) -> None:
    from cnnlab.cli import main

    assert main(["--lang", "en", "data", "download", "nsmc"]) == 0
    folder = data_home() / "nsmc"
    assert sorted(p.name for p in folder.iterdir()) == ["ratings_test.txt", "ratings_train.txt"]
    assert load_text("nsmc", "test").source == "cache"


def test_embedded_nsmc_sample_is_balanced_and_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """nsmc-sample needs no search path, cache or download: 5,000 + 1,000 reviews, half each."""
    monkeypatch.delenv("CNNLAB_DATA_PATH", raising=False)
    for split, n in (("train", 5000), ("test", 1000)):
        data = load_text("nsmc-sample", split)
        assert len(data) == n and data.source == "embedded" and data.classes == NSMC_CLASSES
        assert np.bincount(data.labels).tolist() == [n // 2, n // 2]
        assert all(text.strip() for text in data.texts) and data.dropped_empty == 0
        assert any("\uac00" <= ch <= "\ud7a3" for ch in data.texts[0])
    train, test = load_text("nsmc-sample", "train"), load_text("nsmc-sample", "test")
    assert not set(train.texts[:500]) & set(test.texts)  # drawn from disjoint splits


SHARED_NSMC = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nsmc"


@pytest.mark.skipif(
    not SHARED_NSMC.is_dir(), reason="the shared NSMC copies are not beside the repo"
)
def test_embedded_sample_is_what_the_script_draws(tmp_path: Path) -> None:
    """scripts/make_nsmc_sample.py run again on the shared split gives the shipped bytes."""
    import importlib.util
    from importlib import resources

    spec = importlib.util.spec_from_file_location(
        "make_nsmc_sample", Path(__file__).resolve().parents[2] / "scripts" / "make_nsmc_sample.py"
    )
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for split, n in script.SIZES.items():
        rows = gzip.decompress((SHARED_NSMC / f"{split}.tsv.gz").read_bytes()).decode()
        shipped = resources.files("cnnlab.data") / "nsmc_sample" / f"{split}.tsv.gz"
        lines = gzip.decompress(shipped.read_bytes()).decode().splitlines()[1:]
        assert lines == script.sample(rows.splitlines()[1:], n, script.SEED)
