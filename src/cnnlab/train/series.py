"""Series through the image trainer: fit a series model to its data, and read a series to predict.

A series dataset (``ds.series`` ``(N, C, L)``) trains through the same :func:`cnnlab.train.fit` as
the images (carried as ``(N, C, 1, L)``, see :mod:`cnnlab.train.tensors`). What differs lives here:

- :func:`model_kwargs_for` refuses a series model on images and an image model on series, and
  gives a series model the data's channels, length and class count, so the checkpoint's model spec
  can rebuild it (``{"name": "cnn1d", "kwargs": {"in_channels": 6, "length": 100, ...}}``);
- :func:`series_info` is what the checkpoint records under ``"run"`` about the input: ``(C, L)``
  and whether each series was z-normalised (which ``predict`` must then repeat);
- :func:`read_series` reads one series for ``predict`` from a ``.npy`` (``(L,)`` or ``(C, L)``) or
  a CSV file (one row per channel), and :func:`predict_series` ranks the classes.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cnnlab.errors import ConfigError, DataError
from cnnlab.i18n import Msg
from cnnlab.train.tensors import Preprocess, is_series

SERIES_SUFFIXES = (".npy", ".csv")  # predict reads these as a series, anything else as an image


def _series_models() -> tuple[str, ...]:
    from cnnlab.models.series import SERIES_MODELS

    return SERIES_MODELS


def check_model_fits_data(model: str, data: str, series: bool) -> None:
    """ConfigError unless ``model`` takes the kind of input dataset ``data`` holds."""
    from cnnlab.models import names

    wants_series = model in _series_models()
    if wants_series == series:
        return
    from cnnlab.models.textcnn import TEXT_MODELS  # text models are named by train/text.py

    valid = [n for n in names() if (n in _series_models()) == series and n not in TEXT_MODELS]
    raise ConfigError(
        "train.series.model_data",
        model=model,
        data=data,
        needs=Msg("train.series.kind.series" if wants_series else "train.series.kind.images"),
        holds=Msg("train.series.kind.series" if series else "train.series.kind.images"),
        valid=", ".join(valid),
    )


def model_kwargs_for(model: str, data: str, ds: Any) -> dict[str, Any]:
    """Keywords the data decides (``in_channels``, ``length``, ``num_classes``) for a series model.

    Empty for an image model (its defaults fit the MNIST family). Raises ConfigError for a model
    that does not take the data's kind of input.
    """
    series = is_series(ds)
    check_model_fits_data(model, data, series)
    if not series:
        return {}
    _, c, length = ds.series.shape  # (N, C, L)
    classes = getattr(ds, "classes", None)
    k = len(classes) if classes else int(np.max(ds.labels)) + 1
    return {"in_channels": int(c), "length": int(length), "num_classes": k}


def series_info(ds: Any) -> dict[str, Any]:
    """What a checkpoint records about a series input (nothing for images)."""
    if not is_series(ds):
        return {}
    _, c, length = ds.series.shape  # (N, C, L)
    return {
        "input": "series",
        "channels": int(c),
        "length": int(length),
        "znorm": bool(getattr(ds, "znorm", False)),
    }


def subset_series(ds: Any, limit: int) -> Any:
    """The first ``limit`` series of ``ds``, still a series dataset (for ``--limit``)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        series=ds.series[:limit],  # (limit, C, L)
        labels=ds.labels[:limit],
        classes=getattr(ds, "classes", None),
        znorm=getattr(ds, "znorm", False),
    )


def check_predict_input(meta: dict[str, Any], checkpoint: str, path: str, series: bool) -> None:
    """DataError unless the checkpoint's model takes what ``path`` holds (a series or an image)."""
    model = str((meta.get("model") or {}).get("name", "?"))
    wants_series = model in _series_models()
    if wants_series == series:
        return
    raise DataError(
        "train.series.predict_kind",
        path=checkpoint,
        model=model,
        needs=Msg("train.series.kind.series" if wants_series else "train.series.kind.images"),
        file=path,
        holds=Msg("train.series.kind.series" if series else "train.series.kind.images"),
        expected=Msg("train.series.expect.series" if wants_series else "train.series.expect.image"),
    )


def is_series_file(path: str | os.PathLike[str]) -> bool:
    """True when ``predict`` should read ``path`` as a series (``.npy`` or ``.csv``)."""
    return Path(path).suffix.lower() in SERIES_SUFFIXES


def read_series(path: str | os.PathLike[str], channels: int) -> np.ndarray:
    """One series as float32 ``(C, L)`` from ``.npy`` (``(L,)`` or ``(C, L)``) or CSV.

    A CSV holds one row per channel, values separated by commas (a one-channel series is one row).
    Raises DataError naming the file — and the row and column of a value that is not a finite
    number — or the shape that does not fit ``channels``.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError("train.series.input_missing", path=str(p))
    if p.suffix.lower() == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError("train.series.input_read", path=str(p), reason=str(exc)) from exc
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise DataError("train.series.input_read", path=str(p), reason=str(arr.dtype))
        arr = arr.astype(np.float64)
    else:
        arr = _read_csv_rows(p)
    if arr.ndim == 1:
        arr = arr[None, :]  # (L,) -> (1, L)
    if arr.ndim != 2 or arr.shape[0] != channels or arr.shape[1] < 1:
        raise DataError(
            "train.series.input_shape", path=str(p), shape=list(arr.shape), channels=channels
        )
    bad = np.argwhere(~np.isfinite(arr))  # (k, 2) row, column of NaN/inf (none for CSV)
    if len(bad):
        row, col = int(bad[0][0]), int(bad[0][1])
        raise DataError(
            "train.series.input_value",
            path=str(p),
            row=row + 1,
            column=col + 1,
            value=float(arr[row, col]),
        )
    return arr.astype(np.float32)


def _read_csv_rows(p: Path) -> np.ndarray:
    try:
        with p.open(newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if any(cell.strip() for cell in r)]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError("train.series.input_read", path=str(p), reason=str(exc)) from exc
    if not rows:
        raise DataError("train.series.input_read", path=str(p), reason="empty")
    values: list[list[float]] = []
    for i, row in enumerate(rows):
        out: list[float] = []
        for j, cell in enumerate(row):
            try:
                v = float(cell)
            except ValueError:
                v = math.nan
            if not math.isfinite(v):
                raise DataError(
                    "train.series.input_value", path=str(p), row=i + 1, column=j + 1, value=cell
                )
            out.append(v)
        values.append(out)
    if len({len(r) for r in values}) != 1:
        lengths = [len(r) for r in values]
        raise DataError("train.series.input_ragged", path=str(p), lengths=lengths)
    return np.asarray(values, dtype=np.float64)


def prepare_series(x: np.ndarray, znorm: bool) -> np.ndarray:
    """``x (C, L)`` as the training data was: z-normalised per channel if ``znorm`` (UCR
    practice; a constant channel becomes zeros), else unchanged."""
    if not znorm:
        return x
    mean = x.mean(axis=-1, keepdims=True)  # (C, 1)
    std = x.std(axis=-1, keepdims=True)  # (C, 1)
    return ((x - mean) / np.where(std < 1e-8, 1.0, std)).astype(np.float32)


@torch.no_grad()
def predict_series(
    model: torch.nn.Module, preprocess: Preprocess, x: np.ndarray, classes: list[str]
) -> list[dict[str, Any]]:
    """Class probabilities for one prepared series ``x (C, L)``, best first."""
    c, length = x.shape
    xt = torch.from_numpy(np.ascontiguousarray(x)).view(1, c, 1, length)  # (1, C, 1, L)
    model.eval()
    device = next(model.parameters()).device
    probs = torch.softmax(model(preprocess.apply(xt).to(device)).float(), dim=1)[0].cpu()
    names = classes or [str(i) for i in range(len(probs))]
    return [
        {"class": names[i] if i < len(names) else str(i), "index": i, "prob": float(probs[i])}
        for i in probs.argsort(descending=True).tolist()
    ]


__all__ = [
    "check_model_fits_data",
    "model_kwargs_for",
    "series_info",
    "subset_series",
    "is_series_file",
    "check_predict_input",
    "read_series",
    "prepare_series",
    "predict_series",
]
