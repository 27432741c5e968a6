"""The CLI's progress display: the only place rich is used. Library code reports plain dicts."""

from __future__ import annotations

from typing import Any

from cnnlab.i18n import t


HIDDEN = ("experiment", "index", "total", "stage")


def describe(event: dict[str, Any]) -> str:
    """One short line for an inner event, e.g. ``translation · cnn · epoch 1/3 · val_accuracy 0.91``."""
    parts = [str(event.get("experiment", ""))] if event.get("experiment") else []
    if "epoch" in event and "epochs" in event:
        parts.append(f"epoch {event['epoch']}/{event['epochs']}")
    for key, value in event.items():
        if key in HIDDEN or key in ("epoch", "epochs") or isinstance(value, dict | list):
            continue
        parts.append(f"{key} {value:.3g}" if isinstance(value, float) else str(value))
    return " · ".join(parts)


class ProgressBar:
    """Adapter from plain-dict progress events to a rich progress bar on stderr.

    Events: ``{"stage": "experiment", "name", "index", "total"}`` starts a step; ``{"stage": "done"}``
    ends; anything else (an epoch, a batch) updates the description. Without a terminal it prints one
    line per step instead of redrawing a bar.
    """

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.live = self.console.is_terminal
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                            console=self.console, disable=not self.live)
        self.task: Any = None

    def __enter__(self) -> ProgressBar:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)

    def __call__(self, event: dict[str, Any]) -> None:
        total = event.get("total", 1)
        if self.task is None:
            self.task = self.bar.add_task("", total=total)
        if event.get("stage") == "experiment":
            desc = t("cli.tour.running", name=event["name"])
            self.bar.update(self.task, completed=event["index"], description=desc)
            if not self.live:
                self.console.print(f"[{event['index'] + 1}/{total}] {desc}", highlight=False)
        elif event.get("stage") == "done":
            self.bar.update(self.task, completed=total)
        elif self.live:
            self.bar.update(self.task, description=describe(event)[:70])


__all__ = ["ProgressBar"]
