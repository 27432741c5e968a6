"""Basics of the note's code: ``ToTensor``, ``unsqueeze(0)``, unbatched input, and cross-correlation.

1. ``ToTensor`` turns a ``(H, W)`` uint8 image in 0..255 into a ``(1, H, W)`` float32 tensor in
   [0, 1] — exactly ``x / 255`` (no other normalisation).
2. ``unsqueeze(0)`` adds the batch axis: ``(C, H, W) → (N, C, H, W) = (1, 1, 28, 28)``, the layout
   ``Conv2d`` documents. Since PyTorch 1.11 ``Conv2d`` also accepts an unbatched ``(C, H, W)`` tensor
   and returns ``(C_out, H', W')`` with the same values; a 2-D ``(H, W)`` tensor is rejected.
3. What deep learning calls "convolution" is cross-correlation (``F.conv2d`` slides the kernel as is).
   The true convolution flips the kernel: ``(x ⋆ w)[i, j] = Σ x[i+a, j+b]·w[a, b]`` versus
   ``(x * w)[i, j] = Σ x[i+a, j+b]·w[k-1-a, k-1-b]``. The true convolution is computed independently
   here, by the convolution theorem (FFT), and compared with both. For a kernel symmetric under a
   180° rotation they coincide; for an edge detector (Sobel) they differ by the sign.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnlab.lab.common import DataParams, open_data
from cnnlab.lab.registry import register
from cnnlab.result import Result

SOBEL_X = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]  # antisymmetric: flip = −kernel
BLUR = [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]  # symmetric: flip = kernel


@dataclass
class BasicsParams(DataParams):
    index: int = field(default=0, metadata={"help": "lab.param.index", "min": 0})
    # the note's train_dataset[0]
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0})
    # seeds the random (asymmetric) 3×3 kernel and the Conv2d of the unbatched-input check


def true_convolution(x: Any, w: Any) -> Any:
    """'valid' 2-D convolution (kernel flipped) of ``x (H, W)`` with ``w (k, k)`` via the FFT.

    Convolution theorem: the full linear convolution is ``irfft2(rfft2(x)·rfft2(w))`` on an
    ``(H+k-1, W+k-1)`` grid; its 'valid' part is rows/cols ``k-1 … H-1``. Float64 for exactness.
    """
    import torch

    h, wd = x.shape
    k0, k1 = w.shape
    size = (h + k0 - 1, wd + k1 - 1)
    full = torch.fft.irfft2(torch.fft.rfft2(x.double(), s=size) * torch.fft.rfft2(w.double(), s=size),
                            s=size)
    return full[k0 - 1: h, k1 - 1: wd]  # (H-k+1, W-k+1)


@register("basics", BasicsParams, "lab.basics.title", quick={"data": "mnist-sample"})
def run(params: BasicsParams, *, lang: str | None = None, callback: Any = None) -> Result:
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
    kernels = {"random": torch.randn(3, 3, generator=g, dtype=torch.float64),
               "sobel": torch.tensor(SOBEL_X, dtype=torch.float64),
               "blur": torch.tensor(BLUR, dtype=torch.float64) / 16}
    cc: dict[str, dict[str, Any]] = {}
    maps: dict[str, tuple[Any, Any]] = {}
    for name, w in kernels.items():
        corr = F.conv2d(img[None, None], w[None, None])[0, 0]  # (H-2, W-2): what Conv2d computes
        flipped = F.conv2d(img[None, None], w.flip(0, 1)[None, None])[0, 0]
        true = true_convolution(img, w)
        scale = float(corr.abs().max())
        cc[name] = {
            "kernel": w.tolist(),
            "symmetric": bool(torch.equal(w, w.flip(0, 1))),
            "max_abs_diff_corr_vs_conv": float((corr - true).abs().max()),
            "relative_diff": float((corr - true).abs().max()) / scale if scale else 0.0,
            "flipped_kernel_equals_fft_conv": float((flipped - true).abs().max()) < 1e-9,
        }
        maps[name] = (corr.numpy(), true.numpy())

    numbers = {
        "dataset": ds.name, "split": ds.split, "index": i, "label": label, "seed": params.seed,
        "raw_dtype": str(raw.dtype).replace("torch.", ""), "raw_shape": list(raw.shape),
        "raw_range": [int(raw.min()), int(raw.max())],
        "tensor_dtype": str(x.dtype).replace("torch.", ""), "tensor_shape": list(x.shape),
        "tensor_range": [float(x.min()), float(x.max())], "to_tensor_is_div_255": exact,
        "batched_shape": list(xb.shape), "batched_output_shape": list(y_batched.shape),
        "unbatched_output_shape": list(y_unbatched.shape),
        "unbatched_max_abs_diff": unbatched_diff, "two_d_input_rejected": two_d_rejected,
        "cross_correlation": cc,
    }

    result = Result("basics", numbers)
    result.say("lab.basics.data", dataset=ds.name, split=ds.split, index=i, label=label)
    result.say("lab.basics.to_tensor", raw_shape=list(raw.shape), lo=numbers["raw_range"][0],
               hi=numbers["raw_range"][1], shape=list(x.shape), tlo=numbers["tensor_range"][0],
               thi=numbers["tensor_range"][1], exact="✓" if exact else "✗")
    result.say("lab.basics.unsqueeze", shape=list(x.shape), batched=list(xb.shape),
               out=list(y_batched.shape))
    result.say("lab.basics.unbatched", out=list(y_unbatched.shape), diff=unbatched_diff)
    if two_d_rejected:
        result.say("lab.basics.two_d", shape=list(x[0].shape))
    result.say("lab.basics.cc_rule")
    result.say("lab.basics.cc_random", diff=cc["random"]["max_abs_diff_corr_vs_conv"],
               rel=100 * cc["random"]["relative_diff"])
    result.say("lab.basics.cc_sobel", diff=cc["sobel"]["max_abs_diff_corr_vs_conv"])
    result.say("lab.basics.cc_blur", diff=cc["blur"]["max_abs_diff_corr_vs_conv"])
    result.say("lab.basics.truth")

    from cnnlab.viz.fonts import figure_lang

    flang = figure_lang(lang)
    result.lang = flang
    result.figures["to_tensor"] = _to_tensor_figure(raw.numpy(), x.numpy(), flang)
    result.figures["cross_correlation"] = _cc_figure(kernels, maps, flang)
    return result


def _to_tensor_figure(raw: Any, x: Any, lang: str) -> Any:
    """The stored ``(H, W)`` uint8 image next to the ``(1, H, W)`` float tensor, with colour bars."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    fig = Figure(figsize=(8.4, 3.6), layout="constrained")
    for ax, img, key in zip(fig.subplots(1, 2), (raw, x), ("raw", "tensor")):
        im = ax.imshow(img.reshape(img.shape[-2:]), cmap="gray")  # (1, H, W) → (H, W) for display
        fig.colorbar(im, ax=ax, shrink=0.85)
        ax.set_title(t(f"lab.basics.fig.{key}", lang, dtype=str(img.dtype), shape=list(img.shape)),
                     fontsize=10)
        ax.axis("off")
    return fig


def _cc_figure(kernels: dict[str, Any], maps: dict[str, tuple[Any, Any]], lang: str) -> Any:
    """One row per kernel: kernel, F.conv2d (cross-correlation), true convolution, difference."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    fig = Figure(figsize=(11, 2.9 * len(kernels)), layout="constrained")
    axes = fig.subplots(len(kernels), 4, squeeze=False)
    for row, (name, w) in zip(axes, kernels.items()):
        corr, true = maps[name]
        diff = corr - true
        lim = max(abs(corr).max(), abs(true).max(), 1e-12)
        row[0].imshow(w.numpy(), cmap="coolwarm", vmin=-abs(w).max(), vmax=abs(w).max())
        for (a, b), v in zip(((a, b) for a in range(3) for b in range(3)), w.flatten().tolist()):
            row[0].text(b, a, f"{v:.2g}", ha="center", va="center", fontsize=8)
        row[0].set_title(t(f"lab.basics.fig.kernel_{name}", lang), fontsize=9)
        row[1].imshow(corr, cmap="coolwarm", vmin=-lim, vmax=lim)
        row[1].set_title(t("lab.basics.fig.corr", lang), fontsize=9)
        row[2].imshow(true, cmap="coolwarm", vmin=-lim, vmax=lim)
        row[2].set_title(t("lab.basics.fig.conv", lang), fontsize=9)
        row[3].imshow(diff, cmap="coolwarm", vmin=-lim, vmax=lim)
        row[3].set_title(t("lab.basics.fig.diff", lang, diff=float(abs(diff).max())), fontsize=9)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    return fig


__all__ = ["BasicsParams", "true_convolution", "run"]
