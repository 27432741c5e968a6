"""The concept lab: one experiment per idea of the lecture, each measure → explain → draw.

>>> from cnnlab import lab
>>> result = lab.run("padding", index=0)          # measure, then text and figures on demand
>>> result.numbers["padding_shape"]
[1, 3, 28, 28]
>>> numbers = lab.measure("padding", index=0)     # only the typed numbers (no figure drawn)
>>> numbers.padding_shape
(1, 3, 28, 28)
>>> lab.get("padding").result(numbers, lang="ko").text()   # words and figures from numbers
"""

from __future__ import annotations

from typing import Any

from cnnlab.lab.registry import EXPERIMENTS, Experiment, get, load_all, register
from cnnlab.progress import Progress
from cnnlab.result import Result


def run(
    name: str, *, lang: str | None = None, callback: Progress | None = None, **params: Any
) -> Result:
    """Run experiment ``name`` with parameter overrides (validated) and return its Result."""
    return get(name)(lang=lang, callback=callback, **params)


def measure(name: str, *, callback: Progress | None = None, **params: Any) -> Any:
    """Only the numbers of experiment ``name`` (its frozen ``<Name>Numbers`` dataclass)."""
    exp = get(name)
    return exp.measure(exp.make_params(**params), callback)


__all__ = ["run", "measure", "get", "load_all", "register", "Experiment", "EXPERIMENTS", "Result"]
