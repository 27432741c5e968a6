"""Evaluate a trained model — in memory or straight from a checkpoint directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cnnlab.errors import CheckpointError, CnnlabError, ConfigError
from cnnlab.train import checkpoint as ckpt
from cnnlab.train.device import resolve_device
from cnnlab.train.metrics import Metrics, evaluate_tensors
from cnnlab.train.tensors import Preprocess, as_tensors


@dataclass
class LoadedModel:
    """A model rebuilt from a checkpoint, with what is needed to feed it (eval mode, CPU)."""

    model: nn.Module
    preprocess: Preprocess
    classes: list[str]
    input_shape: list[int]  # (C, H, W)
    meta: dict[str, Any]


def load_model(path: str | os.PathLike[str]) -> LoadedModel:
    """Rebuild the architecture from the checkpoint's model spec and load its weights.

    Raises CheckpointError if the checkpoint is corrupt, has no model spec, or does not fit.
    """
    from cnnlab.models import build_from_spec

    found = ckpt.load(path)
    spec = found.meta.get("model")
    if not spec:
        raise CheckpointError("error.ckpt_no_spec", path=str(found.path))
    try:
        model = build_from_spec(spec)
    except (CnnlabError, KeyError, TypeError) as exc:
        raise CheckpointError(
            "error.ckpt_corrupt", path=str(found.path), reason=f"model spec {spec!r}: {exc}"
        ) from exc
    ckpt.load_weights(model, found.weights, str(found.path))
    model.eval()
    return LoadedModel(
        model,
        Preprocess.from_dict(found.meta["preprocess"]),
        list(found.meta.get("classes", [])),
        list(found.meta.get("input_shape", [])),
        found.meta,
    )


def evaluate(
    model: nn.Module,
    data: Any,
    preprocess: Preprocess,
    batch_size: int = 1000,
    device: str = "auto",
) -> Metrics:
    """Loss, accuracy, per-class accuracy and confusion matrix of ``model`` on ``data``.

    ``data`` as for :func:`cnnlab.train.fit`; ``preprocess`` is the training set's standardisation
    (from :func:`load_model` or the checkpoint).
    """
    x, y = as_tensors(data)
    dev = resolve_device(device)
    model.to(dev)
    was = model.training
    model.eval()
    with torch.no_grad():
        k = int(model(preprocess.apply(x[:1]).to(dev)).shape[1])
    model.train(was)
    if int(y.max()) >= k:
        raise ConfigError("error.eval_classes", labels=int(y.max()) + 1, outputs=k)
    return evaluate_tensors(model, preprocess.apply(x), y, k, batch_size, dev)


__all__ = ["LoadedModel", "load_model", "evaluate"]
