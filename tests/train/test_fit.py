"""fit(): metrics, determinism, exact resume, stopping rules, callbacks, checkpoint faults."""

from __future__ import annotations

import json

import pytest
import torch

from cnnlab.errors import CheckpointError, ConfigError, OutputError
from cnnlab.train import TrainConfig, evaluate, fit, load_checkpoint, load_model
from cnnlab.train.metrics import confusion_matrix

from .helpers import tiny_data, tiny_model

CFG = {"epochs": 2, "batch_size": 32, "lr": 0.05}


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_fit_learns_and_reports_consistent_metrics():
    train, val = tiny_data()
    events = []
    result = fit(tiny_model(), train, val, TrainConfig(**CFG), callback=events.append)
    m = result.metrics
    assert m.accuracy > 0.5  # 10 classes: chance is 0.1
    assert m.n == 256 and sum(map(sum, m.confusion)) == 256
    assert m.accuracy == pytest.approx(sum(m.confusion[i][i] for i in range(10)) / 256)
    for i, row in enumerate(m.confusion):
        assert m.per_class_accuracy[i] == pytest.approx(row[i] / max(sum(row), 1))
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("eval") == 2
    assert all(isinstance(e, dict) for e in events)
    assert result.global_step == 2 * (512 // 32) and result.stopped == "epochs"
    json.dumps(result.to_dict())  # plain data all the way down


def test_confusion_matrix_counts():
    pred, true = torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2])
    assert confusion_matrix(pred, true, 3).tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]


def test_same_seed_same_numbers_different_seed_different():
    train, val = tiny_data()
    a = fit(m1 := tiny_model(0), train, val, TrainConfig(**CFG, seed=3))
    b = fit(m2 := tiny_model(0), train, val, TrainConfig(**CFG, seed=3))
    c = fit(tiny_model(0), train, val, TrainConfig(**CFG, seed=4))
    assert a.history == [{**h, "elapsed": a.history[i]["elapsed"]} for i, h in enumerate(b.history)]
    for k, v in _weights(m1).items():
        assert torch.equal(v, _weights(m2)[k]), k
    assert c.metrics.loss != a.metrics.loss


@pytest.mark.parametrize("split", ["epoch", "mid-epoch"])
def test_resume_equals_uninterrupted(tmp_path, split):
    """Stop after epoch 1 (or mid-epoch 2), resume in a fresh model: same final numbers and
    weights."""
    train, val = tiny_data()
    full_model = tiny_model(0)
    full = fit(full_model, train, val, TrainConfig(**CFG, out=str(tmp_path / "full")))

    part = tmp_path / "part"
    extra = {"time_budget": 1e-9, "checkpoint_every": 0} if split == "mid-epoch" else {}
    if split == "epoch":
        # run epoch 1 only: a 1-epoch budget would change OneCycle, so stop by target instead
        first = fit(tiny_model(0), train, val, TrainConfig(**CFG, out=str(part), target_acc=1e-6))
        assert first.stopped == "target" and first.epochs_completed == 1
    else:
        first = fit(tiny_model(0), train, val, TrainConfig(**CFG, out=str(part), **extra))
        assert first.stopped == "time" and first.global_step == 1
    resumed_model = tiny_model(99)  # different init: everything must come from the checkpoint
    resumed = fit(resumed_model, train, val, TrainConfig(**CFG, out=str(part), resume=True))
    assert resumed.global_step == full.global_step
    assert resumed.metrics.to_dict() == full.metrics.to_dict()
    assert resumed.history[-1]["train_loss"] == full.history[-1]["train_loss"]
    for k, v in _weights(full_model).items():
        assert torch.equal(v, _weights(resumed_model)[k]), k


def test_target_accuracy_stops_early():
    train, val = tiny_data()
    r = fit(tiny_model(), train, val, TrainConfig(epochs=5, batch_size=64, target_acc=0.05))
    assert r.stopped == "target" and r.epochs_completed == 1 and r.seconds_to_target is not None


def test_time_budget_stops_and_still_evaluates():
    train, val = tiny_data()
    r = fit(tiny_model(), train, val, TrainConfig(epochs=50, batch_size=64, time_budget=0.2))
    assert r.stopped == "time" and r.epochs_completed < 50 and r.metrics is not None


def test_checkpoint_roundtrip_evaluate(tmp_path):
    train, val = tiny_data()
    r = fit(tiny_model(), train, val, TrainConfig(epochs=1, batch_size=64, out=str(tmp_path)))
    loaded = load_model(tmp_path)
    again = evaluate(loaded.model, val, loaded.preprocess, device="cpu")
    assert again.accuracy == pytest.approx(r.metrics.accuracy)
    assert again.confusion == r.metrics.confusion
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 3 and files[0] == "checkpoint.json"  # old tensor files were removed
    assert not any(p.suffix in (".pt", ".pth", ".pkl") for p in tmp_path.iterdir())


def test_mismatched_checkpoint_names_tensors(tmp_path):
    train, val = tiny_data()
    fit(tiny_model(), train, val, TrainConfig(epochs=1, batch_size=64, out=str(tmp_path)))
    other = tiny_model(channels=(4, 6))
    with pytest.raises(
        CheckpointError,
        match=r"does not fit.*features\.4\.weight: checkpoint \(8, 4, 3, 3\) vs model "
        r"\(6, 4, 3, 3\)",
    ):
        fit(other, train, val, TrainConfig(epochs=1, batch_size=64, out=str(tmp_path), resume=True))


def test_resume_with_other_settings_is_refused(tmp_path):
    train, val = tiny_data()
    fit(tiny_model(), train, val, TrainConfig(epochs=1, batch_size=64, out=str(tmp_path)))
    with pytest.raises(CheckpointError, match=r"lr: checkpoint 0\.05 vs now 0\.1") as info:
        fit(
            tiny_model(),
            train,
            val,
            TrainConfig(epochs=1, batch_size=64, lr=0.1, out=str(tmp_path), resume=True),
        )
    # the differing settings are catalog messages too: they follow the error into Korean
    assert "lr: 체크포인트 0.05, 현재 0.1" in info.value.message("ko")


@pytest.mark.parametrize(
    "damage,pattern",
    [
        (lambda d: (d / "checkpoint.json").write_text("{not json"), r"corrupt or unreadable"),
        (lambda d: next(d.glob("model-*")).write_bytes(b"\0" * 64), r"sha256 mismatch"),
        (
            lambda d: next(d.glob("state-*")).unlink(),
            r"state-.*corrupt or unreadable: No such file",
        ),
    ],
)
def test_corrupt_checkpoint_is_a_clear_error(tmp_path, damage, pattern):
    train, val = tiny_data(128, 64)
    fit(tiny_model(), train, val, TrainConfig(epochs=1, batch_size=64, out=str(tmp_path)))
    damage(tmp_path)
    with pytest.raises(CheckpointError, match=pattern):
        load_checkpoint(tmp_path)


def test_missing_checkpoint():
    with pytest.raises(CheckpointError, match=r"No checkpoint in"):
        load_model("/nonexistent/dir")


@pytest.mark.parametrize(
    "kw,pattern",
    [
        ({"lr": 0}, r"lr must be in \(0, 10\], got 0"),
        ({"lr": -1.0}, r"lr must be in \(0, 10\]"),
        ({"batch_size": 0}, r"batch_size must be an integer >= 1, got 0"),
        ({"epochs": 0}, r"epochs must be an integer >= 1"),
        ({"optimizer": "lbfgs"}, r"Unknown optimizer 'lbfgs'\. Valid: sgd, adamw, adadelta"),
        ({"target_acc": 92}, r"target_acc must be in \(0, 1\], got 92"),
        ({"device": "tpu"}, r"Unknown device 'tpu'"),
    ],
)
def test_bad_config_raises_before_work(tmp_path, kw, pattern):
    out = tmp_path / "never"
    train, val = tiny_data(128, 64)
    with pytest.raises(ConfigError, match=pattern):
        fit(tiny_model(), train, val, TrainConfig(out=str(out), **kw))
    assert not out.exists()


def test_unwritable_out(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    train, val = tiny_data(128, 64)
    with pytest.raises(OutputError, match=r"Cannot write to output directory"):
        fit(tiny_model(), train, val, TrainConfig(out=str(blocker / "sub")))


def test_target_needs_validation():
    train, _ = tiny_data(128, 64)
    with pytest.raises(ConfigError, match=r"target_acc needs validation data"):
        fit(tiny_model(), train, None, TrainConfig(target_acc=0.5))


def test_flip_augmentation_is_seeded_and_resumable(tmp_path):
    train, val = tiny_data(256, 64)
    cfg = {**CFG, "augment": "flip", "label_smoothing": 0.1}
    a = fit(m1 := tiny_model(0), train, val, TrainConfig(**cfg))
    part = tmp_path / "part"
    fit(tiny_model(0), train, val, TrainConfig(**cfg, out=str(part), time_budget=1e-9))
    fit(m2 := tiny_model(5), train, val, TrainConfig(**cfg, out=str(part), resume=True))
    for k, v in _weights(m1).items():
        assert torch.equal(v, _weights(m2)[k]), k
    assert a.metrics.n == 64
