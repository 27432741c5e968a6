"""plan_training / run_training: the checks and resume defaults every face shares."""

from __future__ import annotations

import pytest

from cnnlab.errors import ConfigError, DataError
from cnnlab.train.session import Architecture, plan_training, run_training

OPTIONS = {"epochs": 1, "batch_size": 64, "lr": 0.1, "threads": 1}


def test_resume_takes_what_was_not_given_from_the_checkpoint(tmp_path):
    plan = plan_training(
        "cnn",
        "mnist-sample",
        options=OPTIONS,
        out=tmp_path,
        limit=128,
        arch=Architecture(channels=(4, 8), hidden=16),
    )
    run = run_training(plan)
    assert run.reports and run.to_dict()["model"] == "cnn" and run.params > 0
    assert run.result.checkpoint is not None
    again = plan_training(
        "mlp",
        "auto",
        options={"epochs": 2, "batch_size": 256, "lr": 0.05},
        arch=Architecture(),
        out=tmp_path,
        resume=True,
        given={"epochs"},
    )
    assert (again.model, again.data, again.limit) == ("cnn", "mnist-sample", 128)
    assert again.model_kwargs == {"channels": [4, 8], "hidden": 16}
    assert (again.config.epochs, again.config.batch_size, again.config.lr) == (2, 64, 0.1)
    other = plan_training(
        "mlp",
        "auto",
        options=OPTIONS,
        arch=Architecture(hidden=8),
        out=tmp_path,
        resume=True,
        given={"model"},
    )
    assert other.model == "mlp" and other.model_kwargs == {"hidden": [8]}


def test_without_a_checkpoint_resume_is_refused_not_a_fresh_run(tmp_path):
    with pytest.raises(ConfigError, match=r"--resume: there is no checkpoint to resume in '.*new'"):
        plan_training(
            "cnn",
            "mnist-sample",
            options=OPTIONS,
            arch=Architecture(),
            out=tmp_path / "new",
            resume=True,
        )
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    "kw,error,pattern",
    [
        ({"model": "resnet"}, ConfigError, r"Unknown model 'resnet'\. Valid: cnn, mlp"),
        ({"data": "cifar"}, DataError, r"cifar"),
        ({"limit": 0}, ConfigError, r"limit must be an integer >= 1, got 0"),
        ({"options": {"lr": 0.0}}, ConfigError, r"lr must be in \(0, 10\], got 0\.0"),
    ],
)
def test_bad_plan_raises_before_work(tmp_path, kw, error, pattern):
    args = {"model": "cnn", "data": "mnist-sample", "options": {}, **kw}
    with pytest.raises(error, match=pattern):
        plan_training(
            args.pop("model"), args.pop("data"), arch=Architecture(), out=tmp_path / "never", **args
        )
    assert not (tmp_path / "never").exists()
