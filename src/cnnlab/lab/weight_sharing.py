"""Weight sharing: one layer, same input and output sizes, three ways to connect them.

For an input ``(C_in, H, W)`` and an output ``(C_out, H, W)`` (kernel ``k``, padding ``k//2``,
stride 1, odd ``k``; ``P = H·W`` output positions)::

    Linear (dense)     (C_in·H·W)·(C_out·H·W) + C_out·H·W   everything to everything
    LocallyConnected2d P · (C_out·C_in·k² + C_out)           k×k windows, a kernel per position
    Conv2d             C_out·C_in·k² + C_out                 k×k windows, one kernel slid everywhere

The dense → conv ratio (61,544 for a 3×3 kernel on 28×28, whatever ``C_out``) is two effects, not
one:

- **locality** (dense → locally connected): each output sees a k×k window instead of the whole
  image — ÷78.5 at the defaults; it cuts multiply-adds by about as much;
- **sharing** (locally connected → conv): the same kernel at every position — ÷P (= 784); the
  multiply-adds stay the same (``C_out·C_in·k²·P`` = 28,224 for both), so sharing saves parameters
  (and the data to fit them), not compute.

``locality × sharing = total`` exactly. Parameter counts are checked against ``sum(p.numel())`` and
multiply-adds against :class:`torch.utils.flop_counter.FlopCounterMode` (FLOPs / 2) on the real
layers (``nn.Conv2d``, :class:`cnnlab.models.LocallyConnected2d`, ``nn.Linear``).

Then the three layers are trained in the same tiny network — only the first layer differs::

    (N, 1, 28, 28) → layer → (N, C_out, 28, 28) → ReLU
        → MaxPool2d(2) (N, C_out, 14, 14) → Flatten (N, C_out·196) → Linear(·, 10)

on the same data and budget, for ``seeds`` seeds each (:func:`cnnlab.lab.training.train_model`).
Accuracy is reported as mean ± std over seeds; conv is compared with each other kind by
McNemar's exact test on per-image correctness, pooled over seeds (seed ``s`` of one kind paired
with seed ``s`` of the other, on the same test images). The comparison that isolates sharing is
conv vs locally connected.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from cnnlab.lab.registry import register
from cnnlab.lab.stats import ALPHA, Paired, Spread, mcnemar, spread
from cnnlab.lab.training import TrainDataParams, load_train_test, train_model
from cnnlab.progress import Progress, emit
from cnnlab.result import Message

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from torch import nn

KINDS = ("conv", "locally_connected", "fully_connected")
RIVALS = ("locally_connected", "fully_connected")  # each compared with conv by a paired test


@dataclass
class WeightSharingParams(TrainDataParams):
    channels: int = field(
        default=4, metadata={"help": "lab.weight_sharing.param.channels", "min": 1, "max": 16}
    )
    # output channels C_out of the compared layer; 4 keeps the dense layer at ~2.5 M weights, whose
    # fits are most of the experiment's time (8 → 4.9 M: 1.5× the CPU time for the same verdicts,
    # conv vs locally connected p = 2e-5 instead of 1e-3; 16 → 9.8 M). The ratios do not depend on
    # C_out: both counts grow with it.
    kernel: int = field(
        default=3, metadata={"help": "lab.weight_sharing.param.kernel", "choices": (1, 3, 5, 7)}
    )
    # odd, with padding k//2, so every variant maps 28×28 to 28×28 ("same input and output sizes")
    epochs: int = field(
        default=3, metadata={"help": "lab.training.param.epochs", "min": 1, "max": 100}
    )
    # a small budget: ~2 s per network on 1 thread at the defaults (9 networks ≈ 20 s)
    seeds: int = field(
        default=3, metadata={"help": "lab.weight_sharing.param.seeds", "min": 1, "max": 10}
    )
    # seeds seed, seed+1, …: the spread over seeds is the noise a difference must beat


@dataclass(frozen=True)
class WeightSharingNumbers:
    dataset: str
    n_train: int
    n_test: int
    epochs: int
    seed: int  # the first seed
    seeds: tuple[int, ...]  # every seed trained (for each kind)
    input_shape: tuple[int, ...]  # (C_in, H, W)
    output_shape: tuple[int, ...]  # (C_out, H, W)
    kernel: int
    padding: int
    positions: int  # H·W output positions
    layer_params: dict[str, int]  # by formula
    layer_formulas: dict[str, str]
    layer_numel: dict[str, int]  # sum(p.numel()) of the real layer
    formula_matches_numel: bool
    lc_equals_positions_times_conv: bool
    ratio_lc_to_conv: float  # sharing factor (= positions)
    ratio_fc_to_lc: float  # locality factor
    ratio_fc_to_conv: float  # both together
    factors_multiply_exactly: bool  # (fc/lc)·(lc/conv) == fc/conv as exact fractions
    layer_macs: dict[str, int]  # multiply-adds per image, by formula (weights only)
    macs_formulas: dict[str, str]
    macs_counted: dict[str, int]  # FlopCounterMode on the real layer, FLOPs / 2
    macs_match_counter: bool
    network_params: dict[str, int]
    accuracy: dict[str, float]  # mean over seeds
    accuracy_spread: dict[str, Spread]
    accuracy_per_seed: dict[str, list[float]]
    train_accuracy: dict[str, float]  # mean over seeds, last epoch's running accuracy
    paired: dict[str, Paired]  # "conv_vs_<rival>": McNemar pooled over seeds
    paired_p_per_seed: dict[str, list[float]]  # the same test, seed by seed
    conv_ahead_in: dict[str, int]  # "conv_vs_<rival>" → seeds in which conv was more accurate
    seed_to_seed: dict[str, Paired]  # kind → seed s vs seed s+1 of the same network, pooled over
    # s: the difference another seed alone makes (empty with one seed)
    train_seconds: dict[str, float]  # summed over seeds


# --------------------------------------------------------------------------------------------------
# counting


def layer_params(kind: str, c_in: int, c_out: int, size: int, kernel: int) -> tuple[int, str]:
    """Parameter count of a ``(c_in, size, size) → (c_out, size, size)`` layer, and its formula."""
    from cnnlab.models import locally_connected_params

    conv = c_out * c_in * kernel**2 + c_out
    positions = size * size  # same padding: one output position per input pixel
    if kind == "conv":
        return conv, f"{c_out}·{c_in}·{kernel}·{kernel} + {c_out} = {conv:,}"
    if kind == "locally_connected":
        n = locally_connected_params(c_in, c_out, size, kernel, padding=kernel // 2)
        return n, (
            f"{size}·{size} · ({c_out}·{c_in}·{kernel}·{kernel} + {c_out})"
            f" = {positions} × {conv} = {n:,}"
        )
    d_in, d_out = c_in * positions, c_out * positions
    n = d_in * d_out + d_out
    return n, f"({c_in}·{size}·{size})·({c_out}·{size}·{size}) + {c_out}·{size}·{size} = {n:,}"


def layer_macs(kind: str, c_in: int, c_out: int, size: int, kernel: int) -> tuple[int, str]:
    """Multiply-adds of one image through the layer (weights only; a bias adds one addition per
    output), and the formula. Conv and locally connected do the same work: one
    ``C_in·k²`` dot product per output value; they differ only in whether the kernel is shared."""
    positions = size * size
    if kind in ("conv", "locally_connected"):
        n = c_out * c_in * kernel**2 * positions
        return n, f"{c_out}·{c_in}·{kernel}·{kernel} · {size}·{size} = {n:,}"
    d_in, d_out = c_in * positions, c_out * positions
    return d_in * d_out, f"({c_in}·{size}·{size})·({c_out}·{size}·{size}) = {d_in * d_out:,}"


def counted_macs(module: nn.Module, x_shape: tuple[int, ...]) -> int:
    """Multiply-adds of one forward pass of ``module`` on zeros of ``x_shape`` (N = 1), counted by
    torch's ``FlopCounterMode`` (it counts a multiply-add as 2 FLOPs)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.zeros(x_shape))
    return counter.get_total_flops() // 2


def build_layer(kind: str, c_in: int, c_out: int, size: int, kernel: int) -> nn.Module:
    """The real layer: ``(N, c_in, size, size) → (N, c_out, size, size)``."""
    from torch import nn

    from cnnlab.models import LocallyConnected2d

    if kind == "conv":
        return nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2)
    if kind == "locally_connected":
        return LocallyConnected2d(c_in, c_out, size, kernel, padding=kernel // 2)
    # dense: flatten (N, c_in·size²) → Linear → unflatten back to (N, c_out, size, size)
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(c_in * size * size, c_out * size * size),
        nn.Unflatten(1, (c_out, size, size)),
    )


def build_net(
    kind: str, c_in: int, c_out: int, size: int, kernel: int, num_classes: int = 10
) -> nn.Module:
    """The shared tiny network around the compared layer (see the module docstring)."""
    from torch import nn

    half = size // 2
    return nn.Sequential(
        build_layer(kind, c_in, c_out, size, kernel),
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, c_out, size, size) -> (N, c_out, half, half)
        nn.Flatten(),
        nn.Linear(c_out * half * half, num_classes),
    )


# --------------------------------------------------------------------------------------------------
# measure → explain → draw


def measure(params: WeightSharingParams, progress: Progress | None = None) -> WeightSharingNumbers:
    train, test, dataset = load_train_test(params)
    c_in, size = train[0].shape[1], train[0].shape[-1]  # (N, C, H, W), square images
    k, c_out = params.kernel, params.channels
    positions = size * size

    emit(progress, "stage", stage="count")
    counts = {kind: layer_params(kind, c_in, c_out, size, k) for kind in KINDS}
    macs = {kind: layer_macs(kind, c_in, c_out, size, k) for kind in KINDS}
    layers = {kind: build_layer(kind, c_in, c_out, size, k) for kind in KINDS}
    numel = {kind: sum(p.numel() for p in layers[kind].parameters()) for kind in KINDS}
    counted = {kind: counted_macs(layers[kind], (1, c_in, size, size)) for kind in KINDS}
    p = {kind: counts[kind][0] for kind in KINDS}

    seeds = tuple(params.seed + i for i in range(params.seeds))
    acc: dict[str, list[float]] = {kind: [] for kind in KINDS}
    train_acc: dict[str, list[float]] = {kind: [] for kind in KINDS}
    seconds: dict[str, float] = {kind: 0.0 for kind in KINDS}
    correct: dict[str, list[np.ndarray]] = {kind: [] for kind in KINDS}  # (n_test,) per seed
    net_params: dict[str, int] = {}
    for i, seed in enumerate(seeds):
        emit(progress, "stage", stage="seed", index=i + 1, total=len(seeds), seed=seed)
        run_params = dataclasses.replace(params, seed=seed)
        for kind in KINDS:
            make = functools.partial(build_net, kind, c_in, c_out, size, k)
            trained = train_model(kind, make, train, test, run_params, callback=progress)
            hits = trained.test_correct  # evaluated once by train_model
            if hits is None:
                hits = (trained.logits(test[0]).argmax(1) == test[1]).numpy()
            correct[kind].append(hits)
            acc[kind].append(float(hits.mean()))
            train_acc[kind].append(trained.train_accuracy)
            seconds[kind] += trained.seconds
            net_params[kind] = trained.n_params

    paired = {
        f"conv_vs_{rival}": mcnemar(np.concatenate(correct["conv"]), np.concatenate(correct[rival]))
        for rival in RIVALS
    }
    per_seed = {
        f"conv_vs_{rival}": [
            mcnemar(a, b).p_value for a, b in zip(correct["conv"], correct[rival], strict=True)
        ]
        for rival in RIVALS
    }
    fc, lc, conv = (Fraction(p[kind]) for kind in ("fully_connected", "locally_connected", "conv"))
    return WeightSharingNumbers(
        dataset=dataset,
        n_train=len(train[1]),
        n_test=len(test[1]),
        epochs=params.epochs,
        seed=params.seed,
        seeds=seeds,
        input_shape=(c_in, size, size),
        output_shape=(c_out, size, size),
        kernel=k,
        padding=k // 2,
        positions=positions,
        layer_params=p,
        layer_formulas={kind: counts[kind][1] for kind in KINDS},
        layer_numel=numel,
        formula_matches_numel=all(p[kind] == numel[kind] for kind in KINDS),
        lc_equals_positions_times_conv=p["locally_connected"] == positions * p["conv"],
        ratio_lc_to_conv=float(lc / conv),
        ratio_fc_to_lc=float(fc / lc),
        ratio_fc_to_conv=float(fc / conv),
        factors_multiply_exactly=(fc / lc) * (lc / conv) == fc / conv,
        layer_macs={kind: macs[kind][0] for kind in KINDS},
        macs_formulas={kind: macs[kind][1] for kind in KINDS},
        macs_counted=counted,
        macs_match_counter=all(macs[kind][0] == counted[kind] for kind in KINDS),
        network_params=net_params,
        accuracy={kind: float(np.mean(acc[kind])) for kind in KINDS},
        accuracy_spread={kind: spread(acc[kind]) for kind in KINDS},
        accuracy_per_seed=acc,
        train_accuracy={kind: float(np.mean(train_acc[kind])) for kind in KINDS},
        paired=paired,
        paired_p_per_seed=per_seed,
        conv_ahead_in={
            f"conv_vs_{rival}": sum(a > b for a, b in zip(acc["conv"], acc[rival], strict=True))
            for rival in RIVALS
        },
        seed_to_seed={}
        if len(seeds) < 2
        else {
            kind: mcnemar(np.concatenate(correct[kind][:-1]), np.concatenate(correct[kind][1:]))
            for kind in KINDS
        },
        train_seconds={kind: round(seconds[kind], 2) for kind in KINDS},
    )


def explain(n: WeightSharingNumbers) -> list[Message]:
    c_in, size = n.input_shape[0], n.input_shape[-1]
    k, c_out = n.kernel, n.output_shape[0]
    messages: list[Message] = [
        (
            "lab.weight_sharing.setup",
            {"c_in": c_in, "size": size, "c_out": c_out, "k": k, "p": n.padding},
        ),
    ]
    messages += [
        (f"lab.weight_sharing.count_{kind}", {"formula": n.layer_formulas[kind]}) for kind in KINDS
    ]
    messages.append(
        (
            "lab.weight_sharing.factors",
            {
                "k": k,
                "positions": n.positions,
                "locality": n.ratio_fc_to_lc,
                "sharing": n.ratio_lc_to_conv,
                "total": n.ratio_fc_to_conv,
            },
        )
    )
    m = n.layer_macs
    messages.append(
        (
            "lab.weight_sharing.macs",
            {
                "conv": m["conv"],
                "lc": m["locally_connected"],
                "fc": m["fully_connected"],
                "fc_ratio": m["fully_connected"] / m["locally_connected"],
                "k": k,
                "c_in": c_in,
            },
        )
    )
    if n.formula_matches_numel and n.macs_match_counter:
        messages.append(("lab.weight_sharing.checked", {}))
    s = n.accuracy_spread
    messages.append(
        (
            "lab.weight_sharing.trained",
            {
                "epochs": n.epochs,
                "n": n.n_train,
                "seeds": len(n.seeds),
                "conv": 100 * s["conv"].mean,
                "conv_sd": 100 * s["conv"].std,
                "lc": 100 * s["locally_connected"].mean,
                "lc_sd": 100 * s["locally_connected"].std,
                "fc": 100 * s["fully_connected"].mean,
                "fc_sd": 100 * s["fully_connected"].std,
            },
        )
    )
    if len(n.seeds) == 1:
        messages.append(("lab.weight_sharing.one_seed", {"n_test": n.n_test}))
    for rival in RIVALS:
        messages.append(_verdict(n, rival))
        caveat = _seed_caveat(n, rival)
        if caveat is not None:
            messages.append(caveat)
    messages.append(("lab.weight_sharing.truth", {}))
    return messages


def _verdict(n: WeightSharingNumbers, rival: str) -> Message:
    """Conv vs ``rival``: the sentence follows McNemar's p, never the raw difference alone."""
    test = n.paired[f"conv_vs_{rival}"]
    diff = n.accuracy["conv"] - n.accuracy[rival]
    kw = {
        "d": 100 * abs(diff),
        "p": test.p_value,
        "a_only": test.a_only,
        "b_only": test.b_only,
        "seeds": len(n.seeds),
        "n_test": n.n_test,
        "n_conv": n.network_params["conv"],
        "n_other": n.network_params[rival],
        "positions": n.positions,
        "ratio": n.layer_params[rival] / n.layer_params["conv"],
    }
    short = "sharing" if rival == "locally_connected" else "dense"
    if test.p_value >= ALPHA:
        return f"lab.weight_sharing.{short}_within_noise", kw
    return (
        f"lab.weight_sharing.{short}_conv_better"
        if diff > 0
        else f"lab.weight_sharing.{short}_rival_better"
    ), kw


def _seed_caveat(n: WeightSharingNumbers, rival: str) -> Message | None:
    """The control for a significant difference: do two seeds of the same network differ beyond
    test-set noise too? Then say so, with how many seeds agree on the direction."""
    name = f"conv_vs_{rival}"
    if n.paired[name].p_value >= ALPHA or not n.seed_to_seed:
        return None
    worst = min(n.seed_to_seed[kind].p_value for kind in ("conv", rival))
    if worst >= ALPHA:
        return None
    return "lab.weight_sharing.seed_caveat", {
        "p": worst,
        "ahead": n.conv_ahead_in[name],
        "seeds": len(n.seeds),
    }


def draw(n: WeightSharingNumbers, lang: str) -> dict[str, Figure]:
    """Left: parameters per kind (log scale), the locality and sharing factors drawn as arrows.
    Middle: multiply-adds per image on the same scale (conv = locally connected). Right: test
    accuracy, mean ± std over seeds, one dot per seed, and McNemar's p of conv vs each other."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    labels = [t(f"lab.weight_sharing.kind_{kind}", lang) for kind in KINDS]
    colors = ("tab:blue", "tab:orange", "tab:red")
    fig = Figure(figsize=(15, 5.0), layout="constrained")
    ax_p, ax_m, ax_a = fig.subplots(1, 3)
    xs = np.arange(len(KINDS))

    counts = [n.layer_params[kind] for kind in KINDS]
    macs = [n.layer_macs[kind] for kind in KINDS]
    for ax, values in ((ax_p, counts), (ax_m, macs)):
        bars = ax.bar(xs, values, 0.6, color=colors)
        ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=2, fontsize=8)
        ax.set_yscale("log")
        ax.set_ylim(1, max(counts + macs) * 30)  # one scale for both: compare heights across
    # the two factors as arrows from one parameter bar's top to the next:
    # fully connected → locally connected (locality), locally connected → conv (sharing)
    for i, j, key, factor in (
        (2, 1, "fig_locality", n.ratio_fc_to_lc),
        (1, 0, "fig_sharing", n.ratio_lc_to_conv),
    ):
        start, end = (xs[i] - 0.3, counts[i]), (xs[j] + 0.3, counts[j])  # bar corners
        ax_p.annotate(
            "", xy=end, xytext=start, arrowprops={"arrowstyle": "-|>", "lw": 1.6, "color": "black"}
        )
        ax_p.text(
            (start[0] + end[0]) / 2 - 0.06,
            (start[1] * end[1]) ** 0.5,
            t(f"lab.weight_sharing.{key}", lang, factor=factor),
            ha="right",
            va="center",
            fontsize=10,
            bbox={"facecolor": "white", "edgecolor": "none"},
        )
    ax_p.set_ylabel(t("lab.weight_sharing.fig_params_y", lang))
    ax_p.set_title(
        t(
            "lab.weight_sharing.fig_params",
            lang,
            c_in=n.input_shape[0],
            c_out=n.output_shape[0],
            size=n.input_shape[-1],
            k=n.kernel,
            total=n.ratio_fc_to_conv,
        ),
        fontsize=10,
    )
    ax_m.set_title(t("lab.weight_sharing.fig_macs", lang), fontsize=10)
    ax_m.set_ylabel(t("lab.weight_sharing.fig_macs_y", lang))
    ax_m.annotate(
        "",
        xy=(xs[1] - 0.2, macs[1] * 12),
        xytext=(xs[0] + 0.2, macs[0] * 12),
        arrowprops={"arrowstyle": "<->", "lw": 1.4, "color": "black"},
    )
    ax_m.text(
        (xs[0] + xs[1]) / 2,
        macs[0] * 16,
        t("lab.weight_sharing.fig_same_macs", lang),
        ha="center",
        va="bottom",
        fontsize=10,
    )

    means = [100 * n.accuracy_spread[kind].mean for kind in KINDS]
    stds = [100 * n.accuracy_spread[kind].std for kind in KINDS]
    bars = ax_a.bar(xs, means, 0.6, yerr=stds, capsize=4, color=colors)
    ax_a.bar_label(bars, labels=[f"{m:.1f}%" for m in means], label_type="center", color="white")
    for x, kind in zip(xs, KINDS, strict=True):
        per_seed = [100 * a for a in n.accuracy_per_seed[kind]]
        ax_a.scatter(np.full(len(per_seed), x + 0.2), per_seed, s=14, color="black", zorder=3)
    per_seed_all = [100 * a for kind in KINDS for a in n.accuracy_per_seed[kind]]
    high = max(per_seed_all + [m + sd for m, sd in zip(means, stds, strict=True)])
    floor = max(0.0, min(per_seed_all) - 10.0)
    step = (high - floor) * 0.09
    ax_a.set_ylim(floor, high + 3.2 * step)
    ax_a.set_yticks([y for y in ax_a.get_yticks() if floor <= y <= 100])  # no ticks past 100 %
    for level, rival in enumerate(RIVALS):  # a bracket conv ↔ rival labelled with p
        j = KINDS.index(rival)
        y = high + step * (0.6 + 1.2 * level)
        ax_a.plot(
            [xs[0], xs[0], xs[j], xs[j]], [y - step / 3, y, y, y - step / 3], color="black", lw=1
        )
        ax_a.text(
            (xs[0] + xs[j]) / 2,
            y,
            t("lab.weight_sharing.fig_p", lang, p=n.paired[f"conv_vs_{rival}"].p_value),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax_a.set_ylabel(t("lab.weight_sharing.fig_acc_y", lang))
    ax_a.set_title(
        t("lab.weight_sharing.fig_acc", lang, epochs=n.epochs, n=n.n_train, seeds=len(n.seeds)),
        fontsize=10,
    )
    for ax in (ax_p, ax_m, ax_a):
        ax.set_xticks(xs, labels)
        ax.tick_params(axis="x", labelsize=9)
        for label in ax.get_xticklabels():
            label.set_linespacing(1.4)  # two-line labels: keep the lines apart in either font
    return {"params_accuracy": fig}


EXPERIMENT = register(
    "weight-sharing",
    WeightSharingParams,
    "lab.weight_sharing.title",
    numbers=WeightSharingNumbers,
    measure=measure,
    explain=explain,
    draw=draw,
    quick={"n_train": 500, "n_test": 200, "epochs": 1, "channels": 2, "seeds": 1},
)

__all__ = [
    "WeightSharingParams",
    "WeightSharingNumbers",
    "layer_params",
    "layer_macs",
    "counted_macs",
    "build_layer",
    "build_net",
    "measure",
    "explain",
    "draw",
    "EXPERIMENT",
    "KINDS",
]
