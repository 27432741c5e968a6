"""Recipes: the best known settings are the defaults, every option given overrides its own field,
the recipe is printed at the start (en/ko), a resumed run keeps its checkpoint's settings."""

from __future__ import annotations

import json

import pytest

from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.models import names as model_names
from cnnlab.train.config import TrainConfig
from cnnlab.train.recipes import RECIPES, apply, family, find, recipes_for
from cnnlab.train.session import Architecture, plan_training

CLI_DEFAULTS = {"epochs": 5, "batch_size": 256, "lr": 0.05, "threads": 1}


def test_every_recipe_builds_and_validates():
    from cnnlab.models import count_params

    for (model, _), row in RECIPES.items():
        assert model in model_names()
        for name, recipe in row.items():
            assert recipe.name == name and recipe.evidence
            TrainConfig(**recipe.train).validate()
            if model.endswith("1d"):  # series models need the data's length
                count_params(model, **{"length": 40, **recipe.model})
            else:
                assert count_params(model, **recipe.model) > 0


@pytest.mark.parametrize(
    ("data", "fam"),
    [
        ("fashion-mnist", "fashion-mnist"),
        ("mnist", "mnist"),
        ("kmnist", "mnist"),
        ("mnist-sample", "mnist"),
        ("auto", "mnist"),
        ("mnist1d-shuffled", "mnist1d"),
        ("ucr:GunPoint", "ucr"),
        ("csv:/tmp/x.csv", "csv"),
    ],
)
def test_family(data, fam):
    assert family(data) == fam


def test_cnn_fast_recipe_is_the_default_on_the_mnist_family():
    for data in ("fashion-mnist", "mnist", "kmnist", "auto"):
        recipe = find("cnn", data)
        assert recipe is not None and recipe.name == "default"
        assert recipe.model["channels"] == [16, 32] and recipe.model["pool_first"] is True
        assert recipe.train["batch_size"] == 256 and recipe.train["lr"] == 0.2
    # flips (in training, and averaged in predictions) only where the images are clothes
    for name in ("default", "best"):
        fashion = find("cnn", "fashion-mnist", name)
        assert fashion.train["augment"] == "flip" and fashion.model["test_flip"] is True
        digits = find("cnn", "mnist", name)
        assert "augment" not in digits.train and "test_flip" not in digits.model
    assert find("cnn", "fashion-mnist").model["strided_stem"] is True
    assert "strided_stem" not in find("cnn", "mnist").model
    # and the printed options are real options of `cnnlab train`
    assert "--strided-stem --test-flip" in find("cnn", "fashion-mnist").options()


def test_no_recipe_and_unknown_name():
    assert find("mlp", "mnist") is None  # no row: the built-in defaults
    assert find("cnn", "fashion-mnist", "none") is None
    assert recipes_for("lc", "mnist") == {}
    with pytest.raises(ConfigError, match=r"'fastest'.*default, best, none"):
        find("cnn", "fashion-mnist", "fastest")


def test_apply_user_options_win_field_by_field():
    recipe = find("cnn", "mnist")
    options = {"epochs": 5, "lr": 0.5, "batch_size": 256}
    applied = apply(recipe, options, {"channels": [8, 8]}, given={"lr", "channels"})
    assert applied.options["lr"] == 0.5  # given: the user's
    assert applied.options["batch_size"] == 256 and applied.options["eval_when"] == "near-target"
    assert applied.model_kwargs == {"channels": [8, 8], "hidden": 128, "pool_first": True}
    assert set(applied.overridden) == {"lr", "channels"}
    # --no-pool-first: given at its default value, it still overrides the recipe's True
    off = apply(recipe, options, {}, given={"pool_first"})
    assert "pool_first" not in off.model_kwargs and off.overridden == ("pool_first",)
    # the same for Fashion-MNIST's flip averaging and strided stem
    fashion = find("cnn", "fashion-mnist")
    plain = apply(fashion, options, {}, given={"test_flip", "strided_stem"})
    assert "test_flip" not in plain.model_kwargs and "strided_stem" not in plain.model_kwargs
    assert set(plain.overridden) == {"test_flip", "strided_stem"}


def test_plan_applies_the_recipe_only_when_asked(tmp_path):
    arch = Architecture()
    plain = plan_training(
        "cnn", "mnist-sample", options=CLI_DEFAULTS, arch=arch, out=tmp_path / "a"
    )
    assert plain.recipe is None and plain.config.lr == 0.05 and plain.model_kwargs == {}
    plan = plan_training(
        "cnn",
        "mnist-sample",
        options=CLI_DEFAULTS,
        arch=Architecture(hidden=64),
        out=tmp_path / "b",
        given={"lr", "hidden"},
        recipe="default",
    )
    assert plan.recipe is not None and plan.recipe.name == "default"
    assert plan.config.lr == 0.05  # given explicitly: kept
    assert plan.config.batch_size == 256 and plan.config.eval_when == "near-target"
    assert plan.model_kwargs == {"channels": [16, 32], "hidden": 64, "pool_first": True}
    assert set(plan.overridden) == {"lr", "hidden"}


def _train(args, capsys):
    rc = main(["train", "--data", "mnist-sample", "--limit", "256", "--threads", "1", *args])
    captured = capsys.readouterr()
    return rc, captured


def test_cli_default_recipe_printed_and_applied(tmp_path, capsys):
    out = tmp_path / "run"
    rc, cap = _train(["--epochs", "1", "--channels", "4", "--out", str(out), "--json"], capsys)
    assert rc == 0
    result = json.loads(cap.out)
    assert result["recipe"]["name"] == "default" and result["recipe_overridden"] == [
        "epochs",
        "channels",
    ]
    assert "Recipe 'default'" in cap.err and "--pool-first" in cap.err
    assert "Your options replaced the recipe's: epochs, channels." in cap.err
    meta = json.loads((out / "checkpoint.json").read_text())
    assert meta["config"]["lr"] == 0.2 and meta["config"]["epochs"] == 1  # recipe / user
    assert meta["model"]["kwargs"]["channels"] == [4] and meta["model"]["kwargs"]["pool_first"]
    assert meta["model"]["kwargs"]["hidden"] == 128


def test_cli_recipe_in_korean_and_none(tmp_path, capsys):
    rc, cap = _train(
        ["--lang", "ko", "--epochs", "1", "--channels", "4", "--out", str(tmp_path / "k")], capsys
    )
    assert rc == 0 and "레시피 default로 학습합니다" in cap.err
    rc, cap = _train(
        ["--recipe", "none", "--epochs", "1", "--channels", "4", "--out", str(tmp_path / "n")],
        capsys,
    )
    assert rc == 0 and "--recipe none" in cap.err
    meta = json.loads((tmp_path / "n" / "checkpoint.json").read_text())
    assert meta["config"]["lr"] == 0.05 and "pool_first" not in meta["model"]["kwargs"]


def test_cli_unknown_recipe_exit_2_nothing_written(tmp_path, capsys):
    out = tmp_path / "bad"
    rc, cap = _train(["--recipe", "fastest", "--out", str(out)], capsys)
    assert rc == 2 and "No recipe 'fastest'" in cap.err
    assert not out.exists()


def test_resume_keeps_the_checkpoint_settings(tmp_path, capsys):
    out = tmp_path / "r"
    rc, _ = _train(
        ["--recipe", "none", "--epochs", "1", "--channels", "4", "--out", str(out)], capsys
    )
    assert rc == 0
    plan = plan_training(
        "cnn",
        "mnist-sample",
        options=CLI_DEFAULTS,
        arch=Architecture(),
        out=out,
        resume=True,
        recipe="default",
    )
    assert plan.recipe is None and plan.config.lr == 0.05 and plan.config.eval_when == "epoch"
    assert plan.model_kwargs["channels"] == [4]


def _tiny_fit(eval_when, target):
    import torch

    from cnnlab.models import build
    from cnnlab.train import fit

    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (64,), generator=g)  # random labels: training accuracy stays low
    model = build("cnn", channels=[2], hidden=0)
    cfg = TrainConfig(
        epochs=3, batch_size=32, lr=0.01, target_acc=target, eval_when=eval_when, threads=1
    )
    return fit(model, (x, y), (x[:32], y[:32]), cfg)


def test_eval_near_target_skips_evaluations_that_cannot_stop_the_run():
    res = _tiny_fit("near-target", 0.99)
    evaluated = ["val_accuracy" in h for h in res.history]
    assert evaluated == [False, False, True]  # only the last epoch: far from 99%
    assert res.metrics is not None and res.metrics.n == 32
    assert ["val_accuracy" in h for h in _tiny_fit("epoch", 0.99).history] == [True] * 3
    # without a target no evaluation can stop the run: only the last epoch's is made
    no_target = _tiny_fit("near-target", None)
    assert ["val_accuracy" in h for h in no_target.history] == [False, False, True]
    assert no_target.metrics is not None and no_target.best_accuracy == no_target.metrics.accuracy
    assert all("val_accuracy" in h for h in _tiny_fit("epoch", None).history)


def test_eval_when_is_validated():
    with pytest.raises(ConfigError, match=r"eval_when.*'sometimes'.*epoch, near-target"):
        TrainConfig(eval_when="sometimes").validate()
