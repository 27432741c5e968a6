"""`cnnlab data list` shows the series sets with their (N, C, L) shapes."""

from __future__ import annotations

import json

import pytest

from cnnlab.cli import main


def test_data_list_json_has_the_series_sets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    series = {row["name"]: row for row in listed["series"]}
    assert series["mnist1d"]["train"] == [4000, 1, 40] and series["mnist1d"]["test"] == [
        1000,
        1,
        40,
    ]
    assert "mnist1d-shuffled" in series
    if "ucr:GunPoint" in series:  # aeon installed (CI installs the series extra)
        assert series["ucr:GunPoint"]["train"][1:] == [1, 150]
        assert series["ucr:BasicMotions"]["train"][1] == 6  # accelerometer + gyroscope


def test_data_list_text_in_korean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list", "--lang", "ko"]) == 0
    out = capsys.readouterr().out
    assert "시계열 데이터셋과 세트별 모양" in out
    assert "mnist1d" in out and "(4000, 1, 40)" in out
