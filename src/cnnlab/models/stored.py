"""Reading a checkpoint's model — its JSON index and its safetensors weights — below ``train``.

``cnnlab train`` writes checkpoint directories (:mod:`cnnlab.train.checkpoint` describes the
format); rebuilding the *model* from one needs only JSON, safetensors and the model registry, so
that part lives here, in the models layer, where :mod:`cnnlab.models.sources` (any model for the
inspection tools) can use it without importing the trainer. :mod:`cnnlab.train.checkpoint` and
:mod:`cnnlab.train.index` build on these functions — one reader, not two.

Nothing is unpickled: the index is JSON, the tensors are safetensors, and each tensor file is
checked against the sha256 recorded in the index before it is parsed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from torch import nn

from cnnlab.errors import CheckpointError, CnnlabError, os_reason
from cnnlab.i18n import Msg, MsgList
from cnnlab.models.registry import build_from_spec, count_params, names

FORMAT = "cnnlab-checkpoint"
VERSION = 1
INDEX = "checkpoint.json"
MAX_DIM = 1 << 16  # a channel count or side length beyond this is no checkpoint cnnlab wrote
MAX_PARAMS = 1 << 31  # 2G parameters (8 GB of float32): refuse before any model is built
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FILE = re.compile(r"(model|state)-[0-9A-Za-z_-]+\.safetensors")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class IndexCheck:
    """The index being checked, with the path and field names for the messages."""

    def __init__(self, meta: Any, path: str) -> None:
        self.meta, self.path = meta, path

    def bad(self, field: str, value: Any, expected: Msg) -> CheckpointError:
        return CheckpointError(
            "train.index_field", path=self.path, field=field, value=_show(value), expected=expected
        )

    def get(self, parent: dict[str, Any], key: str, field: str) -> Any:
        if key not in parent:
            raise CheckpointError("train.index_missing", path=self.path, field=field)
        return parent[key]

    def dict_(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise self.bad(field, value, Msg("train.index_expect.object"))
        return value

    def int_(self, value: Any, field: str, lo: int, hi: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.bad(field, value, Msg("train.index_expect.int", lo=lo, hi=hi))
        return value

    def number(self, value: Any, field: str, lo: float, hi: float, lo_open: bool = False) -> float:
        try:  # float(10**400) overflows: that is out of range too
            v = float(value) if isinstance(value, (int, float)) else math.nan
        except OverflowError:
            v = math.nan
        ok = (
            not isinstance(value, bool)
            and math.isfinite(v)
            and (lo < v if lo_open else lo <= v)
            and v <= hi
        )
        if not ok:
            interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}]"
            raise self.bad(field, value, Msg("train.index_expect.number", interval=interval))
        return v

    def str_(self, value: Any, field: str, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(value, str) or not value or (pattern and not pattern.fullmatch(value)):
            what = pattern.pattern if pattern else "non-empty"
            raise self.bad(field, value, Msg("train.index_expect.text", pattern=what))
        return value

    def list_(self, value: Any, field: str, lo: int, hi: int) -> list[Any]:
        if not isinstance(value, list) or not lo <= len(value) <= hi:
            raise self.bad(field, value, Msg("train.index_expect.list", lo=lo, hi=hi))
        return value


def check_files(ix: IndexCheck, top: dict[str, Any]) -> None:
    """``files`` are plain names in the checkpoint's folder, each with a sha256."""
    files = ix.dict_(ix.get(top, "files", "files"), "files")
    sums = ix.dict_(ix.get(top, "sha256", "sha256"), "sha256")
    for role in ("weights", "state"):
        # a plain name in the checkpoint's folder: an edited index must not read ../../etc/x
        name = ix.str_(ix.get(files, role, f"files.{role}"), f"files.{role}", _FILE)
        ix.str_(ix.get(sums, name, f"sha256.{name}"), f"sha256.{name}", _SHA256)


def check_model_spec(ix: IndexCheck, spec: Any) -> None:
    """A known model with options it takes and a sane size (counted by formula: nothing built)."""
    if spec is None:
        return  # a model built outside cnnlab.models: evaluate/predict refuse it by name
    spec = ix.dict_(spec, "model")
    name = ix.get(spec, "name", "model.name")
    if name not in names():
        raise ix.bad("model.name", name, Msg("train.index_expect.one_of", valid=", ".join(names())))
    kwargs = ix.dict_(spec.get("kwargs", {}), "model.kwargs")
    try:
        n = count_params(name, **kwargs)
    except CnnlabError as exc:
        reason: Msg | str = Msg(exc.key, **exc.params)
        raise ix.bad(
            "model.kwargs", kwargs, Msg("train.index_expect.kwargs", reason=reason)
        ) from exc
    except Exception as exc:  # a size formula fed untrusted JSON may fail in any way
        reason = f"{type(exc).__name__}: {exc}"
        raise ix.bad(
            "model.kwargs", kwargs, Msg("train.index_expect.kwargs", reason=reason)
        ) from exc
    if not isinstance(n, int) or not 1 <= n <= MAX_PARAMS:
        raise ix.bad("model.kwargs", kwargs, Msg("train.index_expect.params", n=n, max=MAX_PARAMS))


def check_input_shape(ix: IndexCheck, top: dict[str, Any]) -> list[int]:
    """``input_shape``: 1 to 3 positive sizes, (L,) token ids, (C, L) or (C, H, W)."""
    shape = ix.list_(ix.get(top, "input_shape", "input_shape"), "input_shape", 1, 3)
    for i, n in enumerate(shape):
        ix.int_(n, f"input_shape[{i}]", 1, MAX_DIM)
    return shape


def read_index(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """(folder, parsed ``checkpoint.json``) of a checkpoint directory (or of its index file).

    Checks only that it is JSON of this format and a version this cnnlab reads; the fields are
    checked by :func:`cnnlab.train.index.validate_index` (all) or :func:`read_model` (the model's).
    """
    p = Path(path)
    folder = p.parent if p.name == INDEX else p
    index = folder / INDEX
    try:
        meta = json.loads(index.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CheckpointError("error.ckpt_missing", path=str(folder)) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError("error.ckpt_corrupt", path=str(index), reason=str(exc)) from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(
            "error.ckpt_corrupt",
            path=str(index),
            reason=Msg("error.ckpt_reason.format", format=FORMAT),
        )
    version = meta.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
        raise CheckpointError(
            "error.ckpt_version", path=str(index), version=version, supported=VERSION
        )
    return folder, meta


def read_tensors(folder: Path, meta: dict[str, Any], role: str) -> dict[str, torch.Tensor]:
    """The tensors of ``files[role]`` (``weights`` or ``state``), after their sha256 is checked.

    ``meta`` must have passed :func:`check_files` (the file name is then a plain name).
    """
    name = meta.get("files", {}).get(role)
    file = folder / str(name)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CheckpointError("error.ckpt_corrupt", path=str(file), reason=os_reason(exc)) from exc
    if sha256(data) != meta.get("sha256", {}).get(name):
        raise CheckpointError(
            "error.ckpt_corrupt", path=str(file), reason=Msg("error.ckpt_reason.sha256")
        )
    try:
        return st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError("error.ckpt_corrupt", path=str(file), reason=str(exc)) from exc


def check_fits(model: nn.Module, weights: dict[str, torch.Tensor], path: str = "") -> None:
    """Raise CheckpointError naming every tensor that is missing, unexpected or of another shape."""
    own = model.state_dict()
    problems = []
    for name, t in own.items():
        if name not in weights:
            problems.append(Msg("error.ckpt_tensor.missing", name=name, model=tuple(t.shape)))
        elif tuple(weights[name].shape) != tuple(t.shape):
            problems.append(
                Msg(
                    "error.ckpt_tensor.shape",
                    name=name,
                    model=tuple(t.shape),
                    ckpt=tuple(weights[name].shape),
                )
            )
    problems += [
        Msg("error.ckpt_tensor.extra", name=name, ckpt=tuple(weights[name].shape))
        for name in weights
        if name not in own
    ]
    if problems:
        raise CheckpointError(
            "error.ckpt_mismatch", path=path, n=len(problems), details=MsgList(problems)
        )


def load_weights(model: nn.Module, weights: dict[str, torch.Tensor], path: str = "") -> nn.Module:
    """Copy ``weights`` into ``model`` after :func:`check_fits`; return the model."""
    check_fits(model, weights, path)
    model.load_state_dict(weights, strict=True)
    return model


@dataclass(frozen=True)
class StoredModel:
    """A checkpoint's model, rebuilt: weights loaded, eval mode, with the recorded input shape."""

    path: Path
    model: nn.Module
    name: str  # the registry name of its spec
    input_shape: tuple[int, ...]  # per sample: (C, H, W) or (C, L)
    meta: dict[str, Any]


def read_model(path: str | os.PathLike[str]) -> StoredModel:
    """Rebuild the model of the checkpoint at ``path`` from its spec and load its weights.

    Reads and checks only what the model needs (files, spec, input shape, the weights' sha256);
    the optimizer state is not read. Raises CheckpointError naming what is wrong.
    """
    folder, meta = read_index(path)
    index = str(folder / INDEX)
    ix = IndexCheck(meta, index)
    check_files(ix, meta)
    spec = meta.get("model")
    if not spec:
        raise CheckpointError("error.ckpt_no_spec", path=str(folder))
    check_model_spec(ix, spec)
    shape = check_input_shape(ix, meta)
    weights = read_tensors(folder, meta, "weights")
    try:
        model = build_from_spec(spec)
    except (CnnlabError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            "error.ckpt_corrupt", path=str(folder), reason=f"model spec {spec!r}: {exc}"
        ) from exc
    load_weights(model, weights, str(folder))
    model.eval()
    return StoredModel(folder, model, str(spec["name"]), tuple(shape), meta)


__all__ = [
    "FORMAT",
    "VERSION",
    "INDEX",
    "MAX_DIM",
    "MAX_PARAMS",
    "IndexCheck",
    "check_files",
    "check_model_spec",
    "check_input_shape",
    "read_index",
    "read_tensors",
    "check_fits",
    "load_weights",
    "StoredModel",
    "read_model",
    "sha256",
]
