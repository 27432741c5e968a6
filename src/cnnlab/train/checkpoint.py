"""Checkpoints that never unpickle: tensors in safetensors, everything else in JSON, written
atomically.

A checkpoint directory holds::

    checkpoint.json               the commit point: model spec, config, progress, history,
                                  optimizer hyperparameters, scheduler state, preprocessing, file
                                  names + sha256
    model-<step>-<id>.safetensors weights (the model's state_dict, CPU tensors)
    state-<step>-<id>.safetensors optimizer tensors (``optim/<param>/<name>``) and RNG states
                                  (``rng/…``)

Each save writes *new* tensor files (temp + fsync + rename), then atomically replaces
``checkpoint.json`` to point at them, fsyncs the directory, and only then deletes the previous
files. A process killed at any instant therefore leaves either the old or the new checkpoint
complete and referenced; the sha256 sums catch a file damaged later.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save as st_save
from torch import nn

from cnnlab.fileio import atomic_write_bytes, atomic_write_text

# Reading the index and the tensor files lives in the models layer (cnnlab.models.stored), so
# that the inspection tools can rebuild a checkpoint's model without importing the trainer.
from cnnlab.models.stored import (
    FORMAT,
    INDEX,
    VERSION,
    check_fits,
    load_weights,
    read_index,
    read_tensors,
)
from cnnlab.models.stored import sha256 as _sha256
from cnnlab.train.index import validate_index


def _cpu(t: torch.Tensor) -> torch.Tensor:
    # clone: safetensors refuses tensors that share storage (views, tied weights)
    return t.detach().to("cpu").clone().contiguous()


def optimizer_split(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Optimizer state → (tensors for safetensors, JSON-able rest). Inverse:
    :func:`optimizer_join`."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, st in sd["state"].items():
        for name, value in st.items():
            if torch.is_tensor(value):
                tensors[f"optim/{pid}/{name}"] = _cpu(value)
            else:
                scalars.setdefault(str(pid), {})[name] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_join(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """Rebuild an ``Optimizer.state_dict()`` from :func:`optimizer_split`'s two halves."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim/"):
            _, pid, name = key.split("/", 2)
            state.setdefault(int(pid), {})[name] = value
    for pid, values in meta.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


def rng_tensors() -> dict[str, torch.Tensor]:
    """The global RNG states (dropout and init draw from them) as uint8 tensors."""
    out = {"rng/cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            out[f"rng/cuda/{i}"] = s
    return out


def restore_rng(tensors: dict[str, torch.Tensor]) -> None:
    if "rng/cpu" in tensors:
        torch.set_rng_state(tensors["rng/cpu"])
    cuda = sorted(k for k in tensors if k.startswith("rng/cuda/"))
    if cuda and torch.cuda.is_available():
        with contextlib.suppress(RuntimeError):  # fewer GPUs now than when saved: keep defaults
            torch.cuda.set_rng_state_all([tensors[k] for k in cuda])


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be opened
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save(
    out_dir: str | os.PathLike[str],
    model: nn.Module,
    state_tensors: dict[str, torch.Tensor],
    meta: dict[str, Any],
) -> Path:
    """Write one checkpoint into ``out_dir`` (see module docstring); return the index path.

    ``meta`` is the JSON part (it gains ``format``, ``version`` and ``files``).
    """
    out = Path(out_dir)
    tag = f"{int(meta.get('progress', {}).get('global_step', 0)):09d}-{secrets.token_hex(4)}"
    weights = {k: _cpu(v) for k, v in model.state_dict().items()}
    blobs = {
        f"model-{tag}.safetensors": st_save(weights),
        f"state-{tag}.safetensors": st_save({k: _cpu(v) for k, v in state_tensors.items()}),
    }
    for name, data in blobs.items():
        atomic_write_bytes(out / name, data)
    names = list(blobs)
    index = {
        "format": FORMAT,
        "version": VERSION,
        **meta,
        "files": {"weights": names[0], "state": names[1]},
        "sha256": {n: _sha256(d) for n, d in blobs.items()},
    }
    atomic_write_text(out / INDEX, json.dumps(index, indent=1, ensure_ascii=False))
    _fsync_dir(out)
    # Only now is the previous checkpoint unreferenced; remove it and any temp left by a crash.
    for old in out.iterdir():
        stale_tensor = old.suffix == ".safetensors" and old.name.startswith(("model-", "state-"))
        if (stale_tensor and old.name not in blobs) or old.name.endswith(".part"):
            with contextlib.suppress(OSError):
                old.unlink()
    return out / INDEX


@dataclass
class Checkpoint:
    """A loaded, verified checkpoint: JSON ``meta`` plus ``weights`` and ``state`` tensors."""

    path: Path
    meta: dict[str, Any]
    weights: dict[str, torch.Tensor]
    state: dict[str, torch.Tensor] = field(default_factory=dict)


def exists(out_dir: str | os.PathLike[str]) -> bool:
    return (Path(out_dir) / INDEX).is_file()


def load(path: str | os.PathLike[str]) -> Checkpoint:
    """Read and verify a checkpoint directory (or its ``checkpoint.json``).

    Raises CheckpointError for a missing or corrupt index, a missing file or a sha256 mismatch.
    Only JSON and safetensors are parsed — nothing is unpickled.
    """
    folder, meta = read_index(path)
    validate_index(meta, str(folder / INDEX))  # every field's type, range and shape, by name
    loaded = {role: read_tensors(folder, meta, role) for role in ("weights", "state")}
    return Checkpoint(folder, meta, loaded["weights"], loaded["state"])


__all__ = [
    "FORMAT",
    "VERSION",
    "INDEX",
    "Checkpoint",
    "save",
    "load",
    "exists",
    "check_fits",
    "load_weights",
    "optimizer_split",
    "optimizer_join",
    "rng_tensors",
    "restore_rng",
]
