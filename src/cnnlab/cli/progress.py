"""The CLI's one progress bar: the only place rich is used. Library code reports plain dicts.

:class:`ProgressBar` is an adapter from :mod:`cnnlab.progress` events (dicts with a ``kind``) to a
rich bar on stderr, for every long command: ``train`` (``fit``'s events), ``tour`` and ``lab``.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from cnnlab.i18n import t
from cnnlab.progress import Event

HIDDEN = ("kind", "experiment", "index", "total")


def describe(event: Event) -> str:
    """One short line for an inner event.

    E.g. ``translation · epoch 1/3 · cnn · val_accuracy 0.912``.
    """
    parts = [str(event.get("experiment", ""))] if event.get("experiment") else []
    if "epoch" in event and "epochs" in event:
        parts.append(t("cli.progress.epoch", epoch=event["epoch"], epochs=event["epochs"]))
    for key, value in event.items():
        if key in HIDDEN or key in ("epoch", "epochs") or isinstance(value, dict | list):
            continue
        parts.append(f"{key} {value:.3g}" if isinstance(value, float) else str(value))
    return " · ".join(parts)


class ProgressBar:
    """Progress events → one rich progress bar on stderr; use it as a context manager.

    - ``fit``: ``"start"`` sets a bar over the run's optimisation steps, ``"step"`` advances it
      (epoch, running loss and accuracy beside it), ``"eval"`` prints one line per evaluation.
    - the tour: ``"experiment"`` (``name``, ``index``, ``total``) starts a step, ``"done"`` ends.
    - anything else (a lab experiment's ``"train"``, a ``"stage"``) updates the description.

    Without a terminal the bar is not drawn; experiments and evaluations still print one line each.
    """

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = Console(stderr=True)
        self.live = self.console.is_terminal
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(t("cli.train.bar.eta")),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[stats]}"),
            console=self.console,
            disable=not self.live,
        )
        self.task: Any = None

    def __enter__(self) -> ProgressBar:
        self.bar.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.bar.__exit__(kind, exc, tb)

    def _ensure_task(self, total: int, completed: int = 0, description: str = "") -> None:
        if self.task is None:
            self.task = self.bar.add_task(description, total=total, completed=completed, stats="")
        else:
            self.bar.update(self.task, total=total, completed=completed, description=description)

    def __call__(self, event: Event) -> None:
        kind = event.get("kind")
        if kind == "start":  # fit: one bar over every optimisation step of the run
            self._ensure_task(
                event["total_steps"],
                completed=event["global_step"],
                description=t("cli.train.bar.title"),
            )
        elif kind == "step" and self.task is not None:
            stats = t(
                "cli.train.bar.stats",
                epoch=event["epoch"] + 1,
                loss=event["loss"],
                acc=100 * event["accuracy"],
            )
            self.bar.update(self.task, completed=event["global_step"], stats=stats)
        elif kind == "eval":
            if "val_accuracy" in event and self.task is not None:
                self.console.print(
                    t(
                        "cli.train.eval_line",
                        epoch=event["epoch"],
                        loss=event["val_loss"],
                        acc=100 * event["val_accuracy"],
                        elapsed=event["elapsed"],
                    )
                )
        elif kind in ("checkpoint", "end"):
            pass  # the command prints the result and the checkpoint's path itself
        else:
            self._tour(event)

    def _tour(self, event: Event) -> None:
        total = event.get("total", 1)
        if self.task is None:
            self._ensure_task(total)
        if event.get("kind") == "experiment":
            desc = t("cli.tour.running", name=event["name"])
            self.bar.update(self.task, completed=event["index"], description=desc)
            if not self.live:
                self.console.print(f"[{event['index'] + 1}/{total}] {desc}", highlight=False)
        elif event.get("kind") == "done":
            self.bar.update(self.task, completed=total)
        elif self.live:
            self.bar.update(self.task, description=describe(event)[:70])


__all__ = ["ProgressBar", "describe"]
