"""What the training-based experiments share: their data parameters, the train/test tensors, and one
call that trains a model with :func:`cnnlab.train.fit` and forwards its progress.

No training loop lives here — :func:`train_model` is a thin adapter over ``fit`` that

- seeds torch before the model is built (same seed → same initial weights → same numbers),
- turns ``fit``'s events into the lab's progress dicts
  ``{"kind": "train", "model": "cnn", "epoch": 1, "epochs": 3, "val_accuracy": 0.91}``,
- returns the model on the CPU in eval mode together with the training set's standardisation, so the
  experiment can feed it shifted, shuffled or single images itself.

Data: the first ``n_train`` training and ``n_test`` test images of the chosen dataset. On the
embedded ``mnist-sample`` index ``i`` is a digit of class ``i % 10``: any prefix is class-balanced.

Fits are shared between experiments: a call that names its ``recipe`` is remembered under the whole
recipe — the recipe text, a digest of the train and test tensors, and every field of the resolved
``TrainConfig`` (epochs, seed, optimizer, …). The tour trains translation's and cnn-vs-fc's CNN and
MLP on the same images with the same seeds and optimizer; the second experiment gets a copy of the
first one's fit instead of training the same network again (same seed → the same weights anyway).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnnlab.data import get_dataset, image_names
from cnnlab.errors import ConfigError
from cnnlab.lab.registry import SEED_MAX

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from cnnlab.train import TrainConfig
    from cnnlab.train.tensors import Preprocess

Callback = Callable[[dict[str, Any]], None]
Tensors = tuple["torch.Tensor", "torch.Tensor"]  # x (N, C, H, W) float in [0, 1], y (N,) int64


@dataclass
class TrainDataParams:
    """Data and budget of an experiment that trains (train split → fit, test split → measure)."""

    data: str = field(default="auto", metadata={"help": "lab.param.data", "choices": image_names()})
    # auto: full MNIST when found locally, else the embedded 4,000/1,000-digit sample
    data_dir: str | None = field(default=None, metadata={"help": "lab.param.data_dir"})
    download: bool = field(default=False, metadata={"help": "lab.param.download"})
    n_train: int = field(
        default=4000, metadata={"help": "lab.training.param.n_train", "min": 10, "max": 60_000}
    )
    # all of mnist-sample's training split: enough for ~95 % with a small CNN in seconds
    n_test: int = field(
        default=1000, metadata={"help": "lab.training.param.n_test", "min": 10, "max": 10_000}
    )
    # all of mnist-sample's test split: ±0.7 % binomial standard error at 95 % accuracy
    epochs: int = field(
        default=4, metadata={"help": "lab.training.param.epochs", "min": 1, "max": 100}
    )
    # a small budget: the point is the comparison, not state-of-the-art accuracy
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0, "max": SEED_MAX})
    # seeds model init and fit's shuffling: the same seed gives the same numbers


def load_train_test(params: TrainDataParams) -> tuple[Tensors, Tensors, str]:
    """``((x_train, y_train), (x_test, y_test), dataset name)``; x is ``(N, C, H, W)`` in [0, 1].

    Raises ConfigError when ``n_train``/``n_test`` exceed what the dataset holds (with the valid
    range), DataError when the dataset is unavailable.
    """
    from cnnlab.train.tensors import as_tensors

    splits = []
    for train, want, param in ((True, params.n_train, "n_train"), (False, params.n_test, "n_test")):
        ds = get_dataset(params.data, train=train, root=params.data_dir, download=params.download)
        if want > len(ds):
            raise ConfigError("lab.error.range", param=param, value=want, low=10, high=len(ds))
        x, y = as_tensors(ds)
        splits.append((x[:want], y[:want]))  # a prefix: class-balanced on mnist-sample
    return splits[0], splits[1], ds.name


@dataclass
class Trained:
    """A trained model (CPU, eval mode) and what it takes to feed it.

    ``preprocess`` is the training images' standardisation that ``fit`` applied; :meth:`logits`
    applies it, so callers pass images in [0, 1] like the dataset gives them.
    """

    name: str
    model: nn.Module
    preprocess: Preprocess
    accuracy: float  # on the test tensors given to train_model
    train_accuracy: float  # running accuracy of the last training epoch
    seconds: float  # wall time of fit and the test evaluation
    n_params: int
    test_correct: np.ndarray | None = None  # (n_test,) bool: which test images it classifies right

    def logits(self, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """``x (N, C, H, W)`` in [0, 1] → logits ``(N, classes)``, without gradients."""
        import torch

        self.model.eval()
        with torch.no_grad():
            return torch.cat(
                [
                    self.model(self.preprocess.apply(x[i : i + batch_size]))
                    for i in range(0, len(x), batch_size)
                ]
            )

    def accuracy_on(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """Fraction of ``x (N, C, H, W)`` classified as ``y (N,)``."""
        return float((self.logits(x).argmax(1) == y).double().mean())


FIT_CACHE_SIZE = 16  # fits remembered (LRU): the tour shares 6; each is a small model (< 1 MB)
_fits: OrderedDict[tuple[Any, ...], Trained] = OrderedDict()
_fits_lock = threading.Lock()


def _digest(*tensors: torch.Tensor) -> str:
    """A digest of the tensors' shapes, dtypes and bytes (~20 ms for 4,000 MNIST images)."""
    h = hashlib.blake2b(digest_size=16)
    for t in tensors:
        h.update(f"{tuple(t.shape)}{t.dtype};".encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def recipe_of(name: str, **kwargs: Any) -> str:
    """The ``recipe`` text of ``cnnlab.models.build(name, **kwargs)``: ``cnn(channels=(16, 32), …)``
    with the keywords sorted, so two experiments that build the same network write the same text."""
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in sorted(kwargs.items()))})"


def clear_fit_cache() -> None:
    """Forget every remembered fit (tests; a long-lived process that wants its memory back)."""
    with _fits_lock:
        _fits.clear()


def train_model(
    name: str,
    make: Callable[[], nn.Module],
    train: Tensors,
    test: Tensors,
    params: TrainDataParams,
    *,
    callback: Callback | None = None,
    recipe: str | None = None,
    **config: Any,
) -> Trained:
    """Build ``make()`` under ``torch.manual_seed(params.seed)`` and fit it; ``name`` tags progress.

    ``config`` overrides :class:`~cnnlab.train.TrainConfig` fields (``epochs`` and ``seed`` come
    from ``params``). The returned model lives on the CPU, in eval mode.

    ``recipe``: text that names the network ``make`` builds exactly (registry name and keywords).
    When given, the fit is remembered under the recipe, the data and the whole config, and an equal
    call returns a copy of it without training (its ``seconds`` are the original fit's).
    """
    from cnnlab.train import TrainConfig

    cfg = TrainConfig(**{"epochs": params.epochs, "seed": params.seed, **config})
    if recipe is None:
        return _train(name, make, train, test, params.seed, cfg, callback)
    key = (recipe, _digest(*train, *test), tuple(sorted(cfg.to_dict().items())))
    with _fits_lock:
        hit = _fits.get(key)
        if hit is not None:
            _fits.move_to_end(key)
    if hit is None:
        trained = _train(name, make, train, test, params.seed, cfg, callback)
        with _fits_lock:
            _fits[key] = copy.deepcopy(trained)  # callers may change theirs (eval mode, hooks)
            while len(_fits) > FIT_CACHE_SIZE:
                _fits.popitem(last=False)
        return trained
    if callback is not None:  # one row, as fit's last one would have read
        row = {"kind": "train", "model": name, "epoch": cfg.epochs, "epochs": cfg.epochs}
        callback({**row, "val_accuracy": round(hit.accuracy, 4), "shared": True})
    return dataclasses.replace(copy.deepcopy(hit), name=name)


def _train(
    name: str,
    make: Callable[[], nn.Module],
    train: Tensors,
    test: Tensors,
    seed: int,
    cfg: TrainConfig,
    callback: Callback | None,
) -> Trained:
    from cnnlab.models import num_params
    from cnnlab.train import fit, seed_everything

    seed_everything(seed)  # the initial weights depend only on the seed
    model = make()

    def progress(event: dict[str, Any]) -> None:
        # fit reports every step; the lab's progress bar needs one line per epoch
        if callback is None:
            return
        if event["kind"] == "start":
            callback({"kind": "train", "model": name, "epoch": 0, "epochs": cfg.epochs})
        elif event["kind"] == "eval":
            row = {"kind": "train", "model": name, "epoch": round(event["epoch"])}
            row["epochs"] = cfg.epochs
            if "val_accuracy" in event:
                row["val_accuracy"] = round(event["val_accuracy"], 4)
            callback(row)

    # The experiments use only the trained model's final test accuracy: without a stopping rule fit
    # gets no validation set (an evaluation after every epoch cost 9 % of the translation
    # experiment) and the test set is evaluated once, below, on the same weights.
    stops = cfg.target_acc is not None or cfg.time_budget is not None
    start = time.perf_counter()
    fitted = fit(model, train, test if stops else None, cfg, callback=progress)
    model = model.cpu().eval()
    trained = Trained(
        name,
        model,
        fitted.preprocess,  # the standardisation fit applied
        fitted.metrics.accuracy if fitted.metrics else float("nan"),
        fitted.history[-1]["train_accuracy"] if fitted.history else float("nan"),
        0.0,
        num_params(model),
    )
    if not stops:
        trained.test_correct = (trained.logits(test[0]).argmax(1) == test[1]).numpy()
        trained.accuracy = float(trained.test_correct.mean())
        if callback is not None:
            callback(
                {
                    "kind": "train",
                    "model": name,
                    "epoch": cfg.epochs,
                    "epochs": cfg.epochs,
                    "val_accuracy": round(trained.accuracy, 4),
                }
            )
    trained.seconds = time.perf_counter() - start
    return trained


def binomial_se(accuracy: float, n: int) -> float:
    """Standard error of an accuracy measured on ``n`` independent test images: √(p(1-p)/n)."""
    return (accuracy * (1.0 - accuracy) / max(n, 1)) ** 0.5


__all__ = [
    "TrainDataParams",
    "Trained",
    "load_train_test",
    "train_model",
    "recipe_of",
    "clear_fit_cache",
    "binomial_se",
]
