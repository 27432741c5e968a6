"""--precision: bf16 autocast in the training step (float32 weights, optimiser and evaluation),
auto's choice by hardware, exact resume in bf16, and the options' errors."""

from __future__ import annotations

import pytest
import torch

from cnnlab.errors import ConfigError
from cnnlab.train import TrainConfig, fit
from cnnlab.train.device import autocast_dtype, native_bf16

from .helpers import tiny_data, tiny_model

CFG = {"epochs": 2, "batch_size": 32, "lr": 0.05}
CPU = torch.device("cpu")


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_autocast_dtype_follows_the_option_and_the_hardware():
    assert autocast_dtype("fp32", CPU) is None
    assert autocast_dtype("bf16", CPU) is torch.bfloat16
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    assert native_bf16(CPU) is bool(native)
    assert autocast_dtype("auto", CPU) is (torch.bfloat16 if native else None)


def test_bf16_trains_float32_weights_that_differ_from_fp32():
    train, val = tiny_data()
    fp32 = fit(m32 := tiny_model(0), train, val, TrainConfig(**CFG))
    bf16 = fit(m16 := tiny_model(0), train, val, TrainConfig(**CFG, precision="bf16"))
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    assert all(p.dtype == torch.float32 for p in m16.parameters())
    # the same run in another precision: other numbers, about as good
    assert any(
        not torch.equal(a, b) for a, b in zip(_weights(m32).values(), _weights(m16).values())
    )
    assert bf16.metrics.accuracy > 0.5 and abs(bf16.metrics.accuracy - fp32.metrics.accuracy) < 0.1


def test_bf16_step_runs_the_convolutions_in_bfloat16():
    """The forward pass autocasts: a hook on the first conv sees a bfloat16 output in training."""
    train, val = tiny_data(64, 32)
    model = tiny_model(0)
    seen: list[torch.dtype] = []
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype) if _m.training else None)
    fit(model, train, val, TrainConfig(epochs=1, batch_size=32, precision="bf16"))
    assert seen and set(seen) == {torch.bfloat16}


def test_bf16_resume_equals_uninterrupted(tmp_path):
    train, val = tiny_data()
    cfg = {**CFG, "precision": "bf16"}
    full = fit(full_model := tiny_model(0), train, val, TrainConfig(**cfg, out=str(tmp_path / "a")))
    part = str(tmp_path / "b")
    first = fit(tiny_model(0), train, val, TrainConfig(**cfg, out=part, target_acc=1e-6))
    assert first.epochs_completed == 1
    fit(resumed := tiny_model(9), train, val, TrainConfig(**cfg, out=part, resume=True))
    for k, v in _weights(full_model).items():
        assert torch.equal(v, _weights(resumed)[k]), k
    assert full.precision == "bf16"


def test_resume_in_another_precision_is_refused(tmp_path):
    train, val = tiny_data()
    out = str(tmp_path / "run")
    fit(tiny_model(0), train, val, TrainConfig(**CFG, out=out, target_acc=1e-6))
    with pytest.raises(Exception, match=r"precision.*'fp32'.*'bf16'"):
        fit(tiny_model(0), train, val, TrainConfig(**CFG, out=out, resume=True, precision="bf16"))


def test_bad_precision_is_a_config_error(tmp_path):
    out = tmp_path / "never"
    with pytest.raises(ConfigError, match=r"Unknown precision 'fp16'\. Valid: fp32, bf16, auto"):
        fit(tiny_model(), *tiny_data(64, 32), TrainConfig(out=str(out), precision="fp16"))
    assert not out.exists()


def test_resume_where_auto_resolves_otherwise_is_refused(tmp_path, monkeypatch):
    """A checkpoint trained with precision auto in bf16, resumed where auto means fp32 (no bf16
    arithmetic), would not continue the same run: refused, naming both."""
    from cnnlab.errors import CheckpointError
    from cnnlab.train import device as device_mod

    train, val = tiny_data()
    out = str(tmp_path / "run")
    monkeypatch.setattr(device_mod, "native_bf16", lambda _device: True)
    first = fit(
        tiny_model(0), train, val, TrainConfig(**CFG, out=out, precision="auto", target_acc=1e-6)
    )
    assert first.precision == "bf16"
    monkeypatch.setattr(device_mod, "native_bf16", lambda _device: False)
    with pytest.raises(CheckpointError, match=r"precision \(auto\).*'bf16'.*'fp32'"):
        fit(tiny_model(0), train, val, TrainConfig(**CFG, out=out, precision="auto", resume=True))
