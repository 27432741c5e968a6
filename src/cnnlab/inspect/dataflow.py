"""One forward pass, recorded: every layer call with its output, and whether the net is a chain.

:func:`record` runs ``model(x)`` once with forward hooks on its layers and a
:class:`torch.overrides.TorchFunctionMode` that sees every torch operation the model's own
``forward`` code performs between layers (``x + shortcut``, ``torch.cat``, ``F.relu``,
``x.flatten(1)``). Tensors are followed by identity from the input to each layer's output, so the
record knows, for every layer output, which operations it came through.

Receptive fields by formula (:func:`cnnlab.geometry.rf_step`, Araujo et al., Distill 2019) are
propagated along that data flow as long as it is a *chain*: each step has exactly one input that
depends on the image, and is either a conv/pool layer whose geometry is known (kernel, stride,
padding, dilation) or an element-wise step (ReLU, BatchNorm in eval mode, Dropout, ``x * 2``).
Where two image-dependent tensors meet (a residual ``+``, a ``cat`` of parallel paths) or a step's
geometry is unknown (``F.interpolate``, adaptive pooling, a custom layer), the field of everything
after it is left to measurement (:mod:`cnnlab.inspect.measured_field`). The decision is made per
layer, from what the forward pass actually did — not from the module tree, which says nothing
about how a ``forward`` wires its children.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from cnnlab.geometry import Field, pair, rf_step, same_padding

Fields = tuple[Field, ...]  # one per spatial axis

# conv/pool layers whose geometry the formula knows (any number of spatial axes)
GEOMETRIC = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AvgPool3d,
)
# constant (zero) padding layers: a shift of coordinates (reflect/replicate/circular are not)
PADS = (nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d, nn.ZeroPad1d, nn.ZeroPad2d)
# layers that act on each position alone (BatchNorm: in eval mode, where the summary runs)
ELEMENTWISE = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Hardtanh,
    nn.Sigmoid,
    nn.Tanh,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.Softplus,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.Identity,
)
# torch functions and Tensor methods that act on each position alone
_ELEMENTWISE_NAMES = """relu relu_ relu6 leaky_relu leaky_relu_ gelu silu mish hardswish hardsigmoid
hardtanh sigmoid sigmoid_ tanh tanh_ elu elu_ selu celu softplus dropout dropout1d dropout2d
dropout3d alpha_dropout batch_norm clone contiguous detach to float double half type_as abs neg exp
log sqrt square pow clamp clamp_ clip add sub mul div add_ sub_ mul_ div_ __add__ __radd__ __iadd__
__sub__ __rsub__ __isub__ __mul__ __rmul__ __imul__ __truediv__ __rtruediv__ __itruediv__ __neg__
__pow__"""
ELEMENTWISE_OPS = frozenset(_ELEMENTWISE_NAMES.split())


@dataclass
class Call:
    """One call of a recorded layer: its module path, class, depth and what it returned."""

    index: int
    name: str  # dotted path in the model ("layer1.0.conv1"); "" for the model itself
    module: nn.Module
    depth: int
    output: Any  # what forward returned (tensor, tuple, …)
    first_call: bool  # False when this module ran before (shared weights: counted once)
    leaf: bool  # no child modules: an opaque step of the data flow


@dataclass
class Record:
    """What :func:`record` saw."""

    calls: list[Call]
    fields: dict[int, Fields | None]  # id(tensor) → formula field, None: needs measurement
    merges: int  # steps where two image-dependent tensors met (residual +, cat, …)
    keep: list[Any] = field(default_factory=list)  # tensors kept alive so ids stay unique
    # id(tensor) → id of the tensor it was computed from position by position (ReLU, BatchNorm,
    # x * 2, …), followed back to the first one: both have the same field, measured once
    same: dict[int, int] = field(default_factory=dict)

    def field_root(self, value: Any) -> int | None:
        """The tensor whose field ``value``'s (first tensor's) field is: one measurement each."""
        t = first_tensor(value)
        return None if t is None else self.same.get(id(t), id(t))

    def field_of(self, value: Any) -> tuple[bool, Fields | None]:
        """(depends on the input, formula field or None) of a layer's output."""
        t = first_tensor(value)
        if t is None or id(t) not in self.fields:
            return False, None
        return True, self.fields[id(t)]


def tensors_in(value: Any) -> Iterator[torch.Tensor]:
    """Every tensor in a nest of tuples, lists and dicts."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from tensors_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from tensors_in(v)


def first_tensor(value: Any) -> torch.Tensor | None:
    return next(tensors_in(value), None)


def _geometry(module: Any, n: int) -> tuple[tuple[int, ...], ...] | None:
    """(kernel, stride, left padding, dilation) per axis of a conv/pool, or None if the formula
    does not cover it (circular/reflect padding)."""
    if getattr(module, "padding_mode", "zeros") != "zeros":
        return None
    kernel = pair(module.kernel_size, n, "kernel_size")
    stride_v = getattr(module, "stride", None)
    stride = pair(stride_v if stride_v else module.kernel_size, n, "stride")
    dilation = pair(getattr(module, "dilation", 1), n, "dilation")
    padding: Any = module.padding
    if isinstance(padding, str):  # 'valid' | 'same' (PyTorch puts the smaller half first)
        padding = (
            (0,) * n
            if padding == "valid"
            else tuple(same_padding(k, d)[0] for k, d in zip(kernel, dilation))
        )
    return kernel, stride, pair(padding, n, "padding"), dilation


def _shift_only(pad: Any) -> bool:
    return all(int(p) >= 0 for p in pad.padding)  # < 0 crops


class _Recorder(TorchFunctionMode):
    """Follows image-dependent tensors through the model's own torch operations."""

    def __init__(self, rec: Record) -> None:
        super().__init__()
        self.rec = rec
        self.inside = 0  # > 0 while a leaf layer runs: its inner ops are the layer's own

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if self.inside == 0:
            self.step(getattr(func, "__name__", ""), (args, kwargs), out, None)
        return out

    def step(self, op: str, inputs: Any, out: Any, module: nn.Module | None) -> None:
        """Propagate the formula field from ``inputs`` to ``out`` through one step."""
        fields = self.rec.fields
        deps = [t for t in tensors_in(inputs) if id(t) in fields]
        outs = list(tensors_in(out))
        if not deps or not outs:
            return
        self.rec.keep.extend(outs)
        known: Fields | None = None
        same_as: int | None = None  # the tensor whose field this output has (element-wise step)
        if len({id(t) for t in deps}) > 1:
            self.rec.merges += 1  # two image-dependent tensors meet: not a chain from here on
        else:
            src, res = deps[0], outs[0]
            before = fields[id(src)]
            same_grid = src.dim() == res.dim() and src.shape[2:] == res.shape[2:]
            pointwise = (
                isinstance(module, ELEMENTWISE) if module is not None else op in ELEMENTWISE_OPS
            )
            if pointwise and same_grid:
                same_as = self.rec.same.get(id(src), id(src))
            if before is not None and module is not None:
                n = src.dim() - 2
                if isinstance(module, GEOMETRIC) and n == len(before) and res.dim() == src.dim():
                    geo = _geometry(module, n)
                    if geo is not None:
                        known = tuple(rf_step(f, k, s, p, d) for f, k, s, p, d in zip(before, *geo))
                elif isinstance(module, PADS) and n == len(before) and _shift_only(module):
                    # constant padding: a 1-wide window that shifts coordinates by the left pad
                    pads: Any = module.padding  # (last axis left, right, previous axis left, …)
                    known = tuple(
                        rf_step(f, 1, 1, int(pads[2 * (n - 1 - a)]), 1)
                        for a, f in enumerate(before)
                    )
                elif isinstance(module, ELEMENTWISE) and same_grid:
                    known = before
            elif before is not None and op in ELEMENTWISE_OPS and same_grid:
                known = before
        for t in outs:
            fields[id(t)] = known
            self.rec.same[id(t)] = same_as if same_as is not None else id(t)


def record(
    model: nn.Module, x: torch.Tensor, wanted: list[tuple[str, nn.Module]], spatial: bool = True
) -> Record:
    """Run ``model(x)`` once, recording each call of the ``wanted`` (name, module) pairs.

    ``x`` is ``(1, C, *S)``; ``spatial=False`` (token ids, feature vectors): no formula fields.
    Hooks are removed again whatever happens; the caller sets eval mode and no_grad.
    """
    start = tuple(Field() for _ in range(x.dim() - 2)) if spatial else None
    rec = Record([], {id(x): start}, 0, [x])
    mode = _Recorder(rec)
    seen: set[int] = set()
    depth = {name: name.count(".") + (1 if name else 0) for name, _ in wanted}
    handles = []

    def pre(leaf: bool) -> Any:
        def hook(module: nn.Module, args: Any) -> None:
            if leaf:
                mode.inside += 1  # the layer's own ops are not steps of the data flow

        return hook

    def post(name: str, leaf: bool) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            level = mode.inside - (1 if leaf else 0)  # the level once this layer is done
            mode.inside += 1  # quiet while the hook itself looks at tensors
            try:
                if leaf and level == 0:
                    mode.step(type(module).__name__, args, output, module)
                first = id(module) not in seen
                seen.add(id(module))
                rec.calls.append(
                    Call(len(rec.calls), name, module, depth[name], output, first, leaf)
                )
            finally:
                mode.inside = level

        return hook

    try:
        for name, module in wanted:
            leaf = not any(True for _ in module.children())
            handles.append(module.register_forward_pre_hook(pre(leaf)))
            handles.append(module.register_forward_hook(post(name, leaf)))
        with mode:
            out = model(x)
        rec.keep.append(out)
    finally:
        for h in handles:
            h.remove()
    return rec


__all__ = ["GEOMETRIC", "ELEMENTWISE", "Call", "Record", "record", "tensors_in", "first_tensor"]
