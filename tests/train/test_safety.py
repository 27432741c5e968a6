"""Work is never lost: one run per folder, no silent overwrite, no silent fresh start on
``--resume``, divergence stops training before a NaN checkpoint is written."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.models import build
from cnnlab.train import TrainConfig, fit, load_checkpoint, load_model
from tests.train.helpers import tiny_data
from tests.train.test_cli import TINY
from tests.train.test_output_lock import HOLDER


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("safety") / "run"
    assert main(["--lang", "en", "train", *TINY, "--out", str(out), "--json"]) == 0
    return out


def test_out_with_a_checkpoint_is_refused_saying_what_is_there(trained, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    before = _tree(copy)
    acc = 100 * json.loads((copy / "checkpoint.json").read_text())["metrics"]["accuracy"]
    assert main(["--lang", "en", "train", *TINY, "--out", str(copy)]) == 2
    err = capsys.readouterr().err
    assert f"--out '{copy}' already holds a checkpoint (model cnn, 1 epochs done, " in err
    assert f"test accuracy {acc:.2f}%). Pass --resume to continue it, --overwrite" in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert _tree(copy) == before
    assert main(["--lang", "ko", "train", *TINY, "--out", str(copy)]) == 2
    assert "이미 체크포인트가 있습니다(모델 cnn, 1에폭 학습" in capsys.readouterr().err
    assert _tree(copy) == before


def test_overwrite_replaces_the_checkpoint(trained, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    old_weights = json.loads((copy / "checkpoint.json").read_text())["files"]["weights"]
    args = ["train", *TINY, "--seed", "3", "--out", str(copy), "--overwrite", "--json"]
    assert main(args) == 0
    meta = json.loads((copy / "checkpoint.json").read_text())
    assert meta["config"]["seed"] == 3 and meta["files"]["weights"] != old_weights
    assert not (copy / old_weights).exists()
    load_model(copy)  # the new checkpoint is complete


def test_resume_with_nothing_to_resume_is_refused(tmp_path, capsys):
    out = tmp_path / "new"
    assert main(["--lang", "en", "train", *TINY, "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"--resume: there is no checkpoint to resume in '{out}'" in err
    assert not out.exists()  # not a silent fresh start, and no folder left behind
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", *TINY, "--out", str(empty), "--resume"]) == 2
    assert list(empty.iterdir()) == []


def test_resume_and_overwrite_together_are_refused(trained, capsys):
    before = _tree(trained)
    assert main(["train", *TINY, "--out", str(trained), "--resume", "--overwrite"]) == 2
    assert "--resume and --overwrite contradict each other" in capsys.readouterr().err
    assert _tree(trained) == before


def test_train_into_a_folder_held_by_another_process(tmp_path, capsys):
    out = tmp_path / "held"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert main(["--lang", "en", "train", *TINY, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"'{out}' is in use by another cnnlab run (PID {holder.pid}: holder-run)" in err
        assert sorted(p.name for p in out.iterdir()) == [".cnnlab.lock"]  # nothing of ours
    finally:
        holder.communicate("go\n", timeout=60)
    assert holder.returncode == 0 and (out / "result.txt").read_text() == "done"


def test_two_real_train_processes_on_one_folder(tmp_path):
    """Two ``cnnlab train`` at once: exactly one trains, the other is refused with exit 2 — by
    the lock while the first runs, or (if the first already finished) because the folder now
    holds its checkpoint. Either way the survivor's checkpoint is complete."""
    out = tmp_path / "shared"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CNNLAB_LANG": "en"}
    cmd = [sys.executable, "-m", "cnnlab", "train", *TINY, "--out", str(out)]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 2], results
    loser_err = next(r[2] for r in results if r[0] == 2)
    assert re.search(
        r"is in use by another cnnlab run \(PID \d+: |already holds a checkpoint", loser_err
    ), loser_err
    assert "Traceback" not in loser_err
    assert load_checkpoint(out).meta["progress"]["epoch"] == 1
    assert not (out / ".cnnlab.lock").exists()
    assert not list(out.glob("*.part"))


def test_divergence_stops_with_a_message_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "diverge"
    args = ["--lang", "en", "train", *TINY, "--lr", "10", "--schedule", "constant"]
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert re.search(
        r"Training diverged at step \d+ \(epoch 1\): the (test )?loss became (nan|inf), at "
        r"learning rate 10 \(--lr 10\)\. No checkpoint was saved.*Try a 10x smaller learning "
        r"rate, e\.g\. --lr 1\.",
        err,
    ), err
    assert not out.exists()


def _net() -> torch.nn.Module:
    """The CLI's TINY cnn (channels 4, 8; seed 0): at lr 10 it blows up on its 4th step."""
    torch.manual_seed(0)
    return build("cnn", channels=[4, 8])


def test_divergence_keeps_the_last_good_checkpoint(tmp_path):
    """A checkpoint every step: the ones before the blow-up are good; the NaN one is never
    written, so the checkpoint on disk is finite and loads."""
    train, val = tiny_data(256, 64)
    cfg = TrainConfig(
        epochs=1,
        batch_size=64,
        lr=10,
        schedule="constant",
        threads=1,
        checkpoint_every=1,
        out=str(tmp_path),
    )
    with pytest.raises(
        ConfigError,
        match=r"Training diverged at step \d+ .*The last good "
        r"checkpoint in '.*' was kept; nothing was saved from the diverged steps",
    ):
        fit(_net(), train, val, cfg)
    found = load_checkpoint(tmp_path)
    assert all(torch.isfinite(t).all() for t in found.weights.values())
    assert found.meta["progress"]["global_step"] >= 1
    load_model(tmp_path)


def test_divergence_control_same_run_at_a_sane_lr_trains(tmp_path):
    """The control: the same run at lr 0.05 does not trip the check."""
    train, val = tiny_data(256, 64)
    cfg = TrainConfig(
        epochs=1,
        batch_size=64,
        lr=0.05,
        schedule="constant",
        threads=1,
        checkpoint_every=1,
        out=str(tmp_path),
    )
    result = fit(_net(), train, val, cfg)
    assert result.metrics is not None and result.metrics.loss < 2.5
