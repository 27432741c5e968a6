"""``TrainState``: where a run of :func:`cnnlab.train.fit` is, as the checkpoint stores it.

The checkpoint's JSON holds this state (``to_dict``) next to the run's fixed facts (model spec,
config, preprocessing); its safetensors hold the tensor half — weights, optimizer tensors and the
global RNG states (see :mod:`cnnlab.train.checkpoint`). ``from_dict`` reads it back for ``resume``;
with the RNG restored, the next step is the one an uninterrupted run would have taken.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


def fresh_running() -> dict[str, Any]:
    """Running sums of the epoch so far: the train loss and accuracy of the history rows."""
    return {"loss_sum": 0.0, "correct": 0, "count": 0}


@dataclass
class TrainState:
    """Progress of one training run: restored on resume, saved in every checkpoint."""

    epoch: int = 0  # completed epochs
    step_in_epoch: int = 0  # steps done in the current epoch
    global_step: int = 0  # optimiser steps since the start of the run, over all resumes
    steps_per_epoch: int = 0  # recorded so a reader can turn steps into epochs
    elapsed_before: float = 0.0  # seconds of training in earlier sessions (before a resume)
    running: dict[str, Any] = field(default_factory=fresh_running)  # the epoch's sums so far
    history: list[dict[str, Any]] = field(default_factory=list)  # one row per evaluation
    best_accuracy: float | None = None  # best validation accuracy so far
    seconds_to_target: float | None = None  # elapsed when target_acc was first reached
    # this session's clock start: not state, so not compared and not saved
    started: float = field(default_factory=time.perf_counter, compare=False, repr=False)

    def start_clock(self) -> None:
        """Start timing this session (data loading and setup are not training time)."""
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds of training + evaluation, summed over the run's sessions."""
        return self.elapsed_before + (time.perf_counter() - self.started)

    def mean_loss(self) -> float:
        return float(self.running["loss_sum"]) / max(int(self.running["count"]), 1)

    def mean_accuracy(self) -> float:
        return int(self.running["correct"]) / max(int(self.running["count"]), 1)

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint's JSON keys for this state (``progress``, ``history``, best, target)."""
        progress = {
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "elapsed": self.elapsed(),
            "steps_per_epoch": self.steps_per_epoch,
            "running": dict(self.running),
        }
        return {
            "progress": progress,
            "history": list(self.history),
            "best_accuracy": self.best_accuracy,
            "seconds_to_target": self.seconds_to_target,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainState:
        """Inverse of :meth:`to_dict`; ``data`` may be the whole checkpoint JSON (rest ignored).

        The step counters are required (KeyError names the missing one); everything else falls back
        to a fresh run's value, so an older or newer checkpoint still loads.
        """
        prog = data["progress"]
        return cls(
            epoch=int(prog["epoch"]),
            step_in_epoch=int(prog["step_in_epoch"]),
            global_step=int(prog["global_step"]),
            steps_per_epoch=int(prog.get("steps_per_epoch", 0)),
            elapsed_before=float(prog.get("elapsed", 0.0)),
            running={**fresh_running(), **prog.get("running", {})},
            history=list(data.get("history") or []),
            best_accuracy=data.get("best_accuracy"),
            seconds_to_target=data.get("seconds_to_target"),
        )


__all__ = ["TrainState", "fresh_running"]
