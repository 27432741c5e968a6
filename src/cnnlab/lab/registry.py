"""One experiment registry: name → (parameters, measure, explain, draw, title).

An experiment is data first. Its module defines three plain functions::

    measure(params, progress) -> PaddingNumbers      # a frozen dataclass of numbers and arrays
    explain(numbers) -> list[Message]                # the text, as catalog keys + parameters
    draw(numbers, lang) -> dict[str, Figure]         # figures only from the numbers

and registers them once::

    EXPERIMENT = register("padding", PaddingParams, "lab.padding.title", numbers=PaddingNumbers,
                          measure=measure, explain=explain, draw=draw)

The registry assembles them into a :class:`~cnnlab.result.Result`. The CLI's ``cnnlab lab NAME``
commands, the tour, the report (which re-renders a saved ``numbers.json`` in any language) and the
shared test suite are generated from this table. Registering imports nothing heavy: experiment
modules import torch/matplotlib inside their functions.

Parameter dataclass fields carry their CLI help (a catalog key) and constraints in ``metadata``::

    index: int = field(default=0, metadata={"help": "lab.param.index", "min": 0})
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cnnlab.errors import ConfigError
from cnnlab.jsonable import from_json
from cnnlab.progress import Progress
from cnnlab.result import Message, Result

Callback = Progress
MeasureFn = Callable[[Any, "Progress | None"], Any]
ExplainFn = Callable[[Any], list[Message]]
DrawFn = Callable[[Any, str], dict[str, Any]]


@dataclass(frozen=True)
class Experiment:
    name: str
    params: type  # a dataclass type; its defaults are the preset
    title_key: str  # catalog key of the one-line title
    numbers: type  # the frozen dataclass ``measure`` returns
    measure: MeasureFn
    explain: ExplainFn
    draw: DrawFn
    quick: dict[str, Any] = dataclasses.field(default_factory=dict)
    # overrides for a tiny-budget run (the shared test suite and `cnnlab tour --quick`)

    def run(
        self, params: Any, *, lang: str | None = None, callback: Progress | None = None
    ) -> Result:
        """Measure with ``params`` and wrap the numbers in a Result (figures drawn on demand)."""
        return self.result(self.measure(params, callback), lang)

    def result(self, numbers: Any, lang: str | None = None) -> Result:
        """A Result over already-measured ``numbers``: text from ``explain``, figures from ``draw``.

        Its ``lang`` is the language its figures are drawn in by default: ``lang`` (or the one in
        force), or English when no Hangul font is installed.
        """
        from cnnlab.i18n import get_lang
        from cnnlab.viz.fonts import figure_lang

        return Result(
            self.name,
            numbers,
            self.explain(numbers),
            lang=figure_lang(lang),
            draw=self._draw_in,
            text_lang=get_lang(lang),
        )

    def _draw_in(self, numbers: Any, lang: str) -> dict[str, Any]:
        from cnnlab.viz.fonts import figure_lang

        return self.draw(numbers, figure_lang(lang))  # English if no Hangul font is installed

    def load(
        self, data: dict[str, Any], arrays: dict[str, Any] | None = None, lang: str | None = None
    ) -> Result:
        """A Result from saved numbers (``to_jsonable`` output and its sidecar), without
        measuring."""
        try:
            numbers = from_json(self.numbers, data, arrays)
        except (TypeError, ValueError, KeyError) as exc:
            raise ConfigError("lab.error.saved_numbers", name=self.name, reason=str(exc)) from exc
        return self.result(numbers, lang)

    def make_params(self, **overrides: Any) -> Any:
        """Defaults with ``overrides`` applied; unknown names raise ConfigError listing valid
        ones."""
        valid = {f.name for f in dataclasses.fields(self.params)}
        unknown = sorted(set(overrides) - valid)
        if unknown:
            raise ConfigError(
                "lab.error.unknown_param",
                name=self.name,
                params=", ".join(unknown),
                valid=", ".join(sorted(valid)),
            )
        params = self.params(**overrides)
        check_params(params)
        return params

    def __call__(
        self,
        params: Any = None,
        *,
        lang: str | None = None,
        callback: Callback | None = None,
        **overrides: Any,
    ) -> Result:
        if params is None:
            params = self.make_params(**overrides)
        return self.run(params, lang=lang, callback=callback)


SEED_MAX = 2**32 - 1  # torch.manual_seed and numpy take larger ones, but 32 bits is the
# range every generator (and a seed range seed, seed + 1, …) accepts; larger overflowed in torch


def check_params(params: Any) -> None:
    """Validate fields against their ``metadata`` before any work.

    ``choices``, ``min`` and ``max`` apply to the value, or to each item of a tuple/list value;
    ``max_items`` bounds a tuple's length; ``check`` is a callable run last on the whole value
    (a field whose limit is not a plain range, such as a layer spec). A float must be finite and a
    NaN fails every range (the comparisons are written so that NaN is never "in range").
    """
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        meta = f.metadata
        if value is None:
            continue
        items = tuple(value) if isinstance(value, tuple | list) else (value,)
        if "max_items" in meta and not (1 <= len(items) <= meta["max_items"]):
            raise ConfigError(
                "bounds.items", param=f.name, n=len(items), low=1, high=meta["max_items"]
            )
        for item in items:
            _check_value(f.name, item, meta)
        if "check" in meta:
            meta["check"](value)


def _check_value(name: str, value: Any, meta: Any) -> None:
    if "choices" in meta and value not in meta["choices"]:
        raise ConfigError(
            "lab.error.choice", param=name, value=value, valid=", ".join(map(str, meta["choices"]))
        )
    low, high = meta.get("min"), meta.get("max")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(
            "bounds.not_finite",
            param=name,
            value=value,
            low="-∞" if low is None else low,
            high="∞" if high is None else high,
        )
    if (low is not None and not value >= low) or (high is not None and not value <= high):
        raise ConfigError(
            "lab.error.range",
            param=name,
            value=value,
            low="-∞" if low is None else low,
            high="∞" if high is None else high,
        )


EXPERIMENTS: dict[str, Experiment] = {}


def register(
    name: str,
    params: type,
    title_key: str,
    *,
    numbers: type,
    measure: MeasureFn,
    explain: ExplainFn,
    draw: DrawFn,
    quick: dict[str, Any] | None = None,
) -> Experiment:
    """Register one experiment (see the module docstring); returns it.

    ``quick`` holds parameter overrides that make the run take a few seconds (smaller budgets,
    fewer epochs); the shared test over every experiment and ``cnnlab tour --quick`` use them.
    """
    if name in EXPERIMENTS:
        raise RuntimeError(f"experiment {name!r} registered twice")
    frozen = getattr(numbers, "__dataclass_params__", None)
    if not (dataclasses.is_dataclass(numbers) and frozen is not None and frozen.frozen):
        raise TypeError(f"{name}: numbers must be a frozen dataclass, got {numbers!r}")
    exp = Experiment(name, params, title_key, numbers, measure, explain, draw, dict(quick or {}))
    EXPERIMENTS[name] = exp
    return exp


# Experiment modules, in the order the tour runs them. Importing one registers it.
MODULES = (
    "basics",
    "conv_steps",
    "padding",
    "shapes",
    "pooling",
    "pattern",
    "receptive_field",
    "hierarchy",
    "weight_sharing",
    "cnn_vs_fc",
    "translation",
    "no_grad",
    "conv1d",
    "series_translation",
    "text_conv",
)


def load_all() -> dict[str, Experiment]:
    for mod in MODULES:
        importlib.import_module(f"cnnlab.lab.{mod}")
    return EXPERIMENTS


def get(name: str) -> Experiment:
    experiments = load_all()
    if name not in experiments:
        raise ConfigError("lab.error.unknown", name=name, valid=", ".join(experiments))
    return experiments[name]


__all__ = [
    "Experiment",
    "EXPERIMENTS",
    "register",
    "load_all",
    "get",
    "check_params",
    "MODULES",
    "SEED_MAX",
]
