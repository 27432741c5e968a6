"""The models the page can use, each named by an id — never by a path.

- ``cnn`` and ``mlp``: shipped in ``web/weights/`` (safetensors + ``models.json``, made by
  ``scripts/make_web_weights.py``; sha256-checked; nothing unpickled);
- ``ckpt-1``, ``ckpt-2``, …: checkpoints found under ``--checkpoint DIR`` at start (the folder
  itself or its sub-folders holding a ``checkpoint.json``), MNIST-shaped image models only;
- ``run-1``, …: models trained in the page (added when a run ends).

Models are in eval mode. A forward pass with hooks (feature maps) is not safe to run twice at once
on one module, so each model carries a lock held for one forward.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from cnnlab.errors import CheckpointError, CnnlabError

FRAME = (1, 28, 28)  # (C, H, W) every served model takes: the page draws MNIST digits


@dataclass
class Served:
    """One model the page can pick: ``model`` (nn.Module, eval), standardisation, facts."""

    id: str
    arch: str  # registry name: cnn | mlp | lc | gap | classic
    source: str  # shipped | checkpoint | trained
    label: str
    model: Any
    preprocess: Any  # cnnlab.train.tensors.Preprocess
    classes: list[str]
    params: int
    test_accuracy: float | None = None
    val_accuracy: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def spatial(self) -> bool:
        """True when it has conv layers: maps, kernels and receptive fields exist."""
        return any(type(m).__name__ == "Conv2d" for m in self.model.modules())

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "arch": self.arch,
            "source": self.source,
            "label": self.label,
            "params": self.params,
            "test_accuracy": self.test_accuracy,
            "val_accuracy": self.val_accuracy,
            "slot": "cnn" if self.spatial else "mlp",
        }


def load_shipped() -> list[Served]:
    """The default models from ``web/weights`` (raises CheckpointError if a file is damaged)."""
    from safetensors.torch import load as st_load

    from cnnlab.models import build_from_spec, num_params
    from cnnlab.train.checkpoint import load_weights
    from cnnlab.train.tensors import Preprocess

    folder = resources.files("cnnlab.web") / "weights"
    index = json.loads((folder / "models.json").read_text(encoding="utf-8"))
    served = []
    for model_id, info in index["models"].items():
        blob = (folder / info["file"]).read_bytes()
        if hashlib.sha256(blob).hexdigest() != info["sha256"]:
            raise CheckpointError(
                "error.ckpt_corrupt", path=f"cnnlab/web/weights/{info['file']}", reason="sha256"
            )
        model = build_from_spec(info["model"])
        load_weights(model, st_load(blob), info["file"])
        model.eval()
        served.append(
            Served(
                model_id,
                info["model"]["name"],
                "shipped",
                model_id.upper(),
                model,
                Preprocess.from_dict(info["preprocess"]),
                list(info["classes"]),
                num_params(model),
                info.get("test_accuracy"),
                info.get("val_accuracy"),
            )
        )
    return served


def find_checkpoints(folder: str | Path) -> tuple[list[Served], list[str]]:
    """Image checkpoints in ``folder`` (itself, or one level of sub-folders), and the skipped
    ones' reasons (one line each, in the current language) for the CLI to print."""
    from cnnlab.models import num_params
    from cnnlab.train.checkpoint import INDEX
    from cnnlab.train.evaluate import load_model

    root = Path(folder)
    candidates = (
        [root]
        if (root / INDEX).is_file()
        else sorted(p for p in root.iterdir() if (p / INDEX).is_file())
    )
    found: list[Served] = []
    skipped: list[str] = []
    for path in candidates:
        try:
            loaded = load_model(path)
        except CnnlabError as exc:
            skipped.append(exc.message())
            continue
        shape = list(loaded.input_shape)
        if shape and shape != list(FRAME):
            from cnnlab.i18n import t

            skipped.append(t("web.ckpt.skipped_shape", path=str(path), shape=shape))
            continue
        spec = loaded.meta.get("model", {})
        found.append(
            Served(
                f"ckpt-{len(found) + 1}",
                str(spec.get("name", "?")),
                "checkpoint",
                path.name,
                loaded.model,
                loaded.preprocess,
                loaded.classes or [str(i) for i in range(10)],
                num_params(loaded.model),
                None,
                _val_accuracy(loaded.meta),
            )
        )
    return found, skipped


def _val_accuracy(meta: dict[str, Any]) -> float | None:
    history = meta.get("history") or []
    value = history[-1].get("val_accuracy") if history and isinstance(history[-1], dict) else None
    return float(value) if isinstance(value, (int, float)) else None


class Store:
    """Id → :class:`Served`, in the order the page lists them; safe to add to while serving."""

    def __init__(self, models: list[Served]) -> None:
        self._models = {m.id: m for m in models}
        self._lock = threading.Lock()

    def get(self, model_id: str) -> Served | None:
        return self._models.get(model_id)

    def add(self, served: Served) -> None:
        with self._lock:
            models = dict(self._models)
            models[served.id] = served
            self._models = models  # readers see the old or the new dict, never a half-built one

    def remove(self, model_id: str) -> None:
        with self._lock:
            self._models = {k: v for k, v in self._models.items() if k != model_id}

    def all(self) -> list[Served]:
        return list(self._models.values())

    def ids(self) -> list[str]:
        return list(self._models)


__all__ = ["Served", "Store", "load_shipped", "find_checkpoints", "FRAME"]
