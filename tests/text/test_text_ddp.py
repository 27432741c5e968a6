"""TextCNN under torchrun: 2 ranks × batch 20 agree with 1 rank × batch 40 (the same fit, DDP)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnlab.train import load_checkpoint
from tests.text.conftest import reviews, write_nsmc


def _train(out: Path, data: Path, ranks: int) -> None:
    args = ["--lang", "en", "train", "--model", "textcnn", "--data", "nsmc"]
    args += ["--data-dir", str(data), "--epochs", "2", "--batch-size", "40", "--dropout", "0"]
    args += ["--channels", "8", "--embed-dim", "16", "--threads", "1", "--out", str(out)]
    run = [sys.executable, "-m", "cnnlab"]
    if ranks > 1:
        run = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        run += [f"--nproc_per_node={ranks}", "-m", "cnnlab"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([*run, *args], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow
def test_torchrun_two_ranks_agree_with_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_nsmc(data / "nsmc" / "ratings_train.txt", reviews(400, 0))
    write_nsmc(data / "nsmc" / "ratings_test.txt", reviews(200, 1), start_id=10_000)
    _train(tmp_path / "one", data, 1)
    _train(tmp_path / "two", data, 2)
    one, two = load_checkpoint(tmp_path / "one"), load_checkpoint(tmp_path / "two")
    assert two.meta["world_size"] == 2 and one.meta["world_size"] == 1
    assert one.meta["run"]["text"] == two.meta["run"]["text"]  # every rank built the same vocab
    assert one.meta["progress"]["global_step"] == two.meta["progress"]["global_step"]
    assert abs(one.meta["metrics"]["accuracy"] - two.meta["metrics"]["accuracy"]) <= 0.01
    for k in one.weights:
        assert torch.allclose(one.weights[k], two.weights[k], atol=1e-4, rtol=0), k
