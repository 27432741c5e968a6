"""Weight sharing: one layer, same input and output sizes, three ways to connect them.

For an input ``(C_in, H, W)`` and an output ``(C_out, H_out, W_out)`` (kernel ``k``, padding
``k//2``, stride 1, so ``H_out = H`` for odd ``k``):

    Conv2d             C_out·C_in·k² + C_out                   one kernel, slid everywhere
    LocallyConnected2d H_out·W_out · (C_out·C_in·k² + C_out)   same windows, a kernel per position
    Linear (dense)     (C_in·H·W)·(C_out·H_out·W_out) + C_out·H_out·W_out   everything to everything

so ``LC = positions × conv`` (28·28 = 784 times more), and the dense layer is larger again by the
ratio of the whole image to one window. Each count is checked against ``sum(p.numel())`` of the real
layer (``nn.Conv2d``, :class:`cnnlab.models.LocallyConnected2d`, ``nn.Linear``).

Then the three layers are trained in the same tiny network — only the first layer differs::

    (N, 1, 28, 28) → layer → (N, C_out, 28, 28) → ReLU → MaxPool2d(2) (N, C_out, 14, 14)
        → Flatten (N, C_out·196) → Linear(·, 10)

on the same data, seed and budget (:func:`cnnlab.train.fit`), and their test accuracy is compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnnlab.lab.registry import register
from cnnlab.lab.training import TrainDataParams, binomial_se, load_train_test, train_model
from cnnlab.result import Result

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from torch import nn

KINDS = ("conv", "locally_connected", "fully_connected")


@dataclass
class WeightSharingParams(TrainDataParams):
    channels: int = field(default=8, metadata={"help": "lab.weight_sharing.param.channels",
                                               "min": 1, "max": 16})
    # output channels C_out of the compared layer; 8 keeps the dense layer at ~4.9 M weights
    # (16 → 9.8 M, the most that still trains in seconds on a laptop CPU)
    kernel: int = field(default=3, metadata={"help": "lab.weight_sharing.param.kernel",
                                             "choices": (1, 3, 5, 7)})
    # odd, with padding k//2, so every variant maps 28×28 to 28×28 ("same input and output sizes")
    epochs: int = field(default=3, metadata={"help": "lab.training.param.epochs", "min": 1,
                                             "max": 100})
    # a small budget: ~3 s per network on 2 cores at the defaults


def layer_params(kind: str, c_in: int, c_out: int, size: int, kernel: int) -> tuple[int, str]:
    """Parameter count of a ``(c_in, size, size) → (c_out, size, size)`` layer, and its formula."""
    from cnnlab.models import locally_connected_params

    conv = c_out * c_in * kernel**2 + c_out
    positions = size * size  # same padding: one output position per input pixel
    if kind == "conv":
        return conv, f"{c_out}·{c_in}·{kernel}·{kernel} + {c_out} = {conv:,}"
    if kind == "locally_connected":
        n = locally_connected_params(c_in, c_out, size, kernel, padding=kernel // 2)
        return n, (f"{size}·{size} · ({c_out}·{c_in}·{kernel}·{kernel} + {c_out})"
                   f" = {positions} × {conv} = {n:,}")
    d_in, d_out = c_in * positions, c_out * positions
    n = d_in * d_out + d_out
    return n, f"({c_in}·{size}·{size})·({c_out}·{size}·{size}) + {c_out}·{size}·{size} = {n:,}"


def build_layer(kind: str, c_in: int, c_out: int, size: int, kernel: int) -> nn.Module:
    """The real layer: ``(N, c_in, size, size) → (N, c_out, size, size)``."""
    from torch import nn

    from cnnlab.models import LocallyConnected2d

    if kind == "conv":
        return nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2)
    if kind == "locally_connected":
        return LocallyConnected2d(c_in, c_out, size, kernel, padding=kernel // 2)
    # dense: flatten (N, c_in·size²) → Linear → unflatten back to (N, c_out, size, size)
    return nn.Sequential(nn.Flatten(), nn.Linear(c_in * size * size, c_out * size * size),
                         nn.Unflatten(1, (c_out, size, size)))


def build_net(kind: str, c_in: int, c_out: int, size: int, kernel: int,
              num_classes: int = 10) -> nn.Module:
    """The shared tiny network around the compared layer (see the module docstring)."""
    from torch import nn

    half = size // 2
    return nn.Sequential(build_layer(kind, c_in, c_out, size, kernel), nn.ReLU(),
                         nn.MaxPool2d(2),  # (N, c_out, size, size) -> (N, c_out, half, half)
                         nn.Flatten(), nn.Linear(c_out * half * half, num_classes))


@register("weight-sharing", WeightSharingParams, "lab.weight_sharing.title",
          quick={"n_train": 500, "n_test": 200, "epochs": 1, "channels": 2})
def run(params: WeightSharingParams, *, lang: str | None = None, callback: Any = None) -> Result:
    from cnnlab.viz.fonts import figure_lang

    train, test, dataset = load_train_test(params)
    c_in, size = train[0].shape[1], train[0].shape[-1]  # (N, C, H, W), square images
    k, c_out = params.kernel, params.channels

    counts: dict[str, Any] = {}
    for kind in KINDS:
        n, formula = layer_params(kind, c_in, c_out, size, k)
        numel = sum(p.numel() for p in build_layer(kind, c_in, c_out, size, k).parameters())
        counts[kind] = {"params": n, "formula": formula, "numel": numel}
    conv_n = counts["conv"]["params"]
    positions = size * size

    nets: dict[str, Any] = {}
    for kind in KINDS:
        trained = train_model(kind, lambda kind=kind: build_net(kind, c_in, c_out, size, k),
                              train, test, params, callback=callback)
        nets[kind] = {"params": trained.n_params, "accuracy": trained.accuracy,
                      "train_accuracy": trained.train_accuracy,
                      "seconds": round(trained.seconds, 2)}
    n_test = len(test[1])

    numbers = {
        "dataset": dataset, "n_train": len(train[1]), "n_test": n_test, "epochs": params.epochs,
        "seed": params.seed,
        "input_shape": [c_in, size, size], "output_shape": [c_out, size, size],
        "kernel": k, "padding": k // 2, "positions": positions,
        "layer_params": {kind: counts[kind]["params"] for kind in KINDS},
        "layer_formulas": {kind: counts[kind]["formula"] for kind in KINDS},
        "formula_matches_numel": all(c["params"] == c["numel"] for c in counts.values()),
        "lc_equals_positions_times_conv":
            counts["locally_connected"]["params"] == positions * conv_n,
        "ratio_lc_to_conv": counts["locally_connected"]["params"] / conv_n,
        "ratio_fc_to_conv": counts["fully_connected"]["params"] / conv_n,
        "network_params": {kind: nets[kind]["params"] for kind in KINDS},
        "accuracy": {kind: nets[kind]["accuracy"] for kind in KINDS},
        "train_accuracy": {kind: nets[kind]["train_accuracy"] for kind in KINDS},
        "accuracy_se": {kind: binomial_se(nets[kind]["accuracy"], n_test) for kind in KINDS},
        "train_seconds": {kind: nets[kind]["seconds"] for kind in KINDS},
    }

    flang = figure_lang(lang)
    result = Result("weight-sharing", numbers, {"params_accuracy": _figure(numbers, flang)},
                    lang=flang)
    result.say("lab.weight_sharing.setup", c_in=c_in, size=size, c_out=c_out, k=k, p=k // 2)
    for kind in KINDS:
        result.say(f"lab.weight_sharing.count_{kind}", formula=counts[kind]["formula"])
    result.say("lab.weight_sharing.ratio", positions=positions, conv=conv_n,
               lc=counts["locally_connected"]["params"],
               fc_ratio=round(numbers["ratio_fc_to_conv"]))
    acc = numbers["accuracy"]
    result.say("lab.weight_sharing.trained", epochs=params.epochs, n=len(train[1]),
               conv=100 * acc["conv"], lc=100 * acc["locally_connected"],
               fc=100 * acc["fully_connected"], se=100 * binomial_se(acc["conv"], n_test))
    _verdict(result, numbers)
    result.say("lab.weight_sharing.truth")
    return result


def _verdict(result: Result, numbers: dict[str, Any]) -> None:
    """Say what the measured accuracies show — computed from the numbers, never assumed."""
    acc, se = numbers["accuracy"], numbers["accuracy_se"]
    other = max(("locally_connected", "fully_connected"), key=lambda kind: acc[kind])
    diff = acc["conv"] - acc[other]
    noise = 2 * (se["conv"] ** 2 + se[other] ** 2) ** 0.5  # 2 SE of a difference of two accuracies
    kw = {"d": 100 * abs(diff), "noise": 100 * noise, "other": other,
          "n_conv": numbers["network_params"]["conv"], "n_other": numbers["network_params"][other],
          "ratio": round(numbers["layer_params"][other] / numbers["layer_params"]["conv"])}
    if diff > noise:
        result.say("lab.weight_sharing.verdict_conv_better", **kw)
    elif diff >= -noise:
        result.say("lab.weight_sharing.verdict_comparable", **kw)
    else:
        result.say(f"lab.weight_sharing.verdict_{other}_better", **kw)


def _figure(numbers: dict[str, Any], lang: str) -> Figure:
    """Left: layer parameter counts (log scale). Right: test accuracy with ±2 standard errors."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    labels = [t(f"lab.weight_sharing.kind_{kind}", lang) for kind in KINDS]
    colors = ("tab:blue", "tab:orange", "tab:red")
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    ax_p, ax_a = fig.subplots(1, 2)

    counts = [numbers["layer_params"][kind] for kind in KINDS]
    bars = ax_p.bar(labels, counts, color=colors)
    ax_p.set_yscale("log")
    ax_p.set_ylim(1, max(counts) * 40)  # headroom for the labels above the bars
    ax_p.bar_label(bars, labels=[f"{c:,}" for c in counts], padding=3)
    ax_p.set_ylabel(t("lab.weight_sharing.fig_params_y", lang))
    ax_p.set_title(t("lab.weight_sharing.fig_params", lang, c_in=numbers["input_shape"][0],
                     c_out=numbers["output_shape"][0], size=numbers["input_shape"][-1],
                     k=numbers["kernel"]), fontsize=11)

    accs = [100 * numbers["accuracy"][kind] for kind in KINDS]
    errs = [200 * numbers["accuracy_se"][kind] for kind in KINDS]
    bars = ax_a.bar(labels, accs, yerr=errs, capsize=4, color=colors)
    ax_a.bar_label(bars, labels=[f"{a:.1f}%" for a in accs], padding=3, label_type="center",
                   color="white")
    ax_a.set_ylim(0, 105)
    ax_a.set_ylabel(t("lab.weight_sharing.fig_acc_y", lang))
    ax_a.set_title(t("lab.weight_sharing.fig_acc", lang, epochs=numbers["epochs"],
                     n=numbers["n_train"]), fontsize=11)
    for ax in (ax_p, ax_a):
        ax.tick_params(axis="x", labelsize=9)
    return fig


__all__ = ["WeightSharingParams", "layer_params", "build_layer", "build_net", "run"]
