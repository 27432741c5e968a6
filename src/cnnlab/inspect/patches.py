"""Top patches: the pieces of real images that excite each channel of a layer most.

For one layer of any model and a dataset of images ``(C, H, W)``::

    >>> tp = top_patches(model, "features.3", dataset, k=9)
    >>> tp.activations.shape        # (channels, k): the k largest activations, one per image
    >>> tp.patches.shape            # (channels, k, C, r_h, r_w): what those units see

Each channel's value for an image is the **largest** activation over the map's positions
``max_{i,j} A[c, i, j]``; the k images with the largest values win, and the patch cut out of each is
the receptive field of the winning unit ``(i, j)`` — the only input pixels that unit can depend on.
One patch per image, so nine copies of the same stroke never fill the row.

Where the receptive field comes from (:func:`unit_field`): by default from the model summary
(:func:`cnnlab.inspect.summary.summary`: the formula along the recorded data flow, a measurement on
a linearised copy where the net branches). Without it (``method="formula"``/``"measured"``, or a row
the summary cannot give):

- ``formula``: when the model is an ``nn.Sequential`` chain of conv/pool/element-wise layers up to
  the layer, :func:`cnnlab.inspect.receptive_field.receptive_fields` (Araujo et al., Distill 2019);
- ``measured``: for anything else (residual blocks, parallel branches, concatenation, a model whose
  ``forward`` is code), the input gradient ``∂ sum_c A[:, c, i, j] / ∂ x`` of the real model on a
  batch of random inputs; the bounding box of its nonzero cells is the unit's field. Two units give
  the jump, a canvas large enough that the box touches no border gives the size. ReLU and max-pool
  zero parts of a single input's gradient; the union over the batch and all channels fills the box.

A layer with a flat output ``(N, F)`` (a ``Linear``, the logits) has one "unit" per feature that
sees the whole image: its top patches are the whole images that drive the feature (the class) most.
Patch cells outside the image (a field larger than the image, or a unit at the border) are filled
with ``pad_value`` (the data's background, 0 for MNIST-style images) and reported in ``boxes``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.errors import ConfigError
from cnnlab.inspect.feature_maps import find_module, layer_output

if TYPE_CHECKING:
    import torch
    from torch import nn

Pair = tuple[int, int]
Preprocess = Callable[[Any], Any]
MAX_CANVAS = 1024  # largest side tried when a measured field touches the border


@dataclass(frozen=True)
class UnitField:
    """Receptive field of one layer's units, per axis ``(H, W)``.

    Unit ``(i, j)`` sees input rows ``left[0] + i·jump[0] … + size[0] - 1`` (columns likewise).
    ``whole``: every unit sees the whole image (a global pool or a ``Linear`` came before).
    ``method``: ``"formula"`` or ``"measured"``.
    """

    size: Pair
    jump: Pair
    left: Pair
    method: str
    whole: bool = False

    def box(self, unit: Pair, image: Pair) -> tuple[int, int, int, int]:
        """Unclipped ``(top, bottom, left, right)`` (inclusive) of ``unit`` on ``image`` (H, W)."""
        if self.whole:
            return 0, image[0] - 1, 0, image[1] - 1
        top = self.left[0] + unit[0] * self.jump[0]
        lft = self.left[1] + unit[1] * self.jump[1]
        return top, top + self.size[0] - 1, lft, lft + self.size[1] - 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": list(self.size),
            "jump": list(self.jump),
            "left": list(self.left),
            "method": self.method,
            "whole": self.whole,
        }


def _spatial(out: torch.Tensor, layer: str) -> torch.Tensor:
    if out.ndim != 4:
        raise ConfigError("inspect.patches.not_spatial", name=layer, shape=tuple(out.shape))
    return out


def _formula_field(model: nn.Module, layer: str, image: Pair) -> UnitField | None:
    """The formula's field when ``model`` is a Sequential chain up to ``layer``, else None."""
    import torch.nn as nn_

    from cnnlab.inspect.receptive_field import ELEMENTWISE, GEOMETRIC, receptive_fields

    if not isinstance(model, nn_.Sequential) or "." in layer:
        return None
    names = [n for n, _ in model.named_children()]
    if layer not in names:
        return None
    prefix = list(model.children())[: names.index(layer) + 1]
    if any(type(m).__name__ not in GEOMETRIC + ELEMENTWISE for m in prefix):
        return None
    if not any(type(m).__name__ in GEOMETRIC for m in prefix):
        return UnitField((1, 1), (1, 1), (0, 0), "formula")
    try:
        last = receptive_fields(nn_.Sequential(*prefix), image)[-1]
    except ConfigError:
        return None  # ceil_mode and other cases the formula refuses: measure instead
    return UnitField(last.size, last.jump, last.left, "formula")


def _support_box(
    model: nn.Module, layer: str, canvas: tuple[int, int, int], unit: Pair | None, seed: int
) -> tuple[tuple[int, int, int, int] | None, Pair, Pair]:
    """Bounding box of ``∂ sum_c A[:, c, i, j] / ∂ x`` over 8 random inputs, the map size and the
    unit used (``unit=None``: the map's centre)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    x = torch.randn(8, *canvas, generator=gen, dtype=dtype).requires_grad_(True)  # (8, C, H, W)
    out, _ = layer_output(model, x, layer)
    out = _spatial(out, layer)
    hw = (int(out.shape[2]), int(out.shape[3]))
    if unit is None:
        unit = (hw[0] // 2, hw[1] // 2)
    i, j = min(unit[0], hw[0] - 1), min(unit[1], hw[1] - 1)
    (grad,) = torch.autograd.grad(out[:, :, i, j].sum(), x)  # (8, C, H, W)
    support = grad.abs().sum(dim=(0, 1)) > 0  # (H, W)
    nz = torch.nonzero(support)
    if len(nz) == 0:
        return None, hw, (i, j)
    box = (int(nz[:, 0].min()), int(nz[:, 0].max()), int(nz[:, 1].min()), int(nz[:, 1].max()))
    return box, hw, (i, j)


def measure_field(
    model: nn.Module, layer: str, input_shape: Sequence[int], seed: int = 0
) -> UnitField:
    """The field of ``layer``'s units from input gradients (module docstring), any architecture.

    ``input_shape`` is ``(C, H, W)``. The canvas doubles (up to ``MAX_CANVAS``) while the centre
    unit's box touches the border; when the model refuses a larger canvas, the clipped box is kept.
    """
    c, h, w = (int(v) for v in input_shape)
    canvas = (c, h, w)
    best: tuple[tuple[int, int, int, int] | None, Pair, tuple[int, int, int]] | None = None
    while True:
        try:
            box, hw, _ = _support_box(model, layer, canvas, None, seed)
        except ConfigError:
            raise
        except Exception:  # the model cannot run on this canvas (a shape check, a Linear)
            if best is None:
                raise
            break
        best = (box, hw, canvas)
        touches = box is None or (
            box[0] == 0 or box[2] == 0 or box[1] == canvas[1] - 1 or box[3] == canvas[2] - 1
        )
        if not touches or 2 * max(canvas[1:]) > MAX_CANVAS:
            break
        canvas = (c, 2 * canvas[1], 2 * canvas[2])
    box, hw, canvas = best
    if box is None:  # no input pixel reaches the layer: nothing to cut
        raise ConfigError("inspect.patches.no_field", name=layer)
    centre = (hw[0] // 2, hw[1] // 2)
    if hw == (1, 1):
        return UnitField((h, w), (1, 1), (0, 0), "measured", whole=True)
    jump = [1, 1]
    for a in range(2):
        if hw[a] > 1:  # the next unit along this axis: its box moves by the jump
            nxt = (centre[0] + (a == 0), centre[1] + (a == 1))
            if nxt[a] >= hw[a]:
                nxt = (centre[0] - (a == 0), centre[1] - (a == 1))
            other, _, _ = _support_box(model, layer, canvas, nxt, seed)
            if other is not None:
                # clipping at a border only shortens a shift, so the larger side's shift is right
                shift = max(abs(other[2 * a] - box[2 * a]), abs(other[2 * a + 1] - box[2 * a + 1]))
                jump[a] = max(1, shift)
    size = (box[1] - box[0] + 1, box[3] - box[2] + 1)
    left = (box[0] - centre[0] * jump[0], box[2] - centre[1] * jump[1])
    return UnitField(size, (jump[0], jump[1]), left, "measured")


def unit_field(
    model: nn.Module, layer: str, input_shape: Sequence[int], method: str = "auto"
) -> UnitField:
    """``layer``'s receptive field (module docstring).

    ``method="auto"``: the summary's field, else the formula when the model is a Sequential chain,
    else the gradient measurement on the real model; ``"formula"`` / ``"measured"`` force this
    module's own methods (the tests check that all of them agree).
    """
    if method not in ("auto", "formula", "measured"):
        raise ConfigError(
            "inspect.patches.bad_method", value=method, valid="auto, formula, measured"
        )
    find_module(model, layer)
    if _flat(model, layer, input_shape):  # (N, F): every feature sees the whole image
        h, w = int(input_shape[1]), int(input_shape[2])
        return UnitField((h, w), (1, 1), (0, 0), "formula", whole=True)
    if method == "auto":
        found = _summary_field(model, layer, input_shape)
        if found is not None:
            return found
    if method != "measured":
        found = _formula_field(model, layer, (int(input_shape[1]), int(input_shape[2])))
        if found is not None:
            return found
        if method == "formula":
            raise ConfigError("inspect.patches.no_formula", name=layer)
    return measure_field(model, layer, input_shape)


def _flat(model: nn.Module, layer: str, input_shape: Sequence[int]) -> bool:
    """True when ``layer`` outputs ``(N, F)`` (a ``Linear``, the logits) on this input."""
    import torch

    with torch.no_grad():
        out, _ = layer_output(model, torch.zeros(1, *(int(v) for v in input_shape)), layer)
    return out.ndim == 2


def _summary_field(model: nn.Module, layer: str, input_shape: Sequence[int]) -> UnitField | None:
    """``layer``'s field from :func:`cnnlab.inspect.summary.summary` — the formula along the
    recorded data flow, a gradient measurement on a linearised copy where it branches — or None
    when the summary has no usable row for it (no grid, a field clipped by the border)."""
    from cnnlab.inspect.summary import summary

    shape = tuple(int(v) for v in input_shape)
    try:
        rows = summary(model, shape).layers
    except Exception:  # the summary cannot take this model: this module's own methods can
        return None
    row = next((r for r in rows if r.name == layer), None)
    f = row.field if row is not None else None
    if f is None or f.jump is None or f.start is None or f.clipped or len(f.size) != 2:
        return None
    left = tuple(round(s - (r - 1) / 2) for s, r in zip(f.start, f.size, strict=True))
    return UnitField(
        (f.size[0], f.size[1]),
        (f.jump[0], f.jump[1]),
        (left[0], left[1]),
        "formula" if f.method == "formula" else "measured",
    )


def check_channels(channels: Sequence[int] | None, n: int, layer: str) -> list[int]:
    """``channels`` validated against a layer with ``n`` channels (None = all of them)."""
    if channels is None:
        return list(range(n))
    bad = [c for c in channels if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < n]
    if bad:
        raise ConfigError("inspect.channel_range", value=bad[0], name=layer, n=n, last=n - 1)
    return list(channels)


@dataclass(frozen=True)
class TopPatches:
    """The ``k`` images (and the patch of each) that excite each chosen channel most.

    Arrays are indexed ``[channel_position, rank]``; ``channels[p]`` is the channel number.
    activations: (P, k) the channel's maximum over positions on that image
    indices:     (P, k) dataset indices;  labels: (P, k)
    units:       (P, k, 2) the winning unit ``(i, j)`` in the layer's map
    boxes:       (P, k, 4) its field ``(top, bottom, left, right)``, unclipped, inclusive
    patches:     (P, k, C, r_h, r_w) the field cut from the image, ``pad_value`` outside it
    channel_mean: (P,) mean over the scanned images of the per-image maximum (the typical value)
    """

    layer: str
    channels: list[int]
    activations: np.ndarray
    indices: np.ndarray
    labels: np.ndarray
    units: np.ndarray
    boxes: np.ndarray
    patches: np.ndarray
    channel_mean: np.ndarray
    field: UnitField
    n_images: int
    map_shape: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able numbers (without the pixel arrays)."""
        return {
            "layer": self.layer,
            "channels": self.channels,
            "activations": self.activations.round(6).tolist(),
            "indices": self.indices.tolist(),
            "labels": self.labels.tolist(),
            "units": self.units.tolist(),
            "boxes": self.boxes.tolist(),
            "channel_mean": self.channel_mean.round(6).tolist(),
            "field": self.field.to_dict(),
            "n_images": self.n_images,
            "map_shape": list(self.map_shape),
        }


def cut(image: np.ndarray, box: Sequence[int], pad_value: float = 0.0) -> np.ndarray:
    """``image[:, top:bottom+1, left:right+1]`` of ``(C, H, W)``, cells outside filled."""
    top, bottom, lft, rgt = (int(v) for v in box)
    c, h, w = image.shape
    patch = np.full((c, bottom - top + 1, rgt - lft + 1), pad_value, dtype=image.dtype)
    t0, b0, l0, r0 = max(top, 0), min(bottom, h - 1), max(lft, 0), min(rgt, w - 1)
    if t0 <= b0 and l0 <= r0:
        patch[:, t0 - top : b0 - top + 1, l0 - lft : r0 - lft + 1] = image[
            :, t0 : b0 + 1, l0 : r0 + 1
        ]
    return patch


def top_patches(
    model: nn.Module,
    layer: str,
    dataset: Any,
    k: int = 9,
    channels: Sequence[int] | None = None,
    limit: int = 2000,
    batch_size: int = 256,
    preprocess: Preprocess | None = None,
    field: UnitField | None = None,
    pad_value: float = 0.0,
) -> TopPatches:
    """For each channel of ``layer``, the ``k`` images of ``dataset`` it responds to most.

    Args:
        dataset: ``ds[i] -> (tensor (C, H, W), label)`` (every cnnlab image dataset); the first
            ``limit`` images are scanned (fewer when the set is smaller).
        preprocess: applied to a batch before the model (a checkpoint's standardisation); patches
            are cut from the images as the dataset gives them, so they display as pictures.
        field: the layer's :class:`UnitField`; computed with :func:`unit_field` when None.
    """
    import torch

    find_module(model, layer)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError("error.min_value", name="k", value=k, minimum=1)
    n = min(int(limit), len(dataset))
    if n < k:
        raise ConfigError("inspect.patches.too_few", n=n, k=k)
    first = dataset[0][0]
    shape = tuple(first.shape)
    if len(shape) != 3:
        raise ConfigError("inspect.patches.not_image", shape=shape)
    best: list[torch.Tensor] = []  # per batch: (B, C_out) maxima
    where: list[torch.Tensor] = []  # per batch: (B, C_out) flat argmax positions
    labels = np.zeros(n, dtype=np.int64)
    map_shape: tuple[int, ...] = ()
    with torch.no_grad():
        for start in range(0, n, batch_size):
            items = [dataset[i] for i in range(start, min(start + batch_size, n))]
            x = torch.stack([item[0] for item in items])  # (B, C, H, W)
            labels[start : start + len(items)] = [int(item[1]) for item in items]
            xin = preprocess(x) if preprocess is not None else x
            out, _ = layer_output(model, xin, layer)
            if out.ndim == 2:  # (B, F): a Linear layer or the logits — one "position" per image
                out = out[:, :, None, None]
            out = _spatial(out, layer)  # (B, C_out, h, w)
            map_shape = tuple(out.shape[1:])
            flat = out.flatten(2)  # (B, C_out, h*w)
            value, pos = flat.max(dim=2)
            best.append(value.float())
            where.append(pos)
    values = torch.cat(best)  # (N, C_out)
    positions = torch.cat(where)
    chosen = check_channels(channels, int(values.shape[1]), layer)
    if field is None:
        field = unit_field(model, layer, shape)
    h, w = int(map_shape[1]), int(map_shape[2])
    acts, idx, units, boxes, patches = [], [], [], [], []
    for c in chosen:
        top = torch.topk(values[:, c], k)  # one patch per image: the k best images
        rows = top.indices.tolist()
        acts.append(top.values.numpy())
        idx.append(rows)
        u = [divmod(int(positions[r, c]), w) for r in rows]
        units.append(u)
        b = [field.box(ij, (shape[1], shape[2])) for ij in u]
        boxes.append(b)
        patches.append(
            np.stack(
                [cut(dataset[r][0].numpy(), bx, pad_value) for r, bx in zip(rows, b, strict=True)]
            )
        )
    idx_a = np.array(idx, dtype=np.int64)
    return TopPatches(
        layer=layer,
        channels=chosen,
        activations=np.array(acts, dtype=np.float64),
        indices=idx_a,
        labels=labels[idx_a],
        units=np.array(units, dtype=np.int64).reshape(len(chosen), k, 2),
        boxes=np.array(boxes, dtype=np.int64).reshape(len(chosen), k, 4),
        patches=np.stack(patches),
        channel_mean=values[:, chosen].mean(dim=0).double().numpy(),
        field=field,
        n_images=n,
        map_shape=(int(map_shape[0]), h, w),
    )


__all__ = [
    "UnitField",
    "TopPatches",
    "top_patches",
    "unit_field",
    "measure_field",
    "check_channels",
    "cut",
]
