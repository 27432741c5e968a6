"""What one running server holds: its options, the models, the training runs, the lab cache."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request

from cnnlab.web.errors import WebError
from cnnlab.web.schemas import LIMITS
from cnnlab.web.store import Served, Store


@dataclass(frozen=True)
class ServerConfig:
    """Options of ``cnnlab serve`` (and of the tests' apps)."""

    checkpoint_dir: Path | None = None  # --checkpoint: more models, listed by id
    max_body: int = LIMITS["max_body_bytes"]
    # Host names the page answers to (None: any). `cnnlab serve` on loopback sets the loopback
    # names, so a DNS name rebound to 127.0.0.1 by a web site gets a 421.
    allowed_hosts: tuple[str, ...] | None = None
    train_max_epochs: int = LIMITS["train_max_epochs"]
    train_limit: int | None = None  # use only this many training digits (tests: a tiny run)
    lab_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-experiment overrides


class AppState:
    """Shared by every request of one app; each part guards its own mutable data."""

    def __init__(self, config: ServerConfig, store: Store) -> None:
        from cnnlab.web.lab import LabCache
        from cnnlab.web.training import Trainer

        self.config = config
        self.store = store
        self.trainer = Trainer(self)
        self.lab = LabCache(config.lab_params)
        self._fields: dict[str, Any] = {}
        self._fields_lock = threading.Lock()

    def model(self, model_id: str, slot: str = "mlp") -> Served:
        """The served model ``model_id``; 404 if unknown, 422 if it cannot fill ``slot``."""
        served = self.store.get(model_id)
        if served is None:
            raise WebError(
                404,
                "not_found",
                "web.error.unknown_model",
                id=model_id,
                valid=", ".join(self.store.ids()),
            )
        if slot == "cnn" and not served.spatial:
            valid = ", ".join(m.id for m in self.store.all() if m.spatial)
            raise WebError(422, "validation", "web.error.not_spatial", id=model_id, valid=valid)
        return served

    def fields(self, served: Served) -> dict[str, Any]:
        """Layer name → its receptive field (:class:`~cnnlab.inspect.receptive_field.LayerRF`) for
        every module of ``served``'s conv stack; {} when it has none. Cached per model."""
        with self._fields_lock:
            if served.id not in self._fields:
                from cnnlab.web.views import layer_fields

                self._fields[served.id] = layer_fields(served.model)
            return dict(self._fields[served.id])


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.cnnlab
    return state


__all__ = ["ServerConfig", "AppState", "get_state"]
