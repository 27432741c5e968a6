"""One experiment registry: name → (parameter dataclass, run function, title).

The CLI's ``cnnlab lab NAME`` commands, the HTML report and the web page are generated from this
table, so an experiment shows up everywhere by being registered once. Registering imports nothing
heavy: experiment modules import torch/matplotlib inside ``run``.

Parameter dataclass fields carry their CLI help (a catalog key) and constraints in ``metadata``::

    index: int = field(default=0, metadata={"help": "lab.param.index", "min": 0})
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cnnlab.errors import ConfigError
from cnnlab.result import Result

Callback = Callable[[dict[str, Any]], None]
RunFn = Callable[..., Result]  # run(params, *, lang=None, callback=None) -> Result


@dataclass(frozen=True)
class Experiment:
    name: str
    params: type  # a dataclass type; its defaults are the preset
    run: RunFn
    title_key: str  # catalog key of the one-line title
    quick: dict[str, Any] = dataclasses.field(default_factory=dict)
    # overrides for a tiny-budget run (the shared test suite and `cnnlab tour --quick`)

    def make_params(self, **overrides: Any) -> Any:
        """Defaults with ``overrides`` applied; unknown names raise ConfigError listing valid ones."""
        valid = {f.name for f in dataclasses.fields(self.params)}
        unknown = sorted(set(overrides) - valid)
        if unknown:
            raise ConfigError("lab.error.unknown_param", name=self.name, params=", ".join(unknown),
                              valid=", ".join(sorted(valid)))
        params = self.params(**overrides)
        check_params(params)
        return params

    def __call__(self, params: Any = None, *, lang: str | None = None,
                 callback: Callback | None = None, **overrides: Any) -> Result:
        if params is None:
            params = self.make_params(**overrides)
        return self.run(params, lang=lang, callback=callback)


def check_params(params: Any) -> None:
    """Validate fields against their ``metadata`` (``min``, ``max``, ``choices``) before any work."""
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        meta = f.metadata
        if value is None:
            continue
        if "choices" in meta and value not in meta["choices"]:
            raise ConfigError("lab.error.choice", param=f.name, value=value,
                              valid=", ".join(map(str, meta["choices"])))
        if "min" in meta and value < meta["min"]:
            raise ConfigError("lab.error.range", param=f.name, value=value,
                              low=meta["min"], high=meta.get("max", "∞"))
        if "max" in meta and value > meta["max"]:
            raise ConfigError("lab.error.range", param=f.name, value=value,
                              low=meta.get("min", "-∞"), high=meta["max"])


EXPERIMENTS: dict[str, Experiment] = {}


def register(name: str, params: type, title_key: str,
             quick: dict[str, Any] | None = None) -> Callable[[RunFn], RunFn]:
    """Decorator for an experiment's ``run``: ``@register("padding", PaddingParams, "lab.padding.title")``.

    ``quick`` holds parameter overrides that make the run take a few seconds (smaller budgets,
    fewer epochs); the shared test over every experiment uses them.
    """

    def wrap(fn: RunFn) -> RunFn:
        if name in EXPERIMENTS:
            raise RuntimeError(f"experiment {name!r} registered twice")
        EXPERIMENTS[name] = Experiment(name, params, fn, title_key, dict(quick or {}))
        return fn

    return wrap


# Experiment modules, in the order the tour runs them. Importing one registers it.
MODULES = (
    "basics", "padding", "shapes", "pooling", "pattern", "receptive_field", "hierarchy",
    "weight_sharing", "cnn_vs_fc", "translation", "no_grad",
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


__all__ = ["Experiment", "EXPERIMENTS", "register", "load_all", "get", "check_params", "MODULES"]
