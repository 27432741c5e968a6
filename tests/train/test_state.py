"""TrainState: what the checkpoint stores round-trips, and older/newer JSON still loads."""

from __future__ import annotations

import json

import pytest

from cnnlab.errors import CheckpointError
from cnnlab.train import TrainConfig, TrainState, fit, load_checkpoint

from .helpers import tiny_data, tiny_model


def _state() -> TrainState:
    return TrainState(
        epoch=2,
        step_in_epoch=3,
        global_step=35,
        steps_per_epoch=16,
        elapsed_before=12.5,
        running={"loss_sum": 4.25, "correct": 70, "count": 96},
        history=[{"epoch": 1.0, "global_step": 16, "val_accuracy": 0.9}],
        best_accuracy=0.9,
        seconds_to_target=None,
    )


def test_to_dict_from_dict_round_trip():
    state = _state()
    saved = json.loads(json.dumps(state.to_dict()))  # through JSON, as in checkpoint.json
    back = TrainState.from_dict(saved)
    assert back == TrainState(**{**state.__dict__, "elapsed_before": back.elapsed_before})
    assert back.elapsed_before >= state.elapsed_before  # saved time = before + this session
    assert back.to_dict()["progress"]["running"] == state.running


def test_from_dict_ignores_unknown_keys_and_fills_missing_optional_ones():
    back = TrainState.from_dict(
        {
            "progress": {"epoch": 1, "step_in_epoch": 0, "global_step": 16, "future": True},
            "model": {},
            "extra": 1,
        }
    )
    assert (back.epoch, back.global_step, back.history, back.best_accuracy) == (1, 16, [], None)
    assert back.running == {"loss_sum": 0.0, "correct": 0, "count": 0}
    with pytest.raises(KeyError, match="global_step"):
        TrainState.from_dict({"progress": {"epoch": 1, "step_in_epoch": 0}})


def test_checkpoint_stores_the_state_fit_ended_with(tmp_path):
    train, val = tiny_data(128, 64)
    result = fit(tiny_model(), train, val, TrainConfig(epochs=1, batch_size=64, out=str(tmp_path)))
    state = TrainState.from_dict(load_checkpoint(tmp_path).meta)
    assert (state.epoch, state.step_in_epoch, state.global_step) == (1, 0, result.global_step)
    assert state.history == result.history and state.best_accuracy == result.best_accuracy
    assert result.preprocess is not None and len(result.preprocess.mean) == 1


def test_resume_without_progress_is_a_clear_error(tmp_path):
    train, val = tiny_data(128, 64)
    cfg = {"epochs": 2, "batch_size": 64, "out": str(tmp_path)}
    fit(tiny_model(), train, val, TrainConfig(**cfg, time_budget=1e-9))
    index = tmp_path / "checkpoint.json"
    meta = json.loads(index.read_text())
    del meta["progress"]
    index.write_text(json.dumps(meta))
    with pytest.raises(
        CheckpointError, match=r"checkpoint\.json' is broken: field progress is missing"
    ):
        fit(tiny_model(), train, val, TrainConfig(**cfg, resume=True))
