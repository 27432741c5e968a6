"""``csv:<path>``: the user's own labelled series from a UTF-8 CSV file with a header row.

Two layouts, told apart by the header:

- **long** — the header has ``id``, ``time`` and ``value`` (optionally ``channel``) and the label
  column: one value per line; lines are grouped by ``id``, ordered by ``time`` (numbers), one row
  per ``channel`` (sorted). Every series must have every channel at the same times.
- **wide** — anything else: one series per line, the label in ``label_column`` (default
  ``label``), every other column a time step in header order (one channel).

Lengths may differ (wide: trailing empty cells; long: fewer times): each series is z-normalised per
channel first (UCR practice: mean 0, std 1 over its own steps; a constant channel becomes zeros),
then zero-padded at the end to the longest series, and the largest padding is reported. A gap (an
empty cell followed by a value) is refused rather than guessed.

Labels: class names are the distinct labels sorted (numerically when all are numbers); a label's
index in that list is its class. Splits: ``csv:all.csv`` is split 80/20 per class with
``numpy.random.default_rng(SPLIT_SEED)`` (stratified, the same split every time);
``csv:a.csv,b.csv`` uses ``a.csv`` as the training set and ``b.csv`` as the test set (the comma
form is used only when the whole text is not itself a file).

Every problem is a DataError naming the file, the line (1 = the header) and the column: a file that
is empty or not UTF-8 (with the byte offset), a missing label column (listing the columns found), a
cell that is not a number, NaN or infinity, a gap, one class only.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.data.series.dataset import SeriesDataset, pad_series, znormalise
from cnnlab.data.series.ucr import sort_classes
from cnnlab.errors import DataError

SPLIT_SEED = 0  # the stratified 80/20 split of a single file
TEST_FRACTION = 0.2
LONG_COLUMNS = ("id", "time", "value")


@dataclass(frozen=True)
class Parsed:
    """One file's series (each (C, L_i) float64), raw labels, line numbers and channel names."""

    rows: list[np.ndarray]
    labels: list[str]
    lines: list[int]
    channels: list[str]


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise DataError("data.csv.missing", path=str(path))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            "data.csv.not_utf8", path=str(path), offset=exc.start, byte=f"0x{raw[exc.start]:02x}"
        ) from exc
    if not text.strip():
        raise DataError("data.csv.empty", path=str(path))
    return text


def _number(path: Path, line: int, column: str, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError as exc:
        raise DataError(
            "data.csv.not_number", path=str(path), line=line, column=column, value=cell
        ) from exc
    if not math.isfinite(value):
        raise DataError("data.csv.not_finite", path=str(path), line=line, column=column, value=cell)
    return value


def _label(path: Path, line: int, column: str, cell: str) -> str:
    if not cell.strip():
        raise DataError("data.csv.no_label", path=str(path), line=line, column=column)
    return cell.strip()


def parse(path: Path, label_column: str = "label") -> Parsed:
    """Read ``path`` into series, labels and line numbers (no normalisation, no padding)."""
    try:  # newline="": the csv module splits records itself (a lone \r ends a line too)
        table = list(csv.reader(io.StringIO(_read_text(path), newline="")))
    except csv.Error as exc:
        raise DataError("data.csv.malformed", path=str(path), reason=str(exc)) from exc
    header = [h.strip() for h in table[0]]
    body = [(n, r) for n, r in enumerate(table[1:], start=2) if any(c.strip() for c in r)]
    if label_column not in header:
        raise DataError(
            "data.csv.no_label_column",
            path=str(path),
            column=label_column,
            found=", ".join(header),
        )
    if not body:
        raise DataError("data.csv.empty", path=str(path))
    lower = [h.lower() for h in header]
    if all(c in lower for c in LONG_COLUMNS):
        return _parse_long(path, header, body, label_column)
    return _parse_wide(path, header, body, label_column)


def _parse_wide(
    path: Path, header: list[str], body: list[tuple[int, list[str]]], label_column: str
) -> Parsed:
    at = header.index(label_column)
    steps = [i for i in range(len(header)) if i != at]
    if not steps:
        raise DataError("data.csv.no_steps", path=str(path), found=", ".join(header))
    rows, labels, lines = [], [], []
    for line, cells in body:
        if len(cells) > len(header):
            raise DataError(
                "data.csv.extra_cells", path=str(path), line=line, n=len(cells), header=len(header)
            )
        cells = cells + [""] * (len(header) - len(cells))  # a short row: trailing cells empty
        labels.append(_label(path, line, label_column, cells[at]))
        values: list[float] = []
        gap: int | None = None
        for i in steps:
            if not cells[i].strip():
                gap = i if gap is None else gap
                continue
            if gap is not None:
                raise DataError("data.csv.gap", path=str(path), line=line, column=header[gap])
            values.append(_number(path, line, header[i], cells[i]))
        if not values:
            raise DataError("data.csv.no_values", path=str(path), line=line)
        rows.append(np.array(values, dtype=np.float64)[None])  # (1, L_i)
        lines.append(line)
    return Parsed(rows, labels, lines, [""])


def _parse_long(
    path: Path, header: list[str], body: list[tuple[int, list[str]]], label_column: str
) -> Parsed:
    lower = [h.lower() for h in header]
    col = {name: lower.index(name) for name in (*LONG_COLUMNS, "channel") if name in lower}
    at = header.index(label_column)
    # id → (first line, label, {channel: {time: value}})
    series: dict[str, tuple[int, str, dict[str, dict[float, float]]]] = {}
    for line, cells in body:
        if len(cells) != len(header):
            raise DataError(
                "data.csv.long_cells", path=str(path), line=line, n=len(cells), header=len(header)
            )
        key = cells[col["id"]].strip()
        time = _number(path, line, header[col["time"]], cells[col["time"]])
        value = _number(path, line, header[col["value"]], cells[col["value"]])
        channel = cells[col["channel"]].strip() if "channel" in col else ""
        label = _label(path, line, label_column, cells[at])
        first, known, by_channel = series.setdefault(key, (line, label, {}))
        if label != known:
            raise DataError(
                "data.csv.label_changes",
                path=str(path),
                line=line,
                id=key,
                label=label,
                first=known,
                first_line=first,
            )
        times = by_channel.setdefault(channel, {})
        if time in times:
            raise DataError("data.csv.duplicate_time", path=str(path), line=line, id=key, time=time)
        times[time] = value
    channels = sorted({c for _, _, by in series.values() for c in by})
    rows, labels, lines = [], [], []
    for key, (line, label, by_channel) in series.items():
        missing = [c for c in channels if c not in by_channel]
        if missing:
            raise DataError(
                "data.csv.missing_channel", path=str(path), id=key, line=line, channel=missing[0]
            )
        grid = [sorted(by_channel[c]) for c in channels]
        if any(g != grid[0] for g in grid):
            raise DataError("data.csv.channel_times", path=str(path), id=key, line=line)
        rows.append(np.array([[by_channel[c][t] for t in grid[0]] for c in channels]))  # (C, L_i)
        labels.append(label)
        lines.append(line)
    return Parsed(rows, labels, lines, channels)


def stratified_split(labels: np.ndarray, seed: int = SPLIT_SEED) -> np.ndarray:
    """Boolean mask of the test rows: ``TEST_FRACTION`` of each class (rounded, at least 1 when
    the class has 2 or more rows), chosen by ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        k = max(1, round(len(members) * TEST_FRACTION)) if len(members) > 1 else 0
        test[rng.permutation(members)[:k]] = True
    return test


def split_name(spec: str) -> tuple[Path, Path | None]:
    """``"a.csv"`` → (a.csv, None); ``"a.csv,b.csv"`` → (a.csv, b.csv) unless the text is a file."""
    if "," in spec and not Path(spec).exists():
        train, test = spec.split(",", 1)
        return Path(train), Path(test)
    return Path(spec), None


def load_csv(
    spec: str,
    train: bool = True,
    transform: Callable[[Any], Any] | None = None,
    label_column: str = "label",
) -> SeriesDataset:
    """One split of ``csv:<spec>`` as a z-normalised, zero-padded :class:`SeriesDataset`."""
    train_path, test_path = split_name(spec)
    files = [parse(train_path, label_column)]
    if test_path is not None:
        files.append(parse(test_path, label_column))
        if files[1].channels != files[0].channels:
            raise DataError(
                "data.csv.channels_differ",
                path=str(test_path),
                found=", ".join(files[1].channels),
                expected=", ".join(files[0].channels),
            )
    all_labels = np.array([v for f in files for v in f.labels])
    classes = sort_classes(all_labels)
    if len(classes) < 2:
        raise DataError(
            "data.csv.one_class", path=str(train_path), column=label_column, label=classes[0]
        )
    index = {c: i for i, c in enumerate(classes)}
    rows = [znormalise(r[None])[0] for f in files for r in f.rows]  # each (C, L_i)
    lengths = np.array([r.shape[-1] for r in rows], dtype=np.int64)
    series, padding = pad_series(rows)  # (N, C, L) over both splits: the same L for train/test
    labels = np.array([index[v] for v in all_labels], dtype=np.int64)
    if test_path is None:
        in_test = stratified_split(labels)
        if not in_test.any():  # every class has a single series: nothing to test on
            raise DataError("data.csv.too_few", path=str(train_path), n=len(labels))
    else:
        in_test = np.arange(len(labels)) >= len(files[0].rows)
    keep = ~in_test if train else in_test
    return SeriesDataset(
        np.ascontiguousarray(series[keep]),
        labels[keep],
        name=f"csv:{spec}",
        train=train,
        classes=classes,
        source="csv",
        path=str(train_path if train or test_path is None else test_path),
        znorm=True,
        padding=padding,
        transform=transform,
        lengths=lengths[keep],
    )


__all__ = ["load_csv", "parse", "stratified_split", "split_name", "SPLIT_SEED", "Parsed"]
