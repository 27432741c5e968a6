"""Training: ``fit`` (one loop, deterministic, resumable, DDP-ready), metrics, checkpoints, predict.

    >>> from cnnlab.models import build
    >>> from cnnlab.train import TrainConfig, fit, seed_everything
    >>> seed_everything(0); model = build("cnn")
    >>> result = fit(model, train_ds, test_ds, TrainConfig(epochs=2, out="runs/cnn"))
    >>> result.metrics.accuracy, result.metrics.confusion

Imports torch; faces import this lazily.
"""

from cnnlab.train.checkpoint import Checkpoint, check_fits, load_weights
from cnnlab.train.checkpoint import load as load_checkpoint
from cnnlab.train.config import TrainConfig
from cnnlab.train.device import resolve_device
from cnnlab.train.evaluate import evaluate, load_model
from cnnlab.train.loop import FitResult, fit, seed_everything
from cnnlab.train.metrics import Metrics, confusion_matrix
from cnnlab.train.state import TrainState

__all__ = [
    "TrainConfig",
    "fit",
    "FitResult",
    "TrainState",
    "seed_everything",
    "evaluate",
    "load_model",
    "Metrics",
    "confusion_matrix",
    "Checkpoint",
    "load_checkpoint",
    "check_fits",
    "load_weights",
    "resolve_device",
]
