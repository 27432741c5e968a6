"""Receptive field of a conv/pool stack: by formula, and measured from input gradients.

The formula (size ``r``, jump ``j``, first pixel ``left``, centre ``start``; Araujo, Norris & Sim,
Distill 2019) is :func:`cnnlab.geometry.rf_step`, applied per axis; :mod:`cnnlab.geometry` gives the
recurrence and the coordinate convention (pixel 0's centre is 0). Output unit ``i`` of layer ``l``
sees input pixels ``left_l + i·j_l … left_l + i·j_l + r_l - 1`` (clipped to the image).
Element-wise layers (ReLU, BatchNorm, Dropout, …) change nothing.

The gradient check (:func:`gradient_rf`) backpropagates from one output unit of a *linearised* copy
of the stack — every conv and pool replaced by a plain sum over the same window (kernel, stride,
padding, dilation) on one channel, element-wise layers removed — so no gradient can cancel or be
routed away: the input pixels with a nonzero gradient are exactly the pixels that unit can depend
on. On a real network for a real image
(ReLU zeros, max-pool picks one input per window) the gradient is nonzero on a *subset* of that
region (:func:`input_gradient`): the formula gives where a unit *can* look, not where it does.

All shapes are ``(N, C, H, W)``; kernels may be non-square (each axis is computed separately).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.geometry import Field, out_size, pair, pool_out_size, rf_step, same_padding

if TYPE_CHECKING:
    import torch
    from torch import nn

GEOMETRIC = ("Conv2d", "MaxPool2d", "AvgPool2d")
ELEMENTWISE = (
    "ReLU",
    "LeakyReLU",
    "GELU",
    "SiLU",
    "Sigmoid",
    "Tanh",
    "ELU",
    "BatchNorm2d",
    "Dropout",
    "Dropout2d",
    "Identity",
)


@dataclass(frozen=True)
class LayerRF:
    """Receptive field after one geometric layer, per axis ``(H, W)``."""

    index: int  # position in the Sequential
    kind: str  # Conv2d | MaxPool2d | AvgPool2d
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    out: tuple[int, int]  # output spatial size (H, W)
    size: tuple[int, int]  # r_l
    jump: tuple[int, int]  # j_l
    left: tuple[int, int]  # left_l (input coordinate of unit 0's first pixel; negative = padding)
    start: tuple[float, float]  # centre of unit 0's field

    def box(self, unit: tuple[int, int], image: tuple[int, int]) -> tuple[int, int, int, int]:
        """Input ``(top, bottom, left, right)`` (inclusive) that ``unit`` sees, clipped."""
        (i, j), (h, w) = unit, image
        top = self.left[0] + i * self.jump[0]
        lft = self.left[1] + j * self.jump[1]
        return (
            max(top, 0),
            min(top + self.size[0] - 1, h - 1),
            max(lft, 0),
            min(lft + self.size[1] - 1, w - 1),
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


Pair = tuple[int, int]


def _hw(value: Any, name: str) -> Pair:
    """``value`` (int or pair) as an ``(H, W)`` pair, validated."""
    h, w = pair(value, 2, name)
    return h, w


def _geometry(layer: Any) -> tuple[Pair, Pair, Pair, Pair]:
    """``(kernel, stride, padding, dilation)`` of a geometric layer as ``(H, W)`` pairs."""
    kind = type(layer).__name__
    kernel = _hw(layer.kernel_size, "kernel_size")
    stride = _hw(layer.stride if layer.stride is not None else layer.kernel_size, "stride")
    dilation = _hw(getattr(layer, "dilation", 1), "dilation")
    padding = layer.padding
    if isinstance(padding, str):  # Conv2d padding='valid' | 'same' (stride 1 only)
        # 'same' pads d·(k-1) in total; PyTorch puts the smaller half on the top/left, and the
        # field's first pixel depends on that left half only.
        padding = (
            (0, 0)
            if padding == "valid"
            else tuple(same_padding(k, d)[0] for k, d in zip(kernel, dilation))
        )
    pads = _hw(padding, "padding")
    if getattr(layer, "ceil_mode", False):
        raise ConfigError("error.rf_ceil_mode", kind=kind)
    return kernel, stride, pads, dilation


def check_stack(model: nn.Module) -> list[tuple[int, Any]]:
    """The ``(index, layer)`` pairs of ``model`` (an ``nn.Sequential``), validated.

    Raises ConfigError naming the first layer that is neither geometric (Conv2d, MaxPool2d,
    AvgPool2d) nor element-wise (ReLU, BatchNorm2d, …) — e.g. Linear or Flatten have no receptive
    field in this sense.
    """
    layers = list(model.children()) if len(list(model.children())) else [model]
    checked = []
    for i, layer in enumerate(layers):
        kind = type(layer).__name__
        if kind not in GEOMETRIC + ELEMENTWISE:
            raise ConfigError(
                "error.rf_layer", index=i, kind=kind, valid=", ".join(GEOMETRIC + ELEMENTWISE)
            )
        checked.append((i, layer))
    return checked


def receptive_fields(model: nn.Module, image: tuple[int, int]) -> list[LayerRF]:
    """Per geometric layer of ``model``: output size, RF size, jump, start (module docstring).

    ``image`` is the input ``(H, W)``; output sizes are validated with
    :func:`cnnlab.geometry.out_size`, so a stack that shrinks the map below 1 pixel raises
    ShapeError naming the layer's numbers.
    """
    fields = [Field(), Field()]  # (H, W)
    spatial = list(image)
    rows: list[LayerRF] = []
    for i, layer in check_stack(model):
        if type(layer).__name__ not in GEOMETRIC:
            continue  # element-wise: same field
        kernel, stride, padding, dilation = _geometry(layer)
        kind = type(layer).__name__
        for a in range(2):
            if kind == "Conv2d":
                # a 'same'/'valid' string keeps PyTorch's uneven split for the output size
                pad = layer.padding if isinstance(layer.padding, str) else padding[a]
                spatial[a] = out_size(spatial[a], kernel[a], stride[a], pad, dilation[a]).out
            else:  # pools have PyTorch's extra padding rule
                spatial[a] = pool_out_size(
                    spatial[a], kernel[a], stride[a], padding[a], dilation[a], kind
                ).out
            fields[a] = rf_step(fields[a], kernel[a], stride[a], padding[a], dilation[a])
        fh, fw = fields
        rows.append(
            LayerRF(
                i,
                kind,
                kernel,
                stride,
                padding,
                dilation,
                (spatial[0], spatial[1]),
                (fh.size, fw.size),
                (fh.jump, fw.jump),
                (fh.left, fw.left),
                (fh.start, fw.start),
            )
        )
    return rows


class _Window:
    """One geometric layer of the linearised copy: the sum over its window (a ones-kernel conv on a
    single channel). Same kernel/stride/padding/dilation, so the same geometry as the conv or pool
    it stands for, but every input of the window gets gradient 1 — unlike max-pool, which routes the
    gradient to one input only, or a trained conv, whose weights can be 0 or cancel."""

    def __init__(
        self,
        kernel: tuple[int, int],
        stride: tuple[int, int],
        padding: tuple[int, int],
        dilation: tuple[int, int],
    ) -> None:
        self.args = kernel, stride, padding, dilation

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch
        import torch.nn.functional as F

        kernel, stride, padding, dilation = self.args
        weight = torch.ones(1, 1, *kernel, dtype=x.dtype)  # (C_out, C_in, kH, kW) = (1, 1, k, k)
        return F.conv2d(x, weight, None, stride, padding, dilation)


def linearised(model: nn.Module) -> list[_Window]:
    """The stack's geometry as a list of window sums on one channel, element-wise layers dropped.

    Channels do not change which pixels a unit depends on (a dense conv mixes all of them), so one
    channel suffices; its gradient is positive exactly on the receptive field. Values grow like
    ``Π k²`` — float32 holds that for any stack :func:`receptive_fields` accepts in practice.
    """
    return [_Window(*_geometry(m)) for _, m in check_stack(model) if type(m).__name__ in GEOMETRIC]


def gradient_rf(
    model: nn.Module, image: tuple[int, int], unit: tuple[int, int] | None = None
) -> torch.Tensor:
    """``(H, W)`` map: |∂ output[0, 0, i, j] / ∂ input| of the linearised copy of ``model``.
    Nonzero exactly on the input pixels unit ``(i, j)`` depends on; ``unit`` defaults to the centre
    of the output map.
    """
    import torch

    rows = receptive_fields(model, image)  # validates the stack and the sizes first
    out_hw = rows[-1].out if rows else image
    i, j = unit if unit is not None else (out_hw[0] // 2, out_hw[1] // 2)
    if not (0 <= i < out_hw[0] and 0 <= j < out_hw[1]):
        raise ShapeError("error.rf_unit", unit=(i, j), out=tuple(out_hw))
    x = torch.ones(1, 1, *image, requires_grad=True)  # (1, 1, H, W)
    y = x
    for step in linearised(model):
        y = step(y)
    (grad,) = torch.autograd.grad(y[0, 0, i, j], x)  # (1, 1, H, W)
    return grad[0, 0]  # (H, W), positive on the field


def input_gradient(
    model: nn.Module, x: torch.Tensor, unit: tuple[int, int], channel: int = 0
) -> torch.Tensor:
    """``(H, W)``: |∂ model(x)[0, channel, i, j] / ∂ x| of the *real* model, ``x (1, C, H, W)``.

    Its support is a subset of the formula's field (ReLU and max-pool zero parts of it).
    The model's ``training`` flag is restored afterwards; its parameters' ``.grad`` stay untouched.
    """
    import torch

    was = model.training
    model.eval()
    try:
        xg = x.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(xg)[0, channel, unit[0], unit[1]], xg)  # (1, C, H, W)
        return grad[0].abs().sum(0)
    finally:
        model.train(was)


def support_box(grad: torch.Tensor) -> tuple[int, int, int, int] | None:
    """Bounding box ``(top, bottom, left, right)`` (inclusive) of the nonzero cells of ``grad``."""
    import torch

    nz = torch.nonzero(grad)
    if len(nz) == 0:
        return None
    return (int(nz[:, 0].min()), int(nz[:, 0].max()), int(nz[:, 1].min()), int(nz[:, 1].max()))


def measured_fields(model: nn.Module, image: tuple[int, int]) -> list[dict[str, Any]]:
    """Formula vs gradient for every geometric layer of ``model``, free of border effects.

    For the prefix ending at each geometric layer, the centre unit is measured on a zero-padded
    canvas of ``max(image, 3·r)`` pixels per axis, so its whole field lies inside the canvas; the
    nonzero-gradient bounding box must then equal the formula's box exactly (size and position),
    also with dilation and large strides. Returns one dict per layer: ``index``, ``formula`` and
    ``measured`` sizes ``(H, W)``, ``box``/``gradient_box`` on the canvas, ``agree``, ``filled``
    (the field has no holes).
    """
    import torch.nn as nn_

    layers = [m for _, m in check_stack(model)]
    out: list[dict[str, Any]] = []
    for row in receptive_fields(model, image):
        prefix = nn_.Sequential(*layers[: row.index + 1])
        canvas = (max(image[0], 3 * row.size[0]), max(image[1], 3 * row.size[1]))
        last = receptive_fields(prefix, canvas)[-1]
        unit = (last.out[0] // 2, last.out[1] // 2)
        grad = gradient_rf(prefix, canvas, unit)
        box, measured = last.box(unit, canvas), support_box(grad)
        size = (
            (measured[1] - measured[0] + 1, measured[3] - measured[2] + 1) if measured else (0, 0)
        )
        area = (box[1] - box[0] + 1) * (box[3] - box[2] + 1)
        out.append(
            {
                "index": row.index,
                "formula": row.size,
                "measured": size,
                "box": box,
                "gradient_box": measured,
                "agree": measured == box and size == row.size,
                "filled": int((grad > 0).sum()) == area,
            }
        )
    return out


__all__ = [
    "LayerRF",
    "receptive_fields",
    "gradient_rf",
    "input_gradient",
    "support_box",
    "linearised",
    "check_stack",
    "measured_fields",
    "GEOMETRIC",
    "ELEMENTWISE",
]
