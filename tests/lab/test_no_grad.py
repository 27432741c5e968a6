"""no_grad: memory saved for backward disappears, grows linearly with the batch; timing is reported
as medians and ratios of one interleaved run."""

from __future__ import annotations

import pytest
import torch

from cnnlab import lab
from cnnlab.errors import ConfigError
from cnnlab.lab.no_grad import MODES, saved_bytes
from cnnlab.models import build


def test_no_graph_no_saved_tensors() -> None:
    r = lab.run("no-grad", data="mnist-sample", batch=16, repeats=3, warmup=0)
    n = r.numbers
    assert n["saved_mib"]["grad"] > 0 and n["saved_tensors"]["grad"] > 5
    assert n["saved_mib"]["no_grad"] == n["saved_mib"]["inference_mode"] == 0
    assert n["output_requires_grad"] is True and n["input_shape"] == [16, 1, 28, 28]
    assert all(len(n["time_ms_all"][m]) == 3 for m in MODES)
    assert n["time_ratio_no_grad"] == pytest.approx(n["time_ms_median"]["no_grad"] /
                                                    n["time_ms_median"]["grad"])
    assert "saved_tensors_hooks" in r.text("en") and "역전파" in r.text("ko")


def test_saved_memory_is_linear_in_the_batch() -> None:
    torch.manual_seed(0)
    model = build("cnn").eval()
    b8, _ = saved_bytes(model, torch.rand(8, 1, 28, 28), "grad")
    b16, _ = saved_bytes(model, torch.rand(16, 1, 28, 28), "grad")
    assert b16 == 2 * b8
    # the first conv's output alone (8, 32, 28, 28) float32 must be among the saved activations
    assert b8 >= 8 * 32 * 28 * 28 * 4


def test_bad_batch() -> None:
    with pytest.raises(ConfigError, match=r"batch = 0 is out of range; valid: 1\.\.4096"):
        lab.run("no-grad", batch=0)
    with pytest.raises(ConfigError, match=r"repeats = 2 is out of range; valid: 3\.\.200"):
        lab.run("no-grad", repeats=2)
