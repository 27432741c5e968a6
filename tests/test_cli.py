"""The CLI as a user runs it: real subprocesses, exit codes, messages, files on disk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def cnnlab(
    *args: str, cwd: Path | None = None, env_lang: str = "en"
) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "CNNLAB_LANG": env_lang}
    return subprocess.run(
        [sys.executable, "-m", "cnnlab", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys; from cnnlab.cli import main; rc = main(['--help']); "
        "print('TORCH' if 'torch' in sys.modules else 'NOTORCH'); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "padding" in proc.stdout and proc.stdout.strip().endswith("NOTORCH")


def test_korean_help() -> None:
    proc = cnnlab("--lang", "ko", "--help")
    assert proc.returncode == 0 and "직접 해 보는 CNN 실험실" in proc.stdout


def test_padding_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = cnnlab("padding", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "[1, 3, 26, 26]" in proc.stdout and "[1, 3, 28, 28]" in proc.stdout
    assert "28 - 3 + 1 = 26" in proc.stdout and "28 + 2*1 - 3 + 1 = 28" in proc.stdout
    assert "mnist-sample" in proc.stderr  # the one line saying which data is used
    assert str(out) in proc.stdout
    assert (out / "padding_feature_maps.png").is_file()


def test_padding_json(tmp_path: Path) -> None:
    proc = cnnlab("padding", "--json", "--index", "3", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    numbers = json.loads(proc.stdout)
    assert numbers["input_shape"] == [1, 1, 28, 28]
    assert numbers["no_padding_shape"] == [1, 3, 26, 26]
    assert numbers["padding_shape"] == [1, 3, 28, 28]
    assert numbers["label"] == 3


def test_padding_korean(tmp_path: Path) -> None:
    proc = cnnlab("padding", "--lang", "ko", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "패딩이 없으면" in proc.stdout and "내장된 숫자" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["padding", "--index", "4000"], r"--index 4000 is out of range: .* valid: 0..3999"),
        (["padding", "--index", "-1"], r"index = -1 is out of range; valid: 0..∞"),
        (["padding", "--data", "cifar"], r"data = 'cifar' is not valid. Valid: auto, mnist"),
        (
            ["padding", "--data", "mnist"],
            r"'mnist' \(train\) is not available offline.*mnist-sample",
        ),
        (["padding", "--lang", "fr"], r"Unknown language 'fr'. Valid: en, ko."),
        (["lab", "nope"], r"No such command 'nope'"),
    ],
)
def test_bad_input_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    import re

    out = tmp_path / "out"
    proc = cnnlab(*args, "--out", str(out)) if args[0] == "padding" else cnnlab(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert re.search(message, proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()  # nothing written


def test_bad_idx_in_data_dir(tmp_path: Path) -> None:
    (tmp_path / "train-images-idx3-ubyte").write_bytes(
        b"\x00\x00\x08\x03" + b"\x00" * 12 + b"x" * 5
    )
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x00")
    proc = cnnlab(
        "padding", "--data", "mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")
    )
    assert proc.returncode == 2
    assert "Corrupt IDX file" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_unwritable_out(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    proc = cnnlab("padding", "--out", str(blocker / "sub"))
    assert proc.returncode == 2
    assert "Cannot write to output directory" in proc.stderr and "is not a directory" in proc.stderr
    assert blocker.read_text() == "not a directory"


def test_debug_shows_traceback() -> None:
    proc = cnnlab("--debug", "padding", "--index", "4000")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_error_in_korean() -> None:
    proc = cnnlab("padding", "--index", "4000", "--lang", "ko")
    assert proc.returncode == 2 and "오류: `--index` 4000이 범위를 벗어났습니다" in proc.stderr


def test_data_list_json() -> None:
    proc = cnnlab("data", "list", "--json")
    assert proc.returncode == 0
    rows = {r["name"]: r for r in json.loads(proc.stdout)["datasets"]}
    assert set(rows) == {"mnist", "fashion-mnist", "kmnist", "mnist-sample", "nsmc", "nsmc-sample"}


def test_progress_line_is_short_and_readable() -> None:
    from cnnlab.cli.progress import describe

    line = describe(
        {
            "kind": "train",
            "model": "cnn",
            "epoch": 1,
            "epochs": 3,
            "val_accuracy": 0.91234,
            "experiment": "translation",
            "index": 8,
            "total": 11,
        }
    )
    assert line == "translation · epoch 1/3 · cnn · val_accuracy 0.912"


def test_areas_list_the_commands_their_modules_define() -> None:
    """``AREAS`` names each module's commands: a run of one command imports only its module."""
    import importlib

    from cnnlab.cli import AREAS

    for area, names in AREAS.items():
        assert tuple(c.name for c in importlib.import_module(area).commands) == names, area


@pytest.mark.parametrize(
    "args,command",
    [
        (["train", "--epochs", "1"], "train"),
        (["--lang", "ko", "tour"], "tour"),
        (["--lang=ko", "--debug", "padding"], "padding"),
        (["--help"], None),
        ([], None),
    ],
)
def test_command_name_skips_group_options(args: list[str], command: str | None) -> None:
    from cnnlab.cli import _command_name

    assert _command_name(args) == command


def test_one_command_imports_only_its_area() -> None:
    code = (
        "import sys\n"
        "from cnnlab.cli import main\n"
        "main(['shape', '--help'])\n"
        "areas = (m for m in sys.modules if m.startswith('cnnlab.cli.') and m.endswith('_cmds'))\n"
        "print(sorted(areas))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "['cnnlab.cli.shape_cmds']"
