"""An explicit --data-dir is never silently replaced by the embedded sample."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.data import get_dataset, resolve
from cnnlab.errors import DataError


def test_missing_data_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"--data-dir {tmp_path / 'nope'} does not exist"):
        resolve("auto", tmp_path / "nope")
    with pytest.raises(DataError, match="does not exist or is not a folder"):
        get_dataset("fashion-mnist", root=tmp_path / "nope")


def test_empty_data_dir_names_the_files_it_expected(tmp_path: Path) -> None:
    with pytest.raises(
        DataError,
        match=rf"--data-dir {tmp_path} holds no mnist \(test\) files: "
        r"expected t10k-images-idx3-ubyte.gz, ",
    ):
        resolve("auto", tmp_path, train=False)


def test_auto_without_data_dir_still_falls_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    assert resolve("auto").name == "mnist-sample"
    assert resolve("mnist-sample", tmp_path).name == "mnist-sample"  # an existing folder: fine
    with pytest.raises(DataError, match="does not exist or is not a folder"):
        resolve("mnist-sample", tmp_path / "typo")


def test_cli_exit_2_and_nothing_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cnnlab",
            "padding",
            "--data-dir",
            str(tmp_path / "nope"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "does not exist or is not a folder" in proc.stderr
    assert not out.exists()
