"""Labelled texts: ``nsmc`` (Korean movie reviews) and ``csvtext:<path>`` (the user's own file).

``nsmc`` — the Naver Sentiment Movie Corpus (Lucy Park, CC0): 150,000 training and 50,000 test
reviews, 0 = negative, 1 = positive, tab-separated with the header ``id document label``. Where a
split is looked for, in order:

1. ``data_dir`` and ``data_dir/nsmc`` (an explicit ``--data-dir``: it must exist);
2. the cache ``data_home()/nsmc`` — downloads land here, verified by git blob SHA-1;
3. each folder of ``$CNNLAB_DATA_PATH`` + ``/nsmc`` (shared read-only copies, e.g. a lab's).

File names accepted: the official ``ratings_train.txt`` / ``ratings_test.txt`` and ``train.tsv`` /
``test.tsv``, each optionally gzipped. Only an official file in the cache is checked by SHA-1 (it
came from the download); every other copy is validated structurally: the header, three columns per
row, labels in {0, 1}. With ``download=True`` and no copy found, the official file is fetched from
the corpus's repository (e9t/nsmc) atomically and verified against its git blob SHA-1.

``nsmc-sample`` — 5,000 training and 1,000 test reviews shipped inside the package (balanced,
drawn with a fixed seed by ``scripts/make_nsmc_sample.py`` from a rebuild of NSMC's 150k/50k
split by the corpus's own recipe; CC0 like the corpus): the text experiments run offline on any
machine, as the image ones do on ``mnist-sample``.

``csvtext:<path>`` — a UTF-8 CSV or TSV with a header row (tab-separated when the name ends in
``.tsv``/``.tab`` or the header holds a tab; else comma, or semicolon when the header has only
those). ``text_column`` (default: the first of ``text``, ``document``, ``sentence``, ``review``
present) holds the text and ``label_column`` (default ``label``) an integer class; classes are the
distinct labels sorted numerically. ``csvtext:all.csv`` is split 80/20 per class with a fixed seed
(the same split as ``csv:`` series); ``csvtext:train.csv,test.csv`` gives the two splits.

Rows whose text is empty or only whitespace are dropped and counted (``dropped_empty``): NSMC's
official files have a few. Every problem is a DataError naming the file, the line and what is valid.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnlab.data.download import Progress, data_home, data_path, fetch, git_blob_sha1
from cnnlab.errors import ChecksumError, DataError

NSMC = "nsmc"
NSMC_SAMPLE = "nsmc-sample"
CSV_PREFIX = "csvtext:"
SPLITS = ("train", "test")
# official file name → git blob SHA-1 (GitHub's id of the file in e9t/nsmc)
NSMC_FILES = {
    "train": ("ratings_train.txt", "ac0dba272895dc1d0b3dd5f11afbeaeb7abe7876"),
    "test": ("ratings_test.txt", "b6cfcd8cd1557bcd9bf06617b0e429ed73e9a367"),
}
NSMC_MIRRORS = ("https://raw.githubusercontent.com/e9t/nsmc/master/",)
NSMC_HEADER = ["id", "document", "label"]
NSMC_CLASSES = ("negative", "positive")
TEXT_COLUMNS = ("text", "document", "sentence", "review")
SPLIT_SEED = 0
TEXT_NAMES = (NSMC, NSMC_SAMPLE, "csvtext:<path>")  # how the text sets are listed


@dataclass(frozen=True)
class TextData:
    """One split of a labelled text set.

    ``texts`` (N strings, none empty), ``labels`` int64 (N,) class indices, ``classes`` their
    names, ``dropped_empty`` rows dropped for an empty text, ``source`` where it came from
    (``data-dir`` | ``cache`` | ``data-path`` | ``download`` | ``embedded`` | ``file``), ``path``
    the file read.
    """

    texts: list[str]
    labels: np.ndarray
    classes: tuple[str, ...]
    dropped_empty: int
    source: str
    name: str = ""
    split: str = "train"
    path: str = ""
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    def __len__(self) -> int:
        return len(self.texts)


def is_text_name(name: str) -> bool:
    """True for ``nsmc``, ``nsmc-sample`` and ``csvtext:<something>``."""
    return name in (NSMC, NSMC_SAMPLE) or (
        name.startswith(CSV_PREFIX) and len(name) > len(CSV_PREFIX)
    )


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise DataError("data.text.split", value=split, valid=", ".join(SPLITS))
    return split


def load_text(
    name: str,
    split: str = "train",
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
    text_column: str | None = None,
    label_column: str | None = None,
    progress: Progress | None = None,
) -> TextData:
    """Read one split of ``nsmc`` or ``csvtext:<path>`` (see the module docstring)."""
    check_split(split)
    if name == NSMC:
        return load_nsmc(split, data_dir, download, progress)
    if name == NSMC_SAMPLE:
        return load_nsmc_sample(split)
    if is_text_name(name):
        return load_csv_text(name.removeprefix(CSV_PREFIX), split, text_column, label_column)
    raise DataError("data.text.unknown", name=name, valid="nsmc, nsmc-sample, csvtext:<path>")


# ---------------------------------------------------------------------------------------------
# NSMC


def _local_names(split: str) -> tuple[str, ...]:
    official = NSMC_FILES[split][0]
    return (official, official + ".gz", f"{split}.tsv", f"{split}.tsv.gz")


def locate_nsmc(
    split: str, data_dir: str | os.PathLike[str] | None = None
) -> tuple[Path, str] | None:
    """``(file, source)`` of the first copy of ``split`` found (see the module docstring), or None.
    An official file in the cache whose SHA-1 does not match raises ChecksumError."""
    candidates: list[tuple[Path, str]] = []
    if data_dir is not None:
        root = Path(data_dir)
        if not root.is_dir():
            raise DataError("data.data_dir.missing", path=str(root))
        candidates += [(root, "data-dir"), (root / NSMC, "data-dir")]
    candidates.append((data_home() / NSMC, "cache"))
    candidates += [(folder / NSMC, "data-path") for folder in data_path()]
    official, sha1 = NSMC_FILES[split]
    for folder, source in candidates:
        for filename in _local_names(split):
            path = folder / filename
            if not path.is_file():
                continue
            if source == "cache" and filename == official:
                actual = git_blob_sha1(path.read_bytes())
                if actual != sha1:
                    raise ChecksumError(
                        "data.text.cache_sha1", path=str(path), expected=sha1, actual=actual
                    )
            return path, source
    return None


def download_nsmc(split: str, progress: Progress | None = None) -> Path:
    """Fetch the official file of ``split`` into the cache (atomically, git-SHA-1-verified)."""
    filename, sha1 = NSMC_FILES[split]
    return fetch(
        filename, sha1, NSMC_MIRRORS, data_home() / NSMC, progress=progress, algorithm="git-sha1"
    )


def load_nsmc(
    split: str = "train",
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
    progress: Progress | None = None,
) -> TextData:
    """One NSMC split, empty reviews dropped and counted."""
    check_split(split)
    found = locate_nsmc(split, data_dir)
    if found is None:
        if not download:
            raise DataError(
                "data.text.nsmc_missing",
                split=split,
                cache=str(data_home() / NSMC),
                files=", ".join(_local_names(split)),
            )
        found = (download_nsmc(split, progress), "download")
    path, source = found
    texts, labels, lines, dropped = parse_nsmc(read_utf8(path), str(path))
    return TextData(texts, labels, NSMC_CLASSES, dropped, source, NSMC, split, str(path), lines)


def load_nsmc_sample(split: str = "train") -> TextData:
    """One split of the embedded NSMC sample (validated like any local copy)."""
    from importlib import resources

    check_split(split)
    with resources.as_file(resources.files("cnnlab.data") / "nsmc_sample" / f"{split}.tsv.gz") as f:
        texts, labels, lines, dropped = parse_nsmc(read_utf8(f), f"{NSMC_SAMPLE}/{split}")
    return TextData(
        texts, labels, NSMC_CLASSES, dropped, "embedded", NSMC_SAMPLE, split, f.name, lines
    )


def read_utf8(path: Path) -> str:
    """The file's text (gunzipped when it ends in ``.gz``); DataError naming the byte offset of
    the first byte that is not UTF-8."""
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError("data.text.unreadable", path=str(path), reason=str(exc)) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            "data.text.not_utf8", path=str(path), offset=exc.start, byte=f"0x{raw[exc.start]:02x}"
        ) from exc


def parse_nsmc(text: str, path: str) -> tuple[list[str], np.ndarray, np.ndarray, int]:
    """``(texts, labels, line numbers, dropped)`` of an NSMC-format TSV, validated structurally.

    Split on ``\\n`` only (``str.splitlines`` would also split inside a review at U+2028 and other
    separators); one trailing ``\\r`` per line is dropped.
    """
    rows = text.split("\n")
    if rows and rows[-1] == "":
        rows.pop()
    if not rows:
        raise DataError("data.text.empty_file", path=path)
    header = rows[0].rstrip("\r").split("\t")
    if header != NSMC_HEADER:
        raise DataError("data.text.nsmc_header", path=path, found=header[:5], expected=NSMC_HEADER)
    split = [r.rstrip("\r").split("\t") for r in rows[1:]]
    bad = next((i for i, r in enumerate(split) if len(r) != 3), None)
    if bad is not None:
        raise DataError("data.text.columns", path=path, line=bad + 2, n=len(split[bad]), expected=3)
    labels_raw = [r[2] for r in split]
    bad = next((i for i, v in enumerate(labels_raw) if v not in ("0", "1")), None)
    if bad is not None:
        raise DataError(
            "data.text.nsmc_label", path=path, line=bad + 2, value=labels_raw[bad], valid="0, 1"
        )
    keep = [i for i, r in enumerate(split) if r[1].strip()]
    texts = [split[i][1] for i in keep]
    labels = np.fromiter((labels_raw[i] == "1" for i in keep), dtype=np.int64, count=len(keep))
    lines = np.asarray(keep, dtype=np.int64) + 2  # 1 = the header
    return texts, labels, lines, len(split) - len(keep)


# ---------------------------------------------------------------------------------------------
# the user's CSV/TSV


def _delimiter(path: Path, header: str) -> str:
    if path.suffix.lower() in (".tsv", ".tab") or "\t" in header:
        return "\t"
    if "," not in header and ";" in header:
        return ";"
    return ","


def _files(spec: str) -> tuple[Path, Path | None]:
    """``"a.csv"`` → (a.csv, None); ``"a.csv,b.csv"`` → both, unless the whole text is a file."""
    if "," in spec and not Path(spec).exists():
        train, test = spec.split(",", 1)
        return Path(train), Path(test)
    return Path(spec), None


def load_csv_text(
    spec: str,
    split: str = "train",
    text_column: str | None = None,
    label_column: str | None = None,
) -> TextData:
    """One split of ``csvtext:<spec>`` (see the module docstring)."""
    check_split(split)
    train_path, test_path = _files(spec)
    train = _parse_csv(train_path, text_column, label_column)
    classes = _classes(train, train_path)
    name = CSV_PREFIX + spec
    if test_path is None:
        test_mask = _stratified_test(np.asarray([classes.index(v) for v in train.labels]))
        rows = np.flatnonzero(test_mask if split == "test" else ~test_mask)
        part = train
    else:
        rows = None
        part = train if split == "train" else _parse_csv(test_path, text_column, label_column)
    path = train_path if part is train else test_path
    if path is None:  # a second parsed file exists only with a test path
        raise RuntimeError("csvtext: a test split was parsed without its path")
    index = {c: i for i, c in enumerate(classes)}
    unseen = next((i for i, v in enumerate(part.labels) if v not in index), None)
    if unseen is not None:
        raise DataError(
            "data.text.unseen_label",
            path=str(path),
            line=int(part.lines[unseen]),
            value=part.labels[unseen],
            valid=", ".join(classes),
        )
    labels = np.asarray([index[v] for v in part.labels], dtype=np.int64)
    texts, lines = part.texts, np.asarray(part.lines, dtype=np.int64)
    if rows is not None:
        texts, labels, lines = [texts[i] for i in rows], labels[rows], lines[rows]
    return TextData(
        texts, labels, tuple(classes), part.dropped, "file", name, split, str(path), lines
    )


@dataclass(frozen=True)
class _Parsed:
    texts: list[str]
    labels: list[str]  # the integer labels as written (normalised: "01" → "1")
    lines: list[int]
    dropped: int


def _parse_csv(path: Path, text_column: str | None, label_column: str | None) -> _Parsed:
    if not path.is_file():
        raise DataError("data.text.csv_missing", path=str(path))
    text = read_utf8(path)
    if not text.strip():
        raise DataError("data.text.empty_file", path=str(path))
    first = text.split("\n", 1)[0]
    delim = _delimiter(path, first)
    # TSV: no quoting (NSMC-style files hold bare quotes inside reviews); CSV: standard quoting
    try:
        if delim == "\t":
            reader = csv.reader(io.StringIO(text, newline=""), "excel-tab", quoting=csv.QUOTE_NONE)
        else:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        header = [h.strip() for h in next(reader)]
        records = list(reader)
    except csv.Error as exc:
        raise DataError("data.text.csv_error", path=str(path), reason=str(exc)) from exc
    label_name = label_column or "label"
    if text_column is None:
        text_name = next((c for c in TEXT_COLUMNS if c in header), None)
        if text_name is None:
            raise DataError(
                "data.text.no_text_column",
                path=str(path),
                found=", ".join(header),
                tried=", ".join(TEXT_COLUMNS),
            )
    else:
        text_name = text_column
    for option, col in (("--text-column", text_name), ("--label-column", label_name)):
        if col not in header:
            raise DataError(
                "data.text.column_missing",
                path=str(path),
                option=option,
                column=col,
                found=", ".join(header),
            )
    ti, li = header.index(text_name), header.index(label_name)
    texts: list[str] = []
    labels: list[str] = []
    lines: list[int] = []
    dropped = 0
    for n, record in enumerate(records, start=2):  # line 1 is the header
        if not record or (len(record) == 1 and not record[0].strip()):
            continue  # a blank line
        if max(ti, li) >= len(record):
            raise DataError(
                "data.text.columns", path=str(path), line=n, n=len(record), expected=len(header)
            )
        raw = record[li].strip()
        try:
            value = int(raw)
        except ValueError:
            raise DataError(
                "data.text.label_not_int", path=str(path), line=n, column=label_name, value=raw
            ) from None
        if not record[ti].strip():
            dropped += 1
            continue
        texts.append(record[ti])
        labels.append(str(value))
        lines.append(n)
    if not texts:
        raise DataError("data.text.no_rows", path=str(path), dropped=dropped)
    return _Parsed(texts, labels, lines, dropped)


def _classes(parsed: _Parsed, path: Path) -> list[str]:
    classes = sorted(set(parsed.labels), key=int)
    if len(classes) < 2:
        raise DataError(
            "data.text.one_class", path=str(path), label=classes[0], n=len(parsed.texts)
        )
    return classes


def _stratified_test(labels: np.ndarray) -> np.ndarray:
    """The 80/20 split of ``csv:`` series (one implementation: reused, not copied)."""
    from cnnlab.data.series.csv_series import stratified_split

    return stratified_split(labels, SPLIT_SEED)


__all__ = [
    "TextData",
    "load_text",
    "load_nsmc",
    "load_nsmc_sample",
    "load_csv_text",
    "locate_nsmc",
    "download_nsmc",
    "parse_nsmc",
    "is_text_name",
    "NSMC",
    "NSMC_FILES",
    "NSMC_MIRRORS",
    "NSMC_CLASSES",
    "CSV_PREFIX",
    "TEXT_NAMES",
]
