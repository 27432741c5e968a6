"""lab.training.train_model: one test evaluation after training, its per-image hits handed on."""

from __future__ import annotations

import functools

import torch

from cnnlab.lab.training import TrainDataParams, load_train_test, train_model
from cnnlab.models import build


def _fit(**config):
    params = TrainDataParams(data="mnist-sample", n_train=60, n_test=30, epochs=2, seed=0)
    train, test, _ = load_train_test(params)
    events: list[dict] = []
    make = functools.partial(build, "mlp", image_size=28, hidden=(16,))
    trained = train_model("mlp", make, train, test, params, callback=events.append, **config)
    return trained, test, events


def test_hits_are_the_final_weights_on_the_test_set() -> None:
    trained, (x, y), events = _fit()
    hits = trained.test_correct
    assert hits is not None and hits.shape == (30,) and hits.dtype == bool
    assert torch.equal(torch.from_numpy(hits), trained.logits(x).argmax(1) == y)
    assert trained.accuracy == float(hits.mean())
    # progress: epoch 0, one row per epoch (training only), then the one test accuracy
    assert [e["epoch"] for e in events] == [0, 1, 2, 2]
    assert "val_accuracy" not in events[1] and events[-1]["val_accuracy"] == round(
        trained.accuracy, 4
    )


def test_a_stopping_rule_keeps_fit_evaluating() -> None:
    trained, _, events = _fit(target_acc=0.99)
    assert trained.test_correct is None  # fit's own evaluation decided when to stop
    assert 0.0 <= trained.accuracy <= 1.0
    assert "val_accuracy" in events[-1]
