"""``summary(model, input_size)``: per layer of any PyTorch CNN — output shape, parameters
(trainable / frozen), multiply-adds, activation memory and receptive field — with totals.

The result is a data object (:class:`ModelSummary`); how it looks is
:mod:`cnnlab.inspect.summary_view`'s business: a terminal table (``.text()``), a Jupyter table
(``_repr_html_``) and JSON (``.to_dict()``/``.to_json()``).

Rows: every module that does work of its own — a leaf (no child modules) or a module holding
parameters directly — once per call, in call order (a module called twice gives two rows; its
parameters count once). Sizes are per sample (batch 1).

Multiply-adds (MACs), per sample, counted as torchinfo counts them so the two can be compared:
conv layers ``(weight + bias elements) × output positions``; Linear ``(weight + bias elements) ×
leading positions`` (1 for an ``(N, F)`` input); any other layer with parameters uses each once.
One deliberate difference: normalisation layers (BatchNorm, GroupNorm, LayerNorm, …) count one
multiply-add per output element (``x·scale + shift``), where torchinfo counts ``2·C`` for the
whole map. Pooling, activations and the model's own ``+``/``cat`` count 0.

Receptive fields (size, jump = effective stride, start = centre of unit 0's field, per spatial
axis): by formula along a chain (:mod:`cnnlab.inspect.dataflow` decides, per layer, from the
recorded data flow), measured from input gradients of a linearised copy where the net branches or
a step's geometry is unknown (:mod:`cnnlab.inspect.measured_field`). Each row names its method.

The model is run in eval mode under ``no_grad``; hooks are removed and ``model.training`` restored
whatever happens (``try``/``finally``).
"""

from __future__ import annotations

import json
import math
import numbers
import re
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.inspect.dataflow import Record, first_tensor, record, tensors_in
from cnnlab.inspect.measured_field import measure_fields

METHODS = ("formula", "gradient")
MAX_INPUT_ELEMENTS = 1 << 26  # per sample: beyond this the summary refuses (64M values, 256 MB)


@dataclass(frozen=True)
class LayerField:
    """Receptive field of one layer's output units, one entry per spatial axis of the input."""

    size: tuple[int, ...]  # input pixels one unit sees (a lower bound where ``clipped``)
    jump: tuple[int, ...] | None  # input pixels between neighbouring units (None: no grid)
    start: tuple[float, ...] | None  # centre of unit 0's field (pixel 0's centre is 0)
    method: str  # "formula" | "gradient"
    clipped: bool = False  # measured support reached the input's border: the field may be larger


@dataclass(frozen=True)
class LayerSummary:
    """One call of one module."""

    index: int
    name: str  # dotted path in the model ("layer1.0.conv1"); the class name for the model itself
    kind: str  # class name
    depth: int  # 1 for the model's children, 2 for theirs, …
    output_shape: tuple[int, ...] | None  # per sample (no batch axis); None: no tensor output
    trainable: int  # parameters counted in this row (0 on a module's second call)
    frozen: int
    macs: int
    activation_bytes: int  # bytes of this call's output tensors, per sample
    field: LayerField | None  # None: the output does not depend on the input
    reused: bool = False  # the module ran before: its parameters are counted in that row


@dataclass(frozen=True)
class ModelSummary:
    """The facts; see :mod:`cnnlab.inspect.summary_view` for their presentation."""

    title: str
    input_shape: tuple[int, ...]  # per sample, (C, H, W) or (C, L)
    output_shape: tuple[int, ...] | None
    layers: tuple[LayerSummary, ...]
    trainable: int  # every parameter of the model once (also those no row shows)
    frozen: int
    macs: int
    activation_bytes: int  # every distinct output tensor of the rows, per sample
    param_bytes: int
    input_bytes: int
    merges: int  # places where two input-dependent tensors met (0: the net is a chain)
    measure_error: str | None = None  # why the gradient measurement could not run, if it could not

    @property
    def params(self) -> int:
        return self.trainable + self.frozen

    @property
    def chain(self) -> bool:
        return self.merges == 0

    @property
    def field(self) -> LayerField | None:
        """The largest receptive field: that of the last row whose output is still a grid."""
        for row in reversed(self.layers):
            if row.field is not None and row.field.jump is not None:
                return row.field
        return None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["params"] = self.params
        out["chain"] = self.chain
        out["field"] = asdict(self.field) if self.field else None
        return out

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def text(self, lang: str | None = None) -> str:
        from cnnlab.inspect.summary_view import to_text

        return to_text(self, lang)

    def _repr_html_(self) -> str:
        from cnnlab.inspect.summary_view import to_html

        return to_html(self)

    def __str__(self) -> str:
        return self.text()


def check_input_size(input_size: Any) -> tuple[int, ...]:
    """``(C, L)``, ``(C, H, W)``, ``(L,)`` for token ids or features (or the text ``"1,28,28"``)
    → a tuple of positive ints, or ConfigError."""
    if isinstance(input_size, str):
        parts = [p.strip() for p in re.split(r"[,x×]", input_size.strip().strip("()"))]
        if not all(p.isdigit() for p in parts):
            raise ConfigError("summary.input_size", value=input_size)
        input_size = tuple(int(p) for p in parts)
    try:
        values = list(input_size)
    except TypeError as exc:
        raise ConfigError("summary.input_size", value=input_size) from exc
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        raise ConfigError("summary.input_size", value=input_size)
    shape = tuple(int(v) for v in values)
    if not 1 <= len(shape) <= 4 or not all(s >= 1 for s in shape):
        raise ConfigError("summary.input_size", value=input_size)
    if math.prod(shape) > MAX_INPUT_ELEMENTS:
        raise ConfigError("summary.input_too_big", value=shape, max=MAX_INPUT_ELEMENTS)
    return shape


def _macs(module: nn.Module, params: list[nn.Parameter], out: torch.Tensor | None) -> int:
    """Multiply-adds of one call, per sample (module docstring)."""
    if out is None or not params:
        return 0
    n = sum(p.numel() for p in params)
    kind = type(module).__name__
    if "Norm" in kind:
        return out[0].numel() if out.dim() else out.numel()
    if "Conv" in kind:
        return n * math.prod(out.shape[2:])
    if isinstance(module, nn.Linear):
        return n * math.prod(out.shape[1:-1])
    return n


def _wanted(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules that get a row: leaves, and modules holding parameters directly."""
    out = []
    for name, module in model.named_modules():
        leaf = not any(True for _ in module.children())
        own = any(True for _ in module.parameters(recurse=False))
        if leaf or own:
            out.append((name, module))
    return out


def _rows(model: nn.Module, rec: Record) -> tuple[list[LayerSummary], list[tuple[str, int]]]:
    rows: list[LayerSummary] = []
    to_measure: list[tuple[str, int]] = []
    count: dict[str, int] = {}
    for call in rec.calls:
        k = count.get(call.name, 0)
        count[call.name] = k + 1
        params = list(call.module.parameters(recurse=call.leaf)) if call.first_call else []
        out = first_tensor(call.output)
        depends, known = rec.field_of(call.output)
        field: LayerField | None = None
        if known is not None:
            field = LayerField(
                tuple(f.size for f in known),
                tuple(f.jump for f in known),
                tuple(f.start for f in known),
                "formula",
            )
        elif depends:
            to_measure.append((call.name, k))
        rows.append(
            LayerSummary(
                index=call.index,
                name=call.name or type(call.module).__name__,
                kind=type(call.module).__name__,
                depth=call.name.count(".") + 1 if call.name else 0,
                output_shape=tuple(out.shape[1:]) if out is not None else None,
                trainable=sum(p.numel() for p in params if p.requires_grad),
                frozen=sum(p.numel() for p in params if not p.requires_grad),
                macs=_macs(call.module, list(call.module.parameters(recurse=call.leaf)), out),
                activation_bytes=sum(t.numel() * t.element_size() for t in tensors_in(call.output)),
                field=field,
                reused=not call.first_call,
            )
        )
    return rows, to_measure


def _measure(
    model: nn.Module,
    shape: tuple[int, ...],
    rec: Record,
    rows: list[LayerSummary],
    to_measure: list[tuple[str, int]],
) -> str | None:
    """Fill in measured fields; rows computed position by position from one tensor (its BatchNorm,
    its ReLU) share that tensor's field, so only the first row of each such group is measured."""
    keys: list[tuple[str, int]] = []  # (name, k-th call of that module) per row
    count: dict[str, int] = {}
    for call in rec.calls:
        k = count.get(call.name, 0)
        count[call.name] = k + 1
        keys.append((call.name, k))
    wanted = set(to_measure)
    group: dict[int | None, tuple[str, int]] = {}
    for i, key in enumerate(keys):
        if key in wanted:
            group.setdefault(rec.field_root(rec.calls[i].output), key)
    try:
        found = measure_fields(model, shape, sorted(set(group.values())))
    except Exception as exc:  # the twin is a copy of user code in another dtype: say, don't crash
        return f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    for i, key in enumerate(keys):
        if key in wanted:
            m = found.get(group[rec.field_root(rec.calls[i].output)])
            if m is not None:
                field = LayerField(m.size, m.jump, m.start, "gradient", m.clipped)
                rows[i] = replace(rows[i], field=field)
    return None


def summary(
    model: nn.Module,
    input_size: Any,
    *,
    title: str | None = None,
    measure: bool = True,
    seed: int = 0,
) -> ModelSummary:
    """Summarise ``model`` on one input of ``input_size`` (per sample: ``(C, L)`` or ``(C, H, W)``).

    ``measure=False`` skips the gradient measurement (rows past a branch then have no field).
    Raises ConfigError for a bad ``input_size`` or a forward pass that fails on it (naming both).
    """
    shape = check_input_size(input_size)
    p = next(iter(model.parameters()), None)
    device = p.device if p is not None else torch.device("cpu")
    dtype = p.dtype if p is not None and p.is_floating_point() else torch.float32
    gen = torch.Generator().manual_seed(seed)
    embedding = next((m for m in model.modules() if isinstance(m, nn.Embedding)), None)
    if embedding is not None and len(shape) == 1:  # token ids (1, L): a text model
        x = torch.randint(1, max(embedding.num_embeddings, 2), (1, *shape), generator=gen)
        x = x.to(device)
    else:
        x = torch.randn(1, *shape, generator=gen).to(device=device, dtype=dtype)  # (1, C, *S)
    spatial = x.dim() >= 3 and x.is_floating_point()  # receptive fields need positions
    was = model.training
    try:
        model.eval()
        with torch.no_grad():
            try:
                rec = record(model, x, _wanted(model), spatial)
            except Exception as exc:  # user code: say which input it could not take
                raise ConfigError(
                    "summary.forward_failed",
                    shape=",".join(map(str, shape)),
                    kind=type(exc).__name__,
                    reason=str(exc).strip().splitlines()[0] if str(exc).strip() else "",
                ) from exc
        rows, to_measure = _rows(model, rec)
        measure_error = None
        if measure and to_measure and spatial:
            measure_error = _measure(model, shape, rec, rows, to_measure)
    finally:
        model.train(was)
    seen: set[int] = set()
    activation = 0
    for call in rec.calls:
        for t in tensors_in(call.output):
            if id(t) not in seen:
                seen.add(id(t))
                activation += t.numel() * t.element_size()
    out = first_tensor(rec.keep[-1]) if rec.keep else None
    params = list(model.parameters())
    return ModelSummary(
        title=title or type(model).__name__,
        input_shape=shape,
        output_shape=tuple(out.shape[1:]) if out is not None else None,
        layers=tuple(rows),
        trainable=sum(q.numel() for q in params if q.requires_grad),
        frozen=sum(q.numel() for q in params if not q.requires_grad),
        macs=sum(r.macs for r in rows),
        activation_bytes=activation,
        param_bytes=sum(q.numel() * q.element_size() for q in params),
        input_bytes=x.numel() * x.element_size(),
        merges=rec.merges,
        measure_error=measure_error,
    )


__all__ = ["LayerField", "LayerSummary", "ModelSummary", "summary", "check_input_size"]
