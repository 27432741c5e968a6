"""``torch.no_grad()`` at inference: what it saves in time and in memory, measured.

The note says inference under ``no_grad`` is faster and uses less memory. Both are measured here on
a mid-size CNN (:class:`cnnlab.models.SimpleCNN`, ``(N, 1, 28, 28) → (N, 10)``) with a batch of
real digits, in ``eval()`` mode, three ways: gradients enabled, ``torch.no_grad()``, and
``torch.inference_mode()``.

Memory — three numbers per mode, each saying what it counts:

- **peak**: the most bytes PyTorch's CPU allocator held at any moment of one forward pass, over what
  it held before (so weights and input are excluded; every activation, the output, saved tensors
  and kernel workspaces are in). Read from the allocator's own events through the profiler
  (``profile_memory=True``: each event carries the allocator's running total) — PyTorch has no
  ``max_memory_allocated`` for the CPU; on CUDA that would be the direct measure.
- **retained**: what is still held when the forward pass returns, while the output is alive: the
  output, plus — with gradients — every tensor the graph keeps for backward.
- **saved for backward**: the storages autograd saves, counted with
  ``torch.autograd.graph.saved_tensors_hooks`` (each once). This is the old "51 MiB → 0": it counts
  tensors, not the peak. Without a graph each activation is freed once the next layer has used it,
  so the peak is the largest pair of neighbouring activations — smaller, never zero.

Time: the three modes run interleaved (so load changes hit all alike; the order rotates from round
to round) after ``warmup`` untimed rounds; per mode the median and the interquartile range (IQR,
25th–75th percentile) of ``repeats`` rounds, at the chosen batch and at batch 1 (where the
per-operation bookkeeping no_grad skips is the largest part of the time). A difference is claimed
only when the two IQRs do not overlap.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.lab.common import DataParams, open_data
from cnnlab.lab.registry import SEED_MAX, register
from cnnlab.progress import Progress, emit
from cnnlab.result import Message

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MODES = ("grad", "no_grad", "inference_mode")
MIB = 2**20
MIN_ROUND_S = 0.001  # a round: back-to-back passes for ≥ 1 ms (short: rarely preempted)


@dataclass
class NoGradParams(DataParams):
    batch: int = field(
        default=128, metadata={"help": "lab.no_grad.param.batch", "min": 1, "max": 4096}
    )
    # a typical evaluation batch: big enough that activations dominate memory
    repeats: int = field(
        default=21, metadata={"help": "lab.no_grad.param.repeats", "min": 3, "max": 200}
    )
    # timed rounds per mode and batch: enough for a quartile range (a few seconds in all)
    warmup: int = field(
        default=2, metadata={"help": "lab.no_grad.param.warmup", "min": 0, "max": 50}
    )
    # untimed rounds first (oneDNN primitive creation, caches)
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0, "max": SEED_MAX})
    # model weights (values do not change the cost, but keep runs identical)


@dataclass(frozen=True)
class Timing:
    """Seconds per forward pass at one batch size, in ms: median, quartiles, every round."""

    batch: int
    inner: int  # forward passes per timed round (their mean is one sample)
    median_ms: dict[str, float]
    q1_ms: dict[str, float]
    q3_ms: dict[str, float]
    all_ms: dict[str, list[float]]
    ratio_no_grad: float  # median no_grad / median grad
    ratio_inference_mode: float  # median inference_mode / median grad
    no_grad_separated: bool  # the IQRs of grad and no_grad do not overlap
    inference_separated: bool  # the IQRs of no_grad and inference_mode do not overlap


@dataclass(frozen=True)
class NoGradNumbers:
    dataset: str
    split: str
    batch: int
    repeats: int
    warmup: int
    threads: int
    seed: int
    model: str
    min_round_ms: float  # a timed round lasts at least this long (back-to-back passes)
    input_shape: tuple[int, ...]
    input_mib: float
    weights_mib: float
    output_mib: float
    output_requires_grad: bool
    memory_measure: str
    peak_mib: dict[str, float]  # allocator peak during one forward pass, over the start
    retained_mib: dict[str, float]  # held when the forward returns (output alive)
    peak_ratio: float  # peak with gradients / peak under no_grad
    largest_activation_mib: float  # the biggest single activation of the forward pass
    saved_mib: dict[str, float]  # saved for backward (saved_tensors_hooks)
    saved_tensors: dict[str, int]
    saved_vs_input: float
    time_ms_median: dict[str, float]  # at ``batch`` (= timing.median_ms)
    time_ms_all: dict[str, list[float]]
    time_ratio_no_grad: float
    time_ratio_inference_mode: float
    timing: Timing  # at ``batch``
    timing_batch1: Timing  # at batch 1


def _context(mode: str) -> Any:
    import torch

    if mode == "no_grad":
        return torch.no_grad()
    if mode == "inference_mode":
        return torch.inference_mode()
    return torch.enable_grad()


def saved_bytes(model: Any, x: Any, mode: str) -> tuple[int, int]:
    """``(bytes, count)`` of tensors autograd saves for backward in one forward pass under ``mode``.

    Each storage is counted once (several saved views of one buffer share memory). Parameters and
    buffers (batch-norm running statistics) are excluded: they exist with or without a graph.
    """
    import itertools

    import torch

    params = {
        p.untyped_storage().data_ptr() for p in itertools.chain(model.parameters(), model.buffers())
    }
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), _context(mode):
        y = model(x)
    del y
    return sum(seen.values()), len(seen)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence the profiler's C++ start/stop lines on file descriptor 2 (restored afterwards)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (captured): nothing to hide
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def forward_memory(model: Any, x: Any, mode: str) -> tuple[int, int, int]:
    """``(peak, retained, largest)`` bytes of one forward pass under ``mode``, from the CPU
    allocator's events: ``peak`` the most held at once over what was held before, ``retained`` what
    is held when the forward returns (output alive), ``largest`` the biggest single allocation.
    """
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile

    with (
        _quiet_stderr(),
        profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof,
        _context(mode),
    ):
        y = model(x)  # kept alive until the profile ends: "retained" includes the graph
    del y
    events: list[tuple[int, int]] = []  # (time ns, bytes; negative: freed)

    def walk(nodes: Any) -> None:
        for node in nodes:
            if node.tag == _EventType.Allocation and node.extra_fields.device.type == "cpu":
                events.append((node.start_time_ns, node.extra_fields.alloc_size))
            walk(node.children)

    walk(prof.profiler.kineto_results.experimental_event_tree())
    if not events:
        raise RuntimeError("the profiler recorded no CPU allocation (profile_memory unsupported?)")
    events.sort()
    held = np.cumsum([size for _, size in events])  # running total over the start
    return int(max(held.max(), 0)), int(held[-1]), max(size for _, size in events)


def time_modes(
    model: Any, x: Any, repeats: int, warmup: int, progress: Progress | None = None
) -> tuple[dict[str, list[float]], int]:
    """Seconds per forward pass for each mode, ``repeats`` rounds, modes interleaved per round
    (their order rotating from round to round).

    A round times ``inner`` forward passes back to back and reports their mean, ``inner`` chosen so
    a round lasts at least :data:`MIN_ROUND_S` (one pass at batch 1 takes a fraction of a ms).
    Returns the times and ``inner``.
    """
    single = math.inf
    for _ in range(4):  # the fastest of a few passes (the first is cold)
        with _context("grad"):
            t0 = time.perf_counter()
            model(x)
            single = min(single, time.perf_counter() - t0)
    inner = max(1, min(1000, int(np.ceil(MIN_ROUND_S / max(single, 1e-6)))))
    times: dict[str, list[float]] = {m: [] for m in MODES}
    for r in range(warmup + repeats):
        for mode in MODES[r % 3 :] + MODES[: r % 3]:  # rotate: no mode always runs first
            t0 = time.perf_counter()
            for _ in range(inner):
                with _context(mode):
                    y = model(x)
                del y  # frees the graph (grad mode) each pass, as a real inference loop would
            if r >= warmup:
                times[mode].append((time.perf_counter() - t0) / inner)
        emit(progress, "stage", stage=f"time_batch_{len(x)}", index=r + 1, total=warmup + repeats)
    return times, inner


def _separated(a: list[float], b: list[float]) -> bool:
    """True when the interquartile ranges of ``a`` and ``b`` do not overlap."""
    (a1, a3), (b1, b3) = np.percentile(a, [25, 75]), np.percentile(b, [25, 75])
    return bool(a3 < b1 or b3 < a1)


def summarize(batch: int, times: dict[str, list[float]], inner: int = 1) -> Timing:
    ms = {m: [1000 * v for v in times[m]] for m in MODES}
    med = {m: statistics.median(v) for m, v in ms.items()}
    q1 = {m: float(np.percentile(v, 25)) for m, v in ms.items()}
    q3 = {m: float(np.percentile(v, 75)) for m, v in ms.items()}
    return Timing(
        batch=batch,
        inner=inner,
        median_ms=med,
        q1_ms=q1,
        q3_ms=q3,
        all_ms=ms,
        ratio_no_grad=med["no_grad"] / med["grad"],
        ratio_inference_mode=med["inference_mode"] / med["grad"],
        no_grad_separated=_separated(ms["grad"], ms["no_grad"]),
        inference_separated=_separated(ms["no_grad"], ms["inference_mode"]),
    )


def measure(params: NoGradParams, progress: Progress | None = None) -> NoGradNumbers:
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
    with _context("no_grad"):
        model(x)  # one untracked pass first: oneDNN's one-time buffers stay out of the peaks
    memory = {m: forward_memory(model, x, m) for m in MODES}
    emit(progress, "stage", stage="memory")
    saved = {m: saved_bytes(model, x, m) for m in MODES}
    timing = summarize(params.batch, *time_modes(model, x, params.repeats, params.warmup, progress))
    timing1 = summarize(1, *time_modes(model, x[:1], params.repeats, params.warmup, progress))
    input_bytes = x.numel() * x.element_size()

    return NoGradNumbers(
        dataset=ds.name,
        split=ds.split,
        batch=params.batch,
        repeats=params.repeats,
        warmup=params.warmup,
        threads=torch.get_num_threads(),
        seed=params.seed,
        model="SimpleCNN(channels=(32, 64), batch_norm=True)",
        min_round_ms=1000 * MIN_ROUND_S,
        input_shape=tuple(x.shape),
        input_mib=input_bytes / MIB,
        weights_mib=weights / MIB,
        output_mib=out_bytes / MIB,
        output_requires_grad=requires_grad,
        memory_measure="peak/retained: CPU allocator events (torch.profiler, profile_memory) "
        "over the start of one forward pass; saved: saved_tensors_hooks",
        peak_mib={m: memory[m][0] / MIB for m in MODES},
        retained_mib={m: memory[m][1] / MIB for m in MODES},
        peak_ratio=memory["grad"][0] / memory["no_grad"][0],
        largest_activation_mib=memory["no_grad"][2] / MIB,
        saved_mib={m: saved[m][0] / MIB for m in MODES},
        saved_tensors={m: saved[m][1] for m in MODES},
        saved_vs_input=saved["grad"][0] / input_bytes,
        time_ms_median=timing.median_ms,
        time_ms_all=timing.all_ms,
        time_ratio_no_grad=timing.ratio_no_grad,
        time_ratio_inference_mode=timing.ratio_inference_mode,
        timing=timing,
        timing_batch1=timing1,
    )


def _time_messages(tm: Timing) -> list[Message]:
    med, q1, q3 = tm.median_ms, tm.q1_ms, tm.q3_ms
    msgs: list[Message] = [
        (
            "lab.no_grad.time",
            {
                "batch": tm.batch,
                "grad": med["grad"],
                "g1": q1["grad"],
                "g3": q3["grad"],
                "nograd": med["no_grad"],
                "n1": q1["no_grad"],
                "n3": q3["no_grad"],
                "inf": med["inference_mode"],
                "i1": q1["inference_mode"],
                "i3": q3["inference_mode"],
                "r1": tm.ratio_no_grad,
                "r2": tm.ratio_inference_mode,
                "inner": tm.inner,
            },
        )
    ]
    pct = 100 * abs(1 - tm.ratio_no_grad)
    if not tm.no_grad_separated:
        msgs.append(("lab.no_grad.time_noise", {"batch": tm.batch}))
    else:
        key = "lab.no_grad.time_faster" if tm.ratio_no_grad < 1 else "lab.no_grad.time_slower"
        msgs.append((key, {"batch": tm.batch, "pct": pct}))
    ratio = tm.median_ms["inference_mode"] / tm.median_ms["no_grad"]
    if not tm.inference_separated:
        msgs.append(("lab.no_grad.infer_noise", {"batch": tm.batch}))
    else:
        key = "lab.no_grad.infer_faster" if ratio < 1 else "lab.no_grad.infer_slower"
        msgs.append((key, {"batch": tm.batch, "pct": 100 * abs(1 - ratio)}))
    return msgs


def explain(n: NoGradNumbers) -> list[Message]:
    msgs: list[Message] = [
        (
            "lab.no_grad.setup",
            {
                "batch": n.batch,
                "shape": list(n.input_shape),
                "dataset": n.dataset,
                "threads": n.threads,
                "weights": n.weights_mib,
            },
        ),
        (
            "lab.no_grad.peak",
            {
                "grad": n.peak_mib["grad"],
                "nograd": n.peak_mib["no_grad"],
                "inf": n.peak_mib["inference_mode"],
                "ratio": n.peak_ratio,
                "largest": n.largest_activation_mib,
            },
        ),
        (
            "lab.no_grad.retained",
            {
                "grad": n.retained_mib["grad"],
                "nograd": n.retained_mib["no_grad"] * 1024,
                "inf": n.retained_mib["inference_mode"] * 1024,
                "out": n.output_mib * 1024,
            },
        ),
        (
            "lab.no_grad.memory",
            {
                "grad": n.saved_mib["grad"],
                "count": n.saved_tensors["grad"],
                "ratio": n.saved_vs_input,
                "nograd": n.saved_mib["no_grad"],
                "inf": n.saved_mib["inference_mode"],
            },
        ),
        ("lab.no_grad.memory_how", {}),
        (
            "lab.no_grad.time_how",
            {"repeats": n.repeats, "warmup": n.warmup, "round_ms": n.min_round_ms},
        ),
    ]
    msgs += _time_messages(n.timing)
    msgs += _time_messages(n.timing_batch1)
    msgs.append(("lab.no_grad.truth", {"ratio": n.peak_ratio}))
    return msgs


def draw(n: NoGradNumbers, lang: str) -> dict[str, Figure]:
    """Left: peak / retained / saved MiB per mode. Middle, right: every timed round per mode with
    its median and IQR, at the chosen batch and at batch 1."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    labels = [t(f"lab.no_grad.fig.{m}", lang) for m in MODES]
    colors = ["#d62728", "#1f77b4", "#2ca02c"]
    fig = Figure(figsize=(14, 4.2), layout="constrained")
    ax, *tax = fig.subplots(1, 3, width_ratios=[1.3, 1, 1])
    kinds = (
        ("peak_mib", "lab.no_grad.fig.peak"),
        ("retained_mib", "lab.no_grad.fig.retained"),
        ("saved_mib", "lab.no_grad.fig.saved"),
    )
    width = 0.26
    for j, (attr, key) in enumerate(kinds):
        values = [getattr(n, attr)[m] for m in MODES]
        xs = np.arange(len(MODES)) + (j - 1) * width
        bars = ax.bar(
            xs,
            values,
            width,
            color=colors,
            alpha=(1.0, 0.6, 0.3)[j],
            edgecolor="black",
            hatch=("", "//", "..")[j],
            label=t(key, lang),
        )
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(MODES)), labels)
    ax.axhline(
        n.weights_mib,
        color="#7f7f7f",
        linestyle=":",
        label=t("lab.no_grad.fig.weights", lang, mib=n.weights_mib),
    )
    ax.set_ylabel("MiB")
    ax.set_title(t("lab.no_grad.fig.memory", lang, batch=n.batch, ratio=n.peak_ratio), fontsize=10)
    leg = ax.legend(fontsize=8)
    for handle in leg.legend_handles:  # the legend shows the kind (hatch), not a mode's colour
        if handle is not None and hasattr(handle, "set_facecolor"):
            handle.set_facecolor("#cccccc")
    for axis, tm in zip(tax, (n.timing, n.timing_batch1)):
        for i, m in enumerate(MODES):
            runs = tm.all_ms[m]
            axis.plot([i] * len(runs), runs, "o", color=colors[i], alpha=0.35, markersize=4)
            axis.add_patch(_iqr_box(i, tm.q1_ms[m], tm.q3_ms[m], colors[i]))
            axis.plot([i - 0.25, i + 0.25], [tm.median_ms[m]] * 2, color=colors[i], linewidth=3)
        axis.set_xticks(range(len(MODES)), labels)
        axis.set_ylabel(t("lab.no_grad.fig.ms", lang))
        axis.set_ylim(bottom=0)
        axis.set_title(
            t("lab.no_grad.fig.time", lang, batch=tm.batch, r=tm.ratio_no_grad), fontsize=10
        )
        axis.grid(alpha=0.3, axis="y")
    return {"cost": fig}


def _iqr_box(x: float, q1: float, q3: float, color: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.2, q1), 0.4, q3 - q1, facecolor=color, alpha=0.2, edgecolor=color)


EXPERIMENT = register(
    "no-grad",
    NoGradParams,
    "lab.no_grad.title",
    numbers=NoGradNumbers,
    measure=measure,
    explain=explain,
    draw=draw,
    quick={"data": "mnist-sample", "batch": 64, "repeats": 3, "warmup": 1},
)

__all__ = [
    "NoGradParams",
    "NoGradNumbers",
    "Timing",
    "MODES",
    "saved_bytes",
    "forward_memory",
    "time_modes",
    "summarize",
    "measure",
    "explain",
    "draw",
    "EXPERIMENT",
]
