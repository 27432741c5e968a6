"""The lecture's sensor example made concrete: one kernel slid along a real series, step by step.

Part 1 — the slide. Series ``index`` of a series dataset (MNIST-1D by default; ``ucr:BasicMotions``
is the lecture's accelerometer), channel ``channel``, ``x (L,)``. A hand-made *rise detector*
``w = linspace(-1, 1, k)`` (negative on the left, positive on the right: large where the series goes
up) and a bias ``b`` slide along it; every output cell is, from the NumPy engine's trace
(:func:`cnnlab.engine.trace.trace_conv1d`)::

    y[j] = Σ_a w[a] · x[j·stride + a·dilation - padding] + b        (window × kernel + bias)

The whole output is checked against ``torch.nn.functional.conv1d`` in float64, and the output length
``L_out = (L + 2p - d·(k-1) - 1) // s + 1`` (:func:`cnnlab.geometry.out_size`) against torch's for a
few padding/stride/dilation settings.

Part 2 — learned kernels (when ``train``). A small 1-D CNN is trained on the dataset through
:func:`cnnlab.lab.training.train_model`; for every first-layer kernel the test sub-sequence that
excites it most (largest activation after Conv1d → BatchNorm → ReLU over all test series and
positions) is found, and its cosine similarity with the kernel (both centred) is measured.

Control (as in ``pattern``): choosing the window that *maximises* a kernel's response makes it
resemble the kernel by construction, so the same search runs on the untrained kernels of the same
model (its initial weights under the same seed); the claim is the paired difference trained −
untrained per kernel (sign-flip permutation test over kernels, one seed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.errors import ConfigError
from cnnlab.lab.registry import SEED_MAX, register
from cnnlab.progress import Progress, emit
from cnnlab.result import Message

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure
    from torch import nn

    from cnnlab.train.tensors import Preprocess

SHOWN_STEPS = 3  # steps written out in the text (all of them are in the numbers and the figure)
FIRST_KERNEL = 7  # first-layer kernel of the trained 1-D CNN: long enough to show a shape


@dataclass
class Conv1dParams:
    dataset: str = field(default="mnist1d", metadata={"help": "lab.conv1d.param.dataset"})
    # a series dataset: mnist1d (4,000/1,000 series of length 40) or ucr:<Name>. Not named `data`:
    # the tour sets every experiment's `data` to its image dataset.
    index: int = field(default=0, metadata={"help": "lab.conv1d.param.index", "min": 0})
    # the training-split series the kernel slides along
    channel: int = field(default=0, metadata={"help": "lab.conv1d.param.channel", "min": 0})
    # BasicMotions has 6 (accelerometer x, y, z, gyroscope x, y, z); MNIST-1D has 1
    kernel_size: int = field(
        default=5, metadata={"help": "lab.conv1d.param.kernel_size", "min": 2, "max": 15}
    )
    stride: int = field(default=1, metadata={"help": "lab.conv1d.param.stride", "min": 1, "max": 8})
    padding: int = field(
        default=0, metadata={"help": "lab.conv1d.param.padding", "min": 0, "max": 8}
    )
    dilation: int = field(
        default=1, metadata={"help": "lab.conv1d.param.dilation", "min": 1, "max": 8}
    )
    bias: float = field(
        default=0.1, metadata={"help": "lab.conv1d.param.bias", "min": -1e6, "max": 1e6}
    )
    # nonzero so that the "+ bias" step is visible in every output cell
    train: bool = field(default=True, metadata={"help": "lab.conv1d.param.train"})
    n_train: int | None = field(
        default=None, metadata={"help": "lab.conv1d.param.n_train", "min": 10, "max": 60_000}
    )
    n_test: int | None = field(
        default=None, metadata={"help": "lab.conv1d.param.n_test", "min": 10, "max": 10_000}
    )
    # None: the whole split (MNIST-1D 4,000/1,000; BasicMotions 40/40)
    epochs: int = field(
        default=5, metadata={"help": "lab.training.param.epochs", "min": 1, "max": 100}
    )
    # MNIST-1D: a few seconds on 2 cores
    channels: int = field(
        default=12, metadata={"help": "lab.conv1d.param.channels", "min": 1, "max": 64}
    )
    # first-layer kernels drawn in the figure: 12 fit in one row
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0, "max": SEED_MAX})


@dataclass(frozen=True)
class Setting:
    """One output-length row: ``L_out`` from the formula and from torch."""

    padding: int
    stride: int
    dilation: int
    formula: str  # e.g. "(40 + 2*0 - 5) // 1 + 1 = 36"
    out: int
    torch_out: int


@dataclass(frozen=True)
class LearnedKernels:
    channels: int
    kernel: int
    in_channels: int
    n_train: int
    n_search: int  # test series searched for top windows
    epochs: int
    accuracy: float  # test accuracy of the trained model
    cosine_trained: list[float]  # per kernel: centred cosine with its top window
    cosine_untrained: list[float]  # the same search on the model's initial kernels
    mean_trained: float
    mean_untrained: float
    difference: float  # mean over kernels of trained − untrained
    p_value: float  # two-sided sign-flip test of that paired difference
    kernels: np.ndarray  # (C, k) trained, input channel 0, sign-corrected for BatchNorm's γ
    windows: np.ndarray  # (C, k) their top windows (standardised input, channel 0)
    top_series: list[int]  # per kernel: test series holding the top window
    top_start: list[int]  # per kernel: first position of the window (may be < 0: padding)
    kernels_untrained: np.ndarray  # (C, k)
    windows_untrained: np.ndarray  # (C, k)


@dataclass(frozen=True)
class Conv1dNumbers:
    dataset: str
    index: int
    label: int
    channel: int
    n_channels: int  # channels of the series
    length: int  # L
    series: np.ndarray  # (L,) the series the kernel slides along
    kernel: np.ndarray  # (k,) the rise detector
    bias: float
    stride: int
    padding: int
    dilation: int
    out_formula: str
    out_length: int
    output: np.ndarray  # (L_out,) from the engine's trace
    windows: np.ndarray  # (L_out, k) the input under the kernel at each step (0 where padding)
    starts: list[int]  # (L_out,) input position of each window's first cell
    products: np.ndarray  # (L_out, k) window × kernel
    sums: list[float]  # Σ products per step (before the bias)
    max_diff_torch: float  # max |engine − F.conv1d| in float64
    max_diff_trace: float  # max |trace steps − engine conv1d|
    settings: list[Setting]
    learned: LearnedKernels | None


def series_tensors(ds: Any, n: int | None, param: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` series of ``ds`` (all for None) as ``(x (n, C, 1, L) float32, y (n,))``."""
    import torch

    n = len(ds) if n is None else n
    if n > len(ds):
        raise ConfigError("lab.error.range", param=param, value=n, low=10, high=len(ds))
    x = torch.as_tensor(np.asarray(ds.series[:n]), dtype=torch.float32)  # (n, C, L)
    y = torch.as_tensor(np.asarray(ds.labels[:n]), dtype=torch.int64)
    return x.unsqueeze(2), y  # (n, C, 1, L)


def open_series(name: str, train: bool) -> Any:
    """A series dataset (``.series (N, C, L)``, ``.labels``); ConfigError for an image dataset.

    Series sets are generated or shipped locally (MNIST-1D is built by the ``mnist1d`` package and
    cached; UCR/UEA sets come with ``aeon``), so no folder or download option is needed here."""
    from cnnlab.data import get_dataset

    ds = get_dataset(name, train=train)
    if not hasattr(ds, "series"):
        raise ConfigError("lab.conv1d.error.not_series", value=name)
    return ds


def rise_kernel(k: int) -> np.ndarray:
    """``linspace(-1, 1, k)`` (float64): Σ w·x is large where x rises from left to right."""
    return np.linspace(-1.0, 1.0, k)


def _check(value: int, param: str, high: int) -> int:
    if value > high:
        raise ConfigError("lab.error.range", param=param, value=value, low=0, high=high)
    return value


def measure(params: Conv1dParams, progress: Progress | None = None) -> Conv1dNumbers:
    import torch
    import torch.nn.functional as F

    from cnnlab.engine.conv import conv1d
    from cnnlab.engine.trace import trace_conv1d
    from cnnlab.geometry import out_size

    emit(progress, "stage", stage="slide")
    ds = open_series(params.dataset, True)
    i = _check(params.index, "index", len(ds) - 1)
    series_all = np.asarray(ds.series[i], dtype=np.float64)  # (C, L)
    c = _check(params.channel, "channel", series_all.shape[0] - 1)
    x = series_all[c]  # (L,)
    k, s, p, d = params.kernel_size, params.stride, params.padding, params.dilation
    ar = out_size(len(x), k, stride=s, padding=p, dilation=d, op="Conv1d")  # ShapeError if too big
    w = rise_kernel(k)
    b = np.array([params.bias])
    x3, w3 = x[None, None], w[None, None]  # (1, 1, L), (1, 1, k): (N, C_in, L), (C_out, C_in, k)
    trace = trace_conv1d(x3, w3, b, stride=s, padding=p, dilation=d)
    steps = [trace.at(0, 0, j) for j in range(ar.out)]
    engine = conv1d(x3, w3, b, stride=s, padding=p, dilation=d)[0, 0]  # (L_out,)
    ref = F.conv1d(
        torch.from_numpy(x3), torch.from_numpy(w3), torch.from_numpy(b), s, p, d
    ).numpy()[0, 0]
    values = np.array([st.value for st in steps])

    settings = []
    for sp, ss, sd in dict.fromkeys(((0, 1, 1), (k // 2, 1, 1), (0, 2, 1), (0, 1, 2), (p, s, d))):
        try:
            a = out_size(len(x), k, stride=ss, padding=sp, dilation=sd, op="Conv1d")
        except Exception:  # a setting the series is too short for: left out of the table
            continue
        t_out = F.conv1d(torch.zeros(1, 1, len(x)), torch.zeros(1, 1, k), None, ss, sp, sd)
        settings.append(Setting(sp, ss, sd, a.formula(), a.out, int(t_out.shape[-1])))

    learned = _learned(params, progress) if params.train else None
    return Conv1dNumbers(
        dataset=params.dataset,
        index=i,
        label=int(np.asarray(ds.labels[i])),
        channel=c,
        n_channels=int(series_all.shape[0]),
        length=len(x),
        series=x,
        kernel=w,
        bias=params.bias,
        stride=s,
        padding=p,
        dilation=d,
        out_formula=ar.formula(),
        out_length=ar.out,
        output=engine,
        windows=np.stack([st.window[0] for st in steps]),
        starts=[int(st.cols[0]) for st in steps],
        products=np.stack([st.products[0] for st in steps]),
        sums=[float(st.total) for st in steps],
        max_diff_torch=float(np.abs(engine - ref).max()),
        max_diff_trace=float(np.abs(values - engine).max()),
        settings=settings,
        learned=learned,
    )


def make_cnn1d(in_channels: int, classes: int, channels: int, length: int) -> nn.Module:
    """The registry's ``cnn1d`` (the FCN of Wang et al. 2017), narrowed: widths ``c-2c-2c``,
    kernels 7-5-3 (odd, so 'same' padding is symmetric and a window is centred on its output)."""
    from cnnlab.models import build

    return build(
        "cnn1d",
        in_channels=in_channels,
        num_classes=classes,
        length=length,
        channels=(channels, 2 * channels, 2 * channels),
        kernel_size=(FIRST_KERNEL, 5, 3),
    )


def top_windows(
    model: nn.Module, pre: Preprocess, x: torch.Tensor
) -> tuple[np.ndarray, np.ndarray, list[int], list[int]]:
    """First-layer kernels (input channel 0, sign-corrected for BatchNorm) and, per kernel, the
    ``(k,)`` window of ``x (N, C, 1, L)`` (standardised, channel 0) with the largest activation
    after Conv1d → BatchNorm1d → ReLU; also the series index and start position of each window."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    features: Any = model.features
    layers = list(features)  # ([ConstantPad1d,] Conv1d, BatchNorm1d, ReLU, …)
    ci = next(i for i, layer in enumerate(layers) if isinstance(layer, nn.Conv1d))
    conv: Any = layers[ci]
    first = nn.Sequential(*layers[: ci + 3]).eval()  # up to the first ReLU
    k = conv.kernel_size[0]
    pad_layer: Any = layers[ci - 1] if ci > 0 else None
    left = pad_layer.padding[0] if isinstance(pad_layer, nn.ConstantPad1d) else conv.padding[0]
    xs = pre.apply(x).flatten(1, 2)  # (N, C, L) standardised
    with torch.no_grad():
        act = first(xs)  # (N, ch, L): 'same' padding keeps L
    per_series, where = act.max(dim=2)  # (N, ch)
    best = per_series.argmax(dim=0)  # (ch,)
    padded = F.pad(xs[:, 0], (left, k - 1 - left))  # (N, L + k - 1): output j's window at j
    windows, series, starts = [], [], []
    for ch in range(act.shape[1]):
        n = int(best[ch])
        j = int(where[n, ch])
        windows.append(padded[n, j : j + k].numpy())
        series.append(n)
        starts.append(j - left)
    weight = conv.weight.detach()[:, 0].numpy()  # (ch, k)
    sign = np.sign(
        layers[ci + 1].weight.detach().numpy()
    )  # BN's γ < 0 flips what a kernel looks for
    return (weight * sign[:, None]).astype(np.float64), np.stack(windows), series, starts


def _learned(params: Conv1dParams, progress: Progress | None) -> LearnedKernels:
    import torch

    from cnnlab.lab.pattern import centred_cosine, sign_flip_test
    from cnnlab.lab.training import TrainDataParams, train_model

    emit(progress, "stage", stage="train")
    train = series_tensors(open_series(params.dataset, True), params.n_train, "n_train")
    test = series_tensors(open_series(params.dataset, False), params.n_test, "n_test")
    c_in, length = train[0].shape[1], train[0].shape[-1]
    classes = int(max(train[1].max(), test[1].max())) + 1

    def make() -> nn.Module:
        return make_cnn1d(c_in, classes, params.channels, length)

    run = TrainDataParams(
        data="auto", n_train=len(train[0]), n_test=len(test[0]), epochs=params.epochs
    )
    run.seed = params.seed
    torch.manual_seed(params.seed)  # the same seed train_model builds under: its initial weights
    initial = make()
    cnn = train_model(
        "cnn1d",
        make,
        train,
        test,
        run,
        callback=progress,
        batch_size=64,
        lr=0.01,
        optimizer="adamw",
        channels_last=False,
    )
    k_t, w_t, series, starts = top_windows(cnn.model, cnn.preprocess, test[0])
    k_u, w_u, _, _ = top_windows(initial, cnn.preprocess, test[0])
    c_t, c_u = centred_cosine(k_t, w_t), centred_cosine(k_u, w_u)
    return LearnedKernels(
        channels=params.channels,
        kernel=FIRST_KERNEL,
        in_channels=c_in,
        n_train=len(train[0]),
        n_search=len(test[0]),
        epochs=params.epochs,
        accuracy=cnn.accuracy,
        cosine_trained=c_t.tolist(),
        cosine_untrained=c_u.tolist(),
        mean_trained=float(c_t.mean()),
        mean_untrained=float(c_u.mean()),
        difference=float((c_t - c_u).mean()),
        p_value=sign_flip_test(c_t - c_u, seed=params.seed),
        kernels=k_t,
        windows=w_t,
        top_series=series,
        top_start=starts,
        kernels_untrained=k_u,
        windows_untrained=w_u,
    )


def _fmt(values: Any) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in np.asarray(values).ravel()) + "]"


def explain(n: Conv1dNumbers) -> list[Message]:
    msgs: list[Message] = [
        (
            "lab.conv1d.data",
            {
                "dataset": n.dataset,
                "index": n.index,
                "label": n.label,
                "channel": n.channel,
                "channels": n.n_channels,
                "length": n.length,
            },
        ),
        ("lab.conv1d.kernel", {"kernel": _fmt(n.kernel), "bias": f"{n.bias:.2f}"}),
    ]
    for j in range(min(SHOWN_STEPS, n.out_length)):
        msgs.append(
            (
                "lab.conv1d.step",
                {
                    "j": j,
                    "start": n.starts[j],
                    "window": _fmt(n.windows[j]),
                    "products": _fmt(n.products[j]),
                    "total": f"{n.sums[j]:.3f}",
                    "bias": f"{n.bias:.2f}",
                    "value": f"{float(n.output[j]):.3f}",
                },
            )
        )
    msgs.append(
        (
            "lab.conv1d.length",
            {
                "formula": n.out_formula,
                "out": n.out_length,
                "torch": f"{n.max_diff_torch:.1e}",
                "trace": f"{n.max_diff_trace:.1e}",
            },
        )
    )
    for st in n.settings:
        msgs.append(
            (
                "lab.conv1d.setting",
                {
                    "padding": st.padding,
                    "stride": st.stride,
                    "dilation": st.dilation,
                    "formula": st.formula,
                    "torch": st.torch_out,
                    "ok": "✓" if st.out == st.torch_out else "✗",
                },
            )
        )
    le = n.learned
    if le is None:
        return msgs
    msgs.append(
        (
            "lab.conv1d.learned",
            {
                "channels": le.channels,
                "k": le.kernel,
                "n": le.n_train,
                "epochs": le.epochs,
                "acc": 100 * le.accuracy,
                "search": le.n_search,
            },
        )
    )
    msgs.append(
        (
            "lab.conv1d.control",
            {
                "trained": le.mean_trained,
                "untrained": le.mean_untrained,
                "diff": le.difference,
                "p": le.p_value,
            },
        )
    )
    from cnnlab.lab.pattern import ALPHA

    if le.p_value >= ALPHA:
        verdict = "same"
    else:
        verdict = "higher" if le.difference > 0 else "lower"
    msgs.append((f"lab.conv1d.verdict.{verdict}", {"p": le.p_value}))
    return msgs


def draw(n: Conv1dNumbers, lang: str) -> dict[str, Figure]:
    figs = {"slide": _slide_figure(n, lang)}
    if n.learned is not None:
        figs["kernels"] = _kernels_figure(n.learned, lang)
    return figs


def _slide_figure(n: Conv1dNumbers, lang: str) -> Figure:
    """Series with one window highlighted and its products written under it; the kernel; the output
    with the matching cell marked."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    j = n.out_length // 2  # a step in the middle: its window is all real samples when it can be
    k = len(n.kernel)
    cols = n.starts[j] + n.dilation * np.arange(k)  # (k,) input positions of the window
    fig = Figure(figsize=(9.0, 6.4), layout="constrained")
    ax_x, ax_w, ax_y = fig.subplots(3, 1, gridspec_kw={"height_ratios": [3, 1.4, 2.4]})
    pos = np.arange(n.length)
    ax_x.plot(pos, n.series, "-o", ms=3, color="#1f77b4", lw=1.2)
    ax_x.axvspan(cols[0] - 0.5, cols[-1] + 0.5, color="#ff7f0e", alpha=0.18)
    inside = (cols >= 0) & (cols < n.length)
    ax_x.plot(cols[inside], n.windows[j][inside], "o", color="#ff7f0e", ms=7)
    for c, v, pr in zip(cols, n.windows[j], n.products[j], strict=True):
        ax_x.annotate(
            f"{pr:+.2f}",
            (c, v),
            textcoords="offset points",
            xytext=(0, 8),
            fontsize=7,
            ha="center",
            color="#d62728",
        )
    ax_x.set_title(
        t("lab.conv1d.fig.series", lang, dataset=n.dataset, index=n.index, label=n.label, j=j),
        fontsize=9,
    )
    ax_x.set_xlim(-1 - n.padding, n.length + n.padding)
    low, high = float(n.series.min()), float(n.series.max())
    ax_x.set_ylim(low - 0.1 * (high - low), high + 0.25 * (high - low))  # room for the products
    ax_w.bar(np.arange(k), n.kernel, color=np.where(n.kernel >= 0, "#d62728", "#1f77b4"))
    ax_w.axhline(0, color="black", lw=0.6)
    ax_w.set_xticks(range(k))
    ax_w.set_title(t("lab.conv1d.fig.kernel", lang, k=k, bias=n.bias), fontsize=9)
    ax_y.plot(np.arange(n.out_length), n.output, "-o", ms=3, color="#2ca02c", lw=1.2)
    ax_y.plot([j], [n.output[j]], "o", mfc="none", mec="#ff7f0e", ms=12, mew=2)
    ax_y.axhline(0, color="black", lw=0.6)
    ax_y.set_title(
        t(
            "lab.conv1d.fig.output",
            lang,
            j=j,
            total=n.sums[j],
            bias=n.bias,
            value=float(n.output[j]),
            formula=n.out_formula,
        ),
        fontsize=9,
    )
    ax_y.set_xlabel(t("lab.conv1d.fig.position", lang), fontsize=8)
    return fig


def _kernels_figure(le: LearnedKernels, lang: str) -> Figure:
    """Per kernel: the kernel (bars, own scale) over its top window (line); trained, untrained."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    c = le.channels
    cols = min(c, 6)
    rows = -(-c // cols)
    fig = Figure(figsize=(1.7 * cols + 0.6, 2.6 * rows + 0.8), layout="constrained")
    axes = fig.subplots(2 * rows, cols, squeeze=False)
    sets = (
        ("trained", le.kernels, le.windows, le.cosine_trained),
        ("untrained", le.kernels_untrained, le.windows_untrained, le.cosine_untrained),
    )
    pos = np.arange(le.kernel)
    for r, (key, kernels, windows, cos) in enumerate(sets):
        for ch in range(rows * cols):
            ax = axes[2 * (ch // cols) + r][ch % cols]
            ax.set_xticks([])
            ax.set_yticks([])
            if ch >= c:
                ax.axis("off")
                continue
            w = kernels[ch] / (np.abs(kernels[ch]).max() or 1.0)  # each kernel on its own scale
            win = windows[ch] - windows[ch].mean()
            win = win / (np.abs(win).max() or 1.0)
            ax.bar(pos, w, color="#d62728" if key == "trained" else "#7f7f7f", alpha=0.5)
            ax.plot(pos, win, "-o", ms=2.5, color="#1f77b4", lw=1.2)
            ax.set_ylim(-1.15, 1.15)
            ax.set_title(t(f"lab.conv1d.fig.{key}", lang, ch=ch, cos=cos[ch]), fontsize=7)
    fig.suptitle(
        t(
            "lab.conv1d.fig.learned",
            lang,
            acc=100 * le.accuracy,
            trained=le.mean_trained,
            untrained=le.mean_untrained,
            p=le.p_value,
        ),
        fontsize=9,
    )
    return fig


EXPERIMENT = register(
    "conv1d",
    Conv1dParams,
    "lab.conv1d.title",
    numbers=Conv1dNumbers,
    measure=measure,
    explain=explain,
    draw=draw,
    quick={"n_train": 1000, "n_test": 300, "epochs": 2, "channels": 4},
)

__all__ = [
    "Conv1dParams",
    "Conv1dNumbers",
    "Setting",
    "LearnedKernels",
    "series_tensors",
    "open_series",
    "rise_kernel",
    "make_cnn1d",
    "top_windows",
    "measure",
    "explain",
    "draw",
    "EXPERIMENT",
]
