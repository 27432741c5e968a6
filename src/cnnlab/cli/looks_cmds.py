"""``cnnlab maps`` and ``cnnlab looks``: look inside any model, on any image dataset.

    cnnlab maps  --model SOURCE --data DATA [--index I | --image FILE] [--layer NAME]... --out DIR
    cnnlab looks --model SOURCE --data DATA --layer NAME --channel C [--k 9] --out DIR
    cnnlab looks --where --model SOURCE --data DATA [--index I | --image FILE] [--layer NAME]
                 [--target CLASS] --out DIR

- ``maps``: the feature maps of one input at every convolution, pooling and activation layer (or
  the ``--layer`` ones): a figure per layer and ``maps.json`` (shape, mean, share of positive
  values per channel).
- ``looks``: what channel ``C`` of ``--layer`` wants to see — the input optimised by gradient
  ascent, next to the ``--k`` real patches of ``--data`` that excite it most, with the noise control
  (``looks.json``, ``wants-<layer>-<C>.png``).
- ``looks --where``: where the net looks for the predicted class (or ``--target``) of one input —
  saliency and Grad-CAM (``--layer`` picks Grad-CAM's layer; default the last spatial one).

``--model`` is any source :func:`cnnlab.models.sources.load_model` accepts (registry name,
``module:Class``, ``file.py:Class``, checkpoint folder); a checkpoint's standardisation is applied
before the model, so pictures stay in pixel space. Everything is validated (layer names, channel
range, index, output folder) before anything is written; a failure writes nothing (exit 2).
Torch is imported only when a command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cnnlab.cli.common import (
    check_out_dir,
    hold_out_dir,
    json_option,
    lang_option,
    load_model_option,
    model_options,
)
from cnnlab.cli.folder_opts import folder_notes, folder_options
from cnnlab.i18n import t

DEFAULT_SHAPE = (1, 28, 28)  # a model of unknown input with no --data: an MNIST-sized image


class Subject:
    """The model, its preprocessing, the dataset (or None) and the class names, loaded once."""

    def __init__(
        self,
        model: str,
        kw: tuple[str, ...],
        weights: str | None,
        data: str | None,
        input_size: str | None = None,
        folder_values: dict[str, Any] | None = None,
    ):
        size = parse_input_size(input_size) if input_size else None  # before any work
        loaded = load_model_option(model, kw, weights)
        self.model = loaded.model
        self.name = loaded.name
        meta = _checkpoint_meta(model) if loaded.source_kind == "checkpoint" else {}
        pre = meta.get("preprocess")
        self.preprocess = _standardise(pre) if pre else None
        # a folder-trained checkpoint records its transform; --image-size etc. override it
        self.folder = _folder(meta, folder_values or {})
        self.dataset: Any = None
        if data is not None:
            from cnnlab.data import get_dataset

            self.dataset = get_dataset(data, train=False, folder=self.folder)
            folder_notes(data, self.folder)  # a folder set: its transform and split, on stderr
        shape = tuple(loaded.input_shape) if loaded.input_shape else size
        if self.dataset is not None:
            sample = tuple(self.dataset[0][0].shape)
            if len(sample) != 3:
                from cnnlab.errors import ConfigError

                raise ConfigError("inspect.patches.not_image", shape=sample)
            if shape is not None and sample != shape:
                from cnnlab.errors import ConfigError

                raise ConfigError(
                    "looks.shape_mismatch", data=data, shape=_dims(sample), model=_dims(shape)
                )
            shape = sample
        self.input_shape: tuple[int, ...] = shape or DEFAULT_SHAPE
        classes = getattr(self.dataset, "classes", None) or meta.get("classes")
        self.classes = [str(c) for c in classes] if classes else []

    def pre(self, x: Any) -> Any:
        return self.preprocess(x) if self.preprocess is not None else x

    def label(self, k: int) -> str:
        return self.classes[k] if 0 <= k < len(self.classes) else str(k)


def parse_input_size(text: str) -> tuple[int, int, int]:
    """``"3,32,32"`` or ``"3x32x32"`` → ``(3, 32, 32)``; ConfigError naming the value otherwise."""
    from cnnlab.errors import ConfigError

    parts = [p.strip() for p in text.lower().replace("x", ",").replace("×", ",").split(",")]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or not all(1 <= v <= 4096 for v in values):
        raise ConfigError("looks.input_size", value=text)
    return values[0], values[1], values[2]


def _dims(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


def _checkpoint_meta(path: str) -> dict[str, Any]:
    from cnnlab.models.stored import read_index

    return read_index(path)[1]


def _standardise(record: dict[str, Any]) -> Any:
    """The checkpoint's standardisation (the model was trained on standardised inputs)."""
    from cnnlab.train.tensors import Preprocess

    return Preprocess.from_dict(record).apply


def _folder(meta: dict[str, Any], values: dict[str, Any]) -> Any:
    """The ``folder:`` transform: the checkpoint's (if trained on a folder), with the options given
    on the command line replacing its fields; None when neither exists (the dataset default)."""
    from cnnlab.cli.folder_opts import pop_folder_options
    from cnnlab.train.folder_data import folder_options as recorded

    return pop_folder_options(dict(values), recorded(meta) if meta else None)


def _input(subject: Subject, index: int | None, image: str | None) -> tuple[Any, str]:
    """One input ``(C, H, W)`` in [0, 1] and what it is (an ``--image`` or a ``--data`` item)."""
    import torch

    from cnnlab.errors import ConfigError

    if image is not None and index is not None:
        raise ConfigError("looks.index_and_image")
    if image is not None:
        if subject.folder is not None:  # the folder transform the model was trained with
            from cnnlab.train.folder_data import read_image

            pixels = read_image(image, subject.folder)  # (C, S, S) uint8
            return torch.from_numpy(pixels).float().div(255), Path(image).name
        return _image_input(image, subject.input_shape), Path(image).name
    if subject.dataset is None:
        raise ConfigError("looks.no_input")
    i = subject.dataset.check_index(0 if index is None else index)
    x, label = subject.dataset[i]
    return torch.as_tensor(x, dtype=torch.float32), t(
        "looks.item", index=i, label=subject.label(int(label))
    )


def _image_input(path: str, shape: tuple[int, ...]) -> Any:
    """An image file as the model's input: MNIST's digit preparation for a 1×28×28 model, else
    grayscale/RGB by the channel count and a resize to the model's size."""
    import numpy as np
    import torch
    from PIL import Image

    from cnnlab.errors import ConfigError
    from cnnlab.train.predict import open_image, prepare

    img = open_image(path)
    if tuple(shape) == (1, 28, 28):
        return torch.from_numpy(prepare(img).pixels).float().div(255).unsqueeze(0)  # (1, 28, 28)
    c, h, w = shape
    if c not in (1, 3):
        raise ConfigError("looks.image_channels", c=c)
    img = img.convert("L" if c == 1 else "RGB").resize((w, h), Image.Resampling.LANCZOS)
    a = np.asarray(img, dtype=np.float32) / 255.0
    a = a[None] if c == 1 else a.transpose(2, 0, 1)  # (C, H, W)
    return torch.from_numpy(np.ascontiguousarray(a))


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name) or "model"


def _write(out: Path, files: dict[str, Any]) -> list[Path]:
    """Write figures (Figure) and JSON (dict) atomically, all at the end of a successful run."""
    import io

    from cnnlab.fileio import atomic_write_bytes, atomic_write_text

    written = []
    for name, obj in files.items():
        path = out / name
        if isinstance(obj, dict):
            atomic_write_text(path, json.dumps(obj, indent=1, ensure_ascii=False) + "\n")
        else:
            buf = io.BytesIO()
            obj.savefig(buf, format="png", dpi=110)  # the builders lay out their own margins
            atomic_write_bytes(path, buf.getvalue())
        written.append(path)
    return written


def _finish(
    out: Path | None, files: dict[str, Any], payload: dict[str, Any], as_json: bool
) -> None:
    if as_json:
        click.echo(json.dumps(payload, indent=1, ensure_ascii=False))
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    written = _write(out, files)
    click.echo(t("cli.saved", path=str(out)), err=as_json)
    for path in written:
        click.echo(f"  {path}", err=as_json)


def _out(out: str | None) -> Path | None:
    return check_out_dir(out) if out else None


def _out_option(default: str) -> Any:
    return click.option(
        "--out",
        "out",
        type=click.Path(file_okay=False),
        default=default,
        show_default=True,
        help=t("looks.opt.out"),
    )


def _input_options(fn: Any) -> Any:
    fn = click.option(
        "--input-size", "input_size", default=None, metavar="C,H,W", help=t("looks.opt.input_size")
    )(fn)
    fn = click.option("--image", "image", default=None, metavar="FILE", help=t("looks.opt.image"))(
        fn
    )
    return click.option("--index", "index", type=int, default=None, help=t("looks.opt.index"))(fn)


@click.command("maps", help=t("looks.maps.help"), short_help=t("looks.maps.short"))
@model_options()
@click.option("--data", "data", default=None, metavar="DATA", help=t("looks.opt.data"))
@_input_options
@click.option("--layer", "layers", multiple=True, metavar="NAME", help=t("looks.opt.layers"))
@click.option(
    "--channels",
    "channels",
    type=click.IntRange(1, 256),
    default=32,
    show_default=True,
    help=t("looks.opt.channels"),
)
@_out_option("cnnlab-out/maps")
@folder_options
@json_option
@lang_option
def maps_cmd(
    model: str,
    kw: tuple[str, ...],
    weights: str | None,
    data: str | None,
    index: int | None,
    image: str | None,
    input_size: str | None,
    layers: tuple[str, ...],
    channels: int,
    out: str | None,
    as_json: bool,
    **folder: Any,
) -> None:
    out_dir = _out(out)
    with hold_out_dir(out_dir):  # a second run on the folder is refused; a failure leaves nothing
        _maps(
            model,
            kw,
            weights,
            data,
            index,
            image,
            input_size,
            layers,
            channels,
            out_dir,
            as_json,
            folder,
        )


def _maps(
    model: str,
    kw: tuple[str, ...],
    weights: str | None,
    data: str | None,
    index: int | None,
    image: str | None,
    input_size: str | None,
    layers: tuple[str, ...],
    channels: int,
    out_dir: Path | None,
    as_json: bool,
    folder: dict[str, Any],
) -> None:
    import torch

    from cnnlab.inspect.feature_maps import default_layers, feature_maps, find_module
    from cnnlab.viz.looks import maps_figure

    subject = Subject(model, kw, weights, data, input_size, folder)
    for name in layers:
        find_module(subject.model, name)  # a mistyped name: the valid ones, before any work
    x, what = _input(subject, index, image)
    chosen = list(layers) or default_layers(subject.model)
    if not chosen:
        from cnnlab.errors import ConfigError

        raise ConfigError("looks.no_layers")
    with torch.no_grad():
        recorded = feature_maps(subject.model, subject.pre(x[None]), layers=chosen)
    rows: list[dict[str, Any]] = []
    files: dict[str, Any] = {}
    seen: set[str] = set()
    for m in recorded:
        values = m.output[0].float()  # (C, h, w) or (F,)
        row = {
            "layer": m.name,
            "kind": m.kind,
            "shape": list(values.shape),
            "mean": round(float(values.mean()), 6),
            "max": round(float(values.max()), 6),
            "positive": round(float((values > 0).float().mean()), 6),
        }
        if values.ndim == 3:
            row["channel_max"] = values.flatten(1).max(1).values.round(decimals=6).tolist()
        rows.append(row)
        if values.ndim == 3 and m.name not in seen:  # a module called twice: its first call
            seen.add(m.name)
            fig = maps_figure(
                x.numpy(), values.numpy(), m.name, m.kind, subject.name, max_channels=channels
            )
            files[f"maps-{_slug(m.name)}.png"] = fig
    payload = {"model": subject.name, "input": what, "input_shape": list(x.shape), "layers": rows}
    files["maps.json"] = payload
    if not as_json:
        click.echo(
            t("looks.maps.header", model=subject.name, input=what, shape=_dims(tuple(x.shape)))
        )
        for r in rows:
            click.echo(
                t(
                    "looks.maps.row",
                    layer=r["layer"],
                    kind=r["kind"],
                    shape=_dims(tuple(r["shape"])),
                    mean=r["mean"],
                    positive=100 * r["positive"],
                )
            )
    _finish(out_dir, files, payload, as_json)


@click.command("looks", help=t("looks.looks.help"), short_help=t("looks.looks.short"))
@model_options()
@click.option("--data", "data", default=None, metavar="DATA", help=t("looks.opt.data"))
@click.option("--layer", "layer", default=None, metavar="NAME", help=t("looks.opt.layer"))
@click.option("--channel", "channel", type=int, default=None, help=t("looks.opt.channel"))
@click.option(
    "--k", "k", type=click.IntRange(1, 64), default=9, show_default=True, help=t("looks.opt.k")
)
@click.option(
    "--limit",
    "limit",
    type=click.IntRange(1, 100_000),
    default=2000,
    show_default=True,
    help=t("looks.opt.limit"),
)
@click.option(
    "--steps",
    "steps",
    type=click.IntRange(1, 5000),
    default=128,
    show_default=True,
    help=t("looks.opt.steps"),
)
@click.option("--seed", "seed", type=int, default=0, show_default=True, help=t("looks.opt.seed"))
@click.option("--where", "where", is_flag=True, help=t("looks.opt.where"))
@_input_options
@click.option("--target", "target", type=int, default=None, help=t("looks.opt.target"))
@_out_option("cnnlab-out/looks")
@folder_options
@json_option
@lang_option
def looks_cmd(
    model: str,
    kw: tuple[str, ...],
    weights: str | None,
    data: str | None,
    layer: str | None,
    channel: int | None,
    k: int,
    limit: int,
    steps: int,
    seed: int,
    where: bool,
    index: int | None,
    image: str | None,
    input_size: str | None,
    target: int | None,
    out: str | None,
    as_json: bool,
    **folder: Any,
) -> None:
    from cnnlab.errors import ConfigError

    if not where and (layer is None or channel is None):
        raise ConfigError("looks.needs_layer_channel")
    if not where and data is None:
        raise ConfigError("looks.needs_data")
    out_dir = _out(out)
    with hold_out_dir(out_dir):  # a second run on the folder is refused; a failure leaves nothing
        if where:
            _where(
                model,
                kw,
                weights,
                data,
                layer,
                index,
                image,
                input_size,
                target,
                out_dir,
                as_json,
                folder,
            )
        else:
            if layer is None or channel is None or data is None:  # checked above
                raise RuntimeError("looks: layer, channel and data were checked before")
            _wants(
                model,
                kw,
                weights,
                data,
                layer,
                channel,
                k,
                limit,
                steps,
                seed,
                out_dir,
                as_json,
                folder,
            )


def _wants(
    model: str,
    kw: tuple[str, ...],
    weights: str | None,
    data: str,
    layer: str,
    channel: int,
    k: int,
    limit: int,
    steps: int,
    seed: int,
    out: Path | None,
    as_json: bool,
    folder: dict[str, Any],
) -> None:
    from cnnlab.inspect.maximize import channel_count, maximize
    from cnnlab.inspect.patches import check_channels, top_patches, unit_field
    from cnnlab.viz.looks import wants_figure

    subject = Subject(model, kw, weights, data, None, folder)
    shape = subject.input_shape
    check_channels([channel], channel_count(subject.model, layer, shape), layer)
    field = unit_field(subject.model, layer, shape)
    tp = top_patches(
        subject.model,
        layer,
        subject.dataset,
        k=k,
        channels=[channel],
        limit=limit,
        preprocess=subject.pre,
        field=field,
    )
    mx = maximize(
        subject.model,
        layer,
        channel,
        shape,
        steps=steps,
        seed=seed,
        preprocess=subject.pre,
        field=field,
    )
    labels = [subject.label(int(v)) for v in tp.labels[0]]
    fig = wants_figure(
        mx.crop(),
        mx.trajectory,
        (mx.random_mean, mx.random_max),
        tp.patches[0],
        tp.activations[0].tolist(),
        labels,
        layer,
        channel,
        field.size,
    )
    best = float(tp.activations[0, 0])
    payload = {
        "model": subject.name,
        "data": data,
        "maximize": mx.to_dict(),
        "top_patches": tp.to_dict(),
        "maximized_vs_best_real": mx.final / best if best > 0 else None,
    }
    if not as_json:
        if field.whole:
            click.echo(t("looks.wants.field_whole", layer=layer, h=field.size[0], w=field.size[1]))
        else:
            click.echo(
                t(
                    "looks.wants.field",
                    layer=layer,
                    h=field.size[0],
                    w=field.size[1],
                    jump=field.jump[0],
                    method=t(f"looks.method.{field.method}"),
                )
            )
        click.echo(t("looks.wants.ascent", c=channel, value=mx.final, steps=steps, seed=seed))
        if mx.random_max <= 0:  # noise never switches the channel on: no ratio to give
            click.echo(t("looks.wants.noise_silent", n=len(mx.random), top=mx.random_max))
        elif mx.random_mean <= 0:  # a ratio to a mean at or below 0 says nothing
            click.echo(
                t(
                    "looks.wants.noise_below",
                    n=len(mx.random),
                    mean=mx.random_mean,
                    top=mx.random_max,
                    ratio_max=_times(mx.ratio_to_max),
                )
            )
        else:
            click.echo(
                t(
                    "looks.wants.noise",
                    n=len(mx.random),
                    mean=mx.random_mean,
                    top=mx.random_max,
                    ratio=_times(mx.ratio),
                    ratio_max=_times(mx.ratio_to_max),
                )
            )
        click.echo(
            t(
                "looks.wants.real",
                n=tp.n_images,
                value=best,
                index=int(tp.indices[0, 0]),
                label=labels[0],
                mean=float(tp.channel_mean[0]),
                ratio=_times(mx.final / best if best > 0 else float("inf")),
            )
        )
    slug = f"{_slug(layer)}-{channel}"
    _finish(out, {f"wants-{slug}.png": fig, f"looks-{slug}.json": payload}, payload, as_json)


def _times(v: float) -> str:
    """A ratio as "9.1×" / "9.1배", or the words for infinity."""
    import math

    return t("looks.times", v=v) if math.isfinite(v) else "∞"


def _where(
    model: str,
    kw: tuple[str, ...],
    weights: str | None,
    data: str | None,
    layer: str | None,
    index: int | None,
    image: str | None,
    input_size: str | None,
    target: int | None,
    out: Path | None,
    as_json: bool,
    folder: dict[str, Any],
) -> None:
    from cnnlab.inspect.attribution import where_looks
    from cnnlab.viz.looks import where_figure

    subject = Subject(model, kw, weights, data, input_size, folder)
    x, what = _input(subject, index, image)
    looks = where_looks(subject.model, x, layer, target, subject.pre)
    fig = where_figure(
        looks.image,
        looks.saliency,
        looks.cam,
        subject.label(looks.predicted),
        float(looks.probs[looks.predicted]),
        subject.label(looks.target),
        looks.layer,
        looks.cam_raw.shape,
    )
    payload = {"model": subject.name, "input": what, **looks.to_dict()}
    if not as_json:
        click.echo(
            t(
                "looks.where.predicted",
                input=what,
                label=subject.label(looks.predicted),
                p=100 * float(looks.probs[looks.predicted]),
            )
        )
        click.echo(
            t(
                "looks.where.cam",
                layer=looks.layer,
                h=looks.cam_raw.shape[0],
                w=looks.cam_raw.shape[1],
                target=subject.label(looks.target),
            )
        )
    _finish(out, {"where.png": fig, "where.json": payload}, payload, as_json)


commands: list[click.Command] = [maps_cmd, looks_cmd]

__all__ = ["commands"]
