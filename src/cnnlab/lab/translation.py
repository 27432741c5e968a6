"""Translation: a stride-1 convolution is shift-*equivariant*; a CNN is only approximately
shift-*invariant*, and how much depends on its head.

Part 1 — accuracy under shifts. Three models are trained on the centred digits (same data, budget
and seed), once per seed ``seed, seed + 1, …``: a CNN whose conv blocks end in ``Flatten → Linear``
(:class:`~cnnlab.models.SimpleCNN`), a CNN with global average pooling
(:class:`~cnnlab.models.GAPNet`) and an MLP. The shifted test set at ``s`` pixels moves test image
``i`` by ``s`` pixels in one direction (right, left, down or up) drawn once per image with a fixed
generator, zero fill (MNIST's background is 0): the same images and moves for every model and
seed, so two models can be compared image by image (McNemar, :func:`cnnlab.lab.stats.mcnemar`,
pooled over seeds). Accuracies are mean ± std over seeds. MNIST digits sit in a 20×20 box in the
28×28 frame, so beyond ~4 pixels strokes start to leave it.

Part 2 — why. For a stride-1 convolution ``conv`` and a shift ``S_d`` by ``d = (dy, dx)``::

    conv(S_d x)[p] = Σ_o w[o] · x[p + o - d] = conv(x)[p - d] = S_d conv(x)[p]

wherever neither side touches the frame (the padding or the pixels shifted in). Measured on the
trained CNN's first conv layer in float64, separately on the interior (``margin = |d| + padding``
cells from the frame) and on the frame rows; with circular padding and circular shifts (no frame at
all) it holds everywhere. With stride 2 — the same kernel with ``stride=2``, or the trained block's
``MaxPool2d(2)`` — a 2-pixel shift moves the output by one cell exactly (interior), but a 1-pixel
shift leaves a residual that no whole-cell move removes::

    residual = min over k in {0, 1} of ‖out(S_1 x) − S_k out(x)‖ / ‖out(x)‖   (interior)
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.errors import ConfigError
from cnnlab.lab.registry import register
from cnnlab.lab.stats import Paired, Spread, mcnemar, spread
from cnnlab.lab.training import (
    TrainDataParams,
    Trained,
    load_train_test,
    recipe_of,
    train_model,
)
from cnnlab.progress import Progress, emit
from cnnlab.result import Message

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

MODELS = ("cnn", "gap", "mlp")
DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0))  # (dy, dx) unit steps: right, left, down, up
DIRECTION_SEED = 0  # the generator of each test image's direction: one shifted test set for all
PAIRS = (("gap", "cnn"), ("cnn", "mlp"))  # (A, B) compared image by image on the same shifted set
# The models' recipes (registry names + keywords): small enough to train in seconds on 2 cores.
RECIPES: dict[str, dict[str, Any]] = {
    "cnn": {"channels": (16, 32), "hidden": 64},  # 28→14→7, flatten 1,568 → 64 → 10
    "gap": {"channels": (16, 32, 64)},  # 28→14→7, global average over the 7×7 positions
    "mlp": {"hidden": (256, 128)},  # the registry's default MLP
}


@dataclass
class TranslationParams(TrainDataParams):
    max_shift: int = field(
        default=8, metadata={"help": "lab.translation.param.max_shift", "min": 0, "max": 27}
    )
    # 0…8 px: past ~4 px the digit starts to leave the frame; must stay below the image size
    eq_shift: int = field(
        default=3, metadata={"help": "lab.translation.param.eq_shift", "min": 1, "max": 27}
    )
    # the (dy, dx) = (s, s) shift used for the equivariance check
    index: int = field(default=0, metadata={"help": "lab.translation.param.index", "min": 0})
    # test digit for the equivariance check (mnist-sample: index i is a digit of class i % 10)
    epochs: int = field(
        default=4, metadata={"help": "lab.training.param.epochs", "min": 1, "max": 100}
    )
    # cnn-vs-fc's budget: the tour trains their shared cnn and mlp once (lab.training's fit cache)
    seeds: int = field(
        default=3, metadata={"help": "lab.translation.param.seeds", "min": 1, "max": 20}
    )
    # each model is trained once per seed (seed, seed+1, …): accuracies are mean ± std over them


@dataclass(frozen=True)
class ModelSummary:
    recipe: str  # the registry keywords, as text
    params: int
    accuracy: Spread  # test accuracy of fit on the unshifted test set, over seeds
    train_seconds: float  # mean wall time of one fit


@dataclass(frozen=True)
class Comparison:
    """Models ``a`` and ``b`` on the same shifted test set; McNemar pooled over seeds."""

    a: str
    b: str
    shift: int
    accuracy_a: Spread
    accuracy_b: Spread
    test: Paired


@dataclass(frozen=True)
class Equivariance:
    index: int
    label: int
    shift: tuple[int, int]  # (dy, dx) for the stride-1 check
    padding: int
    interior_margin: int  # cells from the frame that no border effect reaches: |d| + padding
    conv_max_abs_diff_interior: float
    conv_max_abs_diff_frame: float  # the frame rows/columns only
    conv_max_abs_diff_circular: float  # circular padding + circular shift: no frame at all
    conv_output_scale: float  # max |conv(x)|: what "small" is measured against
    stride2_2px_max_abs_diff_interior: float  # stride-2 conv, input 2 px right vs output 1 cell
    stride2_1px_relative_residual: float  # stride-2 conv, input 1 px right, best whole-cell move
    pooled_2px_max_abs_diff_interior: float  # block conv→BN→ReLU→MaxPool2d(2)
    pooled_1px_relative_residual: float
    shown_channel: int
    maps: dict[str, np.ndarray]  # (H, W) maps of the shown channel, named as in the figure


@dataclass(frozen=True)
class TranslationNumbers:
    dataset: str
    n_train: int
    n_test: int
    epochs: int
    seed: int
    seeds: int
    models: dict[str, ModelSummary]
    shifts: tuple[int, ...]
    directions: tuple[str, ...]
    accuracy_vs_shift: dict[str, list[float]]  # model → mean over seeds, per shift
    accuracy_vs_shift_std: dict[str, list[float]]  # sample std over seeds (0 for one seed)
    accuracy_per_seed: dict[str, list[list[float]]]  # model → seed → per shift
    comparisons: list[Comparison]
    equivariance: Equivariance


def shift_images(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Move ``x (N, C, H, W)`` by ``dy`` rows down and ``dx`` columns right; uncovered pixels are 0.

    Unlike ``torch.roll`` nothing wraps around: what leaves the frame is lost.
    """
    import torch

    h, w = x.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        raise ConfigError("lab.translation.error.shift", dy=dy, dx=dx, h=h, w=w, high=min(h, w) - 1)
    out = torch.zeros_like(x)
    out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
        ..., max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
    ]
    return out


def shift_each(x: torch.Tensor, s: int, directions: np.ndarray) -> torch.Tensor:
    """Image ``i`` of ``x (N, C, H, W)`` moved ``s`` pixels in direction ``DIRECTIONS[d_i]``."""
    import torch

    out = torch.empty_like(x)
    for d, (dy, dx) in enumerate(DIRECTIONS):
        idx = torch.from_numpy(np.flatnonzero(directions == d))
        out[idx] = shift_images(x[idx], s * dy, s * dx)
    return out


def shift_directions(n: int) -> np.ndarray:
    """One direction index (0…3) per test image, the same for every model, seed and shift."""
    return np.random.default_rng(DIRECTION_SEED).integers(0, len(DIRECTIONS), n)


def correct_vs_shift(
    model: Trained,
    x: torch.Tensor,
    y: torch.Tensor,
    max_shift: int,
    directions: np.ndarray,
    unshifted: np.ndarray | None = None,
) -> np.ndarray:
    """Correctness ``(max_shift + 1, N)`` on the shifted test sets ``s = 0…max_shift``; row 0 is
    ``unshifted`` when the caller already has it (``train_model``'s ``test_correct`` on ``x``)."""
    return np.stack(
        [
            unshifted
            if s == 0 and unshifted is not None
            else (model.logits(shift_each(x, s, directions)).argmax(1) == y).numpy()
            for s in range(max_shift + 1)
        ]
    )


def _interior(t: torch.Tensor, margin: int) -> torch.Tensor:
    """``t[..., m:-m, m:-m]`` — the part of a ``(N, C, H, W)`` map no frame effect reaches."""
    return t[..., margin : t.shape[-2] - margin, margin : t.shape[-1] - margin] if margin else t


def _frame(t: torch.Tensor, margin: int) -> torch.Tensor:
    """The cells of ``t (N, C, H, W)`` within ``margin`` of the frame, flattened."""
    import torch

    mask = torch.ones(t.shape[-2:], dtype=torch.bool)
    mask[margin : t.shape[-2] - margin, margin : t.shape[-1] - margin] = False
    return t[..., mask]


def _cell_residual(
    moved: torch.Tensor, base: torch.Tensor, ks: tuple[int, ...], margin: int
) -> float:
    """``min_k ‖moved − S_k base‖ / ‖base‖`` over right-moves by ``k`` cells, on the interior."""
    ref = _interior(base, margin).norm()
    return min(float(_interior(moved - shift_images(base, 0, k), margin).norm() / ref) for k in ks)


def equivariance(cnn: Trained, x: torch.Tensor, label: int, index: int, shift: int) -> Equivariance:
    """Conv equivariance (stride 1) and what stride 2 and pooling keep, on a digit ``x (1,1,H,W)``.

    float64 copies of the trained CNN's first conv layer and first block; the model is untouched.
    """
    import copy

    import torch
    import torch.nn.functional as F

    features: Any = cnn.model.features  # nn.Sequential: conv, BN, ReLU, MaxPool2d, …
    conv = features[0]  # Conv2d(1, 16, 3, padding=1) of the trained SimpleCNN
    w = conv.weight.detach().double()  # (C_out, C_in, k, k)
    b = conv.bias.detach().double() if conv.bias is not None else None
    pad = conv.padding[0]

    def pre(t: torch.Tensor) -> torch.Tensor:  # the standardisation the network was trained with
        return cnn.preprocess.apply(t).double()

    def conv_(t: torch.Tensor, stride: int = 1) -> torch.Tensor:
        return F.conv2d(pre(t), w, b, stride=stride, padding=pad)  # (1, C_out, H/stride, W/stride)

    # Shift the raw image (background 0), then standardise — exactly what the network would see.
    xs = shift_images(x, shift, shift)
    y, y_of_shifted = conv_(x), conv_(xs)
    shifted_y = shift_images(y, shift, shift)
    diff = (y_of_shifted - shifted_y).abs()
    margin = shift + pad
    # Circular version: wrap-around shift and circular padding — no frame at all.
    xc = F.pad(pre(x), (pad,) * 4, mode="circular")
    xc_shift = F.pad(torch.roll(pre(x), (shift, shift), (2, 3)), (pad,) * 4, mode="circular")
    circ = (F.conv2d(xc_shift, w, b) - torch.roll(F.conv2d(xc, w, b), (shift, shift), (2, 3))).abs()

    # Stride 2: the same kernel, input moved right by 1 and 2 px; 2 cells of margin cover the
    # shifted-in column and the padding seen through the stride.
    m2 = 2
    s0, s1, s2 = (conv_(shift_images(x, 0, d), stride=2) for d in (0, 1, 2))
    # Pooling: the trained first block conv → BN → ReLU → MaxPool2d(2), in eval mode.
    block = copy.deepcopy(features[:4]).double().eval()
    with torch.no_grad():
        f0, f1, f2 = (block(pre(shift_images(x, 0, d))) for d in (0, 1, 2))
    pooled_shift2 = (f2 - shift_images(f0, 0, 1)).abs()  # 2 px in = 1 pooled cell out
    c = int(y[0].flatten(1).std(1).argmax())  # the map with the most structure to show
    maps = {
        "x": x[0, 0],
        "xs": xs[0, 0],
        "y": y[0, c],
        "y_of_shifted": y_of_shifted[0, c],
        "shifted_y": shifted_y[0, c],
        "diff": diff[0, c],
        "f0": f0[0, c],
        "f1": f1[0, c],
        "f2": f2[0, c],
        "pooled_shift2": pooled_shift2[0, c],
    }
    return Equivariance(
        index=index,
        label=label,
        shift=(shift, shift),
        padding=pad,
        interior_margin=margin,
        conv_max_abs_diff_interior=float(_interior(diff, margin).max()),
        conv_max_abs_diff_frame=float(_frame(diff, margin).max()),
        conv_max_abs_diff_circular=float(circ.max()),
        conv_output_scale=float(y.abs().max()),
        stride2_2px_max_abs_diff_interior=float(
            _interior((s2 - shift_images(s0, 0, 1)).abs(), m2).max()
        ),
        stride2_1px_relative_residual=_cell_residual(s1, s0, (0, 1), m2),
        pooled_2px_max_abs_diff_interior=float(_interior(pooled_shift2, m2).max()),
        pooled_1px_relative_residual=_cell_residual(f1, f0, (0, 1), m2),
        shown_channel=c,
        maps={k: v.detach().float().numpy() for k, v in maps.items()},
    )


def measure(params: TranslationParams, progress: Progress | None = None) -> TranslationNumbers:
    from cnnlab.models import build

    train, test, dataset = load_train_test(params)
    c, h = train[0].shape[1], train[0].shape[-1]  # (N, C, H, W)
    for name in ("max_shift", "eq_shift"):  # the range depends on the data: check before training
        if getattr(params, name) >= h:
            raise ConfigError(
                "lab.error.range", param=name, value=getattr(params, name), low=0, high=h - 1
            )
    if params.index >= len(test[1]):
        raise ConfigError(
            "lab.error.range", param="index", value=params.index, low=0, high=len(test[1]) - 1
        )

    directions = shift_directions(len(test[1]))
    seeds = [params.seed + k for k in range(params.seeds)]
    correct: dict[str, list[np.ndarray]] = {m: [] for m in MODELS}  # model → seed → (S+1, N)
    fits: dict[str, list[Trained]] = {m: [] for m in MODELS}
    for sd in seeds:
        p = dataclasses.replace(params, seed=sd)  # train_model seeds init and shuffling with it
        for name in MODELS:
            kwargs = {"in_channels": c, "image_size": h, **RECIPES[name]}
            trained = train_model(
                name,
                functools.partial(build, name, **kwargs),
                train,
                test,
                p,
                callback=progress,
                recipe=recipe_of(name, **kwargs),  # cnn-vs-fc trains the same cnn and mlp
                optimizer="adamw",
                lr=0.01,
            )
            emit(progress, "stage", stage="shift", model=name, seed=sd, max_shift=params.max_shift)
            correct[name].append(
                correct_vs_shift(trained, *test, params.max_shift, directions, trained.test_correct)
            )
            fits[name].append(trained)

    per_seed = {m: [c.mean(1).tolist() for c in correct[m]] for m in MODELS}
    s_mid = min(4, params.max_shift)
    comparisons = [
        Comparison(
            a,
            b,
            s,
            spread([c[s].mean() for c in correct[a]]),
            spread([c[s].mean() for c in correct[b]]),
            mcnemar(
                np.concatenate([c[s] for c in correct[a]]),
                np.concatenate([c[s] for c in correct[b]]),
            ),
        )
        for a, b in PAIRS
        for s in sorted({0, s_mid})
    ]
    first_cnn = fits["cnn"][0]
    x = test[0][params.index : params.index + 1]
    eq = equivariance(first_cnn, x, int(test[1][params.index]), params.index, params.eq_shift)
    return TranslationNumbers(
        dataset=dataset,
        n_train=len(train[1]),
        n_test=len(test[1]),
        epochs=params.epochs,
        seed=params.seed,
        seeds=params.seeds,
        models={
            m: ModelSummary(
                recipe=", ".join(f"{k}={v}" for k, v in RECIPES[m].items()),
                params=fits[m][0].n_params,
                accuracy=spread([t.accuracy for t in fits[m]]),
                train_seconds=round(float(np.mean([t.seconds for t in fits[m]])), 2),
            )
            for m in MODELS
        },
        shifts=tuple(range(params.max_shift + 1)),
        directions=("right", "left", "down", "up"),
        accuracy_vs_shift={m: np.mean(per_seed[m], 0).tolist() for m in MODELS},
        accuracy_vs_shift_std={
            m: (
                np.std(per_seed[m], 0, ddof=1) if len(seeds) > 1 else np.zeros(params.max_shift + 1)
            ).tolist()
            for m in MODELS
        },
        accuracy_per_seed=per_seed,
        comparisons=comparisons,
        equivariance=eq,
    )


def _p_text(p: float) -> str:
    """A p-value as text; an exact tail below the smallest float reads "< 1e-300", not 0."""
    return "< 1e-300" if p < 1e-300 else f"{p:.2g}"


def _verdict(cmp: Comparison) -> str:
    if not cmp.test.significant:
        return "noise"
    return "better" if cmp.accuracy_a.mean > cmp.accuracy_b.mean else "worse"


def explain(n: TranslationNumbers) -> list[Message]:
    curves, std, s_max = n.accuracy_vs_shift, n.accuracy_vs_shift_std, n.shifts[-1]
    s_mid = min(4, s_max)
    msgs: list[Message] = [
        (
            "lab.translation.setup",
            {"n": n.n_train, "epochs": n.epochs, "s": s_max, "seeds": n.seeds, "n_test": n.n_test},
        )
    ]
    if n.seeds == 1:
        msgs.append(("lab.translation.one_seed", {}))
    for name in MODELS:
        msgs.append(
            (
                f"lab.translation.curve_{name}",
                {
                    "a0": 100 * curves[name][0],
                    "a0_sd": 100 * std[name][0],
                    "s": s_max,
                    "a": 100 * curves[name][-1],
                    "a_sd": 100 * std[name][-1],
                    "mid": 100 * curves[name][s_mid],
                    "mid_sd": 100 * std[name][s_mid],
                    "s_mid": s_mid,
                },
            )
        )
    for cmp in n.comparisons:
        msgs.append(
            (
                f"lab.translation.cmp_{cmp.a}_{cmp.b}_{_verdict(cmp)}",
                {
                    "s": cmp.shift,
                    "a": 100 * cmp.accuracy_a.mean,
                    "a_sd": 100 * cmp.accuracy_a.std,
                    "b": 100 * cmp.accuracy_b.mean,
                    "b_sd": 100 * cmp.accuracy_b.std,
                    "p": _p_text(cmp.test.p_value),
                    "a_only": cmp.test.a_only,
                    "b_only": cmp.test.b_only,
                    "n": cmp.test.n,
                },
            )
        )
    eq = n.equivariance
    msgs += [
        (
            "lab.translation.equivariance",
            {
                "s": eq.shift[0],
                "m": eq.interior_margin,
                "interior": eq.conv_max_abs_diff_interior,
                "frame": eq.conv_max_abs_diff_frame,
                "circ": eq.conv_max_abs_diff_circular,
                "scale": eq.conv_output_scale,
            },
        ),
        (
            "lab.translation.stride2",
            {
                "two": eq.stride2_2px_max_abs_diff_interior,
                "one": 100 * eq.stride2_1px_relative_residual,
                "pool_two": eq.pooled_2px_max_abs_diff_interior,
                "pool_one": 100 * eq.pooled_1px_relative_residual,
            },
        ),
        ("lab.translation.truth", {}),
    ]
    return msgs


def _curve_figure(n: TranslationNumbers, lang: str) -> Figure:
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.subplots()
    shifts = np.array(n.shifts)
    for name, marker in zip(MODELS, ("o", "s", "^"), strict=True):
        y = 100 * np.array(n.accuracy_vs_shift[name])
        sd = 100 * np.array(n.accuracy_vs_shift_std[name])
        (line,) = ax.plot(
            shifts,
            y,
            marker=marker,
            label=t(f"lab.translation.model_{name}", lang, params=n.models[name].params),
        )
        if n.seeds > 1:
            ax.fill_between(shifts, y - sd, y + sd, color=line.get_color(), alpha=0.2)
    ax.axhline(10, color="gray", linestyle=":", linewidth=1)
    ax.text(
        shifts[0],
        11,
        t("lab.translation.fig_chance", lang),
        ha="left",
        va="bottom",
        color="gray",
        fontsize=9,
    )
    ax.set_xticks(shifts)
    ax.set_ylim(0, 108)  # headroom for the legend above the curves
    ax.set_xlabel(t("lab.translation.fig_x", lang))
    ax.set_ylabel(t("lab.translation.fig_y", lang, seeds=n.seeds))
    ax.set_title(t("lab.translation.fig_title", lang, n=n.n_train, epochs=n.epochs), fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=9)
    return fig


def _equivariance_figure(n: TranslationNumbers, lang: str) -> Figure:
    """Row 1: input, shifted input, conv maps, and their difference (interior boxed).
    Row 2: pooled maps for 0/1/2-pixel shifts and the 2-pixel equivariance difference."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from cnnlab.i18n import t

    eq = n.equivariance
    maps, c, s, m = eq.maps, eq.shown_channel, eq.shift[0], eq.interior_margin
    row1 = [
        ("x", "eq_x", {}),
        ("xs", "eq_xs", {"s": s}),
        ("y", "eq_y", {"c": c}),
        ("y_of_shifted", "eq_y_of_shifted", {}),
        ("shifted_y", "eq_shifted_y", {}),
        ("diff", "eq_diff", {}),
    ]
    row2: list[tuple[str, str, dict[str, Any]]] = [
        ("f0", "eq_f0", {}),
        ("f1", "eq_f1", {}),
        ("f2", "eq_f2", {}),
        ("pooled_shift2", "eq_pool_diff", {}),
    ]
    fig = Figure(figsize=(15, 6.2), layout="constrained")
    axes = fig.subplots(2, 6)
    for r, row in enumerate((row1, row2)):
        for i in range(6):
            ax = axes[r][i]
            ax.set_xticks([])
            ax.set_yticks([])
            if i >= len(row):
                ax.axis("off")
                continue
            name, key, kw = row[i]
            img = maps[name]
            is_diff = key in ("eq_diff", "eq_pool_diff")
            ax.imshow(img, cmap="magma" if is_diff else "gray")
            ax.set_title(t(f"lab.translation.{key}", lang, **kw), fontsize=10)
            if key == "eq_diff":  # the interior, where equality is guaranteed
                size = img.shape[-1] - 2 * m
                ax.add_patch(
                    Rectangle(
                        (m - 0.5, m - 0.5), size, size, fill=False, color="cyan", linewidth=1.5
                    )
                )
                ax.set_xlabel(
                    t(
                        "lab.translation.eq_diff_note",
                        lang,
                        interior=eq.conv_max_abs_diff_interior,
                        frame=eq.conv_max_abs_diff_frame,
                    ),
                    fontsize=9,
                )
            if key == "eq_pool_diff":
                ax.set_xlabel(
                    t("lab.translation.eq_pool_note", lang, v=eq.pooled_2px_max_abs_diff_interior),
                    fontsize=9,
                )
            if key == "eq_f1":
                ax.set_xlabel(
                    t("lab.translation.eq_f1_note", lang, v=100 * eq.pooled_1px_relative_residual),
                    fontsize=9,
                )
    fig.suptitle(t("lab.translation.eq_suptitle", lang, c=c))
    return fig


def draw(n: TranslationNumbers, lang: str) -> dict[str, Figure]:
    return {
        "accuracy_vs_shift": _curve_figure(n, lang),
        "equivariance": _equivariance_figure(n, lang),
    }


EXPERIMENT = register(
    "translation",
    TranslationParams,
    "lab.translation.title",
    numbers=TranslationNumbers,
    measure=measure,
    explain=explain,
    draw=draw,
    quick={"n_train": 500, "n_test": 100, "epochs": 1, "max_shift": 2, "seeds": 1},
)

__all__ = [
    "TranslationParams",
    "TranslationNumbers",
    "Comparison",
    "Equivariance",
    "ModelSummary",
    "shift_images",
    "shift_each",
    "shift_directions",
    "correct_vs_shift",
    "equivariance",
    "measure",
    "explain",
    "draw",
    "EXPERIMENT",
]
