"""A training run as a face asks for it: model and data by name, options, maybe ``resume``.

:func:`plan_training` does every check before any work — option values, model and dataset names,
and on ``resume`` fills the options the user did not give from the checkpoint being resumed — and
returns a :class:`TrainPlan`; :func:`run_training` loads the data, builds the model and calls
:func:`cnnlab.train.fit`. The CLI's ``train`` command is these two calls plus printing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from cnnlab.errors import ConfigError, DataError
from cnnlab.geometry import check_positive
from cnnlab.progress import Progress
from cnnlab.resources import mem_available
from cnnlab.train.config import TrainConfig
from cnnlab.train.loop import FitResult


@dataclass
class Architecture:
    """Architecture options a face offers for every model; None / empty = the model's default."""

    channels: tuple[int, ...] = ()  # conv widths of the CNN family
    dropout: float | None = None
    pool_first: bool = False  # CNN: pool before the second conv (faster, same accuracy)
    hidden: int | None = None  # width of the classifier's (the MLP's one) hidden layer
    strided_stem: bool = False  # CNN: the first block downsamples by a stride-2 conv, no pool
    test_flip: bool = False  # CNN: predictions average the image and its mirror image

    def kwargs(self, model: str) -> dict[str, Any]:
        """Keyword arguments for ``cnnlab.models.build(model, ...)``: only the options given."""
        kw: dict[str, Any] = {}
        if self.channels:
            kw["channels"] = list(self.channels)
        if self.hidden is not None:  # the MLP takes a list of widths: hidden gives it one layer
            kw["hidden"] = [self.hidden] if model == "mlp" else self.hidden
        if self.dropout is not None:
            kw["dropout"] = self.dropout
        for flag in ("pool_first", "strided_stem", "test_flip"):
            if getattr(self, flag):
                kw[flag] = True
        return kw


@dataclass
class TrainPlan:
    """A checked training run: what to build, on which data, with which configuration."""

    model: str  # a name of cnnlab.models.names()
    model_kwargs: dict[str, Any]
    data: str  # a name of cnnlab.data.names()
    data_dir: str | None
    limit: int | None  # train on the first ``limit`` training images (None = all)
    config: TrainConfig
    overwrite: bool = False  # replace a checkpoint already in config.out (else refused)
    label_column: str = "label"  # the label column of a csv:<path> series set
    text: Any = None  # TextOptions of a text set (nsmc, csvtext:<path>; cnnlab.train.text)
    folder: Any = None  # FolderOptions of a folder:<path> image set (transform and split)
    recipe: Any = None  # the cnnlab.train.recipes.Recipe applied (None: none, or a resumed run)
    overridden: tuple[str, ...] = ()  # the recipe's fields the user's own options replaced

    @property
    def run_info(self) -> dict[str, Any]:
        """What the checkpoint records under ``"run"`` so a resume or ``evaluate`` can reuse it."""
        info: dict[str, Any] = {"model": self.model, "data": self.data, "limit": self.limit}
        if self.data.startswith("csv:"):
            info["label_column"] = self.label_column
        if self.folder is not None:
            info["folder"] = self.folder.to_dict()
        return info


@dataclass
class TrainRun:
    """What :func:`run_training` returns: the plan, fit's result and facts for the report."""

    plan: TrainPlan
    result: FitResult
    params: int  # trainable parameters of the model
    classes: list[str] | None = field(default=None)  # the training set's class names, if named

    @property
    def reports(self) -> bool:
        """False on the non-zero ranks of a torchrun job: only rank 0 reports the result."""
        return self.result.world_size <= 1 or int(os.environ.get("RANK", "0")) == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.plan.model,
            "data": self.plan.data,
            "params": self.params,
            # the recipe this run started from and the fields the user's options replaced
            "recipe": self.plan.recipe.to_dict() if self.plan.recipe is not None else None,
            "recipe_overridden": list(self.plan.overridden),
            **self.result.to_dict(),
        }


def check_data_name(name: str) -> None:
    """Raise DataError naming the valid datasets unless ``name`` is one."""
    from cnnlab.data import names

    if name not in names():
        raise DataError("data.unknown", name=name, valid=", ".join(names()))


def check_model_name(name: str) -> None:
    """Raise ConfigError naming the valid models unless ``name`` is one."""
    from cnnlab.models import names

    if name not in names():
        raise ConfigError("error.model_name", value=name, valid=", ".join(names()))


def check_series_fit(model: str, data: str) -> None:
    """ConfigError for a series model on an image dataset or an image model on a series one."""
    from cnnlab.data.series import is_series_name
    from cnnlab.train.series import check_model_fits_data

    check_model_fits_data(model, data, is_series_name(data))


def plan_training(
    model: str,
    data: str,
    *,
    options: dict[str, Any],
    arch: Architecture,
    out: str | os.PathLike[str],
    resume: bool = False,
    overwrite: bool = False,
    limit: int | None = None,
    data_dir: str | None = None,
    given: Collection[str] = (),
    label_column: str = "label",
    text: Any = None,
    folder: Any = None,
    recipe: str | None = None,
) -> TrainPlan:
    """Check everything and return the plan; nothing is read but a checkpoint, nothing written.

    ``options`` are :class:`TrainConfig` fields. On ``resume`` with a checkpoint in ``out``, every
    option, ``model``, ``data`` and ``limit`` whose name is not in ``given`` (the ones the user set
    explicitly) comes from the checkpoint, and so do the architecture options unless ``model``
    was given. Raises ConfigError / DataError naming the bad value, CheckpointError for a
    checkpoint that cannot be read. Work is never lost silently: ``out`` holding a checkpoint
    needs ``resume`` or ``overwrite``, and ``resume`` needs a checkpoint (:func:`check_out_state`).
    ``recipe`` names a :mod:`cnnlab.train.recipes` recipe for ``model`` on ``data`` (``"default"``:
    the best known one, if any); on a fresh run its fields fill every option and architecture
    keyword not in ``given``. None (the library's default): no recipe, ``options`` as they are.
    ``folder`` (:class:`~cnnlab.data.folder.FolderOptions`) is the transform and split of a
    ``folder:<path>`` set (None: the resumed run's, else the defaults); the folder is read here, so
    its errors come before anything is written (:mod:`cnnlab.train.folder_data`).
    """
    options = dict(options)
    saved = check_out_state(out, resume, overwrite)
    base_kwargs: dict[str, Any] = {}
    if saved is not None:  # options left at their defaults come from the checkpoint being resumed
        options.update(
            {
                k: v
                for k, v in (saved.get("config") or {}).items()
                if k in _RESUMABLE and k not in given and _fits_here(k, v)
            }
        )
        run = saved.get("run") or {}
        model = model if "model" in given else run.get("model", model)
        data = data if "data" in given else run.get("data", data)
        limit = limit if "limit" in given else run.get("limit", limit)
        if "label_column" not in given:
            label_column = run.get("label_column", label_column)
        if "model" not in given:
            base_kwargs = (saved.get("model") or {}).get("kwargs", {})
        if folder is None and isinstance(run.get("folder"), dict):
            from cnnlab.data.folder import FolderOptions

            folder = FolderOptions.from_dict(run["folder"])
    chosen, arch_kwargs = None, arch.kwargs(model)
    overridden: tuple[str, ...] = ()
    if saved is None and recipe is not None:  # a resumed run keeps its checkpoint's settings
        from cnnlab.train.recipes import apply, find

        check_model_name(model)  # named before "no such recipe" for a model that does not exist
        check_data_name(data)
        chosen = find(model, data, recipe)
        applied = apply(chosen, options, arch_kwargs, given)
        options, arch_kwargs, overridden = applied.options, applied.model_kwargs, applied.overridden
    config = TrainConfig(**options, out=str(out), resume=resume).validate()
    if limit is not None:
        check_positive("limit", limit)
    if arch.hidden is not None:
        check_positive("hidden", arch.hidden)
    check_model_name(model)
    check_data_name(data)
    from cnnlab.train.text import plan_text

    # text sets only: options checked, both splits read before anything is written
    config, text = plan_text(model, data, config, given, text, saved, data_dir, label_column)
    check_series_fit(model, data)
    from cnnlab.train.folder_data import plan_folder

    folder, data_kwargs = plan_folder(data, folder, config.batch_size, limit)
    kwargs = {**data_kwargs, **base_kwargs, **arch_kwargs}
    check_model_size(model, kwargs, config)
    plan = TrainPlan(
        model,
        kwargs,
        data,
        data_dir,
        limit,
        config,
        overwrite,
        label_column,
        folder=folder,
        recipe=chosen,
        overridden=overridden,
    )
    plan.text = text
    return plan


# Every TrainConfig field comes back on resume unless given — also those no face offers as an
# option (a recipe's weight_decay): a field left at the library default would differ from the
# checkpoint's and the resume be refused.
_RESUMABLE = frozenset(f.name for f in dataclasses.fields(TrainConfig)) - {"out", "resume"}


def _fits_here(option: str, value: Any) -> bool:
    """A checkpoint's thread count is reused on resume (same threads, same numbers) only where
    this machine has that many cores: a run from a 16-core machine resumes here with the default."""
    from cnnlab.train.config import max_threads

    if option != "threads" or value is None:
        return True
    return isinstance(value, int) and 1 <= value <= max_threads()


def check_out_state(
    out: str | os.PathLike[str], resume: bool, overwrite: bool
) -> dict[str, Any] | None:
    """The index of the checkpoint to resume (None for a fresh run); refuse what would lose work.

    ``out`` holding a checkpoint: refused unless ``resume`` (continue it) or ``overwrite`` (replace
    it); the message says what is there. ``resume`` with no checkpoint: refused, never a silent
    fresh start. Both flags at once: refused. Reads the checkpoint, writes nothing.
    """
    from cnnlab.train import checkpoint as ckpt

    if resume and overwrite:
        raise ConfigError("train.resume_and_overwrite")
    if not ckpt.exists(out):
        if resume:
            raise ConfigError("train.resume_nothing", path=str(out))
        return None
    if overwrite:
        return None
    meta = ckpt.load(out).meta
    if resume:
        return meta
    raise ConfigError("train.out_has_checkpoint", path=str(out), what=describe_checkpoint(meta))


def describe_checkpoint(meta: dict[str, Any]) -> Any:
    """A catalog message saying what a checkpoint holds: model, epochs done, accuracy."""
    from cnnlab.i18n import Msg

    def part(name: str) -> dict[str, Any]:
        value = meta.get(name)
        return value if isinstance(value, dict) else {}

    model = part("run").get("model") or part("model").get("name") or "?"
    epochs = part("progress").get("epoch", "?")
    acc = part("metrics").get("accuracy")
    if isinstance(acc, (int, float)) and not isinstance(acc, bool):
        return Msg("train.ckpt_summary", model=model, epochs=epochs, acc=100 * float(acc))
    return Msg("train.ckpt_summary_no_acc", model=model, epochs=epochs)


def check_model_size(model: str, kwargs: dict[str, Any], config: TrainConfig) -> None:
    """Refuse, before anything is built, a model that cannot work or cannot fit in memory.

    ``--channels`` with more blocks than the input has pixels for is named as such (not as the
    kernel-size arithmetic deep inside). Memory: parameters, gradients and optimiser state
    (float32; SGD keeps 1 slot, AdamW 2, Adadelta 2) plus the conv activations of one batch
    (forward and backward, every conv at 28×28: an estimate, not a bound) against MemAvailable.
    """
    from cnnlab.errors import ShapeError
    from cnnlab.models import count_params

    channels = list(kwargs.get("channels") or [])
    try:
        params = count_params(model, **kwargs)
    except ShapeError as exc:
        if not channels:
            raise
        fits = 0
        while fits < len(channels):
            try:
                count_params(model, **{**kwargs, "channels": channels[: fits + 1]})
            except ShapeError:
                break
            fits += 1
        raise ConfigError(
            "train.channels_too_many", value=" ".join(map(str, channels)), n=len(channels), max=fits
        ) from exc
    slots = {"sgd": 1, "adamw": 2, "adadelta": 2}.get(config.optimizer, 2)
    need = 4 * params * (2 + slots) + 4 * 2 * config.batch_size * sum(channels) * 28 * 28
    available = mem_available()
    if available is not None and need > available:
        raise ConfigError(
            "train.model_too_big",
            model=model,
            channels=" ".join(map(str, channels)) or "-",
            params=params,
            need=_gib(need),
            available=_gib(available),
        )


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"


def load_split(
    name: str,
    data_dir: str | None,
    train: bool,
    limit: int | None = None,
    label_column: str = "label",
    folder: Any = None,
) -> Any:
    """The ``train`` or test split of dataset ``name``; only its first ``limit`` items if given.
    ``folder``: the :class:`~cnnlab.data.folder.FolderOptions` of a ``folder:<path>`` set.

    ``limit`` must be >= 1 (never a negative slice). A dataset missing offline is refused with
    the hint a training face can act on (``cnnlab data download``, not a ``--download`` option
    ``train`` and ``evaluate`` do not have).
    """
    from cnnlab.data import get_dataset
    from cnnlab.train.series import is_series, subset_series

    if limit is not None:
        check_positive("limit", limit)
    try:
        ds = get_dataset(name, train=train, root=data_dir, label_column=label_column, folder=folder)
    except DataError as exc:
        if exc.key == "data.not_found":
            raise DataError("train.data_not_found", **exc.params) from exc
        raise
    if limit is not None and is_series(ds):
        return subset_series(ds, limit)
    if limit is not None:
        return _Subset(
            ds.data[:limit].clone(), ds.targets[:limit].clone(), getattr(ds, "classes", None)
        )
    return ds


class _Subset:
    """The first ``limit`` items as a ``.data``/``.targets`` dataset (keeps the class names)."""

    def __init__(self, data: Any, targets: Any, classes: Any) -> None:
        self.data, self.targets, self.classes = data, targets, classes


def output_lock(out: str | os.PathLike[str] | None) -> contextlib.AbstractContextManager[Any]:
    """Hold ``out`` for one run (:func:`cnnlab.fileio.lock_output_dir`); re-entrant.

    Only rank 0 of a torchrun job locks: the other ranks share its folder. ``None``: no lock.
    A face takes it before :func:`plan_training`, so the plan's checks and the run see one state.
    """
    from cnnlab.fileio import lock_output_dir

    if out is None or int(os.environ.get("RANK", "0")) != 0:
        return contextlib.nullcontext()
    return lock_output_dir(out)


def run_training(plan: TrainPlan, progress: Progress | None = None) -> TrainRun:
    """Load the data, build the model under the plan's seed and :func:`~cnnlab.train.fit` it.

    ``progress`` receives fit's :mod:`cnnlab.progress` events. Raises what ``fit`` and
    ``cnnlab.models.build`` raise (e.g. ConfigError for an option the model does not have).
    """
    from cnnlab.models import build, num_params
    from cnnlab.train.loop import fit, seed_everything
    from cnnlab.train.series import model_kwargs_for, series_info

    out = plan.config.out
    with output_lock(out):
        if out is not None:  # another run may have written a checkpoint since plan_training
            check_out_state(out, plan.config.resume, plan.overwrite)
        if plan.text is not None:  # nsmc, csvtext:<path>: both splits encoded with one vocabulary
            from cnnlab.train.text import run_text_training

            return run_text_training(plan, progress)
        train_ds = load_split(
            plan.data, plan.data_dir, True, plan.limit, plan.label_column, plan.folder
        )
        test_ds = load_split(
            plan.data, plan.data_dir, False, label_column=plan.label_column, folder=plan.folder
        )
        seed_everything(plan.config.seed)
        kwargs = {**model_kwargs_for(plan.model, plan.data, train_ds), **plan.model_kwargs}
        net = build(plan.model, **kwargs)
        info = {**plan.run_info, **series_info(train_ds)}
        if getattr(test_ds, "record", None) is not None:  # folder:<path>: transform, split hashes
            info["folder"] = test_ds.record  # (the test split is never cut by --limit)
        result = fit(net, train_ds, test_ds, plan.config, progress, run_info=info)
    classes = getattr(train_ds, "classes", None)
    return TrainRun(plan, result, num_params(net), list(classes) if classes else None)


__all__ = [
    "Architecture",
    "TrainPlan",
    "TrainRun",
    "plan_training",
    "run_training",
    "load_split",
    "check_data_name",
    "check_model_name",
    "check_series_fit",
    "check_model_size",
    "check_out_state",
    "mem_available",
    "output_lock",
    "describe_checkpoint",
]
