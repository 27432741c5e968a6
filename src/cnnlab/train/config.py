"""The training configuration: one typed dataclass, every default with its reason.

Validation lives in :meth:`TrainConfig.validate` and runs before any work starts (nothing is read or
written for a bad value); each message names the field, the value and what is valid.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields
from typing import Any

from cnnlab.errors import ConfigError

OPTIMIZERS = ("sgd", "adamw", "adadelta")
SCHEDULES = ("onecycle", "step", "constant")
AUGMENTS = ("none", "flip", "roll")
DEVICES = ("auto", "cpu", "cuda", "mps")
EVAL_WHEN = ("epoch", "near-target")
PRECISIONS = ("fp32", "bf16", "auto")
# Seeds fit torch's 64-bit generator even after the loop's per-epoch salt (seed · 1,000,003 + epoch)
MAX_SEED = 2**32 - 1
# A peak learning rate above this is a typo, not a schedule: every model here diverges far below it
MAX_LR = 10.0

# Fields that shape the optimisation trajectory: a resumed run must use the checkpoint's values or
# its numbers could not equal an uninterrupted run's.
TRAJECTORY_FIELDS = (
    "epochs",
    "batch_size",
    "lr",
    "optimizer",
    "momentum",
    "weight_decay",
    "schedule",
    "step_gamma",
    "label_smoothing",
    "augment",
    "seed",
    "precision",
)


@dataclass
class TrainConfig:
    """Hyperparameters and run control for :func:`cnnlab.train.fit`."""

    epochs: int = 5  # upper bound; target_acc / time_budget may stop earlier
    batch_size: int = (
        256  # global batch (split across DDP ranks); big enough to keep BLAS busy on 2 cores
    )
    lr: float = 0.05  # peak LR of OneCycle with SGD+Nesterov; BatchNorm makes this high rate stable
    optimizer: str = "sgd"  # sgd (Nesterov momentum) | adamw | adadelta (PyTorch MNIST example)
    momentum: float = 0.9  # SGD momentum; OneCycle cycles it 0.85..0.95 around this
    weight_decay: float = 5e-4  # mild L2: helps generalisation on Fashion-MNIST at no cost
    schedule: str = "onecycle"  # onecycle (fastest to a target) | step (gamma per epoch) | constant
    step_gamma: float = 0.7  # StepLR decay per epoch, as in the PyTorch MNIST example
    label_smoothing: float = 0.0  # cross-entropy label smoothing (0 = plain CE)
    augment: str = "none"  # none | flip (random horizontal flip, batched: for clothes, not digits)
    # … | roll (each series shifted circularly by -3..3 steps: for series, cnnlab.train.tensors)
    seed: int = 0  # seeds init, shuffling, dropout and augmentation: same seed → same numbers
    device: str = "auto"  # auto picks cuda, then mps, then cpu
    # fp32 | bf16 (forward and loss under torch.autocast in bfloat16; weights, gradients, the
    # optimiser and evaluation stay float32) | auto (bf16 where the chip multiplies bfloat16
    # natively — AVX512-BF16/AMX CPUs, CUDA GPUs that support it — else fp32): cnnlab.train.device
    precision: str = "fp32"
    channels_last: bool = True  # NHWC lets oneDNN run convs ~1.5-2x faster on CPU
    threads: int | None = None  # torch intra-op threads; None keeps torch's default (= cores)
    target_acc: float | None = None  # stop once validation accuracy (0..1) reaches this
    time_budget: float | None = None  # stop after this many seconds of training (checked per step)
    eval_every: int = 0  # also evaluate every N steps (0 = only at the end of each epoch)
    # epoch: evaluate after every epoch | near-target: evaluate only when it can stop the run — with
    # a target_acc once the epoch's running training accuracy is near it, without one never — and
    # after the last epoch, always: evaluations that cannot stop the run only cost time
    eval_when: str = "epoch"
    checkpoint_every: int = 0  # also checkpoint every N steps (0 = only at the end of each epoch)
    eval_batch_size: int = 1000  # no gradients kept, so evaluation batches can be large
    out: str | None = None  # checkpoint directory; None = keep nothing on disk
    resume: bool = False  # continue from out/checkpoint.json if it exists (else start fresh)

    def validate(self) -> TrainConfig:
        """Raise ConfigError for the first invalid field; return self for chaining."""
        _int_min("epochs", self.epochs, 1)
        _int_min("batch_size", self.batch_size, 1)
        _int_min("eval_batch_size", self.eval_batch_size, 1)
        _int_min("eval_every", self.eval_every, 0)
        _int_min("checkpoint_every", self.checkpoint_every, 0)
        _int_range("seed", self.seed, 0, MAX_SEED)
        if self.threads is not None:
            _int_range("threads", self.threads, 1, max_threads())
        _range("lr", self.lr, 0.0, MAX_LR, lo_open=True)
        _range("momentum", self.momentum, 0.0, 1.0, hi_open=True)
        _range("weight_decay", self.weight_decay, 0.0, math.inf)
        _range("step_gamma", self.step_gamma, 0.0, 1.0, lo_open=True)
        _range("label_smoothing", self.label_smoothing, 0.0, 1.0, hi_open=True)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("schedule", self.schedule, SCHEDULES)
        _choice("augment", self.augment, AUGMENTS)
        _choice("eval_when", self.eval_when, EVAL_WHEN)
        _choice("precision", self.precision, PRECISIONS)
        _choice("device", self.device.split(":")[0], DEVICES)
        if self.target_acc is not None:
            _range("target_acc", self.target_acc, 0.0, 1.0, lo_open=True)
        if self.time_budget is not None:
            _positive("time_budget", self.time_budget)
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a dict, ignoring unknown keys (a newer checkpoint may carry more)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def max_threads() -> int:
    """The most intra-op threads a run may ask for: this machine's cores (more only oversubscribe;
    ``--threads 100000`` used to crash torch)."""
    return max(os.cpu_count() or 1, 1)


def _int_range(name: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError("train.int_range", name=name, value=value, lo=lo, hi=hi)


def _int_min(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError("error.min_value", name=name, value=value, minimum=minimum)


def _positive(name: str, value: Any) -> None:
    """A finite number > 0; NaN, infinity and non-numbers fail with the same message."""
    try:
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = numeric and math.isfinite(float(value)) and value > 0
    except OverflowError:
        ok = False
    if not ok:
        raise ConfigError("error.train_positive", name=name, value=value)


def _range(
    name: str, value: Any, lo: float, hi: float, lo_open: bool = False, hi_open: bool = False
) -> None:
    try:  # NaN, a non-number and an int too large for a float fail every range check
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        v = float(value) if numeric else math.nan
    except OverflowError:
        v = math.inf
    if math.isnan(v) or (v < lo or (lo_open and v == lo)) or (v > hi or (hi_open and v == hi)):
        interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ConfigError("error.train_range", name=name, value=value, interval=interval)


def _choice(name: str, value: Any, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ConfigError("error.train_choice", name=name, value=value, valid=", ".join(valid))


__all__ = [
    "MAX_LR",
    "MAX_SEED",
    "max_threads",
    "TrainConfig",
    "OPTIMIZERS",
    "SCHEDULES",
    "AUGMENTS",
    "DEVICES",
    "EVAL_WHEN",
    "PRECISIONS",
    "TRAJECTORY_FIELDS",
]
