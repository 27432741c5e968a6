"""The concept lab: one experiment per idea of the lecture, each ``run(params) -> Result``.

    >>> from cnnlab import lab
    >>> result = lab.run("padding", index=0)
    >>> result.numbers["padding_shape"]
    [1, 3, 28, 28]
"""

from __future__ import annotations

from typing import Any

from cnnlab.lab.registry import EXPERIMENTS, Experiment, get, load_all, register
from cnnlab.result import Result


def run(name: str, *, lang: str | None = None, callback: Any = None, **params: Any) -> Result:
    """Run experiment ``name`` with parameter overrides (validated) and return its Result."""
    return get(name)(lang=lang, callback=callback, **params)


__all__ = ["run", "get", "load_all", "register", "Experiment", "EXPERIMENTS", "Result"]
