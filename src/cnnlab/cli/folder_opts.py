"""The ``folder:<path>`` options of the CLI (``--image-mode``, ``--image-size``, ``--crop``,
``--skip-bad``, ``--test-fraction``) and what a command prints about a folder set: its transform,
its split and the files it skipped. ``predict`` on a checkpoint trained on a folder sends the image
through the same transform (not MNIST's digit preparation)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from cnnlab.cli.common import info
from cnnlab.i18n import t

NAMES = ("image_mode", "image_size", "crop", "skip_bad", "test_fraction")


def folder_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the folder options to a command; they reach it as keywords named in :data:`NAMES`
    (None when not given: a resumed run keeps its checkpoint's transform)."""
    for deco in reversed(
        (
            click.option(
                "--image-mode", default=None, metavar="gray|rgb", help=t("cli.folder.mode")
            ),
            click.option("--image-size", type=int, default=None, help=t("cli.folder.size")),
            click.option("--crop/--no-crop", default=None, help=t("cli.folder.crop")),
            click.option("--skip-bad", is_flag=True, default=None, help=t("cli.folder.skip_bad")),
            click.option(
                "--test-fraction", type=float, default=None, help=t("cli.folder.fraction")
            ),
        )
    ):
        fn = deco(fn)
    return fn


def pop_folder_options(values: dict[str, Any], base: Any = None) -> Any:
    """Remove the folder options from ``values``; a :class:`FolderOptions` (``base``'s values for
    the options not given), or ``base`` when none was given. Validated (ConfigError by name)."""
    import dataclasses

    from cnnlab.data.folder import FolderOptions

    given = {k: values.pop(k, None) for k in NAMES}
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        return base
    fields = {
        "image_mode": "mode",
        "image_size": "size",
        "crop": "crop",
        "skip_bad": "skip_bad",
        "test_fraction": "test_fraction",
    }
    start = base if base is not None else FolderOptions()
    return dataclasses.replace(start, **{fields[k]: v for k, v in given.items()}).validate()


def folder_notes(data: str, options: Any) -> None:
    """Print (stderr) the transform, the split and the skipped files of a folder set."""
    from cnnlab.data.folder import is_folder_name, load_folder, resolve_options

    if not is_folder_name(data):
        return
    options = resolve_options(data, options)
    whole = load_folder(data, options)  # memoised: no second decode
    info(options.describe())
    rec = whole.split_record()
    info(
        t(
            "data.folder.split",
            n_train=rec["n_train"],
            n_test=rec["n_test"],
            k=len(rec["classes"]),
            fraction=options.test_fraction,
            seed=options.seed,
            train_hash=rec["train_sha256"][:12],
        )
    )
    if whole.skipped:
        info(t("data.folder.skipped", n=len(whole.skipped), first=whole.skipped[0]))


def note_split(meta: dict[str, Any], ds: Any, split: str) -> None:
    """Say (stderr) when the folder's ``split`` is not the one the checkpoint recorded: files
    added, removed or renamed since training (the SHA-256 of the split's file list differs)."""
    from cnnlab.i18n import Msg

    then = (meta.get("run") or {}).get("folder")
    now = getattr(ds, "record", None)
    key = f"{split}_sha256"
    if not isinstance(then, dict) or not isinstance(now, dict) or not then.get(key):
        return
    if then[key] != now.get(key):
        info(
            t(
                "data.folder.split_changed",
                split=Msg(f"lab.split.{split}"),
                n_then=then.get(f"n_{split}", "?"),
                n_now=now.get(f"n_{split}", "?"),
            )
        )


def predict_folder(checkpoint: str, image: str, top: int, as_json: bool) -> bool:
    """``predict`` for a checkpoint trained on a folder set; False (nothing done) for any other."""
    from cnnlab.errors import CnnlabError
    from cnnlab.train import checkpoint as ckpt
    from cnnlab.train.folder_data import folder_options as recorded
    from cnnlab.train.folder_data import predict_image, read_image

    try:
        options = recorded(ckpt.load(checkpoint).meta)
    except CnnlabError:
        return False  # the usual path reports it, in its usual order
    if options is None:
        return False
    from cnnlab.train import load_model

    pixels = read_image(image, options)  # (C, S, S) uint8; DataError names a bad file
    loaded = load_model(checkpoint)
    ranking = predict_image(loaded.model, loaded.preprocess, pixels, loaded.classes)[:top]
    if as_json:
        out = {
            "image": image,
            "prediction": ranking[0],
            "top": ranking,
            "transform": options.to_dict(),
            "input_shape": list(pixels.shape),
        }
        click.echo(json.dumps(out, ensure_ascii=False))
        return True
    click.echo(options.describe())
    click.echo(t("cli.predict.result", cls=ranking[0]["class"], prob=100 * ranking[0]["prob"]))
    for r in ranking:
        click.echo(f"  {r['index']:>2} {r['class']:<14} {100 * r['prob']:6.2f}%")
    return True


__all__ = [
    "folder_options",
    "pop_folder_options",
    "folder_notes",
    "note_split",
    "predict_folder",
    "NAMES",
]
