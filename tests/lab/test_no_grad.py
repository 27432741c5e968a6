"""no_grad: the allocator's peak halves (not zero), the saved-for-backward count disappears, both
grow linearly with the batch; timing: medians with IQRs, differences claimed only beyond them."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from cnnlab import lab
from cnnlab.errors import ConfigError
from cnnlab.lab.no_grad import MODES, explain, forward_memory, saved_bytes, summarize
from cnnlab.models import build


def test_no_graph_no_saved_tensors() -> None:
    r = lab.run("no-grad", data="mnist-sample", batch=16, repeats=3, warmup=0)
    n = r.numbers
    assert n["saved_mib"]["grad"] > 0 and n["saved_tensors"]["grad"] > 5
    assert n["saved_mib"]["no_grad"] == n["saved_mib"]["inference_mode"] == 0
    assert n["output_requires_grad"] is True and n["input_shape"] == [16, 1, 28, 28]
    assert all(len(n["time_ms_all"][m]) == 3 for m in MODES)
    assert n["time_ratio_no_grad"] == pytest.approx(
        n["time_ms_median"]["no_grad"] / n["time_ms_median"]["grad"]
    )
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


# --- peak memory: the CPU allocator's events ------------------------------------------------------


def test_peak_of_a_linear_chain_is_the_live_activations() -> None:
    # h1, h2 (32×256 floats = 32 KiB each) and the output (32×8 = 1 KiB): with a graph all stay
    # alive; without, h1 is freed once h2 exists, so the peak is the largest neighbouring pair
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.Linear(256, 256), nn.Linear(256, 8))
    x = torch.rand(32, 64)
    h, out = 32 * 256 * 4, 32 * 8 * 4
    assert forward_memory(model, x, "grad")[:2] == (2 * h + out, 2 * h + out)
    for mode in ("no_grad", "inference_mode"):
        peak, retained, largest = forward_memory(model, x, mode)
        assert (peak, retained, largest) == (2 * h, out, h)


def test_peak_sees_kernel_workspaces() -> None:
    # the allocator also counts buffers a kernel allocates and frees inside one op (a conv's
    # unfolded input), which no tensor-counting method sees; what is retained is the output alone
    conv = nn.Conv2d(1, 8, 3, bias=False)
    x = torch.rand(4, 1, 28, 28)
    out = 4 * 8 * 26 * 26 * 4
    peak, retained, _ = forward_memory(conv, x, "no_grad")
    assert retained == out and peak > out


def test_simple_cnn_peak_about_halves_not_zero() -> None:
    r = lab.run("no-grad", data="mnist-sample", batch=16, repeats=3, warmup=0)
    n = r.numbers
    assert 1.5 < n["peak_ratio"] < 3  # the audit's "about 2×", not ∞
    assert n["peak_mib"]["no_grad"] > 0 and n["peak_mib"]["no_grad"] >= n["largest_activation_mib"]
    assert n["peak_mib"]["inference_mode"] == n["peak_mib"]["no_grad"]
    assert n["retained_mib"]["no_grad"] == pytest.approx(n["output_mib"])
    # with a graph everything saved stays until the output goes (saved also counts the input)
    assert n["retained_mib"]["grad"] >= n["saved_mib"]["grad"] - n["input_mib"]
    assert n["peak_ratio"] == pytest.approx(n["peak_mib"]["grad"] / n["peak_mib"]["no_grad"])
    text = r.text("en")
    assert "not zero" in text and "counts tensors, not memory at its peak" in text


def test_peak_is_linear_in_the_batch() -> None:
    torch.manual_seed(0)
    model = build("cnn").eval()
    with torch.no_grad():
        model(torch.rand(8, 1, 28, 28))  # one-time buffers out of the way
    for mode in ("grad", "no_grad"):
        p8 = forward_memory(model, torch.rand(8, 1, 28, 28), mode)[0]
        p16 = forward_memory(model, torch.rand(16, 1, 28, 28), mode)[0]
        assert p16 == pytest.approx(2 * p8, rel=0.01)


# --- time: median, IQR, claims only beyond the IQRs -----------------------------------------------


def test_summary_quartiles_and_separation() -> None:
    times = {
        "grad": [0.010, 0.011, 0.012, 0.013, 0.014],
        "no_grad": [0.005, 0.006, 0.007, 0.008, 0.009],
        "inference_mode": [0.006, 0.007, 0.0075, 0.0085, 0.0095],
    }
    tm = summarize(1, times, inner=7)
    assert tm.median_ms["grad"] == pytest.approx(12) and tm.q1_ms["grad"] == pytest.approx(11)
    assert tm.q3_ms["no_grad"] == pytest.approx(8) and tm.inner == 7
    assert tm.no_grad_separated and not tm.inference_separated
    assert tm.ratio_no_grad == pytest.approx(7 / 12)


def test_verdicts_follow_the_iqrs() -> None:
    n = lab.run("no-grad", data="mnist-sample", batch=8, repeats=3, warmup=0).data
    apart = summarize(
        1,
        {"grad": [1.0, 1.1, 1.2], "no_grad": [0.5, 0.55, 0.6], "inference_mode": [0.5, 0.56, 0.6]},
    )
    close = summarize(
        1,
        {
            "grad": [1.0, 1.1, 1.2],
            "no_grad": [0.95, 1.05, 1.15],
            "inference_mode": [0.2, 0.25, 0.3],
        },
    )
    keys = [k for k, _ in explain(dataclasses.replace(n, timing_batch1=apart))]
    assert "lab.no_grad.time_faster" in keys and "lab.no_grad.infer_noise" in keys
    keys = [k for k, _ in explain(dataclasses.replace(n, timing_batch1=close))]
    assert "lab.no_grad.time_noise" in keys and "lab.no_grad.infer_faster" in keys


def test_both_batches_timed() -> None:
    r = lab.run("no-grad", data="mnist-sample", batch=8, repeats=4, warmup=0)
    n = r.numbers
    assert n["timing"]["batch"] == 8 and n["timing_batch1"]["batch"] == 1
    for tm in (n["timing"], n["timing_batch1"]):
        assert tm["inner"] >= 1 and all(len(tm["all_ms"][m]) == 4 for m in MODES)
        assert all(tm["q1_ms"][m] <= tm["median_ms"][m] <= tm["q3_ms"][m] for m in MODES)
    assert n["time_ms_median"] == n["timing"]["median_ms"]
    assert "Batch 1 (passes per timed round:" in r.text("en") and "배치 1(" in r.text("ko")


def test_modes_interleave_in_rotating_order() -> None:
    from cnnlab.lab.no_grad import time_modes

    seen: list[str] = []

    class Probe(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if torch.is_inference_mode_enabled():
                seen.append("inference_mode")
            else:
                seen.append("grad" if torch.is_grad_enabled() else "no_grad")
            return x * 2

    times, inner = time_modes(Probe(), torch.rand(1, 3), repeats=3, warmup=0)
    rounds = seen[4:]  # after the 4 calibration passes (grad)
    firsts = {rounds[i * 3 * inner] for i in range(3)}
    assert firsts == set(MODES)  # each mode leads one round: none is always first after a pause
    assert all(len(times[m]) == 3 for m in MODES) and rounds.count("grad") == 3 * inner
