"""`--label-column` for a user's CSV series: train records it, evaluate reuses it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cnnlab.cli import main


def _ramps(path: Path) -> None:
    """40 series of 12 steps: class 'up' rises, class 'down' falls (plus noise); label column y."""
    rng = np.random.default_rng(0)
    lines = [",".join(f"t{i}" for i in range(12)) + ",y"]
    for k in range(40):
        ramp = np.linspace(0, 1, 12) * (1 if k % 2 else -1) + 0.05 * rng.standard_normal(12)
        lines.append(",".join(f"{v:.4f}" for v in ramp) + ("," + ("up" if k % 2 else "down")))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_train_and_evaluate_with_a_named_label_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "ramps.csv"
    _ramps(data)
    out = tmp_path / "run"
    args = ["train", "--model", "mlp1d", "--data", f"csv:{data}", "--label-column", "y"]
    assert main([*args, "--epochs", "3", "--threads", "1", "--out", str(out)]) == 0
    meta = json.loads((out / "checkpoint.json").read_text(encoding="utf-8"))
    assert meta["run"]["label_column"] == "y"
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--json"]) == 0  # the column from the run
    assert json.loads(capsys.readouterr().out)["accuracy"] >= 0.5
    rc = main(["evaluate", "--checkpoint", str(out), "--label-column", "label"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "label" in err and "t0, t1" in err  # names the missing column and lists those found


def test_train_without_the_label_column_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "ramps.csv"
    _ramps(data)
    out = tmp_path / "run"
    rc = main(["train", "--model", "mlp1d", "--data", f"csv:{data}", "--out", str(out)])
    assert rc == 2 and not out.exists()
    assert "y" in capsys.readouterr().err
