"""The CLI's progress display: the only place rich is used. Library code reports plain dicts."""

from __future__ import annotations

from typing import Any

from cnnlab.i18n import t


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
            detail = " ".join(f"{k}={v}" for k, v in event.items()
                              if k not in ("experiment", "index", "total") and not isinstance(v, dict))
            self.bar.update(self.task, description=f"{event.get('experiment', '')}: {detail}"[:70])


__all__ = ["ProgressBar"]
