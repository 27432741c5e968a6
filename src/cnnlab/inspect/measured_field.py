"""Receptive fields measured from input gradients — for nets that branch.

Where the data flow is not a chain (a residual ``+``, parallel paths joined by ``cat``, a layer the
formula does not know), the field of a layer's unit is *measured*: the input pixels on which the
unit's value depends are those where ∂unit/∂input ≠ 0. A trained net can hide part of its field
from that test (a ReLU that is off, max-pool sending the gradient to one input, weights that
cancel), so the measurement runs on a **linearised copy** of the model (float32, or float64 where
float32 could underflow):

- every weight tensor is filled with ``1 / fan_in`` (positive, and each unit stays an average, so
  nothing overflows in deep nets); every vector parameter (biases, BatchNorm's scale) with 1;
  BatchNorm's running mean/variance become 0/1;
- max pooling becomes average pooling over the same windows (module or ``F.max_pool*`` call), so
  the gradient reaches every input of a window, not only the largest;
- the input is all ones.

Every activation is then positive, ReLU passes every gradient, and no sum of positive products can
cancel: the gradient is nonzero on exactly the pixels the unit can depend on — the same field the
formula gives on a chain (:func:`cnnlab.inspect.receptive_field.gradient_rf` makes the same argument
for plain stacks). The user's model is never modified.

Per spatial axis: ``size`` = extent of the support of the centre unit (summed over channels);
``jump`` = how far the support moves from that unit to its neighbour; ``start`` = centre of unit
0's field (``left - c·jump + (size-1)/2``). A support that reaches the input's border may be cut
off: the measurement is repeated on a larger input (the field of an interior unit does not depend
on the image size), and where it still reaches the border — a global pool, a Linear layer — the
size is reported as a lower bound (``clipped``). Layers normalising over positions (LayerNorm,
GroupNorm) may also see their field through a constant input only approximately.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from cnnlab.inspect.dataflow import first_tensor

# float32 is 3–10× faster on a CPU; its smallest normal number is 1e-38. Gradients fall off
# gradually towards a field's edge (neighbours differ by far less than 1e13), so while the smallest
# nonzero gradient stays above this guard, no edge can have rounded to 0; below it: float64.
UNDERFLOW_GUARD = 1e-25
MAX_ELEMENTS = 1 << 18  # positions per channel: the input is not enlarged beyond this (512×512)


@dataclass(frozen=True)
class Measured:
    """A measured field: per spatial axis of the input."""

    size: tuple[int, ...]  # extent of the support (a lower bound where ``clipped``)
    jump: tuple[int, ...] | None  # None: the output has one unit on some axis, or no grid
    start: tuple[float, ...] | None
    clipped: bool  # the support reached the input's border even on the largest input tried


class _Underflow(Exception):
    """A float32 gradient came close to underflow; the measurement is repeated in float64."""


class _WindowMean(nn.Module):
    """A dilated max pool's windows as a per-channel mean (a ones-kernel depthwise conv)."""

    def __init__(self, pool: Any, n: int) -> None:
        super().__init__()
        from cnnlab.geometry import pair

        self.n = n
        self.kernel = pair(pool.kernel_size, n, "kernel_size")
        self.stride = pair(pool.stride or pool.kernel_size, n, "stride")
        self.padding = pair(pool.padding, n, "padding")
        self.dilation = pair(pool.dilation, n, "dilation")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = (F.conv1d, F.conv2d, F.conv3d)[self.n - 1]
        c = x.shape[1]
        w = torch.ones(c, 1, *self.kernel, dtype=x.dtype, device=x.device) / math.prod(self.kernel)
        return conv(x, w, None, self.stride, self.padding, self.dilation, c)


def _mean_pool(pool: Any) -> nn.Module:
    n = int(type(pool).__name__[-2])  # MaxPool2d → 2
    if isinstance(pool, (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)):
        avg = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)[n - 1]
        return avg(pool.output_size)
    if any(
        d != 1 for d in (pool.dilation if isinstance(pool.dilation, tuple) else (pool.dilation,))
    ):
        return _WindowMean(pool, n)
    avg_cls = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)[n - 1]
    return avg_cls(pool.kernel_size, pool.stride, pool.padding, ceil_mode=pool.ceil_mode)


_MAX_POOLS = (
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
)


def linearised(model: nn.Module, dtype: torch.dtype = torch.float64) -> nn.Module:
    """The copy described in the module docstring (the model itself is untouched)."""
    twin = copy.deepcopy(model).to(dtype).eval()
    with torch.no_grad():
        for p in twin.parameters():
            p.requires_grad_(False)  # only ∂/∂input is wanted
            if p.dim() >= 2:
                p.fill_(1.0 / (p.numel() // p.shape[0]))
            else:
                p.fill_(1.0)
        for m in twin.modules():
            if isinstance(m, nn.modules.batchnorm._NormBase):
                if m.running_mean is not None:
                    m.running_mean.zero_()
                if m.running_var is not None:
                    m.running_var.fill_(1.0)
    for parent in list(twin.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, _MAX_POOLS):
                setattr(parent, name, _mean_pool(child))
    return twin


class _NoMax(TorchFunctionMode):
    """``F.max_pool*`` / ``F.adaptive_max_pool*`` called in a forward become average pools."""

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = dict(kwargs or {})
        name = getattr(func, "__name__", "")
        if "max_pool" in name and args and isinstance(args[0], torch.Tensor):
            x, n = args[0], args[0].dim() - 2
            rest = list(args[1:]) + [None] * 6
            if "adaptive" in name:
                size = kwargs.get("output_size", rest[0])
                out = (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)[n - 1](
                    x, size
                )
            else:
                kernel = kwargs.get("kernel_size", rest[0])
                stride = kwargs.get("stride", rest[1]) or kernel
                padding = kwargs.get("padding", rest[2]) or 0
                ceil = bool(kwargs.get("ceil_mode", rest[4]) or False)
                avg: Callable[..., torch.Tensor] = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[n - 1]
                out = avg(x, kernel, stride, padding, ceil)
            if kwargs.get("return_indices") or (len(args) > 6 and args[6]):
                return out, torch.zeros_like(out, dtype=torch.long)
            return out
        return func(*args, **kwargs)


def _support(grad: torch.Tensor) -> list[tuple[int, int]] | None:
    """Per spatial axis, (first, last) index where ``grad (1, C, *S)`` is nonzero."""
    mask = grad[0].abs().sum(0) > 0  # (*S)
    if not bool(mask.any()):
        return None
    spans = []
    for axis in range(mask.dim()):
        other = tuple(a for a in range(mask.dim()) if a != axis)
        hit = mask.any(dim=other) if other else mask  # (S_axis,)
        idx = torch.nonzero(hit).flatten()
        spans.append((int(idx[0]), int(idx[-1])))
    return spans


def _measure_one(out: torch.Tensor, x: torch.Tensor) -> Measured | None:
    """The field of ``out``'s units from one backward pass. ``x`` is ``(2, C, *S)``: two copies of
    the same input, so sample 0 carries the centre unit's gradient and sample 1 its neighbour's
    (the linearised twin runs in eval mode: samples do not mix)."""
    spatial = x.shape[2:]
    grid = out.shape[2:] if out.dim() == x.dim() else None
    if grid is not None:  # a grid of units on the input's axes: the centre one and its neighbour
        centre = [g // 2 for g in grid]
        other = [c + 1 if c + 1 < g else c - 1 for c, g in zip(centre, grid)]
        a: tuple[Any, ...] = (0, slice(None), *centre)  # all channels of the centre unit
        b: tuple[Any, ...] = (1, slice(None), *other)
        moves = all(g > 1 for g in grid)
        loss = out[a].sum() + (out[b].sum() if moves else 0)
    else:  # no grid (after flatten / Linear): what the layer's outputs see together
        centre, moves = [0] * len(spatial), False
        loss = out[0].sum()
    (grad,) = torch.autograd.grad(loss, x, retain_graph=True)  # (2, C, *S)
    if grad.dtype == torch.float32:
        live = grad[grad != 0]
        if live.numel() and float(live.abs().min()) < UNDERFLOW_GUARD:
            raise _Underflow  # an edge of the field may have rounded to 0: redo in float64
    s1 = _support(grad[0:1])
    if s1 is None:
        return None
    jump: list[int] | None = None
    s2 = _support(grad[1:2]) if moves else None
    if s2 is not None:
        steps = []
        for (lo1, hi1), (lo2, hi2), n in zip(s1, s2, spatial):
            # the shift of an edge that the border cut in neither support
            moved = abs(lo2 - lo1) if min(lo1, lo2) > 0 else abs(hi2 - hi1)
            steps.append(moved if min(lo1, lo2) > 0 or max(hi1, hi2) < n - 1 else 0)
        jump = steps if all(steps) else None
    clipped = any(lo == 0 or hi == n - 1 for (lo, hi), n in zip(s1, spatial))
    size = tuple(hi - lo + 1 for lo, hi in s1)
    start = None
    if jump is not None and not clipped:
        start = tuple(lo - c * j + (s - 1) / 2 for (lo, _), c, j, s in zip(s1, centre, jump, size))
    return Measured(size, tuple(jump) if jump is not None else None, start, clipped)


def _run(
    twin: nn.Module,
    shape: tuple[int, ...],
    todo: set[tuple[str, int]],
    strict: bool,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, dict[tuple[str, int], torch.Tensor]]:
    """One forward pass of the linearised twin on ones of ``shape``; the targets' outputs."""
    modules = dict(twin.named_modules())
    captured: dict[tuple[str, int], torch.Tensor] = {}
    calls: dict[str, int] = {}

    def hook(name: str) -> Any:
        def grab(module: nn.Module, args: Any, output: Any) -> None:
            k = calls.get(name, 0)
            calls[name] = k + 1
            t = first_tensor(output)
            if (name, k) in todo and t is not None and t.requires_grad:
                captured[(name, k)] = t

        return grab

    held = [*twin.parameters(), *twin.buffers()]
    device = held[0].device if held else torch.device("cpu")
    x = torch.ones(2, *shape, dtype=dtype, device=device, requires_grad=True)  # (2, C, *S)
    handles = []
    try:
        for name in sorted({n for n, _ in todo}):
            handles.append(modules[name].register_forward_hook(hook(name)))
        with _NoMax():
            twin(x)
    except Exception:  # a larger input may not fit a Linear head: what ran before is enough
        if strict:
            raise
    finally:
        for h in handles:
            h.remove()
    return x, captured


def measure_fields(
    model: nn.Module, input_shape: tuple[int, ...], targets: list[tuple[str, int]]
) -> dict[tuple[str, int], Measured]:
    """Measured fields of the ``targets``: (module path, how many earlier calls of that module).

    ``input_shape`` is per sample, ``(C, *S)``. Targets whose output does not depend on the input
    are left out of the result. Runs in float32, or float64 where float32 could underflow.
    """
    try:
        return _measure_all(model, input_shape, targets, torch.float32)
    except _Underflow:
        return _measure_all(model, input_shape, targets, torch.float64)


def _measure_all(
    model: nn.Module,
    input_shape: tuple[int, ...],
    targets: list[tuple[str, int]],
    dtype: torch.dtype,
) -> dict[tuple[str, int], Measured]:
    twin = linearised(model, dtype)
    results: dict[tuple[str, int], Measured] = {}
    todo = set(targets)
    scale = 1
    while todo:
        shape = (input_shape[0], *(s * scale for s in input_shape[1:]))
        x, captured = _run(twin, shape, todo, scale == 1, dtype)
        for key, out in captured.items():
            found = _measure_one(out, x)
            if scale == 1 and found is not None:
                results[key] = found  # a clipped size is a lower bound on the given input
            elif found is not None and not found.clipped:
                results[key] = found
            grid = out.dim() == x.dim() and all(g > 1 for g in out.shape[2:])
            if found is None or not found.clipped or not grid:
                todo.discard(key)  # done, or no grid of units: a larger input tells no more
        todo &= set(captured)  # not reached on a larger input: keep the lower bound
        scale *= 2
        if scale > 8 or math.prod(shape[1:]) * 2 ** len(shape[1:]) > MAX_ELEMENTS:
            break
    return results


__all__ = ["Measured", "linearised", "measure_fields"]
