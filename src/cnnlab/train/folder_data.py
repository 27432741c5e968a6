"""Training on ``folder:<path>`` image sets: what the plan checks, and predicting one image file.

A folder decides the model's input and output: ``in_channels`` (1 gray, 3 rgb), ``image_size`` and
``num_classes`` (one per class sub-folder). :func:`plan_folder` reads the folder once (the decode
is memoised, :func:`cnnlab.data.folder.load_folder`) while the run is being planned, so every
folder error — missing folder, one class, an empty class, a file that is not an image, fewer
training images than the batch — is raised before any output folder exists. The checkpoint's
``run.folder`` records the transform, the classes and the split's file-list hashes;
:func:`folder_options` reads them back for ``evaluate`` and ``predict``, and
:func:`predict_image` sends one image file through the same transform as the training images.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from cnnlab.data.folder import (
    FolderOptions,
    decode,
    is_folder_name,
    load_folder,
    resolve_options,
)
from cnnlab.errors import DataError, os_reason


def plan_folder(
    data: str, folder: FolderOptions | None, batch_size: int, limit: int | None = None
) -> tuple[FolderOptions | None, dict[str, int]]:
    """``(options, model keywords)`` for a folder set; ``(None, {})`` for any other dataset.

    Decodes the folder (memoised for the run that follows) and refuses a training split smaller
    than one batch (``limit`` included).
    """
    if not is_folder_name(data):
        return None, {}
    options = resolve_options(data, folder)
    whole = load_folder(data, options)
    n_train = len(whole.split()[0])
    if limit is not None:
        n_train = min(n_train, limit)
    if n_train < batch_size:
        raise DataError("data.folder.too_few", path=str(whole.root), n=n_train, batch=batch_size)
    return options, {
        "in_channels": options.channels,
        "image_size": options.size,
        "num_classes": len(whole.classes),
    }


def folder_options(meta: dict[str, Any]) -> FolderOptions | None:
    """The transform and split a checkpoint was trained with (None: not a folder run)."""
    run = meta.get("run") or {}
    record = run.get("folder")
    return FolderOptions.from_dict(record) if isinstance(record, dict) else None


def trained_data(meta: dict[str, Any]) -> str | None:
    """``folder:<absolute path>`` of the folder a checkpoint was trained on (None: not a folder
    run). The recorded name may be relative to where ``train`` ran."""
    record = (meta.get("run") or {}).get("folder")
    if isinstance(record, dict) and isinstance(record.get("path"), str):
        return f"folder:{record['path']}"
    return None


def read_image(path: str | os.PathLike[str], options: FolderOptions) -> np.ndarray:
    """One image file through the folder transform: uint8 ``(C, S, S)``; DataError naming it."""
    from PIL import Image, UnidentifiedImageError

    if not os.path.isfile(path):
        raise DataError("error.image_missing", path=str(path))
    try:
        return decode(path, options)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError("data.folder.bomb", path=str(path)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError("error.image_invalid", path=str(path), reason=os_reason(exc)) from exc


def predict_image(
    model: Any, preprocess: Any, pixels: np.ndarray, classes: list[str]
) -> list[dict[str, Any]]:
    """Class probabilities for ``pixels`` uint8 ``(C, S, S)``, best first:
    ``[{"class", "index", "prob"}]``."""
    import torch

    from cnnlab.train.predict import ranked_classes

    x = torch.from_numpy(np.ascontiguousarray(pixels)).to(torch.float32).div_(255.0)[None]
    return ranked_classes(model, preprocess, x, classes)


__all__ = ["plan_folder", "folder_options", "trained_data", "read_image", "predict_image"]
