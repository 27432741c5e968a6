"""``torch.no_grad()`` at inference: what it saves in time and in memory, measured.

The note says inference under ``no_grad`` is faster and uses less memory. Both are measured here on a
mid-size CNN (:class:`cnnlab.models.SimpleCNN`, ``(N, 1, 28, 28) → (N, 10)``) with a batch of real
digits, in ``eval()`` mode, three ways: gradients enabled, ``torch.no_grad()``, and
``torch.inference_mode()``.

Memory — what is measured, exactly: the bytes autograd *saves for backward* during the forward pass,
counted with ``torch.autograd.graph.saved_tensors_hooks`` (each storage once). Those tensors stay
alive as long as the output does, on top of the weights and the output itself; under ``no_grad``
no graph is recorded, so nothing is saved and each activation is freed as soon as the next layer has
consumed it. (PyTorch has no allocator statistics for CPU memory, so the peak itself is not read from
the allocator; on CUDA ``torch.cuda.max_memory_allocated`` would be the direct measure.)

Time: the three modes run interleaved (so load changes hit all alike) after ``warmup`` untimed
rounds; the medians of ``repeats`` rounds and their ratios are reported. The arithmetic is identical
in all modes — only graph bookkeeping differs — so expect a modest time saving, not a large one.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from cnnlab.lab.common import DataParams, open_data
from cnnlab.lab.registry import register
from cnnlab.result import Result

MODES = ("grad", "no_grad", "inference_mode")


@dataclass
class NoGradParams(DataParams):
    batch: int = field(default=128, metadata={"help": "lab.no_grad.param.batch", "min": 1,
                                              "max": 4096})
    # a typical evaluation batch: big enough that activations dominate memory
    repeats: int = field(default=7, metadata={"help": "lab.no_grad.param.repeats", "min": 3,
                                              "max": 200})
    # timed rounds per mode; the median resists outliers from other processes
    warmup: int = field(default=2, metadata={"help": "lab.no_grad.param.warmup", "min": 0,
                                             "max": 50})
    # untimed rounds first (oneDNN primitive creation, caches)
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0})
    # model weights (values do not change the cost, but keep runs identical)


def saved_bytes(model: Any, x: Any, mode: str) -> tuple[int, int]:
    """``(bytes, count)`` of tensors autograd saves for backward in one forward pass under ``mode``.

    Each storage is counted once (several saved views of one buffer share memory). Parameters and
    buffers (batch-norm running statistics) are excluded: they exist with or without a graph.
    """
    import itertools

    import torch

    params = {p.untyped_storage().data_ptr()
              for p in itertools.chain(model.parameters(), model.buffers())}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        with _context(mode):
            y = model(x)
    del y
    return sum(seen.values()), len(seen)


def _context(mode: str) -> Any:
    import torch

    if mode == "no_grad":
        return torch.no_grad()
    if mode == "inference_mode":
        return torch.inference_mode()
    return torch.enable_grad()


def time_modes(model: Any, x: Any, repeats: int, warmup: int,
               callback: Any = None) -> dict[str, list[float]]:
    """Seconds per forward pass for each mode, ``repeats`` rounds, modes interleaved per round."""
    times: dict[str, list[float]] = {m: [] for m in MODES}
    for r in range(warmup + repeats):
        for mode in MODES:
            t0 = time.perf_counter()
            with _context(mode):
                y = model(x)
            del y  # frees the graph (grad mode) inside the round, as a real inference loop would
            if r >= warmup:
                times[mode].append(time.perf_counter() - t0)
        if callback is not None:
            callback({"experiment": "no-grad", "round": r + 1, "total": warmup + repeats})
    return times


@register("no-grad", NoGradParams, "lab.no_grad.title",
          quick={"data": "mnist-sample", "batch": 64, "repeats": 3, "warmup": 1})
def run(params: NoGradParams, *, lang: str | None = None, callback: Any = None) -> Result:
    import torch

    from cnnlab.models import build

    ds = open_data(params)
    n = min(params.batch, len(ds))
    idx = torch.arange(params.batch) % n  # repeat digits if the batch is larger than the split
    x = torch.from_numpy(ds.images[:n]).float().div(255).unsqueeze(1)[idx]  # (B, 1, 28, 28)
    torch.manual_seed(params.seed)
    model = build("cnn", image_size=x.shape[-1]).eval()
    weights = sum(p.numel() * p.element_size() for p in model.parameters())

    with _context("grad"):
        y = model(x)
    requires_grad = bool(y.requires_grad)
    out_bytes = y.numel() * y.element_size()
    del y
    memory = {m: saved_bytes(model, x, m) for m in MODES}
    times = time_modes(model, x, params.repeats, params.warmup, callback)
    med = {m: statistics.median(v) for m, v in times.items()}
    input_bytes = x.numel() * x.element_size()

    mib = 2 ** 20
    numbers = {
        "dataset": ds.name, "split": ds.split, "batch": params.batch, "repeats": params.repeats,
        "warmup": params.warmup, "threads": torch.get_num_threads(), "seed": params.seed,
        "model": "SimpleCNN(channels=(32, 64), batch_norm=True)",
        "input_shape": list(x.shape), "input_mib": input_bytes / mib,
        "weights_mib": weights / mib, "output_mib": out_bytes / mib,
        "output_requires_grad": requires_grad,
        "memory_measure": "bytes saved for backward (saved_tensors_hooks), per forward pass",
        "saved_mib": {m: memory[m][0] / mib for m in MODES},
        "saved_tensors": {m: memory[m][1] for m in MODES},
        "saved_vs_input": memory["grad"][0] / input_bytes,
        "time_ms_median": {m: 1000 * med[m] for m in MODES},
        "time_ms_all": {m: [1000 * v for v in times[m]] for m in MODES},
        "time_ratio_no_grad": med["no_grad"] / med["grad"],
        "time_ratio_inference_mode": med["inference_mode"] / med["grad"],
    }

    result = Result("no-grad", numbers)
    result.say("lab.no_grad.setup", batch=params.batch, shape=list(x.shape), dataset=ds.name,
               threads=numbers["threads"], weights=numbers["weights_mib"])
    result.say("lab.no_grad.memory", grad=numbers["saved_mib"]["grad"],
               count=numbers["saved_tensors"]["grad"], ratio=numbers["saved_vs_input"],
               nograd=numbers["saved_mib"]["no_grad"], inf=numbers["saved_mib"]["inference_mode"])
    result.say("lab.no_grad.memory_how")
    result.say("lab.no_grad.time", grad=numbers["time_ms_median"]["grad"],
               nograd=numbers["time_ms_median"]["no_grad"],
               inf=numbers["time_ms_median"]["inference_mode"],
               r1=numbers["time_ratio_no_grad"], r2=numbers["time_ratio_inference_mode"],
               repeats=params.repeats)
    result.say("lab.no_grad.truth")

    from cnnlab.viz.fonts import figure_lang

    flang = figure_lang(lang)
    result.lang = flang
    result.figures["cost"] = _figure(numbers, flang)
    return result


def _figure(n: dict[str, Any], lang: str) -> Any:
    """Left: saved-for-backward MiB per mode. Right: each timed round per mode, median marked."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    labels = [t(f"lab.no_grad.fig.{m}", lang) for m in MODES]
    colors = ["#d62728", "#1f77b4", "#2ca02c"]
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    values = [n["saved_mib"][m] for m in MODES]
    bars = ax.bar(labels, values, color=colors)
    ax.bar_label(bars, fmt="%.1f")
    ax.axhline(n["weights_mib"], color="#7f7f7f", linestyle=":",
               label=t("lab.no_grad.fig.weights", lang, mib=n["weights_mib"]))
    ax.set_ylabel("MiB")
    ax.set_title(t("lab.no_grad.fig.memory", lang, batch=n["batch"]), fontsize=10)
    ax.legend(fontsize=8)
    for i, m in enumerate(MODES):
        runs = n["time_ms_all"][m]
        ax2.plot([i] * len(runs), runs, "o", color=colors[i], alpha=0.4)
        ax2.plot([i - 0.25, i + 0.25], [n["time_ms_median"][m]] * 2, color=colors[i], linewidth=3)
    ax2.set_xticks(range(len(MODES)), labels)
    ax2.set_ylabel(t("lab.no_grad.fig.ms", lang))
    ax2.set_ylim(bottom=0)
    ax2.set_title(t("lab.no_grad.fig.time", lang, r=n["time_ratio_no_grad"]), fontsize=10)
    ax2.grid(alpha=0.3, axis="y")
    return fig


__all__ = ["NoGradParams", "MODES", "saved_bytes", "time_modes", "run"]
