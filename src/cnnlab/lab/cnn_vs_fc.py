"""CNN vs fully connected network, and the shuffled-pixels control: why CNNs suit images.

A CNN (:class:`~cnnlab.models.SimpleCNN`, ``channels=(16, 32)``, hidden 64) and an MLP
(:class:`~cnnlab.models.MLP`, hidden ``(256, 128)``) are trained on the same digits with the same
seeds, optimizer and budget — once on the images as they are, once with **one fixed permutation of
the pixel positions** applied to every training and test image::

    x (N, C, H, W) → flatten positions (N, C, H·W) → [:, :, perm] → (N, C, H, W)

Cost, both ways: the CNN has fewer parameters than the MLP (0.45× at the defaults) but more
multiply-adds per image (4.8×), because each conv kernel is applied at every position. Both are
counted by formula and checked against ``sum(p.numel())`` and torch's ``FlopCounterMode``.

Every model is trained for ``seeds`` seeds; accuracy is mean ± std over them, and every comparison
is McNemar's exact test on per-image correctness, pooled over seeds (seed ``s`` of one model paired
with seed ``s`` of the other, on the same test images; for original vs shuffled the same images
with their pixels permuted). Verdicts follow the tests.

Expected, and measured:

- The MLP does not care. Its first layer ``W x`` sees a list of pixels with no notion of neighbours;
  permuting the inputs is the same as permuting the columns of ``W``. Trained from the same initial
  weights with those columns permuted too (``W[:, perm]``), it follows *the same* trajectory and
  ends with the same predictions (up to float summation order) — the exact control. Trained from a
  fresh initialisation, its accuracy changes only within noise.
- The CNN loses its advantage: its 3×3 kernels assume that neighbouring pixels belong together
  (locality) and its pooling that nearby positions are interchangeable; after shuffling, neighbours
  are random pixels from anywhere in the image.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.lab.registry import SEED_MAX, register
from cnnlab.lab.stats import ALPHA, Paired, Spread, mcnemar, spread
from cnnlab.lab.training import TrainDataParams, load_train_test, recipe_of, train_model
from cnnlab.progress import Progress, emit
from cnnlab.result import Message

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure
    from torch import nn

RECIPES: dict[str, dict[str, Any]] = {
    "cnn": {"channels": (16, 32), "hidden": 64},  # the translation experiment's CNN
    "mlp": {"hidden": (256, 128)},  # the registry's default MLP
}
# one optimizer for every run: only the data differs (translation uses it too: fits are shared)
OPTIM: dict[str, Any] = {"optimizer": "adamw", "lr": 0.01}
MODELS = tuple(RECIPES)
DATA = ("original", "shuffled")
N_DIGITS = 6  # test digits drawn before and after the permutation


@dataclass
class CnnVsFcParams(TrainDataParams):
    perm_seed: int = field(
        default=0, metadata={"help": "lab.cnn_vs_fc.param.perm_seed", "min": 0, "max": SEED_MAX}
    )
    # seeds the one pixel permutation shared by the training and test images
    epochs: int = field(
        default=4, metadata={"help": "lab.training.param.epochs", "min": 1, "max": 100}
    )
    # both networks are near their plateau on mnist-sample after 4 AdamW epochs
    seeds: int = field(
        default=3, metadata={"help": "lab.cnn_vs_fc.param.seeds", "min": 1, "max": 10}
    )
    # seeds seed, seed+1, …: 4 networks per seed + 1 exact control ≈ 90 s on 1 thread


@dataclass(frozen=True)
class ExactControl:
    """The MLP trained on shuffled pixels from the original's initial weights, columns permuted."""

    accuracy: float
    prediction_agreement: float  # fraction of test images predicted as the original MLP does
    max_first_layer_diff: float  # max |W_control - W_original[:, perm]| after training


@dataclass(frozen=True)
class CnnVsFcNumbers:
    dataset: str
    n_train: int
    n_test: int
    epochs: int
    seed: int  # the first seed
    seeds: tuple[int, ...]
    perm_seed: int
    recipes: dict[str, str]  # model → its constructor call
    params: dict[str, dict[str, int]]  # cnn: total/conv_layers/classifier; mlp: total/first_layer
    params_match_formula: bool  # sum(p.numel()) == simple_cnn_params / mlp_params
    macs: dict[str, dict[str, int]]  # multiply-adds per image, same parts, by formula
    macs_counted: dict[str, int]  # FlopCounterMode on the real model, FLOPs / 2
    macs_match_counter: bool
    param_ratio: float  # CNN parameters / MLP parameters
    mac_ratio: float  # CNN multiply-adds / MLP multiply-adds
    accuracy: dict[str, dict[str, float]]  # model → data → mean over seeds
    accuracy_spread: dict[str, dict[str, Spread]]
    accuracy_per_seed: dict[str, dict[str, list[float]]]
    change_when_shuffled: dict[str, float]  # mean shuffled - mean original
    cnn_advantage: dict[str, float]  # data → mean CNN - mean MLP
    paired: dict[str, Paired]  # McNemar pooled over seeds; see PAIRS
    mlp_unchanged_within_noise: bool  # McNemar p ≥ ALPHA for the MLP, original vs shuffled
    seed_to_seed: dict[str, Paired]  # model → seed s vs seed s+1 on the original images, pooled
    # over s (the difference another seed alone makes); empty with one seed
    mlp_permuted_init_control: ExactControl
    digits_original: np.ndarray  # (N_DIGITS, H, W) test digits, channel 0
    digits_shuffled: np.ndarray  # the same after the permutation
    train_seconds: dict[str, float]  # "model/data" → summed over seeds


# name → ((model, data), (model, data)) compared image by image
PAIRS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "cnn_vs_mlp": (("cnn", "original"), ("mlp", "original")),
    "cnn_vs_mlp_shuffled": (("cnn", "shuffled"), ("mlp", "shuffled")),
    "mlp_original_vs_shuffled": (("mlp", "original"), ("mlp", "shuffled")),
    "cnn_original_vs_shuffled": (("cnn", "original"), ("cnn", "shuffled")),
}


def pixel_permutation(n_pixels: int, seed: int) -> torch.Tensor:
    """One fixed permutation of ``n_pixels`` positions, from its own seeded generator."""
    import torch

    return torch.randperm(n_pixels, generator=torch.Generator().manual_seed(seed))


def shuffle_pixels(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Apply ``perm`` to the pixel positions of ``x (N, C, H, W)`` (every channel alike)."""
    return x.flatten(2)[:, :, perm].reshape(x.shape)  # (N, C, H·W) → permuted → (N, C, H, W)


def mlp_with_permuted_inputs(mlp: nn.Module, perm: torch.Tensor) -> nn.Module:
    """Permute the columns of the MLP's first Linear so that ``mlp'(shuffle(x)) == mlp(x)``.

    ``shuffle(x)_j = x_perm[j]``, so ``Σ_j W'[:, j] x_perm[j] = Σ_i W[:, i] x_i`` needs
    ``W'[:, j] = W[:, perm[j]]``, i.e. ``W' = W[:, perm]``.
    """
    import torch

    first = next(m for m in mlp.modules() if isinstance(m, torch.nn.Linear))
    with torch.no_grad():
        first.weight.copy_(first.weight[:, perm])
    return mlp


def cnn_macs(
    in_channels: int,
    image_size: int,
    channels: tuple[int, ...],
    hidden: int,
    num_classes: int = 10,
    kernel: int = 3,
    pool: int = 2,
) -> dict[str, int]:
    """Multiply-adds per image of :class:`~cnnlab.models.SimpleCNN` (conv and linear weights):
    ``Σ_i c_{i-1}·c_i·k²·s_i²`` (same padding: the conv runs at every pixel of its input ``s_i``)
    plus ``flat·hidden + hidden·classes``. BatchNorm, ReLU and pooling are a few elementwise
    operations per value, not counted."""
    conv, c_prev, s = 0, in_channels, image_size
    for c in channels:
        conv += c_prev * c * kernel**2 * s * s
        c_prev, s = c, s // pool
    flat = c_prev * s * s
    head = flat * hidden + hidden * num_classes if hidden else flat * num_classes
    return {"total": conv + head, "conv_layers": conv, "classifier": head}


def mlp_macs(
    in_channels: int, image_size: int, hidden: tuple[int, ...], num_classes: int = 10
) -> dict[str, int]:
    """Multiply-adds per image of :class:`~cnnlab.models.MLP`: ``Σ d_{i-1}·d_i``."""
    dims = [in_channels * image_size * image_size, *hidden, num_classes]
    return {
        "total": sum(a * b for a, b in itertools.pairwise(dims)),
        "first_layer": dims[0] * dims[1],
    }


def counted_macs(model: nn.Module, x_shape: tuple[int, ...]) -> int:
    """Multiply-adds of one forward pass on zeros of ``x_shape`` (N = 1), by ``FlopCounterMode``."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(x_shape))
    return counter.get_total_flops() // 2


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _costs(c: int, h: int) -> dict[str, Any]:
    """Parameters and multiply-adds of both models, by formula and on the real models."""
    from cnnlab.models import build, mlp_params, simple_cnn_params

    cnn = build("cnn", in_channels=c, image_size=h, **RECIPES["cnn"])
    mlp = build("mlp", in_channels=c, image_size=h, **RECIPES["mlp"])
    features, classifier = cnn.get_submodule("features"), cnn.get_submodule("classifier")
    params = {
        "cnn": {
            "total": _count(cnn),
            "conv_layers": _count(features),
            "classifier": _count(classifier),
        },
        "mlp": {"total": _count(mlp), "first_layer": _count(mlp.get_submodule("net.1"))},
    }
    formula = {
        "cnn": simple_cnn_params(c, image_size=h, **RECIPES["cnn"]),
        "mlp": mlp_params(c, image_size=h, **RECIPES["mlp"]),
    }
    macs = {"cnn": cnn_macs(c, h, **RECIPES["cnn"]), "mlp": mlp_macs(c, h, **RECIPES["mlp"])}
    counted = {"cnn": counted_macs(cnn, (1, c, h, h)), "mlp": counted_macs(mlp, (1, c, h, h))}
    return {"params": params, "formula": formula, "macs": macs, "counted": counted}


def _permuted_mlp(make: Any, perm: torch.Tensor) -> nn.Module:
    return mlp_with_permuted_inputs(make("mlp"), perm)


def measure(params: CnnVsFcParams, progress: Progress | None = None) -> CnnVsFcNumbers:
    from cnnlab.models import build

    train, test, dataset = load_train_test(params)
    c, h, w = train[0].shape[1:]
    perm = pixel_permutation(h * w, params.perm_seed)
    data = {
        "original": (train, test),
        "shuffled": (
            (shuffle_pixels(train[0], perm), train[1]),
            (shuffle_pixels(test[0], perm), test[1]),
        ),
    }

    def make(name: str) -> nn.Module:
        return build(name, in_channels=c, image_size=h, **RECIPES[name])

    def recipe(name: str, kind: str) -> str | None:
        # translation trains the same networks on the same original images: share those fits
        if kind != "original":
            return None
        return recipe_of(name, in_channels=c, image_size=h, **RECIPES[name])

    emit(progress, "stage", stage="count")
    costs = _costs(c, h)

    seeds = tuple(params.seed + i for i in range(params.seeds))
    correct: dict[tuple[str, str], list[np.ndarray]] = {(m, d): [] for m in MODELS for d in DATA}
    seconds = {(m, d): 0.0 for m in MODELS for d in DATA}
    first: dict[str, Any] = {}  # the first seed's original MLP, for the exact control
    for i, seed in enumerate(seeds):
        emit(progress, "stage", stage="seed", index=i + 1, total=len(seeds), seed=seed)
        run_params = dataclasses.replace(params, seed=seed)
        for name in MODELS:
            for kind in DATA:
                tr, te = data[kind]
                label = name if kind == "original" else f"{name} (shuffled)"
                trained = train_model(
                    label,
                    functools.partial(make, name),
                    tr,
                    te,
                    run_params,
                    callback=progress,
                    recipe=recipe(name, kind),
                    **OPTIM,
                )
                hits = trained.test_correct  # te, evaluated once by train_model
                correct[(name, kind)].append(
                    (trained.logits(te[0]).argmax(1) == te[1]).numpy() if hits is None else hits
                )
                seconds[(name, kind)] += trained.seconds
                if i == 0 and (name, kind) == ("mlp", "original"):
                    first["mlp"] = trained

    # The exact control: same initial weights with the first layer's columns permuted.
    emit(progress, "stage", stage="control")
    shuffled_train, shuffled_test = data["shuffled"]
    control = train_model(
        "mlp (shuffled, permuted init)",
        functools.partial(_permuted_mlp, make, perm),
        shuffled_train,
        shuffled_test,
        dataclasses.replace(params, seed=seeds[0]),
        callback=progress,
        **OPTIM,
    )
    pred_orig = first["mlp"].logits(test[0]).argmax(1)
    pred_ctrl = control.logits(shuffled_test[0]).argmax(1)
    w_orig = first["mlp"].model.get_parameter("net.1.weight").detach()  # (256, C·H·W)
    w_ctrl = control.model.get_parameter("net.1.weight").detach()

    per_seed = {
        m: {d: [float(hits.mean()) for hits in correct[(m, d)]] for d in DATA} for m in MODELS
    }
    acc = {m: {d: float(np.mean(per_seed[m][d])) for d in DATA} for m in MODELS}
    paired = {
        name: mcnemar(np.concatenate(correct[a]), np.concatenate(correct[b]))
        for name, (a, b) in PAIRS.items()
    }
    p, macs, counted = costs["params"], costs["macs"], costs["counted"]
    return CnnVsFcNumbers(
        dataset=dataset,
        n_train=len(train[1]),
        n_test=len(test[1]),
        epochs=params.epochs,
        seed=params.seed,
        seeds=seeds,
        perm_seed=params.perm_seed,
        recipes={"cnn": "SimpleCNN(channels=(16, 32), hidden=64)", "mlp": "MLP(hidden=(256, 128))"},
        params=p,
        params_match_formula=all(p[m]["total"] == costs["formula"][m] for m in MODELS),
        macs=macs,
        macs_counted=counted,
        macs_match_counter=all(macs[m]["total"] == counted[m] for m in MODELS),
        param_ratio=p["cnn"]["total"] / p["mlp"]["total"],
        mac_ratio=macs["cnn"]["total"] / macs["mlp"]["total"],
        accuracy=acc,
        accuracy_spread={m: {d: spread(per_seed[m][d]) for d in DATA} for m in MODELS},
        accuracy_per_seed=per_seed,
        change_when_shuffled={m: acc[m]["shuffled"] - acc[m]["original"] for m in MODELS},
        cnn_advantage={d: acc["cnn"][d] - acc["mlp"][d] for d in DATA},
        paired=paired,
        mlp_unchanged_within_noise=paired["mlp_original_vs_shuffled"].p_value >= ALPHA,
        seed_to_seed={}
        if len(seeds) < 2
        else {
            m: mcnemar(
                np.concatenate(correct[(m, "original")][:-1]),
                np.concatenate(correct[(m, "original")][1:]),
            )
            for m in MODELS
        },
        mlp_permuted_init_control=ExactControl(
            accuracy=control.accuracy,
            prediction_agreement=float((pred_orig == pred_ctrl).double().mean()),
            max_first_layer_diff=float((w_ctrl - w_orig[:, perm]).abs().max()),
        ),
        digits_original=test[0][:N_DIGITS, 0].numpy(),
        digits_shuffled=shuffled_test[0][:N_DIGITS, 0].numpy(),
        train_seconds={f"{m}/{d}": round(s, 2) for (m, d), s in seconds.items()},
    )


def _test_kw(n: CnnVsFcNumbers, name: str) -> dict[str, Any]:
    test = n.paired[name]
    return {
        "p": test.p_value,
        "a_only": test.a_only,
        "b_only": test.b_only,
        "seeds": len(n.seeds),
        "n_test": n.n_test,
    }


def _sd(n: CnnVsFcNumbers, model: str, kind: str) -> float:
    return 100 * n.accuracy_spread[model][kind].std


def _three_way(test: Paired, diff: float) -> str:
    """``within_noise`` when p ≥ ALPHA, else which side is better (``diff`` = first − second)."""
    if test.p_value >= ALPHA:
        return "within_noise"
    return "cnn_better" if diff > 0 else "mlp_better"


def explain(n: CnnVsFcNumbers) -> list[Message]:
    p, m, acc = n.params, n.macs, n.accuracy
    change = n.change_when_shuffled
    messages: list[Message] = [
        (
            "lab.cnn_vs_fc.params",
            {
                "cnn": p["cnn"]["total"],
                "conv": p["cnn"]["conv_layers"],
                "head": p["cnn"]["classifier"],
                "mlp": p["mlp"]["total"],
                "first": p["mlp"]["first_layer"],
            },
        ),
        (
            "lab.cnn_vs_fc.cost",
            {
                "p_ratio": n.param_ratio,
                "m_ratio": n.mac_ratio,
                "cnn_macs": m["cnn"]["total"],
                "mlp_macs": m["mlp"]["total"],
                "conv_macs": m["cnn"]["conv_layers"],
            },
        ),
    ]
    if n.params_match_formula and n.macs_match_counter:
        messages.append(("lab.cnn_vs_fc.checked", {}))
    messages.append(
        (
            "lab.cnn_vs_fc.original",
            {
                "n": n.n_train,
                "epochs": n.epochs,
                "seeds": len(n.seeds),
                "cnn": 100 * acc["cnn"]["original"],
                "cnn_sd": _sd(n, "cnn", "original"),
                "mlp": 100 * acc["mlp"]["original"],
                "mlp_sd": _sd(n, "mlp", "original"),
            },
        )
    )
    if len(n.seeds) == 1:
        messages.append(("lab.cnn_vs_fc.one_seed", {"n_test": n.n_test}))
    verdict = _three_way(n.paired["cnn_vs_mlp"], n.cnn_advantage["original"])
    messages.append(
        (
            f"lab.cnn_vs_fc.original_{verdict}",
            {"d": 100 * abs(n.cnn_advantage["original"]), **_test_kw(n, "cnn_vs_mlp")},
        )
    )
    messages.append(("lab.cnn_vs_fc.shuffle_setup", {"seed": n.perm_seed}))
    seeds = n.seed_to_seed.get("mlp")
    if n.mlp_unchanged_within_noise:
        key = "lab.cnn_vs_fc.mlp_same"
    elif seeds is not None and seeds.p_value < ALPHA:  # another seed alone moves it this much
        key = "lab.cnn_vs_fc.mlp_seed_noise"
    else:
        key = "lab.cnn_vs_fc.mlp_changed"
    messages.append(
        (
            key,
            {
                "before": 100 * acc["mlp"]["original"],
                "after": 100 * acc["mlp"]["shuffled"],
                "sd": _sd(n, "mlp", "shuffled"),
                "d": 100 * change["mlp"],
                **_test_kw(n, "mlp_original_vs_shuffled"),
                "seed_p": seeds.p_value if seeds is not None else float("nan"),
            },
        )
    )
    ctrl = n.mlp_permuted_init_control
    messages.append(
        (
            "lab.cnn_vs_fc.control",
            {
                "agree": 100 * ctrl.prediction_agreement,
                "acc": 100 * ctrl.accuracy,
                "orig": 100 * n.accuracy_per_seed["mlp"]["original"][0],
                "diff": ctrl.max_first_layer_diff,
                "seed": n.seeds[0],
            },
        )
    )
    cnn_test = n.paired["cnn_original_vs_shuffled"]
    hurt = cnn_test.p_value < ALPHA and change["cnn"] < 0
    messages.append(
        (
            "lab.cnn_vs_fc.cnn_hurt" if hurt else "lab.cnn_vs_fc.cnn_not_hurt",
            {
                "before": 100 * acc["cnn"]["original"],
                "after": 100 * acc["cnn"]["shuffled"],
                "sd": _sd(n, "cnn", "shuffled"),
                "d": 100 * change["cnn"],
                **_test_kw(n, "cnn_original_vs_shuffled"),
            },
        )
    )
    verdict = _three_way(n.paired["cnn_vs_mlp_shuffled"], n.cnn_advantage["shuffled"])
    messages.append(
        (
            f"lab.cnn_vs_fc.shuffled_{verdict}",
            {
                "adv_before": 100 * n.cnn_advantage["original"],
                "adv_after": 100 * n.cnn_advantage["shuffled"],
                **_test_kw(n, "cnn_vs_mlp_shuffled"),
            },
        )
    )
    if (
        n.paired["cnn_vs_mlp"].p_value < ALPHA
        and n.cnn_advantage["original"] > 0
        and verdict != "cnn_better"
    ):
        messages.append(("lab.cnn_vs_fc.advantage_lost", {}))  # ahead on images, not shuffled
    messages.append(("lab.cnn_vs_fc.truth", {"p_ratio": n.param_ratio, "m_ratio": n.mac_ratio}))
    return messages


def draw(n: CnnVsFcNumbers, lang: str) -> dict[str, Figure]:
    return {"accuracy": _accuracy_figure(n, lang), "shuffled_digits": _digits_figure(n, lang)}


def _accuracy_figure(n: CnnVsFcNumbers, lang: str) -> Figure:
    """Left: parameters and multiply-adds of both models (log scale). Right: test accuracy, mean ±
    std over seeds with one dot per seed, original and shuffled pixels, McNemar's p above."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    fig = Figure(figsize=(12.5, 4.8), layout="constrained")
    ax_c, ax = fig.subplots(1, 2, width_ratios=(1, 1.5))
    xs = np.arange(len(MODELS))
    width = 0.38

    for j, (what, values) in enumerate(
        (
            ("params", [n.params[m]["total"] for m in MODELS]),
            ("macs", [n.macs[m]["total"] for m in MODELS]),
        )
    ):
        bars = ax_c.bar(
            xs + (j - 0.5) * width,
            values,
            width,
            color=("tab:purple", "tab:green")[j],
            label=t(f"lab.cnn_vs_fc.fig_{what}", lang),
        )
        ax_c.bar_label(bars, labels=[f"{v:,}" for v in values], padding=2, fontsize=8)
    ax_c.set_yscale("log")
    top = max(n.macs[m]["total"] for m in MODELS)
    ax_c.set_ylim(1e4, top * 20)
    ax_c.set_xticks(xs, [t(f"lab.cnn_vs_fc.fig_model_{m}", lang) for m in MODELS])
    ax_c.set_title(
        t("lab.cnn_vs_fc.fig_cost_title", lang, p_ratio=n.param_ratio, m_ratio=n.mac_ratio),
        fontsize=10,
    )
    ax_c.legend(loc="upper left", fontsize=8)

    for j, (kind, color) in enumerate((("original", "tab:blue"), ("shuffled", "tab:gray"))):
        pos = xs + (j - 0.5) * width
        means = [100 * n.accuracy_spread[m][kind].mean for m in MODELS]
        stds = [100 * n.accuracy_spread[m][kind].std for m in MODELS]
        bars = ax.bar(
            pos,
            means,
            width,
            yerr=stds,
            capsize=4,
            color=color,
            label=t(f"lab.cnn_vs_fc.fig_{kind}", lang),
        )
        ax.bar_label(
            bars,
            labels=[f"{a:.1f}%" for a in means],
            label_type="center",
            color="white",
            fontsize=9,
        )
        for x, m in zip(pos, MODELS, strict=True):
            dots = [100 * a for a in n.accuracy_per_seed[m][kind]]
            ax.scatter(np.full(len(dots), x + width / 4), dots, s=12, color="black", zorder=3)
    every = [100 * a for m in MODELS for d in DATA for a in n.accuracy_per_seed[m][d]]
    tops = [100 * (s.mean + s.std) for m in MODELS for s in n.accuracy_spread[m].values()]
    high, floor = max(every + tops), max(0.0, min(every) - 10.0)
    step = (high - floor) * 0.08
    # brackets: CNN vs MLP on each kind of pixels, each model original vs shuffled
    spots = {
        (m, d): xs[i] + (j - 0.5) * width for i, m in enumerate(MODELS) for j, d in enumerate(DATA)
    }
    for name, tier in (
        ("cnn_original_vs_shuffled", 0),
        ("mlp_original_vs_shuffled", 0),
        ("cnn_vs_mlp", 1),
        ("cnn_vs_mlp_shuffled", 2),
    ):
        a, b = PAIRS[name]
        y = high + step * (1 + 1.5 * tier)
        x0, x1 = sorted((spots[a], spots[b]))
        ax.plot([x0, x0, x1, x1], [y - step / 3, y, y, y - step / 3], color="black", lw=1)
        ax.text(
            (x0 + x1) / 2,
            y,
            t("lab.cnn_vs_fc.fig_p", lang, p=n.paired[name].p_value),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylim(floor, high + step * 7.5)
    ax.set_yticks([y for y in ax.get_yticks() if floor <= y <= 100])  # no ticks past 100 %
    ax.set_xticks(xs, [t(f"lab.cnn_vs_fc.fig_model_{m}", lang) for m in MODELS])
    ax.set_ylabel(t("lab.cnn_vs_fc.fig_y", lang))
    ax.set_title(
        t("lab.cnn_vs_fc.fig_title", lang, n=n.n_train, epochs=n.epochs, seeds=len(n.seeds)),
        fontsize=10,
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=2, fontsize=8)
    return fig


def _digits_figure(n: CnnVsFcNumbers, lang: str) -> Figure:
    """Test digits as they are (top) and with the fixed pixel permutation (bottom)."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    count = n.digits_original.shape[0]
    fig = Figure(figsize=(1.5 * count + 1.2, 3.6), layout="constrained")
    axes = fig.subplots(2, count, squeeze=False)
    for r, (imgs, key) in enumerate(
        ((n.digits_original, "fig_row_original"), (n.digits_shuffled, "fig_row_shuffled"))
    ):
        for j in range(count):
            ax = axes[r][j]
            ax.imshow(imgs[j], cmap="gray")
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(t(f"lab.cnn_vs_fc.{key}", lang), fontsize=9)
    fig.suptitle(t("lab.cnn_vs_fc.fig_digits", lang))
    return fig


EXPERIMENT = register(
    "cnn-vs-fc",
    CnnVsFcParams,
    "lab.cnn_vs_fc.title",
    numbers=CnnVsFcNumbers,
    measure=measure,
    explain=explain,
    draw=draw,
    quick={"n_train": 300, "n_test": 100, "epochs": 1, "seeds": 1},
)

__all__ = [
    "CnnVsFcParams",
    "CnnVsFcNumbers",
    "ExactControl",
    "PAIRS",
    "pixel_permutation",
    "shuffle_pixels",
    "mlp_with_permuted_inputs",
    "cnn_macs",
    "mlp_macs",
    "counted_macs",
    "measure",
    "explain",
    "draw",
    "EXPERIMENT",
]
