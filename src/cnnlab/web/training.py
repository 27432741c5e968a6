"""Training in the page: one run at a time, ``fit`` in a worker thread, events for SSE.

The run trains a fresh copy of a shipped architecture (``cnn`` or ``mlp``) on the embedded
``mnist-sample`` (4,000 train / 1,000 validation digits) with :func:`cnnlab.train.fit`. ``fit``'s
progress events become page events — ``start``, ``step`` (loss, accuracy, first-layer kernels),
``epoch`` (validation accuracy), ``end`` or ``error`` — kept in a list so a late or reconnecting
subscriber gets them all. Stop is cooperative: the callback raises at the next step. A finished
(or stopped) run becomes a model id (``run-1``, …) the page can predict with.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnnlab.errors import CnnlabError
from cnnlab.web.encode import q8
from cnnlab.web.errors import WebError

if TYPE_CHECKING:
    from cnnlab.web.state import AppState

log = logging.getLogger("cnnlab.web")
FINISHED = ("done", "stopped", "error")
KEEP_TRAINED = 5  # models trained in the page that stay usable (the oldest go first)


class _Stop(Exception):
    """Raised inside fit's callback to end a run the page stopped."""


@dataclass
class Run:
    id: str
    model: str
    epochs: int
    state: str = "running"  # running | stopping | done | stopped | error
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition, repr=False)
    served: Any = None  # the model so far (after each epoch), a Served once it exists

    def push(self, kind: str, data: dict[str, Any]) -> None:
        with self.cond:
            self.events.append((kind, data))
            self.cond.notify_all()

    def since(self, i: int) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
        """Events from index ``i`` on, and whether the run has finished."""
        with self.cond:
            return self.events[i:], self.state in FINISHED

    def status(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "epochs": self.epochs,
            "events": len(self.events),
        }


class Trainer:
    def __init__(self, app: AppState) -> None:
        self._app = app
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def get(self, run_id: str) -> Run:
        run = self._runs.get(run_id)
        if run is None:
            raise WebError(404, "not_found", "web.error.unknown_run", id=run_id[:40])
        return run

    def start(self, model: str, epochs: int, lr: float | None, seed: int) -> Run:
        limit = self._app.config.train_max_epochs
        if epochs > limit:
            raise WebError(422, "validation", "web.error.epochs", value=epochs, hi=limit)
        with self._lock:
            busy = [r for r in self._runs.values() if r.state not in FINISHED]
            if busy:
                raise WebError(409, "busy", "web.error.train_busy", id=busy[0].id)
            run = Run(f"run-{next(self._ids)}", model, epochs)
            self._runs[run.id] = run
        thread = threading.Thread(
            target=self._work, args=(run, lr, seed), name=f"cnnlab-{run.id}", daemon=True
        )
        thread.start()
        return run

    def stop(self, run_id: str) -> Run:
        run = self.get(run_id)
        with run.cond:
            if run.state == "running":
                run.state = "stopping"
        return run

    def _work(self, run: Run, lr: float | None, seed: int) -> None:
        from cnnlab.i18n import t

        state, message = "done", None
        try:
            self._train(run, lr, seed)
        except _Stop:
            state = "stopped"
        except CnnlabError as exc:
            state, message = "error", exc.message()
        except Exception:  # a bug: say so on the stream instead of leaving the page waiting
            log.exception("training run %s failed", run.id)
            state, message = "error", t("web.error.internal")
        served = run.served if state != "error" else None
        if served is not None:
            served.model.eval()
            self._app.store.add(served)
            trained = [m.id for m in self._app.store.all() if m.source == "trained"]
            for old in trained[:-KEEP_TRAINED]:  # a long session does not pile up models
                self._app.store.remove(old)
        if message is not None:
            run.push("error", {"message": message})
        with run.cond:
            run.state = state
        run.push(
            "end",
            {
                "state": state,
                "model": served.id if served else None,
                "val_accuracy": served.val_accuracy if served else None,
            },
        )

    def _train(self, run: Run, lr: float | None, seed: int) -> None:
        import torch

        from cnnlab.data import get_dataset
        from cnnlab.inspect.probe import first_conv
        from cnnlab.models import build_from_spec, num_params
        from cnnlab.train import fit
        from cnnlab.train.config import TrainConfig
        from cnnlab.train.tensors import Preprocess, as_tensors
        from cnnlab.web.store import Served

        base = self._app.model(run.model)
        train = get_dataset("mnist-sample", train=True)
        val = get_dataset("mnist-sample", train=False)
        limit = self._app.config.train_limit
        x, y = as_tensors(train)  # (N, 1, 28, 28) float in [0, 1], (N,)
        data = (x[:limit], y[:limit]) if limit else (x, y)
        # the standardisation fit will apply (same function): a stopped run is usable at once
        preprocess = Preprocess.fit(data[0])
        torch.manual_seed(seed)
        model = build_from_spec(base.model.cnnlab_spec)
        conv = first_conv(model)
        config = TrainConfig(epochs=run.epochs, batch_size=128, seed=seed, device="cpu")
        if lr is not None:
            config.lr = lr
        params = num_params(model)

        def kernels() -> Any:
            if conv is None:
                return None
            weight: torch.Tensor = conv.weight  # type: ignore[assignment]
            return q8(weight.detach().float().numpy())

        def serve(acc: float | None) -> None:
            run.served = Served(
                run.id,
                base.arch,
                "trained",
                run.id,
                model,
                preprocess,
                base.classes,
                params,
                None,
                acc,
            )

        def callback(event: dict[str, Any]) -> None:
            if run.state == "stopping":
                model.eval()
                raise _Stop
            kind = event["kind"]
            if kind == "start":
                serve(None)
                run.push(
                    "start",
                    {"epochs": run.epochs, "steps": event["total_steps"], "kernels": kernels()},
                )
            elif kind == "step":
                keep = ("epoch", "step", "global_step", "loss", "accuracy", "steps_per_epoch")
                run.push("step", {k: event[k] for k in keep} | {"kernels": kernels()})
            elif kind == "eval":
                acc = event.get("val_accuracy")
                run.push(
                    "epoch",
                    {
                        "epoch": round(float(event["epoch"]), 3),
                        "loss": event.get("train_loss"),
                        "accuracy": event.get("train_accuracy"),
                        "val_loss": event.get("val_loss"),
                        "val_accuracy": acc,
                        "kernels": kernels(),
                    },
                )
                serve(acc)

        result = fit(model, data, val, config, callback)
        model.eval()
        preprocess = result.preprocess
        serve(result.metrics.accuracy if result.metrics else None)


__all__ = ["Trainer", "Run"]
