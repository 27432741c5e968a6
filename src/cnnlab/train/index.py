"""Validation of a checkpoint's index (``checkpoint.json``) before anything in it is used.

The tensor files are sha256-checked, but the index itself is plain JSON a user can edit (or a disk
can damage): ``std: [0.0]`` used to give NaN predictions with exit 0. :func:`validate_index` checks
every field a reader uses — type, range and shape — and refuses a broken one by name with
:class:`~cnnlab.errors.CheckpointError` ("field preprocess.std[0] is 0.0, expected a finite number
> 0"). It never raises anything else, whatever the JSON holds (a hypothesis test fuzzes it).
"""

from __future__ import annotations

import math
from typing import Any

from cnnlab.errors import CnnlabError
from cnnlab.i18n import Msg

# The checks a reader of the *model* needs (files, model spec, input shape) live in the models
# layer with that reader; this module adds the training-side fields.
from cnnlab.models.stored import MAX_DIM, MAX_PARAMS, check_input_shape
from cnnlab.models.stored import IndexCheck as _Index
from cnnlab.models.stored import check_files as _files
from cnnlab.models.stored import check_model_spec as _model


def validate_index(meta: Any, path: str) -> dict[str, Any]:
    """Return ``meta`` if it is a well-formed index; else raise CheckpointError naming the field.

    Checked: ``version``; ``files`` (plain file names, no path) and their ``sha256``; the model
    spec (a known model, options it takes, at most :data:`MAX_PARAMS` parameters); ``config`` (the
    same checks as a new run's options); ``classes``/``num_classes``; ``input_shape``;
    ``preprocess`` (one finite mean and one finite std > 0 per input channel); ``progress``
    counters; ``best_accuracy``, ``metrics.accuracy`` in [0, 1]; ``world_size``; ``run``.
    """
    ix = _Index(meta, path)
    top = ix.dict_(meta, "checkpoint.json")
    ix.int_(ix.get(top, "version", "version"), "version", 1, 1)
    _files(ix, top)
    _model(ix, top.get("model"))
    _config(ix, ix.dict_(ix.get(top, "config", "config"), "config"))
    num_classes = ix.int_(ix.get(top, "num_classes", "num_classes"), "num_classes", 1, MAX_DIM)
    classes = ix.list_(top.get("classes", []), "classes", 0, num_classes)
    for i, name in enumerate(classes):
        ix.str_(name, f"classes[{i}]")
    shape = check_input_shape(ix, top)
    pre = ix.dict_(ix.get(top, "preprocess", "preprocess"), "preprocess")
    channels = 0 if len(shape) == 1 else shape[0]  # token ids (L,): nothing is standardised
    for key, lo_open in (("mean", False), ("std", True)):
        values = ix.list_(
            ix.get(pre, key, f"preprocess.{key}"), f"preprocess.{key}", min(channels, 1), MAX_DIM
        )
        if len(values) != channels:
            raise ix.bad(
                f"preprocess.{key}", values, Msg("train.index_expect.per_channel", n=channels)
            )
        lo = 0.0 if lo_open else -math.inf
        for i, v in enumerate(values):
            ix.number(v, f"preprocess.{key}[{i}]", lo, math.inf, lo_open=lo_open)
    _progress(ix, ix.dict_(ix.get(top, "progress", "progress"), "progress"))
    ix.list_(top.get("history", []), "history", 0, 10**7)
    if top.get("best_accuracy") is not None:
        ix.number(top["best_accuracy"], "best_accuracy", 0.0, 1.0)
    if top.get("seconds_to_target") is not None:
        ix.number(top["seconds_to_target"], "seconds_to_target", 0.0, math.inf)
    if top.get("metrics") is not None:
        metrics = ix.dict_(top["metrics"], "metrics")
        ix.number(ix.get(metrics, "accuracy", "metrics.accuracy"), "metrics.accuracy", 0.0, 1.0)
    ix.dict_(ix.get(top, "optimizer", "optimizer"), "optimizer")
    if top.get("scheduler") is not None:
        ix.dict_(top["scheduler"], "scheduler")
    if "world_size" in top:
        ix.int_(top["world_size"], "world_size", 1, MAX_DIM)
    run = ix.dict_(top.get("run") or {}, "run")
    if run.get("model") is not None:
        ix.str_(run["model"], "run.model")
    if run.get("data") is not None:
        ix.str_(run["data"], "run.data")
    if run.get("limit") is not None:
        ix.int_(run["limit"], "run.limit", 1, 2**62)
    if run.get("label_column") is not None:
        ix.str_(run["label_column"], "run.label_column")
    return top


def _config(ix: _Index, config: dict[str, Any]) -> None:
    """The training options pass the same checks as a new run's (TrainConfig.validate)."""
    from cnnlab.train.config import TrainConfig

    # threads and device describe the machine it was trained on: valid there, maybe not here
    skip = ("threads", "device")
    known = {
        k: v for k, v in config.items() if k in TrainConfig.__dataclass_fields__ and k not in skip
    }
    try:
        TrainConfig(**known).validate()
    except CnnlabError as exc:
        name = exc.params.get("name", "?")
        reason: Msg | str = Msg(exc.key, **exc.params)
        raise ix.bad(
            f"config.{name}",
            exc.params.get("value"),
            Msg("train.index_expect.config", reason=reason),
        ) from exc
    except (TypeError, AttributeError, ArithmeticError) as exc:  # e.g. a device that is a number
        reason = f"{type(exc).__name__}: {exc}"
        raise ix.bad("config", config, Msg("train.index_expect.config", reason=reason)) from exc


def _progress(ix: _Index, prog: dict[str, Any]) -> None:
    for key in ("epoch", "step_in_epoch", "global_step"):
        ix.int_(ix.get(prog, key, f"progress.{key}"), f"progress.{key}", 0, 2**62)
    ix.int_(prog.get("steps_per_epoch", 0), "progress.steps_per_epoch", 0, 2**62)
    ix.number(prog.get("elapsed", 0.0), "progress.elapsed", 0.0, math.inf)
    running = ix.dict_(prog.get("running", {}), "progress.running")
    if "loss_sum" in running:
        ix.number(running["loss_sum"], "progress.running.loss_sum", 0.0, math.inf)
    for key in ("correct", "count"):
        if key in running:
            ix.int_(running[key], f"progress.running.{key}", 0, 2**62)


__all__ = ["MAX_DIM", "MAX_PARAMS", "validate_index"]
