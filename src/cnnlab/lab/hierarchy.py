"""Feature hierarchy: what every layer of a trained CNN makes of one digit.

A :class:`~cnnlab.models.SimpleCNN` with ``channels=(8, 16, 32)`` and 5×5 kernels is trained
(:func:`cnnlab.train.fit`), then one test digit is passed through it while forward hooks
(:func:`cnnlab.inspect.feature_maps.feature_maps`) record every layer's output::

    (1, 1, 28, 28) → block 1 → (1, 8, 14, 14) → block 2 → (1, 16, 7, 7) → block 3 → (1, 32, 3, 3)
    block = Conv2d(k=5, same) → BatchNorm2d → ReLU → MaxPool2d(2)

With depth the maps get smaller (pooling halves them) and more numerous (more channels): fewer
positions, each summarising a larger part of the digit, described by more kinds of features.

The first layer's kernels are drawn before and after training. A measured sign of structure is
their *smoothness*: the correlation between horizontally and vertically neighbouring weights —
about 0 for random kernels, clearly positive for smooth oriented light/dark patterns. With the small
default budget (4,000 digits, BatchNorm after the conv) the kernels stay close to their random start
(≈0.1); the text says so instead of claiming clean edge filters. Measured on mnist-sample: 8-12
epochs, SGD or AdamW, with or without BatchNorm all stay below 0.25. The block-1 maps show the edge-
and stroke-detecting behaviour directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnnlab.errors import ConfigError
from cnnlab.lab.registry import register
from cnnlab.lab.training import TrainDataParams, load_train_test, train_model
from cnnlab.result import Result

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

SHOWN_KINDS = ("ReLU", "MaxPool2d")  # per block: the activated map and its pooled summary
MAX_CHANNELS = 128
SMOOTH = 0.3  # neighbour correlation above which kernels look like smooth patterns, not noise


@dataclass
class HierarchyParams(TrainDataParams):
    index: int = field(default=7, metadata={"help": "lab.hierarchy.param.index", "min": 0})
    # test digit to look at (mnist-sample: index i is a digit of class i % 10, so 7 is a "7")
    channels: tuple[int, ...] = field(default=(8, 16, 32), metadata={"help": "lab.hierarchy.param.channels"})
    # ints, one conv block per entry; 3 blocks take 28×28 to 14, 7 and 3 (at most 4: 28 → 1).
    # the CLI turns a tuple[int, ...] field into a repeatable option (--channels 8 --channels 16)
    kernel: int = field(default=5, metadata={"help": "lab.hierarchy.param.kernel",
                                             "choices": (3, 5, 7)})
    # 5×5 first-layer kernels are large enough to show their edge-like structure
    n_show: int = field(default=8, metadata={"help": "lab.hierarchy.param.n_show", "min": 1,
                                             "max": 32})
    # maps drawn per layer (the numbers cover all of them)
    epochs: int = field(default=4, metadata={"help": "lab.training.param.epochs", "min": 1,
                                             "max": 100})
    # ~97 % on mnist-sample with AdamW; enough for the kernels to leave their random start


def kernel_smoothness(w: torch.Tensor) -> float:
    """Mean correlation of neighbouring weights inside each kernel of ``w (C_out, C_in, k, k)``.

    Pairs are (row, col)–(row, col+1) and (row, col)–(row+1, col) within one kernel; each kernel is
    centred on its own mean first. ≈0 for i.i.d. random weights, → 1 for smooth kernels.
    """
    import torch

    k = w.detach().double().flatten(0, 1)  # (C_out·C_in, k, k)
    k = k - k.mean(dim=(1, 2), keepdim=True)
    a = torch.cat([k[:, :, :-1].flatten(1), k[:, :-1, :].flatten(1)], dim=1)  # (K, pairs)
    b = torch.cat([k[:, :, 1:].flatten(1), k[:, 1:, :].flatten(1)], dim=1)
    corr = (a * b).sum(1) / ((a * a).sum(1) * (b * b).sum(1)).sqrt().clamp(min=1e-12)
    return float(corr.mean())


def _check(params: HierarchyParams, size: int, n_test: int) -> tuple[int, ...]:
    """Validate the tuple-valued and data-dependent parameters before training."""
    raw = params.channels
    channels = (raw,) if isinstance(raw, int) else tuple(raw)  # one int = one block
    max_blocks = max(1, (size).bit_length() - 1)  # each block halves; the last map must be ≥ 1×1
    if not 1 <= len(channels) <= max_blocks or any(
            isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= MAX_CHANNELS
            for c in channels):
        raise ConfigError("lab.hierarchy.error.channels", value=list(channels),
                          blocks=max_blocks, high=MAX_CHANNELS, size=size)
    if params.index >= n_test:
        raise ConfigError("lab.error.range", param="index", value=params.index, low=0,
                          high=n_test - 1)
    return channels


@register("hierarchy", HierarchyParams, "lab.hierarchy.title",
          quick={"n_train": 300, "n_test": 50, "epochs": 1, "channels": (4, 8), "n_show": 4})
def run(params: HierarchyParams, *, lang: str | None = None, callback: Any = None) -> Result:
    import torch

    from cnnlab.inspect.feature_maps import feature_maps
    from cnnlab.models import build
    from cnnlab.viz.fonts import figure_lang

    train, test, dataset = load_train_test(params)
    size = train[0].shape[-1]
    channels = _check(params, size, len(test[1]))

    def make() -> torch.nn.Module:
        return build("cnn", image_size=size, channels=channels, kernel_size=params.kernel,
                     hidden=64)

    torch.manual_seed(params.seed)  # the same seed train_model uses: these are its initial kernels
    w_init = make().features[0].weight.detach().clone()  # (C_1, C_in, k, k)
    cnn = train_model("cnn", make, train, test, params, callback=callback,
                      optimizer="adamw", lr=0.01)
    w_trained = cnn.model.features[0].weight.detach().clone()

    x, label = test[0][params.index:params.index + 1], int(test[1][params.index])  # (1, 1, H, W)
    maps = feature_maps(cnn.model, cnn.preprocess.apply(x))
    pred = int(cnn.logits(x).argmax(1))
    layers = [{"name": m.name, "kind": m.kind, "shape": list(m.shape[1:]),
               "values": int(m.output[0].numel()),
               "active_fraction": float((m.output > 0).double().mean())} for m in maps]
    shown = [m for m in maps if m.is_spatial and m.kind in SHOWN_KINDS]
    pooled = [m for m in shown if m.kind == "MaxPool2d"]  # one per block: the block's output
    numbers = {
        "dataset": dataset, "n_train": len(train[1]), "epochs": params.epochs, "seed": params.seed,
        "accuracy": cnn.accuracy, "params": cnn.n_params,
        "model": {"channels": list(channels), "kernel": params.kernel},
        "index": params.index, "label": label, "prediction": pred,
        "layers": layers,
        "block_channels": [m.shape[1] for m in pooled],
        "block_spatial": [m.shape[-1] for m in pooled],
        "channels_grow": all(a.shape[1] <= b.shape[1] for a, b in zip(pooled, pooled[1:])),
        "maps_shrink": all(a.shape[-1] > b.shape[-1] for a, b in zip(pooled, pooled[1:])),
        "kernel_smoothness": {"initial": kernel_smoothness(w_init),
                              "trained": kernel_smoothness(w_trained)},
        "kernel_relative_change": float((w_trained - w_init).norm() / w_init.norm()),
    }

    flang = figure_lang(lang)
    figures = {"feature_maps": _maps_figure(x, shown, numbers, params.n_show, flang),
               "first_layer_kernels": _kernels_figure(w_init, w_trained, numbers, flang)}
    result = Result("hierarchy", numbers, figures, lang=flang)
    result.say("lab.hierarchy.setup", channels=list(channels), k=params.kernel,
               acc=100 * cnn.accuracy, index=params.index, label=label, pred=pred)
    for m in pooled:
        i = pooled.index(m) + 1
        result.say("lab.hierarchy.block", i=i, c=m.shape[1], h=m.shape[-2], w=m.shape[-1],
                   values=m.output[0].numel())
    result.say("lab.hierarchy.trend" if numbers["channels_grow"] and numbers["maps_shrink"]
               else "lab.hierarchy.no_trend")
    smooth = numbers["kernel_smoothness"]
    key = "kernels_smooth" if smooth["trained"] >= SMOOTH else "kernels_rough"
    result.say(f"lab.hierarchy.{key}", initial=smooth["initial"], trained=smooth["trained"],
               change=100 * numbers["kernel_relative_change"])
    result.say("lab.hierarchy.truth")
    return result


def _maps_figure(x: torch.Tensor, shown: list[Any], numbers: dict[str, Any], n_show: int,
                 lang: str) -> Figure:
    """One row per recorded stage (input, then ReLU and pooled output of each block)."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    rows = [("input", x[0])] + [(m.kind, m.output[0]) for m in shown]  # each (C, H, W)
    cols = min(n_show, max(r[1].shape[0] for r in rows))
    fig = Figure(figsize=(1.45 * cols + 1.6, 1.5 * len(rows) + 0.6), layout="constrained")
    axes = fig.subplots(len(rows), cols, squeeze=False)
    block = 0
    for r, (kind, maps) in enumerate(rows):
        if kind == "ReLU":
            block += 1
        c, h, w = maps.shape
        label = t(f"lab.hierarchy.row_{kind.lower()}", lang, i=block) + f"\n{c}×{h}×{w}"
        for j in range(cols):
            ax = axes[r][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= c:
                ax.axis("off")
                continue
            ax.imshow(maps[j].numpy(), cmap="gray" if kind == "input" else "viridis")
            if j == 0:
                ax.set_ylabel(label, fontsize=9)
    fig.suptitle(t("lab.hierarchy.fig_maps", lang, index=numbers["index"], label=numbers["label"],
                   n=cols))
    return fig


def _kernels_figure(w_init: torch.Tensor, w_trained: torch.Tensor, numbers: dict[str, Any],
                    lang: str) -> Figure:
    """First-layer kernels, before and after training (red positive, blue negative)."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    n = w_init.shape[0]
    fig = Figure(figsize=(1.3 * n + 1.4, 3.4), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False)
    smooth = numbers["kernel_smoothness"]
    for r, (w, key) in enumerate(((w_init, "initial"), (w_trained, "trained"))):
        for j in range(n):
            ax = axes[r][j]
            k = w[j, 0].double()  # (k, k) — the one input channel of a grayscale image
            lim = float(k.abs().max()) or 1.0
            ax.imshow(k.numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(t(f"lab.hierarchy.kernels_{key}", lang, s=smooth[key]), fontsize=9)
    fig.suptitle(t("lab.hierarchy.fig_kernels", lang, k=numbers["model"]["kernel"]))
    return fig


__all__ = ["HierarchyParams", "kernel_smoothness", "run"]
