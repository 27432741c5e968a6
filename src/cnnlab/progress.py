"""One progress event type for everything long: ``fit``, the lab's experiments and the tour.

Library code never prints; it calls an optional ``progress(event)`` callback with one
:class:`Event` — a plain dict with a ``kind`` — so the CLI can draw a bar, a server could stream it
and tests can record it. Kinds:

- ``"experiment"``: the tour starts experiment ``name`` (``index`` of ``total``)
- ``"train"``: a lab experiment trains ``model``; ``epoch`` of ``epochs``, optional ``val_accuracy``
- ``"start"`` / ``"step"`` / ``"eval"`` / ``"checkpoint"`` / ``"end"``: :func:`cnnlab.train.fit`
- ``"stage"``: a named phase of a long measurement (``stage``, optional ``index``/``total``)
- ``"done"``: the whole job finished
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Event = dict[str, Any]  # always has "kind"; see the module docstring for the kinds and their keys
Progress = Callable[[Event], None]


def emit(progress: Progress | None, kind: str, **data: Any) -> None:
    """Send one event (``{"kind": kind, **data}``) if there is a listener."""
    if progress is not None:
        progress({"kind": kind, **data})


__all__ = ["Event", "Progress", "emit"]
