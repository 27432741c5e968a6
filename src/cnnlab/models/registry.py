"""Name → model constructor: the one place the CLI, the trainer and the experiments look models up.

``build(name, **kwargs)`` validates the name and the keyword names before constructing, and stamps
the model with a :class:`ModelSpec` (``model.cnnlab_spec``) — the JSON-able recipe a checkpoint
stores so ``evaluate``/``predict`` can rebuild the same architecture without pickling anything.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.jsonable import to_jsonable
from cnnlab.models.classic import ClassicNet, classic_net_params
from cnnlab.models.gap import GAPNet, gap_net_params
from cnnlab.models.locally_connected import LCNet, lc_net_params
from cnnlab.models.mlp import MLP, mlp_params
from cnnlab.models.series import FCN1d, MLP1d, fcn1d_params, mlp1d_params
from cnnlab.models.simple_cnn import SimpleCNN, simple_cnn_params
from cnnlab.models.textcnn import TextCNN, textcnn_params

# name -> (constructor, parameter-count formula taking the same keywords minus dropout)
MODELS: dict[str, tuple[Callable[..., nn.Module], Callable[..., int]]] = {
    "cnn": (SimpleCNN, simple_cnn_params),
    "mlp": (MLP, mlp_params),
    "lc": (LCNet, lc_net_params),
    "gap": (GAPNet, gap_net_params),
    "classic": (ClassicNet, classic_net_params),  # PyTorch's MNIST example, the benchmark baseline
    "cnn1d": (FCN1d, fcn1d_params),  # series (N, C, L): the FCN of Wang et al. 2017
    "mlp1d": (MLP1d, mlp1d_params),  # series baseline: flatten → hidden layers → linear
    "textcnn": (TextCNN, textcnn_params),  # text (N, L) token ids: Kim 2014
}


@dataclass(frozen=True)
class ModelSpec:
    """Enough to rebuild a model: its registry name and constructor keywords (JSON-able)."""

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kwargs": to_jsonable(self.kwargs)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        return cls(str(data["name"]), dict(data.get("kwargs", {})))


def names() -> list[str]:
    """Valid model names, in registry order."""
    return list(MODELS)


def _check_name(name: str) -> str:
    if name not in MODELS:
        raise ConfigError("error.model_name", value=name, valid=", ".join(MODELS))
    return name


def _check_kwargs(fn: Callable[..., Any], name: str, kwargs: dict[str, Any]) -> None:
    allowed = [p for p in inspect.signature(fn).parameters if p != "self"]
    for key in kwargs:
        if key not in allowed:
            raise ConfigError("error.model_kwarg", model=name, option=key, valid=", ".join(allowed))


def build(name: str, **kwargs: Any) -> nn.Module:
    """Construct the registered model ``name`` (``cnn|mlp|lc|gap|classic``) with ``kwargs``.

    Raises ConfigError for an unknown name (listing the valid ones) or an unknown keyword.
    """
    ctor = MODELS[_check_name(name)][0]
    _check_kwargs(ctor, name, kwargs)
    model = ctor(**kwargs)
    model.cnnlab_spec = ModelSpec(name, to_jsonable(kwargs))  # type: ignore[assignment]
    return model


def build_from_spec(spec: ModelSpec | dict[str, Any]) -> nn.Module:
    """Rebuild a model from a :class:`ModelSpec` (or its dict, as stored in a checkpoint)."""
    if isinstance(spec, dict):
        spec = ModelSpec.from_dict(spec)
    return build(spec.name, **spec.kwargs)


def count_params(name: str, **kwargs: Any) -> int:
    """The parameter count of ``build(name, **kwargs)`` by formula (no model is built)."""
    formula = MODELS[_check_name(name)][1]
    # dropout, the block order and flip averaging have no parameters of their own
    kwargs = {k: v for k, v in kwargs.items() if k not in ("dropout", "pool_first", "test_flip")}
    _check_kwargs(formula, name, kwargs)
    return formula(**kwargs)


def num_params(model: nn.Module) -> int:
    """``sum(p.numel())`` over the model's parameters — what the formulas are checked against."""
    return sum(p.numel() for p in model.parameters())


__all__ = ["MODELS", "ModelSpec", "names", "build", "build_from_spec", "count_params", "num_params"]
