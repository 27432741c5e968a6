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


def test_a_named_recipe_is_trained_once_and_handed_out_as_a_copy() -> None:
    from cnnlab.lab.training import clear_fit_cache, recipe_of

    clear_fit_cache()
    params = TrainDataParams(data="mnist-sample", n_train=60, n_test=30, epochs=1, seed=0)
    train, test, _ = load_train_test(params)
    kwargs = {"image_size": 28, "hidden": (16,)}
    calls: list[int] = []

    def make() -> torch.nn.Module:
        calls.append(1)
        return build("mlp", **kwargs)

    recipe = recipe_of("mlp", **kwargs)
    first = train_model("mlp", make, train, test, params, recipe=recipe)
    events: list[dict] = []
    again = train_model("again", make, train, test, params, recipe=recipe, callback=events.append)
    assert len(calls) == 1  # the second call built nothing
    assert again.name == "again" and again.model is not first.model  # a copy, renamed
    for a, b in zip(first.model.parameters(), again.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert again.accuracy == first.accuracy and events[-1]["shared"] is True
    # a different seed, data or config is a different fit
    train_model("mlp", make, train, test, params, recipe=recipe, lr=0.01)
    train_model("mlp", make, (train[0][:50], train[1][:50]), test, params, recipe=recipe)
    assert len(calls) == 3
    # without a recipe nothing is shared, and a fresh fit equals the remembered one
    fresh = train_model("mlp", make, train, test, params)
    assert len(calls) == 4
    for a, b in zip(first.model.parameters(), fresh.model.parameters(), strict=True):
        assert torch.equal(a, b)
    clear_fit_cache()


def test_recipe_text_sorts_keywords() -> None:
    from cnnlab.lab.training import recipe_of

    assert recipe_of("cnn", hidden=64, channels=(16, 32)) == "cnn(channels=(16, 32), hidden=64)"
