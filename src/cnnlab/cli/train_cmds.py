"""``cnnlab train | evaluate | predict`` — thin shells over :mod:`cnnlab.train`.

``train`` is :func:`~cnnlab.train.session.plan_training` (every check, resume defaults) and
:func:`~cnnlab.train.session.run_training` plus printing.

No torch at import time (``cnnlab --help`` stays instant): every body imports what it needs.
Training progress goes to the CLI's one progress bar (:mod:`cnnlab.cli.progress`) on stderr; stdout
carries only the result (text or ``--json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from cnnlab.cli.common import check_out_dir, info, json_option, lang_option
from cnnlab.cli.folder_opts import folder_notes, folder_options, note_split, pop_folder_options
from cnnlab.cli.progress import ProgressBar
from cnnlab.cli.text_cmds import (
    pop_text_options,
    predict_text,
    text_options,
    text_plan_notes,
    text_run_notes,
)
from cnnlab.i18n import t

MODEL_CHOICES = "cnn|mlp|lc|gap|classic|cnn1d|mlp1d|textcnn"


@click.command("train", help=t("cli.train.help"))
@click.option(
    "--model",
    default="cnn",
    show_default=True,
    metavar=MODEL_CHOICES,
    help=t("cli.train.opt.model"),
)
@click.option("--data", default="auto", show_default=True, help=t("cli.train.opt.data"))
@click.option(
    "--data-dir", default=None, type=click.Path(file_okay=False), help=t("cli.train.opt.data_dir")
)
@click.option("--epochs", type=int, default=5, show_default=True, help=t("cli.train.opt.epochs"))
@click.option(
    "--batch-size", type=int, default=256, show_default=True, help=t("cli.train.opt.batch_size")
)
@click.option("--lr", type=float, default=0.05, show_default=True, help=t("cli.train.opt.lr"))
@click.option(
    "--optimizer",
    default="sgd",
    show_default=True,
    metavar="sgd|adamw|adadelta",
    help=t("cli.train.opt.optimizer"),
)
@click.option(
    "--schedule",
    default="onecycle",
    show_default=True,
    metavar="onecycle|step|constant",
    help=t("cli.train.opt.schedule"),
)
@click.option("--channels", type=int, multiple=True, help=t("cli.train.opt.channels"))
@click.option("--dropout", type=float, default=None, help=t("cli.train.opt.dropout"))
@click.option("--pool-first/--no-pool-first", default=False, help=t("cli.train.opt.pool_first"))
@click.option(
    "--strided-stem/--no-strided-stem", default=False, help=t("cli.train.opt.strided_stem")
)
@click.option("--test-flip/--no-test-flip", default=False, help=t("cli.train.opt.test_flip"))
@click.option("--hidden", type=int, default=None, help=t("cli.train.opt.hidden"))
@click.option(
    "--label-smoothing",
    type=float,
    default=0.0,
    show_default=True,
    help=t("cli.train.opt.label_smoothing"),
)
@click.option(
    "--augment",
    default="none",
    show_default=True,
    metavar="none|flip|roll",
    help=t("cli.train.opt.augment"),
)
@click.option("--target-acc", type=float, default=None, help=t("cli.train.opt.target_acc"))
@click.option("--time-budget", type=float, default=None, help=t("cli.train.opt.time_budget"))
@click.option("--recipe", default="default", show_default=True, help=t("train.recipe.opt.recipe"))
@click.option(
    "--eval-when",
    default="epoch",
    show_default=True,
    metavar="epoch|near-target",
    help=t("train.recipe.opt.eval_when"),
)
@click.option(
    "--precision",
    default="fp32",
    show_default=True,
    metavar="fp32|bf16|auto",
    help=t("train.recipe.opt.precision"),
)
@click.option(
    "--device",
    default="auto",
    show_default=True,
    metavar="auto|cpu|cuda|mps",
    help=t("cli.train.opt.device"),
)
@click.option("--threads", type=int, default=None, help=t("cli.train.opt.threads"))
@click.option("--seed", type=int, default=0, show_default=True, help=t("cli.train.opt.seed"))
@click.option("--limit", type=int, default=None, help=t("cli.train.opt.limit"))
@click.option(
    "--out",
    default="cnnlab-out/train",
    show_default=True,
    type=click.Path(file_okay=False),
    help=t("cli.train.opt.out"),
)
@click.option("--resume", is_flag=True, help=t("cli.train.opt.resume"))
@click.option("--overwrite", is_flag=True, help=t("cli.train.opt.overwrite"))
@click.option(
    "--label-column", default="label", show_default=True, help=t("cli.train.opt.label_column")
)
@folder_options
@text_options
@json_option
@lang_option
@click.pass_context
def train(
    ctx: click.Context,
    model: str,
    data: str,
    data_dir: str | None,
    label_column: str,
    channels: tuple[int, ...],
    dropout: float | None,
    pool_first: bool,
    strided_stem: bool,
    test_flip: bool,
    hidden: int | None,
    limit: int | None,
    recipe: str,
    out: str,
    resume: bool,
    overwrite: bool,
    as_json: bool,
    **opts: Any,
) -> None:
    from cnnlab.data import resolve
    from cnnlab.train.session import Architecture, output_lock, plan_training, run_training

    out_dir = check_out_dir(out)  # fail fast, create nothing
    folder = pop_folder_options(opts)  # folder:<path> transform and split (None: not given)
    text = pop_text_options(opts)  # nsmc, csvtext:<path>: tokenizer and vocabulary (None: default)
    given = {
        p.name
        for p in ctx.command.params
        if p.name and ctx.get_parameter_source(p.name) != ParameterSource.DEFAULT
    }
    # One run per folder, held from the first check to the last write; a refused or failed run
    # leaves no folder it created behind.
    with output_lock(out_dir):
        plan = plan_training(
            model,
            data,
            options=opts,
            out=out_dir,
            resume=resume,
            overwrite=overwrite,
            limit=limit,
            data_dir=data_dir,
            given=given,
            arch=Architecture(channels, dropout, pool_first, hidden, strided_stem, test_flip),
            label_column=label_column,
            folder=folder,
            text=text,
            recipe=recipe,
        )
        info(resolve(plan.data, plan.data_dir).describe())
        _note_recipe(plan, recipe)
        _note_precision(plan.config)
        folder_notes(plan.data, plan.folder)
        text_plan_notes(plan)
        with ProgressBar() as progress:
            run = run_training(plan, _note_dropped(progress))
    if not run.reports:
        return  # under torchrun only rank 0 reports
    result = run.result
    if as_json:
        click.echo(json.dumps(run.to_dict(), ensure_ascii=False))
        return
    click.echo(
        t(
            "cli.train.done",
            model=plan.model,
            params=run.params,
            data=plan.data,
            steps=result.global_step,
            epochs=result.epochs_completed,
            stopped=t(f"cli.train.stopped.{result.stopped}"),
            elapsed=result.elapsed,
        )
    )
    if result.metrics is not None:
        _echo_metrics(result.metrics.to_dict(), run.classes)
    text_run_notes(run)
    if result.checkpoint:
        click.echo(t("cli.train.checkpoint", path=str(Path(result.checkpoint).parent)))


def _note_precision(config: Any) -> None:
    """Say what ``--precision auto`` or ``bf16`` computes in on this machine."""
    if config.precision == "fp32":
        return
    from cnnlab.train.device import native_bf16, resolve_device, resolve_precision

    device = resolve_device(config.device)
    if resolve_precision(config.precision, device) == "fp32":
        info(t("train.precision.fp32", device=device.type))
    else:
        native = t("train.precision.native" if native_bf16(device) else "train.precision.emulated")
        info(t("train.precision.bf16", device=device.type, native=native))


def _note_recipe(plan: Any, asked: str) -> None:
    """Say which recipe the run uses (as the options that give it) and which options replaced
    its fields, or that no recipe is known for this model and data."""
    if plan.recipe is not None:
        info(t("train.recipe.using", name=plan.recipe.name, options=plan.recipe.options()))
        if plan.overridden:
            info(t("train.recipe.overridden", names=", ".join(plan.overridden)))
    elif plan.config.resume:
        return  # a resumed run continues with its checkpoint's settings
    elif asked == "none":
        info(t("train.recipe.off"))
    else:
        info(t("train.recipe.none", model=plan.model, data=plan.data))


def _note_dropped(progress: Any) -> Any:
    """Say at the start when the last, partial batch of each epoch is left out (``--limit 500``
    at ``--batch-size 256`` is one step per epoch, not two), then pass every event on."""

    def callback(event: dict[str, Any]) -> None:
        if event.get("kind") == "start":
            n, batch = int(event.get("n_train", 0)), int(event.get("batch_size", 0))
            steps = int(event.get("steps_per_epoch", 0))
            if batch and n % batch and steps:
                info(
                    t("train.dropped_batch", n=n, batch=batch, steps=steps, left=n - steps * batch)
                )
        progress(event)

    return callback


def _echo_metrics(m: dict[str, Any], classes: list[str] | None) -> None:
    classes = classes or [str(i) for i in range(len(m["per_class_accuracy"]))]
    click.echo(t("cli.train.metrics", acc=100 * m["accuracy"], loss=m["loss"], n=m["n"]))
    click.echo(t("cli.train.per_class"))
    for i, acc in enumerate(m["per_class_accuracy"]):
        name = classes[i] if i < len(classes) else str(i)
        click.echo(f"  {i:>2} {name:<14} {100 * acc:6.2f}%")
    click.echo(t("cli.train.confusion"))
    for row in m["confusion"]:
        click.echo("  " + " ".join(f"{v:>5}" for v in row))


@click.command("evaluate", help=t("cli.evaluate.help"))
@click.option(
    "--checkpoint",
    "checkpoint",
    required=True,
    type=click.Path(),
    help=t("cli.evaluate.opt.checkpoint"),
)
@click.option("--data", default=None, help=t("cli.evaluate.opt.data"))
@click.option(
    "--data-dir", default=None, type=click.Path(file_okay=False), help=t("cli.train.opt.data_dir")
)
@click.option(
    "--split",
    type=click.Choice(["test", "train"]),
    default="test",
    show_default=True,
    help=t("cli.evaluate.opt.split"),
)
@click.option("--limit", type=int, default=None, help=t("cli.evaluate.opt.limit"))
@click.option("--device", default="auto", show_default=True, help=t("cli.train.opt.device"))
@click.option("--label-column", default=None, help=t("cli.evaluate.opt.label_column"))
@json_option
@lang_option
def evaluate(
    checkpoint: str,
    data: str | None,
    data_dir: str | None,
    split: str,
    limit: int | None,
    device: str,
    label_column: str | None,
    as_json: bool,
) -> None:
    from cnnlab.train.session import check_data_name, check_series_fit, load_split

    if data is not None:
        check_data_name(data)
    from cnnlab.train import evaluate as run_eval
    from cnnlab.train import load_model

    loaded = load_model(checkpoint)
    from cnnlab.train.folder_data import trained_data

    # as trained (a folder by its recorded absolute path: evaluate may run from another folder)
    data = data or trained_data(loaded.meta) or loaded.meta.get("run", {}).get("data") or "auto"
    check_data_name(data)
    check_series_fit(str((loaded.meta.get("model") or {}).get("name", "")), data)
    run_info = loaded.meta.get("run", {})
    column = label_column or run_info.get("label_column") or "label"  # as trained, unless given
    from cnnlab.train.folder_data import folder_options as trained_folder

    folder = trained_folder(loaded.meta)  # a folder set is read through its training transform
    from cnnlab.train.text import text_split_for

    ds = text_split_for(loaded.meta, checkpoint, data, data_dir, split == "train", limit, column)
    if ds is None:  # neither the model nor the data is text
        ds = load_split(data, data_dir, split == "train", limit, column, folder)
        note_split(loaded.meta, ds, split)  # a folder whose files changed since training
    m = run_eval(loaded.model, ds, loaded.preprocess, device=device).to_dict()
    if as_json:
        click.echo(json.dumps({"checkpoint": checkpoint, "data": data, "split": split, **m}))
        return
    click.echo(t("cli.evaluate.header", checkpoint=checkpoint, data=data, split=split))
    _echo_metrics(m, getattr(ds, "classes", None))


@click.command("predict", help=t("cli.predict.help"))
@click.option(
    "--checkpoint",
    "checkpoint",
    required=True,
    type=click.Path(),
    help=t("cli.evaluate.opt.checkpoint"),
)
@click.argument("image", type=click.Path(), metavar="IMAGE|SERIES|TEXT")
@click.option("--top", type=int, default=3, show_default=True, help=t("cli.predict.opt.top"))
@click.option("--invert/--no-invert", default=None, help=t("cli.predict.opt.invert"))
@click.option(
    "--save-input",
    type=click.Path(dir_okay=False),
    default=None,
    help=t("cli.predict.opt.save_input"),
)
@json_option
@lang_option
def predict(
    checkpoint: str,
    image: str,
    top: int,
    invert: bool | None,
    save_input: str | None,
    as_json: bool,
) -> None:
    from cnnlab.inspect.shapes import check_positive

    check_positive("top", top)
    if predict_text(checkpoint, image, top, as_json):  # a text model: the argument is the text
        return
    if save_input:
        folder = Path(save_input).expanduser().absolute().parent
        if not folder.is_dir():
            from cnnlab.errors import OutputError

            raise OutputError("train.save_input_dir", path=save_input, folder=str(folder))
        check_out_dir(folder)
    from cnnlab.train import load_model
    from cnnlab.train.predict import open_image, prepare
    from cnnlab.train.predict import predict as run_predict
    from cnnlab.train.series import check_predict_input, is_series_file

    if is_series_file(image):
        _predict_series(checkpoint, image, top, as_json)
        return
    from cnnlab.cli.folder_opts import predict_folder

    if predict_folder(checkpoint, image, top, as_json):  # trained on folder:<path>
        return
    prepared = prepare(open_image(image), invert)  # bad image → DataError before loading the model
    loaded = load_model(checkpoint)
    check_predict_input(loaded.meta, checkpoint, image, series=False)
    if not prepared.ink:  # the steps show why; a class for a blank page would be noise
        from cnnlab.errors import DataError

        if not as_json:
            _echo_steps(prepared)
        raise DataError("train.predict_no_ink", path=image)
    ranking = run_predict(loaded.model, loaded.preprocess, prepared, loaded.classes)[:top]
    if save_input:
        import io

        from PIL import Image

        from cnnlab.fileio import atomic_write_bytes

        buf = io.BytesIO()
        Image.fromarray(prepared.pixels).save(buf, format="PNG")
        atomic_write_bytes(save_input, buf.getvalue())
    if as_json:
        click.echo(
            json.dumps(
                {
                    "image": image,
                    "prediction": ranking[0],
                    "top": ranking,
                    "preprocessing": prepared.describe(),
                    "inverted": prepared.inverted,
                    "input_28x28": prepared.pixels.tolist(),
                    "saved_input": save_input,
                },
                ensure_ascii=False,
            )
        )
        return
    _echo_steps(prepared)
    click.echo(t("cli.predict.result", cls=ranking[0]["class"], prob=100 * ranking[0]["prob"]))
    for r in ranking:
        click.echo(f"  {r['index']:>2} {r['class']:<14} {100 * r['prob']:6.2f}%")
    if save_input:
        click.echo(t("cli.saved", path=save_input))


def _echo_steps(prepared: Any) -> None:
    """The preprocessing steps (names in the user's language) and the 28×28 input as text."""
    click.echo(t("cli.predict.steps"))
    for step in prepared.describe():
        name = t(f"train.predict_step.{step['step'].split()[0]}")
        pad = " " * max(1, 16 - _width(name))  # Hangul takes two terminal columns
        click.echo(f"  {name}{pad}{step['size'][0]}×{step['size'][1]} {step['mode']}")
    click.echo(prepared.ascii())


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _predict_series(checkpoint: str, path: str, top: int, as_json: bool) -> None:
    """``predict`` for a series model: read, z-normalise as the training data was, rank."""
    from cnnlab.i18n import Msg
    from cnnlab.train import load_model
    from cnnlab.train.series import (
        check_predict_input,
        predict_series,
        prepare_series,
        read_series,
    )

    loaded = load_model(checkpoint)
    check_predict_input(loaded.meta, checkpoint, path, series=True)
    znorm = bool((loaded.meta.get("run") or {}).get("znorm", False))
    channels = int(loaded.input_shape[0]) if loaded.input_shape else 1
    x = prepare_series(read_series(path, channels), znorm)  # (C, L)
    ranking = predict_series(loaded.model, loaded.preprocess, x, loaded.classes)[:top]
    if as_json:
        result = {"series": path, "shape": list(x.shape), "znorm": znorm}
        click.echo(json.dumps({**result, "prediction": ranking[0], "top": ranking}))
        return
    norm = Msg("data.series.norm.znorm" if znorm else "data.series.norm.none")
    c, length = x.shape
    click.echo(t("cli.predict.series_input", path=path, channels=c, length=length, norm=norm))
    click.echo(t("cli.predict.result", cls=ranking[0]["class"], prob=100 * ranking[0]["prob"]))
    for r in ranking:
        click.echo(f"  {r['index']:>2} {r['class']:<14} {100 * r['prob']:6.2f}%")


commands = [train, evaluate, predict]
