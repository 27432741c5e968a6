"""Feature hierarchy: what every layer of a trained CNN makes of one digit.

A :class:`~cnnlab.models.SimpleCNN` with ``channels=(8, 16, 32)`` and 5×5 kernels is trained
(:func:`cnnlab.lab.training.train_model`), then one test digit is passed through it while forward
hooks (:func:`cnnlab.inspect.feature_maps.feature_maps`) record every layer's output::

    (1, 1, 28, 28) → block 1 → (1, 8, 14, 14) → block 2 → (1, 16, 7, 7) → block 3 → (1, 32, 3, 3)
    block = Conv2d(k=5, same) → BatchNorm2d → ReLU → MaxPool2d(2)

With depth the maps get smaller (pooling halves them) and more numerous (more channels).

What is measured, not asserted (audit):

- *How much of the digit a unit can combine*: each block's receptive field in input pixels
  (:func:`cnnlab.geometry.rf_chain` over the model's own Conv2d/MaxPool2d layers), against the
  digit's ink bounding box and its typical stroke width (median length of horizontal ink runs).
  Whether a deep unit responds to a particular *part* of a digit is not measured here, and the text
  says so.
- *The frame in the block-1 maps*: the input is standardised with the training set's mean
  and std, so a blank pixel becomes ``(0 − mean)/std < 0``, while 'same' zero padding feeds 0 —
  brighter than the background. Cells whose window reaches into the padding but holds no ink
  therefore differ from interior background cells. Measured: the block-1 ReLU mean on those frame
  cells vs interior blank cells; control: the same with the padding filled with the background
  value, where both are equal (the windows hold identical numbers).
- *Kernel structure*: the neighbour correlation of the first layer's kernels (≈0 for noise) before
  and after training, mean ± std over ``seeds`` trained models. With the default budget it stays
  near its random start, and the text says the kernels still look much like noise.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.errors import ConfigError
from cnnlab.lab.hierarchy_model import UserHierarchy
from cnnlab.lab.registry import register
from cnnlab.lab.training import TrainDataParams
from cnnlab.lab.user_model import ModelParams
from cnnlab.progress import Progress, emit
from cnnlab.result import Message

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

SHOWN_KINDS = ("ReLU", "MaxPool2d")  # per block: the activated map and its pooled summary
MAX_CHANNELS = 128
SMOOTH = 0.3  # neighbour correlation above which kernels look like smooth patterns, not noise
INK = 0.5  # a pixel is ink (for the digit's extent and stroke width) at this brightness


@dataclass
class HierarchyParams(TrainDataParams, ModelParams):
    index: int = field(default=7, metadata={"help": "lab.hierarchy.param.index", "min": 0})
    # test digit to look at (mnist-sample: index i is a digit of class i % 10, so 7 is a "7")
    channels: tuple[int, ...] = field(
        default=(8, 16, 32),
        metadata={"help": "lab.hierarchy.param.channels"},
    )
    # ints, one conv block per entry; 3 blocks take 28×28 to 14, 7 and 3 (at most 4: 28 → 1).
    # the CLI turns a tuple[int, ...] field into a repeatable option (--channels 8 --channels 16)
    kernel: int = field(
        default=5, metadata={"help": "lab.hierarchy.param.kernel", "choices": (3, 5, 7)}
    )
    # 5×5 first-layer kernels are large enough to show their structure
    n_show: int = field(
        default=8, metadata={"help": "lab.hierarchy.param.n_show", "min": 1, "max": 32}
    )
    # maps drawn per layer (the layer table covers all of them)
    epochs: int = field(
        default=4, metadata={"help": "lab.training.param.epochs", "min": 1, "max": 100}
    )
    # ~97 % on mnist-sample with AdamW; enough for the kernels to leave their random start
    seeds: int = field(
        default=3, metadata={"help": "lab.hierarchy.param.seeds", "min": 1, "max": 10}
    )
    # seed, seed+1, …: accuracy, kernel smoothness and the frame as mean ± std; maps from the first


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str
    shape: list[int]  # (C, H, W) or (F,) without the batch axis
    values: int
    active_fraction: float  # fraction of outputs > 0


@dataclass(frozen=True)
class Row:
    """One drawn row of the feature-map figure."""

    kind: str  # "input", "ReLU" or "MaxPool2d"
    block: int  # 0 for the input
    shape: list[int]  # (C, H, W) of the whole layer output
    maps: np.ndarray  # (min(C, n_show), H, W)


@dataclass(frozen=True)
class Block:
    channels: int
    spatial: int
    values: int
    receptive_field: int  # input pixels one unit of the block's output sees (per axis)


@dataclass(frozen=True)
class Frame:
    """Block-1 ReLU output on blank windows: at the border (touching the padding) vs inside."""

    background: float  # a blank pixel after standardisation, (0 − mean) / std
    pad_width: int  # rows/columns of 'same' zero padding on each side
    frame_cells: int  # border cells whose window holds no ink
    interior_cells: int  # interior cells whose window holds no ink
    frame_means: list[float]  # per channel, mean over those border cells
    interior_means: list[float]  # per channel, mean over those interior cells
    channels_brighter: int  # channels whose frame mean exceeds their interior mean
    abs_difference: float  # mean over channels of |frame mean − interior mean|
    abs_difference_background_pad: float  # control: padding filled with the background value
    per_seed_abs_difference: list[float]  # abs_difference for every seed


@dataclass(frozen=True)
class HierarchyNumbers:
    dataset: str
    n_train: int
    n_test: int
    epochs: int
    seed: int
    seeds: list[int]
    accuracy: float  # first seed (the model whose maps are drawn)
    accuracies: list[float]
    params: int
    model: dict[str, Any]
    index: int
    label: int
    prediction: int
    layers: list[Layer]
    rows: list[Row]
    blocks: list[Block]
    block_channels: list[int]
    block_spatial: list[int]
    channels_grow: bool
    maps_shrink: bool
    digit_height: int  # ink bounding box, pixels
    digit_width: int
    stroke_width: float  # median length of horizontal ink runs, pixels
    kernel_smoothness: dict[str, float]  # initial / trained (first seed)
    smoothness_initial: list[float]  # per seed
    smoothness_trained: list[float]
    kernel_relative_change: float
    kernels_initial: np.ndarray  # (C_1, k, k) first seed
    kernels_trained: np.ndarray
    frame: Frame | None  # None for --model (needs the built-in Conv → BatchNorm → ReLU layout)
    user: UserHierarchy | None = None  # --model: the user's network, measured as it comes


def kernel_smoothness(w: Any) -> float:
    """Mean correlation of neighbouring weights inside each kernel of ``w``: ``(C_out, C_in, k, k)``
    or ``(C, k, k)``, a tensor or an array.

    Pairs are (row, col)–(row, col+1) and (row, col)–(row+1, col) within one kernel; each kernel is
    centred on its own mean first. ≈0 for i.i.d. random weights, → 1 for smooth kernels.
    """
    arr = np.asarray(w.detach().cpu() if hasattr(w, "detach") else w, dtype=np.float64)
    k = arr.reshape(-1, *arr.shape[-2:])  # (K, k, k)
    k = k - k.mean(axis=(1, 2), keepdims=True)
    a = np.concatenate([k[:, :, :-1].reshape(len(k), -1), k[:, :-1, :].reshape(len(k), -1)], 1)
    b = np.concatenate([k[:, :, 1:].reshape(len(k), -1), k[:, 1:, :].reshape(len(k), -1)], 1)
    corr = (a * b).sum(1) / np.maximum(np.sqrt((a * a).sum(1) * (b * b).sum(1)), 1e-12)
    return float(corr.mean())


def stroke_width(image: np.ndarray, ink: float = INK) -> float:
    """Median length of the horizontal runs of ink pixels in ``image (H, W)`` (0 if no ink)."""
    runs: list[int] = []
    for row in image >= ink:
        edges = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
        runs += list(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1))
    return float(np.median(runs)) if runs else 0.0


def _check(params: HierarchyParams, size: int, n_test: int) -> tuple[int, ...]:
    """Validate the tuple-valued and data-dependent parameters before training."""
    raw = params.channels
    channels = (raw,) if isinstance(raw, int) else tuple(raw)  # one int = one block
    max_blocks = max(1, (size).bit_length() - 1)  # each block halves; the last map must be ≥ 1×1
    if not 1 <= len(channels) <= max_blocks or any(
        isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= MAX_CHANNELS
        for c in channels
    ):
        raise ConfigError(
            "lab.hierarchy.error.channels",
            value=list(channels),
            blocks=max_blocks,
            high=MAX_CHANNELS,
            size=size,
        )
    if params.index >= n_test:
        raise ConfigError(
            "lab.error.range", param="index", value=params.index, low=0, high=n_test - 1
        )
    return channels


def receptive_fields(model: Any) -> list[int]:
    """Receptive field (pixels per axis) after every MaxPool2d of ``model.features``."""
    from torch import nn

    from cnnlab.geometry import Field, rf_step, same_padding

    def one(v: Any) -> int:
        return int(v[0] if isinstance(v, tuple) else v)

    fields, f = [], Field()
    for m in model.features:
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d)):
            k, d = one(m.kernel_size), one(m.dilation)
            pad = same_padding(k, d)[0] if m.padding == "same" else one(m.padding)
            f = rf_step(f, k, one(m.stride), pad, d)
            if isinstance(m, nn.MaxPool2d):
                fields.append(f.size)
    return fields


def frame_effect(
    model: Any, x_std: torch.Tensor, x: torch.Tensor, background: float
) -> dict[str, Any]:
    """Block-1 ReLU on blank windows at the border vs inside, with zero padding and, as a control,
    padding filled with ``background``. ``x_std``/``x``: ``(1, 1, H, W)`` standardised / in [0, 1].
    """
    import torch
    import torch.nn.functional as F

    conv, bn, relu = model.features[0], model.features[1], model.features[2]
    k = conv.kernel_size[0]
    p = k // 2
    with torch.no_grad():
        zero = relu(bn(conv(x_std)))[0]  # (C, H, W), the model's own zero padding
        filled = F.pad(x_std, (p, p, p, p), value=background)  # (1, 1, H+2p, W+2p)
        control = relu(bn(F.conv2d(filled, conv.weight, conv.bias)))[0]  # (C, H, W)
        # a window is blank when none of its (k, k) input pixels holds ink
        ink = F.max_pool2d((x > 0).float(), k, stride=1, padding=p)[0, 0] > 0  # (H, W)
    h, w = ink.shape
    rr, cc = torch.arange(h)[:, None], torch.arange(w)[None, :]
    border = (rr < p) | (rr >= h - p) | (cc < p) | (cc >= w - p)  # windows overlapping padding
    on_frame, inside = border & ~ink, ~border & ~ink

    def mean(maps: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        return maps[:, where].double().mean(1)  # (C,)

    f0, i0 = mean(zero, on_frame), mean(zero, inside)
    f1, i1 = mean(control, on_frame), mean(control, inside)
    return {
        "pad_width": p,
        "frame_cells": int(on_frame.sum()),
        "interior_cells": int(inside.sum()),
        "frame_means": f0.tolist(),
        "interior_means": i0.tolist(),
        "channels_brighter": int((f0 > i0).sum()),
        "abs_difference": float((f0 - i0).abs().mean()),
        "abs_difference_background_pad": float((f1 - i1).abs().mean()),
    }


def _first_weight(model: Any) -> torch.Tensor:
    """A copy of the first conv layer's weight, ``(C_1, C_in, k, k)``."""
    return model.features[0].weight.detach().clone()


def measure(params: HierarchyParams, progress: Progress | None = None) -> HierarchyNumbers:
    if params.model:  # the user's own network (cnnlab.lab.hierarchy_model)
        from cnnlab.lab.hierarchy_model import measure_user

        return measure_user(params, progress)
    import torch

    from cnnlab.inspect.feature_maps import feature_maps
    from cnnlab.lab.training import load_train_test, train_model
    from cnnlab.models import build

    train, test, dataset = load_train_test(params)
    size = train[0].shape[-1]
    channels = _check(params, size, len(test[1]))

    def make() -> torch.nn.Module:
        return build(
            "cnn", image_size=size, channels=channels, kernel_size=params.kernel, hidden=64
        )

    x, label = test[0][params.index : params.index + 1], int(test[1][params.index])  # (1, 1, H, W)
    seeds = [params.seed + j for j in range(params.seeds)]
    acc, sm_init, sm_trained, frames, models = [], [], [], [], []
    for j, seed in enumerate(seeds):
        emit(progress, "stage", stage="train", index=j + 1, total=len(seeds), seed=seed)
        torch.manual_seed(seed)  # the same seed train_model builds under: its initial kernels
        w_init = _first_weight(make())  # (C_1, C_in, k, k)
        cnn = train_model(
            "cnn",
            make,
            train,
            test,
            dataclasses.replace(params, seed=seed),
            callback=progress,
            optimizer="adamw",
            lr=0.01,
        )
        w_trained = _first_weight(cnn.model)
        background = float(cnn.preprocess.apply(torch.zeros(1, 1, 1, 1)))  # a blank pixel
        acc.append(cnn.accuracy)
        sm_init.append(kernel_smoothness(w_init))
        sm_trained.append(kernel_smoothness(w_trained))
        frames.append(frame_effect(cnn.model, cnn.preprocess.apply(x), x, background))
        models.append((cnn, w_init, w_trained, background))
    cnn, w_init, w_trained, background = models[0]  # the first seed's model is drawn

    emit(progress, "stage", stage="feature maps")
    maps = feature_maps(cnn.model, cnn.preprocess.apply(x))
    pred = int(cnn.logits(x).argmax(1))
    layers = [
        Layer(
            m.name,
            m.kind,
            list(m.shape[1:]),
            int(m.output[0].numel()),
            float((m.output > 0).double().mean()),
        )
        for m in maps
    ]
    shown = [m for m in maps if m.is_spatial and m.kind in SHOWN_KINDS]
    pooled = [m for m in shown if m.kind == "MaxPool2d"]  # one per block: the block's output
    rows, block = [Row("input", 0, list(x.shape[1:]), x[0].numpy())], 0
    for m in shown:
        block += m.kind == "ReLU"
        rows.append(Row(m.kind, block, list(m.shape[1:]), m.output[0, : params.n_show].numpy()))
    rfs = receptive_fields(cnn.model)
    blocks = [
        Block(m.shape[1], m.shape[-1], int(m.output[0].numel()), rf)
        for m, rf in zip(pooled, rfs, strict=True)
    ]
    img = x[0, 0].numpy()
    ink_r, ink_c = np.nonzero(img >= INK)
    return HierarchyNumbers(
        dataset=dataset,
        n_train=len(train[1]),
        n_test=len(test[1]),
        epochs=params.epochs,
        seed=params.seed,
        seeds=seeds,
        accuracy=acc[0],
        accuracies=acc,
        params=cnn.n_params,
        model={"channels": list(channels), "kernel": params.kernel},
        index=params.index,
        label=label,
        prediction=pred,
        layers=layers,
        rows=rows,
        blocks=blocks,
        block_channels=[b.channels for b in blocks],
        block_spatial=[b.spatial for b in blocks],
        channels_grow=all(a.channels <= b.channels for a, b in pairwise(blocks)),
        maps_shrink=all(a.spatial > b.spatial for a, b in pairwise(blocks)),
        digit_height=int(np.ptp(ink_r)) + 1 if ink_r.size else 0,
        digit_width=int(np.ptp(ink_c)) + 1 if ink_c.size else 0,
        stroke_width=stroke_width(img),
        kernel_smoothness={"initial": sm_init[0], "trained": sm_trained[0]},
        smoothness_initial=sm_init,
        smoothness_trained=sm_trained,
        kernel_relative_change=float((w_trained - w_init).norm() / w_init.norm()),
        kernels_initial=w_init[:, 0].numpy(),
        kernels_trained=w_trained[:, 0].numpy(),
        frame=Frame(
            background=background,
            **frames[0],
            per_seed_abs_difference=[f["abs_difference"] for f in frames],
        ),
    )


def explain(n: HierarchyNumbers) -> list[Message]:
    from cnnlab.lab.stats import spread

    if n.user is not None:
        from cnnlab.lab.hierarchy_model import explain_user

        return explain_user(n)

    a = spread(n.accuracies)
    out: list[Message] = [
        (
            "lab.hierarchy.setup",
            {
                "channels": n.model["channels"],
                "k": n.model["kernel"],
                "acc": 100 * a.mean,
                "acc_std": 100 * a.std,
                "seeds": len(n.seeds),
                "index": n.index,
                "label": n.label,
                "pred": n.prediction,
                "seed": n.seeds[0],
            },
        ),
    ]
    if len(n.seeds) == 1:
        out.append(("lab.hierarchy.one_seed", {}))
    out += [
        (
            "lab.hierarchy.block",
            {"i": i + 1, "c": b.channels, "h": b.spatial, "w": b.spatial, "values": b.values},
        )
        for i, b in enumerate(n.blocks)
    ]
    out.append(
        (
            "lab.hierarchy.trend"
            if n.channels_grow and n.maps_shrink
            else "lab.hierarchy.no_trend",
            {},
        )
    )
    out.append(
        ("lab.hierarchy.digit", {"h": n.digit_height, "w": n.digit_width, "stroke": n.stroke_width})
    )
    out += [
        (
            "lab.hierarchy.rf",
            {
                "i": i + 1,
                "rf": b.receptive_field,
                "strokes": b.receptive_field / max(n.stroke_width, 1.0),
                "side": max(n.digit_height, n.digit_width),
                "part": 100 * min(1.0, b.receptive_field / max(n.digit_height, n.digit_width, 1)),
            },
        )
        for i, b in enumerate(n.blocks)
    ]
    out.append(("lab.hierarchy.parts_not_measured", {}))
    f = n.frame
    if f is None:  # a built-in run always measures it
        raise RuntimeError("hierarchy: a built-in run has no padding-frame numbers")
    d = spread(f.per_seed_abs_difference)
    out.append(
        (
            "lab.hierarchy.frame",
            {
                "bg": f.background,
                "p": f.pad_width,
                "diff": d.mean,
                "diff_std": d.std,
                "seeds": len(n.seeds),
                "first": f.abs_difference,
                "brighter": f.channels_brighter,
                "c": len(f.frame_means),
                "ctl": f.abs_difference_background_pad,
            },
        )
    )
    si, st = spread(n.smoothness_initial), spread(n.smoothness_trained)
    key = "kernels_smooth" if st.mean >= SMOOTH else "kernels_rough"
    out.append(
        (
            f"lab.hierarchy.{key}",
            {
                "initial": si.mean,
                "trained": st.mean,
                "trained_std": st.std,
                "seeds": len(n.seeds),
                "change": 100 * n.kernel_relative_change,
            },
        )
    )
    out.append(("lab.hierarchy.truth", {}))
    return out


def draw(n: HierarchyNumbers, lang: str) -> dict[str, Figure]:
    if n.user is not None:
        from cnnlab.lab.hierarchy_model import draw_user

        return draw_user(n, lang)
    return {"feature_maps": _maps_figure(n, lang), "first_layer_kernels": _kernels_figure(n, lang)}


def _maps_figure(n: HierarchyNumbers, lang: str) -> Figure:
    """One row per recorded stage (input, then ReLU and pooled output of each block)."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    cols = max(len(r.maps) for r in n.rows)
    fig = Figure(figsize=(1.45 * cols + 1.6, 1.5 * len(n.rows) + 0.6), layout="constrained")
    axes = fig.subplots(len(n.rows), cols, squeeze=False)
    rf = {i + 1: b.receptive_field for i, b in enumerate(n.blocks)}
    for r, row in enumerate(n.rows):
        c, h, w = row.shape
        label = t(f"lab.hierarchy.row_{row.kind.lower()}", lang, i=row.block) + f"\n{c}×{h}×{w}"
        if row.kind == "MaxPool2d":
            label += "\n" + t("lab.hierarchy.row_rf", lang, rf=rf[row.block])
        for j in range(cols):
            ax = axes[r][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(row.maps):
                ax.axis("off")
                continue
            ax.imshow(row.maps[j], cmap="gray" if row.kind == "input" else "viridis")
            if j == 0:
                ax.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle(t("lab.hierarchy.fig_maps", lang, index=n.index, label=n.label, n=cols))
    return fig


def _kernels_figure(n: HierarchyNumbers, lang: str) -> Figure:
    """First-layer kernels, before and after training (red positive, blue negative)."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    count = len(n.kernels_initial)
    fig = Figure(figsize=(1.3 * count + 1.4, 3.4), layout="constrained")
    axes = fig.subplots(2, count, squeeze=False)
    smooth = n.kernel_smoothness
    for r, (w, key) in enumerate(((n.kernels_initial, "initial"), (n.kernels_trained, "trained"))):
        for j in range(count):
            ax = axes[r][j]
            k = w[j].astype(np.float64)  # (k, k): the one input channel of a grayscale image
            lim = float(np.abs(k).max()) or 1.0
            ax.imshow(k, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(
                    t(f"lab.hierarchy.kernels_{key}", lang, s=smooth[key]),
                    fontsize=9,
                    rotation=0,
                    ha="right",
                    va="center",
                )
    fig.suptitle(t("lab.hierarchy.fig_kernels", lang, k=n.model["kernel"]))
    return fig


EXPERIMENT = register(
    "hierarchy",
    HierarchyParams,
    "lab.hierarchy.title",
    numbers=HierarchyNumbers,
    measure=measure,
    explain=explain,
    draw=draw,
    quick={"n_train": 300, "n_test": 50, "epochs": 1, "channels": (4, 8), "n_show": 4, "seeds": 1},
)

__all__ = [
    "HierarchyParams",
    "HierarchyNumbers",
    "Frame",
    "Block",
    "Row",
    "Layer",
    "kernel_smoothness",
    "stroke_width",
    "receptive_fields",
    "frame_effect",
    "measure",
    "explain",
    "draw",
    "EXPERIMENT",
]
