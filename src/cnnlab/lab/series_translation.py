"""Series translation: where a 1-D CNN's advantage over an MLP comes from (MNIST-1D's spatial
prior).

Part 1 — neighbours matter. A narrow ``cnn1d`` (the FCN) and the paper's ``mlp1d`` (``RECIPES``) are
trained on MNIST-1D and on its shuffled twin ``mnist1d-shuffled`` (the same series with the 40
positions permuted by one fixed permutation, train and test alike), once per seed ``seed, seed+1,
…``, same data, budget and optimizer. A convolution sees neighbouring positions together, so on
the shuffled twin its prior is wrong; an MLP's first layer is a dense matrix, and permuting its
inputs only permutes its columns: with i.i.d. initial weights the two problems are the same problem
for an MLP (its two accuracies differ only by seed noise — the control). Greydanus (2020,
"Scaling down deep learning", the MNIST-1D paper) uses the shuffled set to show this spatial
prior: the CNN loses its lead once neighbours are no longer neighbours. Measured here (default run,
3 seeds, 4 epochs, 34 s under load): CNN 97.0 → 46.5 %, MLP 52.6 → 54.0 % (p = 0.057) — the
CNN falls *below* the MLP (p = 2e-11).
Each comparison is McNemar's exact test on the same test series (correctness pooled over seeds,
:func:`cnnlab.lab.stats.mcnemar`); accuracies are mean ± std over seeds.

Part 2 — shifts. The models trained on the unshuffled data are tested on the test series shifted by
``s = 0…max_shift`` steps, each series in a direction (left or right) drawn once with a fixed
generator. ``shift_mode='roll'`` rolls circularly (what leaves one end comes back at the other),
``'zero'`` moves and fills the uncovered steps with 0 (after MNIST-1D's own standardisation, 0 is
the mean level).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.lab.registry import SEED_MAX, register
from cnnlab.lab.stats import ALPHA, Paired, Spread, mcnemar, spread
from cnnlab.progress import Progress, emit
from cnnlab.result import Message

if TYPE_CHECKING:
    from collections.abc import Callable

    import torch
    from matplotlib.figure import Figure
    from torch import nn

DATASETS = ("mnist1d", "mnist1d-shuffled")
DATA_WORDS = ("mnist1d", "shuffled")  # catalog words for DATASETS: lab.series_translation.data.*
MODELS = ("cnn", "mlp")
SHIFT_MODES = ("roll", "zero")
DIRECTION_SEED = 0  # one direction per test series, the same for every model, seed and shift
# The models' recipes (registry names + keywords): small enough to train in about a second.
RECIPES: dict[str, tuple[str, dict[str, Any]]] = {
    "cnn": ("cnn1d", {"channels": (32, 32, 32), "kernel_size": (5, 5, 3)}),
    # the FCN narrowed 4-8×, odd kernels ('same' padding without a copy): ~98.5 % in 8 epochs
    "mlp": ("mlp1d", {"hidden": (100, 100)}),  # the MNIST-1D paper's MLP
}


@dataclass
class SeriesTranslationParams:
    n_train: int = field(
        default=4000, metadata={"help": "lab.training.param.n_train", "min": 10, "max": 60_000}
    )
    # MNIST-1D's whole training split
    n_test: int = field(
        default=1000, metadata={"help": "lab.training.param.n_test", "min": 10, "max": 10_000}
    )
    epochs: int = field(
        default=4, metadata={"help": "lab.training.param.epochs", "min": 1, "max": 100}
    )
    # the same for both models; a few s per CNN fit on 2 cores: 12 fits stay near a minute
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0, "max": SEED_MAX})
    seeds: int = field(
        default=3, metadata={"help": "lab.series_translation.param.seeds", "min": 1, "max": 20}
    )
    max_shift: int = field(
        default=10,
        metadata={"help": "lab.series_translation.param.max_shift", "min": 0, "max": 39},
    )
    # a quarter of the 40 steps
    shift_mode: str = field(
        default="roll",
        metadata={"help": "lab.series_translation.param.shift_mode", "choices": SHIFT_MODES},
    )


@dataclass(frozen=True)
class Comparison:
    """``a`` vs ``b`` (``model@dataset``) on the same test series; McNemar pooled over seeds."""

    a: str
    b: str
    accuracy_a: Spread
    accuracy_b: Spread
    test: Paired


@dataclass(frozen=True)
class SeriesTranslationNumbers:
    n_train: int
    n_test: int
    length: int
    epochs: int
    seed: int
    seeds: int
    params: dict[str, int]  # model → parameter count
    train_seconds: dict[str, float]  # model → mean wall time of one fit (numbers only: the text of
    # a saved run must equal a fresh run's)
    accuracy: dict[str, Spread]  # "model@dataset" → test accuracy over seeds
    accuracy_per_seed: dict[str, list[float]]
    comparisons: list[Comparison]  # cnn vs mlp per dataset; each model unshuffled vs shuffled
    shift_mode: str
    shifts: list[int]
    accuracy_vs_shift: dict[str, list[float]]  # model (unshuffled data) → mean over seeds
    accuracy_vs_shift_std: dict[str, list[float]]
    example: np.ndarray  # (2, L): test series 0, unshuffled and shuffled
    example_label: int


def shift_series(x: torch.Tensor, s: int, mode: str) -> torch.Tensor:
    """Move ``x (N, C, 1, L)`` right by ``s`` steps (left for ``s < 0``): circularly (``roll``) or
    with the uncovered steps set to 0 (``zero``)."""
    import torch

    if mode == "roll" or s == 0:
        return torch.roll(x, s, dims=-1)
    out = torch.zeros_like(x)
    if abs(s) < x.shape[-1]:
        if s > 0:
            out[..., s:] = x[..., :-s]
        else:
            out[..., :s] = x[..., -s:]
    return out


def shift_each(x: torch.Tensor, s: int, mode: str, signs: np.ndarray) -> torch.Tensor:
    """Series ``i`` of ``x (N, C, 1, L)`` moved ``s`` steps in direction ``signs[i]`` (±1)."""
    import torch

    out = torch.empty_like(x)
    for sign in (-1, 1):
        idx = torch.from_numpy(np.flatnonzero(signs == sign))
        out[idx] = shift_series(x[idx], sign * s, mode)
    return out


def measure(
    params: SeriesTranslationParams, progress: Progress | None = None
) -> SeriesTranslationNumbers:
    from cnnlab.lab.conv1d import open_series, series_tensors
    from cnnlab.lab.training import TrainDataParams, train_model
    from cnnlab.models import build

    data = {}
    for name in DATASETS:
        tr = series_tensors(open_series(name, True), params.n_train, "n_train")
        te = series_tensors(open_series(name, False), params.n_test, "n_test")
        data[name] = (tr, te)
    (tr0, te0) = data[DATASETS[0]]
    length = tr0[0].shape[-1]
    classes = int(max(tr0[1].max(), te0[1].max())) + 1

    def maker(m: str) -> Callable[[], nn.Module]:
        name, kw = RECIPES[m]
        return lambda: build(name, in_channels=1, num_classes=classes, length=length, **kw)

    signs = np.where(np.random.default_rng(DIRECTION_SEED).integers(0, 2, params.n_test), 1, -1)
    shifts = list(range(params.max_shift + 1))
    seeds = [params.seed + j for j in range(params.seeds)]

    correct: dict[str, list[np.ndarray]] = {f"{m}@{d}": [] for m in MODELS for d in DATASETS}
    per_seed: dict[str, list[float]] = {key: [] for key in correct}
    vs_shift: dict[str, list[list[float]]] = {m: [] for m in MODELS}
    n_params: dict[str, int] = {}
    seconds: dict[str, list[float]] = {m: [] for m in MODELS}
    total, step = len(seeds) * len(DATASETS) * len(MODELS), 0
    for seed in seeds:
        for dname, (tr, te) in data.items():
            for m in MODELS:
                step += 1
                emit(progress, "stage", stage=f"{m}@{dname}", index=step, total=total, seed=seed)
                run = TrainDataParams(data="auto", epochs=params.epochs, seed=seed)
                fitted = train_model(
                    m,
                    maker(m),
                    tr,
                    te,
                    run,
                    callback=progress,
                    batch_size=64,
                    lr=0.01,
                    optimizer="adamw",
                    channels_last=False,
                )
                key = f"{m}@{dname}"
                ok = (fitted.logits(te[0]).argmax(1) == te[1]).numpy()
                correct[key].append(ok)
                per_seed[key].append(float(ok.mean()))
                n_params[m] = fitted.n_params
                seconds[m].append(fitted.seconds)
                if dname == DATASETS[0]:
                    vs_shift[m].append(
                        [
                            fitted.accuracy_on(
                                shift_each(te[0], s, params.shift_mode, signs), te[1]
                            )
                            for s in shifts
                        ]
                    )

    def pooled(key: str) -> np.ndarray:
        return np.concatenate(correct[key])  # (seeds·N,) the same series order for every key

    pairs = [(f"cnn@{d}", f"mlp@{d}") for d in DATASETS]
    pairs += [(f"{m}@{DATASETS[0]}", f"{m}@{DATASETS[1]}") for m in MODELS]
    comparisons = [
        Comparison(a, b, spread(per_seed[a]), spread(per_seed[b]), mcnemar(pooled(a), pooled(b)))
        for a, b in pairs
    ]
    curves = {m: np.asarray(v) for m, v in vs_shift.items()}  # (seeds, shifts)
    x0 = data[DATASETS[0]][1][0][0, 0, 0].numpy()
    x1 = data[DATASETS[1]][1][0][0, 0, 0].numpy()
    return SeriesTranslationNumbers(
        n_train=params.n_train,
        n_test=params.n_test,
        length=int(length),
        epochs=params.epochs,
        seed=params.seed,
        seeds=params.seeds,
        params=n_params,
        train_seconds={m: float(np.mean(v)) for m, v in seconds.items()},
        accuracy={k: spread(v) for k, v in per_seed.items()},
        accuracy_per_seed=per_seed,
        comparisons=comparisons,
        shift_mode=params.shift_mode,
        shifts=shifts,
        accuracy_vs_shift={m: c.mean(0).tolist() for m, c in curves.items()},
        accuracy_vs_shift_std={
            m: (c.std(0, ddof=1) if len(c) > 1 else np.zeros(c.shape[1])).tolist()
            for m, c in curves.items()
        },
        example=np.stack([x0, x1]),
        example_label=int(data[DATASETS[0]][1][1][0]),
    )


def p_text(p: float) -> str:
    """``"= 0.21"``, or ``"< 1e-300"`` for an exact tail below the smallest float (not "= 0")."""
    return "< 1e-300" if p < 1e-300 else f"= {p:.2g}"


def _acc(s: Spread) -> dict[str, float]:
    return {"mean": 100 * s.mean, "std": 100 * s.std}


def _key_words(key: str) -> dict[str, Any]:
    from cnnlab.i18n import Msg

    model, dataset = key.split("@")
    word = DATA_WORDS[DATASETS.index(dataset)]
    return {
        "model": Msg(f"lab.series_translation.model.{model}"),
        "data": Msg(f"lab.series_translation.data.{word}"),
    }


def explain(n: SeriesTranslationNumbers) -> list[Message]:
    from cnnlab.i18n import Msg

    msgs: list[Message] = [
        (
            "lab.series_translation.setup",
            {
                "n": n.n_train,
                "n_test": n.n_test,
                "length": n.length,
                "epochs": n.epochs,
                "seeds": n.seeds,
                "cnn": n.params["cnn"],
                "mlp": n.params["mlp"],
            },
        )
    ]
    if n.seeds == 1:
        msgs.append(("lab.series_translation.one_seed", {}))
    for key, s in n.accuracy.items():
        msgs.append(("lab.series_translation.accuracy", {**_key_words(key), **_acc(s)}))
    for c in n.comparisons:
        a, b = _key_words(c.a), _key_words(c.b)
        msgs.append(
            (
                "lab.series_translation.compare",
                {
                    "a": Msg("lab.series_translation.name", **a),
                    "b": Msg("lab.series_translation.name", **b),
                    "diff": 100 * (c.accuracy_a.mean - c.accuracy_b.mean),
                    "a_only": c.test.a_only,
                    "b_only": c.test.b_only,
                    "p": p_text(c.test.p_value),
                },
            )
        )
    msgs.append(_verdict(n))
    first, last = n.shifts[0], n.shifts[-1]
    msgs.append(
        (
            f"lab.series_translation.shift_{n.shift_mode}",
            {
                "s": last,
                "cnn0": 100 * n.accuracy_vs_shift["cnn"][first],
                "cnn1": 100 * n.accuracy_vs_shift["cnn"][-1],
                "mlp0": 100 * n.accuracy_vs_shift["mlp"][first],
                "mlp1": 100 * n.accuracy_vs_shift["mlp"][-1],
            },
        )
    )
    return msgs


def _verdict(n: SeriesTranslationNumbers) -> Message:
    """From the tests: is the CNN ahead on the original data, and still ahead once shuffled?"""
    orig, shuf = n.comparisons[0], n.comparisons[1]

    def state(c: Comparison) -> str:
        if c.test.p_value >= ALPHA:
            return "tie"
        return "ahead" if c.accuracy_a.mean > c.accuracy_b.mean else "behind"

    key = f"lab.series_translation.verdict.{state(orig)}_{state(shuf)}"
    return (
        key,
        {
            "d0": 100 * (orig.accuracy_a.mean - orig.accuracy_b.mean),
            "d1": 100 * (shuf.accuracy_a.mean - shuf.accuracy_b.mean),
            "p0": p_text(orig.test.p_value),
            "p1": p_text(shuf.test.p_value),
        },
    )


def draw(n: SeriesTranslationNumbers, lang: str) -> dict[str, Figure]:
    return {"accuracy": _accuracy_figure(n, lang), "shift": _shift_figure(n, lang)}


COLORS = {"cnn": "#d62728", "mlp": "#1f77b4"}


def _accuracy_figure(n: SeriesTranslationNumbers, lang: str) -> Figure:
    """Left: one test series and its shuffled twin. Right: accuracy per model and dataset (bars =
    mean, dots = seeds, error bars = std)."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    fig = Figure(figsize=(10.0, 3.8), layout="constrained")
    ax_s, ax_a = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.2, 1]})
    for row, (series, ls) in enumerate(zip(n.example, ("-", ":"), strict=True)):
        ax_s.plot(
            series,
            ls,
            marker="o",
            ms=2.5,
            lw=1.2,
            label=t(f"lab.series_translation.data.{DATA_WORDS[row]}", lang),
        )
    ax_s.set_title(t("lab.series_translation.fig.example", lang, label=n.example_label), fontsize=9)
    ax_s.set_xlabel(t("lab.series_translation.fig.position", lang), fontsize=8)
    ax_s.legend(fontsize=7)
    width = 0.38
    for mi, m in enumerate(MODELS):
        for di, d in enumerate(DATASETS):
            key = f"{m}@{d}"
            s = n.accuracy[key]
            x = di + (mi - 0.5) * width
            label = t(f"lab.series_translation.model.{m}", lang) if di == 0 else None
            ax_a.bar(x, 100 * s.mean, width * 0.92, yerr=100 * s.std, capsize=4, color=COLORS[m],
                     alpha=0.35, label=label)  # fmt: skip
            seeds = [100 * v for v in n.accuracy_per_seed[key]]
            ax_a.plot([x] * len(seeds), seeds, "o", color=COLORS[m], ms=4)
            top = 100 * (s.mean + s.std) + 1.5  # above the error bar
            ax_a.text(x, top, f"{100 * s.mean:.1f}", ha="center", va="bottom", fontsize=7)
    ax_a.set_xticks(
        range(len(DATASETS)), [t(f"lab.series_translation.data.{w}", lang) for w in DATA_WORDS]
    )
    ax_a.set_ylim(0, 109)  # room for the labels above 100 %
    ax_a.set_yticks(range(0, 101, 20))
    ax_a.set_ylabel(t("lab.series_translation.fig.accuracy", lang), fontsize=8)
    ax_a.set_title(t("lab.series_translation.fig.bars", lang, seeds=n.seeds), fontsize=9)
    ax_a.legend(fontsize=7, loc="lower left")
    return fig


def _shift_figure(n: SeriesTranslationNumbers, lang: str) -> Figure:
    """Accuracy vs shift (mean over seeds ± std), models trained on the unshuffled data."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    fig = Figure(figsize=(6.0, 3.8), layout="constrained")
    ax = fig.subplots()
    for m in MODELS:
        mean = 100 * np.asarray(n.accuracy_vs_shift[m])
        std = 100 * np.asarray(n.accuracy_vs_shift_std[m])
        ax.plot(
            n.shifts,
            mean,
            "-o",
            ms=3,
            color=COLORS[m],
            label=t(f"lab.series_translation.model.{m}", lang),
        )
        ax.fill_between(n.shifts, mean - std, mean + std, color=COLORS[m], alpha=0.15)
    ax.set_ylim(0, 100)
    ax.set_xlabel(t(f"lab.series_translation.fig.shift_{n.shift_mode}", lang), fontsize=8)
    ax.set_ylabel(t("lab.series_translation.fig.accuracy", lang), fontsize=8)
    ax.set_title(t("lab.series_translation.fig.shift", lang, seeds=n.seeds), fontsize=9)
    ax.legend(fontsize=7)
    return fig


EXPERIMENT = register(
    "series-translation",
    SeriesTranslationParams,
    "lab.series_translation.title",
    numbers=SeriesTranslationNumbers,
    measure=measure,
    explain=explain,
    draw=draw,
    quick={"n_train": 1000, "n_test": 300, "epochs": 3, "seeds": 1, "max_shift": 3},
)

__all__ = [
    "SeriesTranslationParams",
    "SeriesTranslationNumbers",
    "Comparison",
    "DATASETS",
    "shift_series",
    "shift_each",
    "p_text",
    "measure",
    "explain",
    "draw",
    "EXPERIMENT",
]
