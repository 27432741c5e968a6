"""Fuzz: any CSV text either loads as a well-formed series dataset or raises DataError."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab.data import get_dataset
from cnnlab.errors import DataError

HEADERS = st.sampled_from(
    ["a,b,c,label", "label,x,y", "id,time,value,label", "id,time,channel,value,label", "x,y"]
)
CELL = st.sampled_from(
    ["", "0", "1", "2.5", "-3", "nan", "inf", "x", "y", "z", "1e3", " 4 ", '"5"']
)
LINE = st.lists(CELL, min_size=0, max_size=6).map(",".join)


@settings(max_examples=150, deadline=None)
@given(header=HEADERS, lines=st.lists(LINE, max_size=8), raw=st.binary(max_size=8))
def test_any_csv_loads_or_raises_data_error(header: str, lines: list[str], raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_bytes(("\n".join([header, *lines]) + "\n").encode() + raw)
        for train in (True, False):
            try:
                ds = get_dataset(f"csv:{path}", train=train)
            except DataError as exc:
                assert str(path) in str(exc) and exc.message("ko")
                continue
            n, c, length = ds.series.shape
            assert ds.series.dtype == np.float32 and np.isfinite(ds.series).all()
            assert (
                n >= 1 and len(ds.labels) == n and c >= 1 and length >= 1 and len(ds.classes) >= 2
            )
            assert ds.labels.min(initial=0) >= 0 and ds.labels.max(initial=0) < len(ds.classes)
            assert (ds.lengths <= length).all() and (ds.lengths >= 1).all()


def test_a_csv_the_csv_module_rejects_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text("a,label\n" + "1" * 200_000 + ",0\n", encoding="utf-8")  # > csv field limit
    with pytest.raises(DataError, match=r"huge.csv is not a well-formed CSV file: field larger"):
        get_dataset(f"csv:{path}")
