"""``cnnlab summary`` as a user runs it: each model source, the JSON file, and every error as exit
code 2 with its message (nothing written)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnlab.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "resnet_small.py"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["summary", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def checkpoint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `cnnlab train` checkpoint (train API, one step on 32 embedded digits)."""
    from cnnlab.data import get_dataset
    from cnnlab.models import build
    from cnnlab.train import TrainConfig, fit

    out = tmp_path_factory.mktemp("ckpt") / "run"
    ds = get_dataset("mnist-sample", train=True)
    torch.manual_seed(0)
    model = build("cnn", channels=(2, 4), hidden=8)
    fit(
        model,
        (ds.data[:32], ds.targets[:32]),
        None,
        TrainConfig(epochs=1, batch_size=32, out=str(out)),
    )
    return out


def test_user_resnet_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--model", f"{EXAMPLE}:ResNetSmall", "--input-size", "1,28,28")
    assert code == 0
    assert "ResNetSmall" in out and "stages.1.conv2" in out
    assert "formula" in out and "gradient" in out
    assert "Parameters: 77,754" in out  # the example's default width 16, one block per stage
    assert "25×25" in out  # the last block's field, measured


def test_kwargs_rgb_and_json_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "sub" / "summary.json"
    code, _, err = run(
        capsys,
        "--model",
        f"{EXAMPLE}:ResNetSmall",
        "--kw",
        "width=4",
        "--kw",
        "in_channels=3",
        "--input-size",
        "3,16,16",
        "--json",
        str(target),
    )
    assert code == 0, err
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["input_shape"] == [3, 16, 16] and data["title"] == "ResNetSmall"
    assert data["layers"][0]["output_shape"] == [4, 16, 16]
    assert str(target) in err


def test_json_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--model", "cnn1d", "--input-size", "1,60", "--json", "-")
    assert code == 0
    data = json.loads(out)
    assert data["chain"] is True and data["layers"][1]["field"]["size"] == [8]


def test_module_source(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "--model",
        "torch.nn:Conv1d",
        "--kw",
        "in_channels=2",
        "--kw",
        "out_channels=4",
        "--kw",
        "kernel_size=5",
        "--kw",
        "dilation=3",
        "--input-size",
        "2,50",
    )
    assert code == 0 and "Conv1d" in out and "13" in out  # 1 + 3·(5-1)


def test_checkpoint_input_size_from_the_checkpoint(
    capsys: pytest.CaptureFixture[str], checkpoint_dir: Path
) -> None:
    code, out, err = run(capsys, "--model", str(checkpoint_dir))
    assert code == 0, err
    assert "input 1×28×28" in out and f"cnn ({checkpoint_dir.name})" in out


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--model", "resnet9000", "--input-size", "1,28,28"], "Unknown model source 'resnet9000'"),
        (["--model", "cnn"], "does not record its input size"),
        (["--model", "cnn", "--input-size", "1,x,28"], "Input size '1,x,28' is not valid"),
        (["--model", "cnn", "--input-size", "3,28,28"], "failed on an input of size 3,28,28"),
        (["--model", "nosuch.mod:Net", "--input-size", "1,8,8"], "Cannot import module"),
        (["--model", "torch.nn:Conv2d", "--input-size", "1,8,8"], "needs in_channels"),
        (["--model", "cnn", "--kw", "depth", "--input-size", "1,8,8"], "key=value"),
    ],
)
def test_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], match: str) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2 and match in err and "Traceback" not in err


def test_file_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "--model", f"{EXAMPLE}:ResNetBig", "--input-size", "1,8,8")
    assert code == 2 and "has no 'ResNetBig'" in err and "BasicBlock, ResNetSmall" in err
    code, _, err = run(
        capsys, "--model", f"{EXAMPLE}:ResNetSmall", "--kw", "depth=3", "--input-size", "1,8,8"
    )
    assert code == 2 and "no keyword 'depth'" in err and "in_channels, num_classes" in err
    code, _, err = run(capsys, "--model", str(tmp_path / "net.py:Net"), "--input-size", "1,8,8")
    assert code == 2 and "does not exist" in err


def test_pickled_file_refused_and_nothing_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "model.pth"
    bad.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    target = tmp_path / "out.json"
    code, _, err = run(capsys, "--model", str(bad), "--input-size", "1,8,8", "--json", str(target))
    assert code == 2 and "pickled PyTorch file" in err and "safetensors" in err
    assert not target.exists()
    code, _, err = run(capsys, "--model", "cnn", "--input-size", "1,28,28", "--json", str(tmp_path))
    assert code == 2 and "Is a directory" in err


@pytest.mark.slow  # a fresh interpreter importing torch: ~7 s here
def test_korean_error_in_a_subprocess(tmp_path: Path) -> None:
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"\x80\x04K\x01.")
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlab", "summary", "--model", str(bad), "--lang", "ko"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        proc.returncode == 2 and "피클로 저장된" in proc.stderr and "Traceback" not in proc.stderr
    )
