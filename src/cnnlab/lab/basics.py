"""Basics of the note's code: ``ToTensor``, ``unsqueeze(0)``, unbatched input, cross-correlation.

1. ``ToTensor`` turns a ``(H, W)`` uint8 image in 0..255 into a ``(1, H, W)`` float32 tensor in
   [0, 1] — exactly ``x / 255`` (no other normalisation).
2. ``unsqueeze(0)`` adds the batch axis: ``(C, H, W) → (N, C, H, W) = (1, 1, 28, 28)``, the
   layout ``Conv2d`` documents. Since PyTorch 1.11 ``Conv2d`` also accepts an unbatched
   ``(C, H, W)`` tensor and returns ``(C_out, H', W')`` with the same values; a 2-D ``(H, W)``
   tensor is rejected.
3. What deep learning calls "convolution" is cross-correlation (``F.conv2d`` slides the kernel as
   is). The true convolution flips the kernel: ``(x ⋆ w)[i, j] = Σ x[i+a, j+b]·w[a, b]`` versus
   ``(x * w)[i, j] = Σ x[i+a, j+b]·w[k-1-a, k-1-b]``. The true convolution is computed
   independently here, by the convolution theorem (FFT), and compared with both. For a kernel
   symmetric under a 180° rotation they coincide; for an edge detector (Sobel) they differ by the
   sign. ``F.conv2d`` with the flipped kernel equals the FFT convolution (measured), so a learned
   kernel can be either: training would learn the flipped one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.lab.common import DataParams, item_words, open_data
from cnnlab.lab.registry import SEED_MAX, register
from cnnlab.progress import Progress
from cnnlab.result import Message

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SOBEL_X = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]  # antisymmetric: flip = −kernel
BLUR = [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]  # symmetric: flip = kernel
KERNELS = ("random", "sobel", "blur")


@dataclass
class BasicsParams(DataParams):
    index: int = field(default=0, metadata={"help": "lab.param.index", "min": 0})
    # the note's train_dataset[0]
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0, "max": SEED_MAX})
    # seeds the random (asymmetric) 3×3 kernel and the Conv2d of the unbatched-input check


@dataclass(frozen=True)
class KernelComparison:
    """One kernel on the digit: what ``F.conv2d`` computes against the true convolution."""

    kernel: np.ndarray  # (3, 3) float64
    symmetric: bool  # unchanged by a 180° rotation
    max_abs_diff_corr_vs_conv: float
    relative_diff: float  # the difference over the largest |cross-correlation|
    flipped_kernel_equals_fft_conv: bool  # F.conv2d with the flipped kernel = the FFT convolution
    corr: np.ndarray  # (H-2, W-2) F.conv2d: cross-correlation
    conv: np.ndarray  # (H-2, W-2) true convolution by the FFT


@dataclass(frozen=True)
class BasicsNumbers:
    dataset: str
    split: str
    index: int
    label: int
    seed: int
    raw_dtype: str
    raw_shape: tuple[int, ...]  # (H, W) as the IDX file stores it
    raw_range: tuple[int, int]
    tensor_dtype: str
    tensor_shape: tuple[int, ...]  # (1, H, W) after ToTensor
    tensor_range: tuple[float, float]
    to_tensor_is_div_255: bool
    batched_shape: tuple[int, ...]  # (N, C, H, W) after unsqueeze(0)
    batched_output_shape: tuple[int, ...]
    unbatched_output_shape: tuple[int, ...]
    unbatched_max_abs_diff: float
    two_d_input_rejected: bool
    cross_correlation: dict[str, KernelComparison]  # random, sobel, blur
    raw: np.ndarray  # (H, W) uint8
    tensor: np.ndarray  # (1, H, W) float32


def true_convolution(x: Any, w: Any) -> Any:
    """'valid' 2-D convolution (kernel flipped) of ``x (H, W)`` with ``w (k, k)`` via the FFT.

    Convolution theorem: the full linear convolution is ``irfft2(rfft2(x)·rfft2(w))`` on an
    ``(H+k-1, W+k-1)`` grid; its 'valid' part is rows/cols ``k-1 … H-1``. Float64 for exactness.
    """
    import torch

    h, wd = x.shape
    k0, k1 = w.shape
    size = (h + k0 - 1, wd + k1 - 1)
    spectrum = torch.fft.rfft2(x.double(), s=size) * torch.fft.rfft2(w.double(), s=size)
    full = torch.fft.irfft2(spectrum, s=size)
    return full[k0 - 1 : h, k1 - 1 : wd]  # (H-k+1, W-k+1)


def measure(params: BasicsParams, progress: Progress | None = None) -> BasicsNumbers:
    import torch
    import torch.nn.functional as F
    from torch import nn

    ds = open_data(params)
    i = ds.check_index(params.index)
    raw = torch.from_numpy(ds.images[i].copy())  # (H, W) uint8, what the IDX file stores
    x, label = ds[i]  # (1, H, W) float32: what ToTensor gives
    exact = bool(torch.equal(x[0], raw.to(torch.float32) / 255.0))

    # (N, C, H, W) and the unbatched alternative
    xb = x.unsqueeze(0)  # (1, 1, H, W)
    torch.manual_seed(params.seed)
    conv = nn.Conv2d(1, 3, 3, padding=1)
    with torch.no_grad():
        y_batched = conv(xb)  # (1, 3, H, W)
        y_unbatched = conv(x)  # (3, H, W)
    unbatched_diff = float((y_batched[0] - y_unbatched).abs().max())
    try:
        conv(x[0])  # (H, W): neither batched nor unbatched — rejected
        two_d_rejected = False
    except RuntimeError:
        two_d_rejected = True

    # cross-correlation vs true convolution, on the digit (float64: exact comparisons)
    img = x[0].double()  # (H, W)
    g = torch.Generator().manual_seed(params.seed)
    kernels = {
        "random": torch.randn(3, 3, generator=g, dtype=torch.float64),
        "sobel": torch.tensor(SOBEL_X, dtype=torch.float64),
        "blur": torch.tensor(BLUR, dtype=torch.float64) / 16,
    }
    cc: dict[str, KernelComparison] = {}
    for name, w in kernels.items():
        corr = F.conv2d(img[None, None], w[None, None])[0, 0]  # (H-2, W-2): what Conv2d computes
        flipped = F.conv2d(img[None, None], w.flip(0, 1)[None, None])[0, 0]
        true = true_convolution(img, w)
        diff = float((corr - true).abs().max())
        scale = float(corr.abs().max())
        cc[name] = KernelComparison(
            kernel=w.numpy(),
            symmetric=bool(torch.equal(w, w.flip(0, 1))),
            max_abs_diff_corr_vs_conv=diff,
            relative_diff=diff / scale if scale else 0.0,
            flipped_kernel_equals_fft_conv=float((flipped - true).abs().max()) < 1e-9,
            corr=corr.numpy(),
            conv=true.numpy(),
        )

    return BasicsNumbers(
        dataset=ds.name,
        split=ds.split,
        index=i,
        label=int(label),
        seed=params.seed,
        raw_dtype=str(raw.dtype).replace("torch.", ""),
        raw_shape=tuple(raw.shape),
        raw_range=(int(raw.min()), int(raw.max())),
        tensor_dtype=str(x.dtype).replace("torch.", ""),
        tensor_shape=tuple(x.shape),
        tensor_range=(float(x.min()), float(x.max())),
        to_tensor_is_div_255=exact,
        batched_shape=tuple(xb.shape),
        batched_output_shape=tuple(y_batched.shape),
        unbatched_output_shape=tuple(y_unbatched.shape),
        unbatched_max_abs_diff=unbatched_diff,
        two_d_input_rejected=two_d_rejected,
        cross_correlation=cc,
        raw=raw.numpy(),
        tensor=x.numpy(),
    )


def explain(n: BasicsNumbers) -> list[Message]:
    cc = n.cross_correlation
    out: list[Message] = [
        (
            "lab.basics.data_train" if n.split == "train" else "lab.basics.data_test",
            {"dataset": n.dataset, **item_words(n.dataset, n.index, n.label)},
        ),
        (
            "lab.basics.to_tensor",
            {
                "raw_shape": list(n.raw_shape),
                "lo": n.raw_range[0],
                "hi": n.raw_range[1],
                "shape": list(n.tensor_shape),
                "tlo": n.tensor_range[0],
                "thi": n.tensor_range[1],
                "exact": "✓" if n.to_tensor_is_div_255 else "✗",
            },
        ),
        (
            "lab.basics.unsqueeze",
            {
                "shape": list(n.tensor_shape),
                "batched": list(n.batched_shape),
                "out": list(n.batched_output_shape),
            },
        ),
        (
            "lab.basics.unbatched",
            {"out": list(n.unbatched_output_shape), "diff": n.unbatched_max_abs_diff},
        ),
    ]
    if n.two_d_input_rejected:
        out.append(("lab.basics.two_d", {"shape": list(n.raw_shape)}))
    out += [
        ("lab.basics.cc_rule", {}),
        (
            "lab.basics.cc_random",
            {
                "diff": cc["random"].max_abs_diff_corr_vs_conv,
                "rel": 100 * cc["random"].relative_diff,
            },
        ),
        ("lab.basics.cc_sobel", {"diff": cc["sobel"].max_abs_diff_corr_vs_conv}),
        ("lab.basics.cc_blur", {"diff": cc["blur"].max_abs_diff_corr_vs_conv}),
        ("lab.basics.truth", {}),
    ]
    return out


def draw(n: BasicsNumbers, lang: str) -> dict[str, Figure]:
    return {
        "to_tensor": _to_tensor_figure(n.raw, n.tensor, lang),
        "cross_correlation": _cc_figure(n.cross_correlation, lang),
    }


def _to_tensor_figure(raw: np.ndarray, x: np.ndarray, lang: str) -> Figure:
    """The stored ``(H, W)`` uint8 image next to the ``(1, H, W)`` float tensor, with colourbars."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    fig = Figure(figsize=(8.4, 3.6), layout="constrained")
    for ax, img, key in zip(fig.subplots(1, 2), (raw, x), ("raw", "tensor"), strict=True):
        im = ax.imshow(img.reshape(img.shape[-2:]), cmap="gray")  # (1, H, W) → (H, W) for display
        fig.colorbar(im, ax=ax, shrink=0.85)
        title = t(f"lab.basics.fig.{key}", lang, dtype=str(img.dtype), shape=list(img.shape))
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    return fig


def _cc_figure(cc: dict[str, KernelComparison], lang: str) -> Figure:
    """One row per kernel: kernel, F.conv2d (cross-correlation), true convolution, difference."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    fig = Figure(figsize=(11, 2.9 * len(cc)), layout="constrained")
    axes = fig.subplots(len(cc), 4, squeeze=False)
    for row, (name, c) in zip(axes, cc.items(), strict=True):
        w = c.kernel
        diff = c.corr - c.conv
        lim = max(abs(c.corr).max(), abs(c.conv).max(), 1e-12)
        row[0].imshow(w, cmap="coolwarm", vmin=-abs(w).max(), vmax=abs(w).max())
        for (a, b), v in np.ndenumerate(w):
            row[0].text(b, a, f"{v:.2g}", ha="center", va="center", fontsize=8)
        row[0].set_title(t(f"lab.basics.fig.kernel_{name}", lang), fontsize=9)
        row[1].imshow(c.corr, cmap="coolwarm", vmin=-lim, vmax=lim)
        row[1].set_title(t("lab.basics.fig.corr", lang), fontsize=9)
        row[2].imshow(c.conv, cmap="coolwarm", vmin=-lim, vmax=lim)
        row[2].set_title(t("lab.basics.fig.conv", lang), fontsize=9)
        row[3].imshow(diff, cmap="coolwarm", vmin=-lim, vmax=lim)
        row[3].set_title(t("lab.basics.fig.diff", lang, diff=float(abs(diff).max())), fontsize=9)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    return fig


EXPERIMENT = register(
    "basics",
    BasicsParams,
    "lab.basics.title",
    numbers=BasicsNumbers,
    measure=measure,
    explain=explain,
    draw=draw,
    quick={"data": "mnist-sample"},
)

__all__ = [
    "BasicsParams",
    "BasicsNumbers",
    "KernelComparison",
    "true_convolution",
    "measure",
    "explain",
    "draw",
    "EXPERIMENT",
]
