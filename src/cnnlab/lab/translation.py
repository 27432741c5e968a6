"""Translation: convolution is shift-*equivariant*; a CNN is only approximately shift-*invariant*.

Part 1 — accuracy under shifts. Three models are trained on the centred digits (same data, seed and
budget): a CNN whose conv blocks end in ``Flatten → Linear`` (:class:`~cnnlab.models.SimpleCNN`),
a CNN with global average pooling (:class:`~cnnlab.models.GAPNet`) and an MLP. Each test digit is
then moved by ``s = 0 … max_shift`` pixels (zero fill: the background of MNIST is 0) right, left,
down and up, and the accuracy averaged over the four directions gives one curve per model.
MNIST digits sit in a 20×20 box in the 28×28 frame, so beyond ~4 pixels strokes start to leave it.

Part 2 — why. For a stride-1 convolution ``conv`` and a shift ``S_d`` by ``d = (dy, dx)``::

    conv(S_d x)[p] = Σ_o w[o] · x[p + o - d] = conv(x)[p - d] = S_d conv(x)[p]

wherever neither side touches the border (the padding or the pixels shifted in): the maximum
difference over the interior (``margin = |d| + padding``) is 0 up to float rounding, and with
circular padding + circular shifts it is 0 over the whole map. Max pooling with stride 2 keeps this
only for shifts by multiples of 2 (one pooled cell); a 1-pixel shift changes the pooled map —
pooling shrinks the change (approximate invariance) but does not remove it. The measurements use the
trained CNN's first block on one test digit, in float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnnlab.errors import ConfigError
from cnnlab.lab.registry import register
from cnnlab.lab.training import TrainDataParams, Trained, load_train_test, train_model
from cnnlab.result import Result

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

MODELS = ("cnn", "gap", "mlp")
DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0))  # (dy, dx) unit steps: right, left, down, up
# The models' recipes (registry names + keywords): small enough to train in seconds on 2 cores.
RECIPES: dict[str, dict[str, Any]] = {
    "cnn": {"channels": (16, 32), "hidden": 64},  # 28→14→7, flatten 1,568 → 64 → 10
    "gap": {"channels": (16, 32, 64)},  # 28→14→7, global average over the 7×7 positions
    "mlp": {"hidden": (256, 128)},  # the registry's default MLP
}


@dataclass
class TranslationParams(TrainDataParams):
    max_shift: int = field(default=8, metadata={"help": "lab.translation.param.max_shift",
                                                "min": 0, "max": 27})
    # 0…8 px: past ~4 px the digit starts to leave the frame; must stay below the image size
    eq_shift: int = field(default=3, metadata={"help": "lab.translation.param.eq_shift",
                                               "min": 1, "max": 27})
    # the (dy, dx) = (s, s) shift used for the equivariance check
    index: int = field(default=0, metadata={"help": "lab.translation.param.index", "min": 0})
    # test digit for the equivariance check (mnist-sample: index i is a digit of class i % 10)
    epochs: int = field(default=5, metadata={"help": "lab.training.param.epochs", "min": 1,
                                             "max": 100})
    # with AdamW(lr=0.01) 5 epochs take all three past 90 % on mnist-sample (the GAP net is slowest)


def shift_images(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Move ``x (N, C, H, W)`` by ``dy`` rows down and ``dx`` columns right; uncovered pixels are 0.

    Unlike ``torch.roll`` nothing wraps around: what leaves the frame is lost.
    """
    import torch

    h, w = x.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        raise ConfigError("lab.translation.error.shift", dy=dy, dx=dx, h=h, w=w, high=min(h, w) - 1)
    out = torch.zeros_like(x)
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        x[..., max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def accuracy_vs_shift(model: Trained, x: torch.Tensor, y: torch.Tensor,
                      max_shift: int) -> list[float]:
    """Accuracy at shift 0…max_shift, each the mean over right/left/down/up (shift 0: once)."""
    curve = [model.accuracy_on(x, y)]
    for s in range(1, max_shift + 1):
        accs = [model.accuracy_on(shift_images(x, s * dy, s * dx), y) for dy, dx in DIRECTIONS]
        curve.append(sum(accs) / len(accs))
    return curve


def _interior(t: torch.Tensor, margin: int) -> torch.Tensor:
    """``t[..., m:-m, m:-m]`` — the part of a ``(N, C, H, W)`` map no border effect reaches."""
    return t[..., margin:t.shape[-2] - margin, margin:t.shape[-1] - margin] if margin else t


def equivariance(cnn: Trained, x: torch.Tensor, shift: int) -> dict[str, Any]:
    """Measure conv equivariance and pooling's approximate invariance on a digit ``x (1, 1, H, W)``.

    Returns the numbers and the maps the figure draws (float64 tensors ``(1, C, H, W)``).
    """
    import copy

    import torch
    import torch.nn.functional as F

    conv = cnn.model.features[0]  # Conv2d(1, 16, 3, padding=1) of the trained SimpleCNN
    w = conv.weight.detach().double()  # (C_out, C_in, k, k)
    pad = conv.padding[0]
    pre = cnn.preprocess.apply  # the standardisation the network was trained with

    def conv_(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t.double(), w, padding=pad)  # (1, C_out, H, W), stride 1

    # Shift the raw image (background 0), then standardise — exactly what the network would see.
    xs = shift_images(x, shift, shift)
    y, y_of_shifted = conv_(pre(x)), conv_(pre(xs))
    shifted_y = shift_images(y, shift, shift)
    diff = (y_of_shifted - shifted_y).abs()
    margin = shift + pad
    # Circular version: wrap-around shift and circular padding — no border at all.
    xc = F.pad(pre(x).double(), (pad,) * 4, mode="circular")
    rolled = torch.roll(pre(x).double(), (shift, shift), (2, 3))
    xc_shift = F.pad(rolled, (pad,) * 4, mode="circular")
    circ = (F.conv2d(xc_shift, w) - torch.roll(F.conv2d(xc, w), (shift, shift), (2, 3))).abs()

    # Pooling: the trained first block conv → BN → ReLU → MaxPool2d(2), in eval mode.
    # A float64 copy, so the model itself is untouched.
    block = copy.deepcopy(cnn.model.features[:4]).double().eval()
    relu_part = block[:3]
    with torch.no_grad():
        f0, f1, f2 = (block(pre(shift_images(x, 0, s)).double()) for s in (0, 1, 2))
        r0, r1 = (relu_part(pre(shift_images(x, 0, s)).double()) for s in (0, 1))
    pooled_shift2 = (f2 - shift_images(f0, 0, 1)).abs()  # 2 px in = 1 pooled cell out
    m_pool = 2  # one cell for the shift, one for the conv's padding seen through the pool
    rel = lambda a, b, m: float(_interior(a - b, m).norm() / _interior(b, m).norm())  # noqa: E731
    channel = int(y[0].flatten(1).std(1).argmax())  # the map with the most structure to show
    numbers = {
        "shift": [shift, shift],
        "padding": pad,
        "interior_margin": margin,
        "conv_max_abs_diff_interior": float(_interior(diff, margin).max()),
        "conv_max_abs_diff_full_frame": float(diff.max()),
        "conv_max_abs_diff_circular": float(circ.max()),
        "conv_output_scale": float(y.abs().max()),
        "pooled_2px_max_abs_diff_interior": float(_interior(pooled_shift2, m_pool).max()),
        "relu_1px_relative_change": rel(r1, r0, 2),
        "pooled_1px_relative_change": rel(f1, f0, m_pool),
        "shown_channel": channel,
    }
    maps = {"x": x, "xs": xs, "y": y, "y_of_shifted": y_of_shifted, "shifted_y": shifted_y,
            "diff": diff, "f0": f0, "f1": f1, "f2": f2, "pooled_shift2": pooled_shift2}
    return {"numbers": numbers, "maps": maps}


@register("translation", TranslationParams, "lab.translation.title",
          quick={"n_train": 500, "n_test": 100, "epochs": 1, "max_shift": 2})
def run(params: TranslationParams, *, lang: str | None = None, callback: Any = None) -> Result:
    from cnnlab.models import build
    from cnnlab.viz.fonts import figure_lang

    train, test, dataset = load_train_test(params)
    h = train[0].shape[-1]
    for name in ("max_shift", "eq_shift"):  # the range depends on the data: check before training
        if getattr(params, name) >= h:
            raise ConfigError("lab.error.range", param=name, value=getattr(params, name),
                              low=0, high=h - 1)
    if params.index >= len(test[1]):
        raise ConfigError("lab.error.range", param="index", value=params.index, low=0,
                          high=len(test[1]) - 1)

    trained: dict[str, Trained] = {}
    for name in MODELS:
        trained[name] = train_model(
            name, lambda name=name: build(name, image_size=h, **RECIPES[name]), train, test,
            params, callback=callback, optimizer="adamw", lr=0.01)
    curves = {}
    for name in MODELS:
        if callback:
            callback({"stage": "shift", "model": name, "max_shift": params.max_shift})
        curves[name] = accuracy_vs_shift(trained[name], *test, params.max_shift)
    eq = equivariance(trained["cnn"], test[0][params.index:params.index + 1], params.eq_shift)

    numbers: dict[str, Any] = {
        "dataset": dataset, "n_train": len(train[1]), "n_test": len(test[1]),
        "epochs": params.epochs, "seed": params.seed,
        "models": {name: {"recipe": RECIPES[name], "params": trained[name].n_params,
                          "accuracy": trained[name].accuracy,
                          "train_seconds": round(trained[name].seconds, 2)} for name in MODELS},
        "shifts": list(range(params.max_shift + 1)),
        "directions": ["right", "left", "down", "up"],
        "accuracy_vs_shift": curves,
        "equivariance": {"index": params.index, "label": int(test[1][params.index]),
                         **eq["numbers"]},
    }
    flang = figure_lang(lang)
    figures = {"accuracy_vs_shift": _curve_figure(numbers, flang),
               "equivariance": _equivariance_figure(eq, flang)}
    result = Result("translation", numbers, figures, lang=flang)
    _explain(result, numbers)
    return result


def _explain(result: Result, numbers: dict[str, Any]) -> None:
    curves, s_max = numbers["accuracy_vs_shift"], numbers["shifts"][-1]
    result.say("lab.translation.setup", n=numbers["n_train"], epochs=numbers["epochs"],
               s=s_max, directions=len(DIRECTIONS))
    for name in MODELS:
        result.say(f"lab.translation.curve_{name}", a0=100 * curves[name][0], s=s_max,
                   a=100 * curves[name][-1], mid=100 * curves[name][min(4, s_max)],
                   s_mid=min(4, s_max))
    eq = numbers["equivariance"]
    result.say("lab.translation.equivariance", s=eq["shift"][0], m=eq["interior_margin"],
               interior=eq["conv_max_abs_diff_interior"], full=eq["conv_max_abs_diff_full_frame"],
               circ=eq["conv_max_abs_diff_circular"], scale=eq["conv_output_scale"])
    result.say("lab.translation.pooling", two=eq["pooled_2px_max_abs_diff_interior"],
               relu=100 * eq["relu_1px_relative_change"],
               pooled=100 * eq["pooled_1px_relative_change"])
    shrinks = eq["pooled_1px_relative_change"] < eq["relu_1px_relative_change"]
    result.say("lab.translation.pooling_" + ("shrinks" if shrinks else "no_shrink"))
    result.say("lab.translation.truth")


def _curve_figure(numbers: dict[str, Any], lang: str) -> Figure:
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.subplots()
    shifts = numbers["shifts"]
    for name, marker in zip(MODELS, ("o", "s", "^")):
        ax.plot(shifts, [100 * a for a in numbers["accuracy_vs_shift"][name]], marker=marker,
                label=t(f"lab.translation.model_{name}", lang,
                        params=numbers["models"][name]["params"]))
    ax.axhline(10, color="gray", linestyle=":", linewidth=1)
    ax.text(shifts[0], 11, t("lab.translation.fig_chance", lang), ha="left", va="bottom",
            color="gray", fontsize=9)
    ax.set_xticks(shifts)
    ax.set_ylim(0, 108)  # headroom for the legend above the curves
    ax.set_xlabel(t("lab.translation.fig_x", lang))
    ax.set_ylabel(t("lab.translation.fig_y", lang))
    ax.set_title(t("lab.translation.fig_title", lang, n=numbers["n_train"],
                   epochs=numbers["epochs"]), fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=9)
    return fig


def _equivariance_figure(eq: dict[str, Any], lang: str) -> Figure:
    """Row 1: input, shifted input, conv maps, and their difference (interior boxed).
    Row 2: pooled maps for 0/1/2-pixel shifts and the 2-pixel equivariance difference."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from cnnlab.i18n import t

    maps, n = eq["maps"], eq["numbers"]
    c, s, m = n["shown_channel"], n["shift"][0], n["interior_margin"]
    row1 = [(maps["x"][0, 0], "eq_x", {}), (maps["xs"][0, 0], "eq_xs", {"s": s}),
            (maps["y"][0, c], "eq_y", {"c": c}),
            (maps["y_of_shifted"][0, c], "eq_y_of_shifted", {}),
            (maps["shifted_y"][0, c], "eq_shifted_y", {}), (maps["diff"][0, c], "eq_diff", {})]
    row2 = [(maps["f0"][0, c], "eq_f0", {}), (maps["f1"][0, c], "eq_f1", {}),
            (maps["f2"][0, c], "eq_f2", {}), (maps["pooled_shift2"][0, c], "eq_pool_diff", {})]
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
            img, key, kw = row[i]
            is_diff = key in ("eq_diff", "eq_pool_diff")
            ax.imshow(img.float().numpy(), cmap="magma" if is_diff else "gray")
            ax.set_title(t(f"lab.translation.{key}", lang, **kw), fontsize=10)
            if key == "eq_diff":  # the region where equality is guaranteed
                size = img.shape[-1] - 2 * m
                ax.add_patch(Rectangle((m - 0.5, m - 0.5), size, size, fill=False, color="cyan",
                                       linewidth=1.5))
                ax.set_xlabel(t("lab.translation.eq_diff_note",
                                lang, interior=n["conv_max_abs_diff_interior"],
                                full=n["conv_max_abs_diff_full_frame"]), fontsize=9)
            if key == "eq_pool_diff":
                ax.set_xlabel(t("lab.translation.eq_pool_note", lang,
                                v=n["pooled_2px_max_abs_diff_interior"]), fontsize=9)
            if key == "eq_f1":
                ax.set_xlabel(t("lab.translation.eq_f1_note", lang,
                                v=100 * n["pooled_1px_relative_change"]), fontsize=9)
    fig.suptitle(t("lab.translation.eq_suptitle", lang, c=c))
    return fig


__all__ = ["TranslationParams", "shift_images", "accuracy_vs_shift", "equivariance", "run"]
