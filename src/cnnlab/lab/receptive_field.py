"""Receptive field: how much of the digit one output unit can see (formula, gradients) and how much
of that it actually weighs (the effective receptive field, measured).

A stack is written as a short spec, comma-separated, one token per layer::

    c3        Conv2d(k=3), stride 1, 'same' padding (PyTorch's split: total d·(k-1), the extra
              cell right/bottom), followed by ReLU; with a stride > 1 the left half of that total
              on both sides
    c3s2d2p0  Conv2d(k=3, stride=2, dilation=2, padding=0)
    m2 / a2   MaxPool2d(2) / AvgPool2d(2) (stride = kernel unless s… is given, padding p… default 0)

Theoretical field. :func:`cnnlab.geometry.rf_chain` gives every geometric layer's size ``r``, jump
``j``, ``left`` and ``start`` (Araujo, Norris & Sim, Distill 2019); :func:`cnnlab.geometry.out_size`
the output sizes. Coordinates: input pixel ``i`` covers ``[i - 0.5, i + 0.5]``, so pixel 0's centre
is 0 — the convention of the best-known tutorial (Dang Ha The Hien, "A guide to receptive field
arithmetic", pixel 0 covering ``[0, 1]``) gives every ``start`` 0.5 larger. The *effective padding*
``P = -left`` (Araujo et al.) counts the input pixels of padding that unit 0's field reaches into.
Measured check: backpropagate from the centre unit of a linearised copy of each prefix (every window
a plain sum, :func:`cnnlab.inspect.receptive_field.gradient_rf`) on a canvas large enough that the
field is not cut; the nonzero-gradient region must be exactly the formula's box.

Effective field (Luo, Li, Urtasun & Zemel 2016, "Understanding the effective receptive field in deep
convolutional neural networks"), as one number per layer: the **central share**, the fraction of the
gradient mass ``|∂y_centre/∂x|`` that falls in the central half of the field's width and height (the
centred ``r/2 × r/2`` square, a quarter of its area; pixels cut by its edge count by their overlap).
A field that weighed all its pixels equally gives exactly 0.25 — the reference. Measured for

- the linearised stack (all-ones kernels, no nonlinearity): the mass is a product of box sums, a
  discrete Gaussian that narrows relative to the field as depth grows (one layer: exactly 0.25;
  ``c3,c3``: 4/9);
- randomly initialised ReLU nets on the digit, ``seeds`` of them (mean ± std): output
  ``Σ_c y[c, centre]`` before the unit's own ReLU, as in Luo et al.;
- control: the same nets on the digit's pixels shuffled — the same ink, no shape — so a difference
  from the digit is due to the image, not to the architecture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnlab.i18n import Msg
from cnnlab.lab.common import DataParams, item_words, open_data
from cnnlab.lab.receptive_field_figures import draw
from cnnlab.lab.receptive_field_model import UserFields
from cnnlab.lab.receptive_field_stack import (
    KINDS,
    LayerSpec,
    check_stack,
    estimate_bytes,
    out_sizes,
    parse_spec,
    parse_stack,
)
from cnnlab.lab.registry import SEED_MAX, register
from cnnlab.lab.stats import Spread, spread
from cnnlab.lab.user_model import ModelParams
from cnnlab.progress import Progress, emit
from cnnlab.result import Message

UNIFORM_SHARE = 0.25  # central half of width × half of height of a uniformly weighted field


@dataclass
class ReceptiveFieldParams(DataParams, ModelParams):
    index: int = field(default=0, metadata={"help": "lab.param.index", "min": 0})
    # which digit the fields are drawn on (index i of the embedded sample is a digit i % 10)
    stack: str = field(
        default="c3,c3,m2,c3,c3,m2,c3",
        metadata={"help": "lab.receptive_field.param.stack", "check": lambda v: check_stack(v)},
    )
    # SimpleCNN-like: two 3×3 convs per block, 2×2 max-pool between blocks → field 3,5,6,10,14,16,24
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0, "max": SEED_MAX})
    # first seed of the random networks (seed, seed + 1, …)
    seeds: int = field(
        default=3, metadata={"help": "lab.receptive_field.param.seeds", "min": 1, "max": 20}
    )
    # random ReLU networks whose central share is averaged (mean ± std)


def central_weights(first: int, size: int, length: int) -> np.ndarray:
    """``(length,)``: how much of each pixel ``[i-0.5, i+0.5]`` lies in the central half of the
    field ``first … first+size-1``: ``[c - size/4, c + size/4]``, ``c = first + (size-1)/2``.
    """
    c = first + (size - 1) / 2
    i = np.arange(length, dtype=float)
    lo, hi = np.maximum(i - 0.5, c - size / 4), np.minimum(i + 0.5, c + size / 4)
    return np.clip(hi - lo, 0.0, 1.0)


def central_share(grad: np.ndarray, first: tuple[int, int], size: int) -> float:
    """Share of ``grad``'s mass ``(H, W)`` in the field's central half-width square (NaN if 0)."""
    g = np.abs(np.asarray(grad, dtype=float))
    total = g.sum()
    if total == 0:
        return float("nan")
    wr = central_weights(first[0], size, g.shape[0])  # (H,)
    wc = central_weights(first[1], size, g.shape[1])  # (W,)
    return float(wr @ g @ wc / total)


@dataclass(frozen=True)
class LayerField:
    depth: int
    kind: str
    kernel: int
    stride: int
    padding: tuple[int, int]  # (left, right) this layer adds
    dilation: int
    out: tuple[int, int]  # (H, W) output on the image
    size: int  # r: input pixels one unit sees per axis
    jump: int  # j: input pixels between neighbouring units
    left: int  # first input pixel of unit 0 (negative: in the padding)
    start: float  # centre of unit 0's field; pixel 0's centre is 0
    effective_padding: int  # -left: padding pixels unit 0's field reaches into
    unit: tuple[int, int]  # the centre unit on the image
    box: tuple[int, int, int, int]  # its field on the image (top, bottom, left, right), clipped
    box_area: int
    measured: int  # size of the nonzero-gradient region, linearised, on an uncut canvas
    agree: bool  # that region is the formula's box, in size and position
    filled: bool  # every pixel of the box gets gradient (no holes)
    share_linear: float  # central share, linearised stack
    share_real: Spread  # central share, random ReLU nets on the digit, over seeds with a gradient
    share_shuffled: Spread  # the same nets on the digit's pixels shuffled
    dead_real: int  # seeds whose centre unit gets no gradient at all (every ReLU below it off)
    dead_shuffled: int


@dataclass(frozen=True)
class ReceptiveFieldNumbers:
    dataset: str
    split: str
    index: int
    label: int
    stack: str
    seed: int
    seeds: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    layers: tuple[LayerField, ...]
    rf_size: list[int]
    jump: list[int]
    all_agree: bool
    uniform_share: float  # the reference: a field weighing all its pixels equally
    real_unit: tuple[int, int]
    real_nonzero: int  # pixels with nonzero gradient, first seed, last layer
    real_fraction_of_field: float
    real_outside_field: int
    image: np.ndarray  # (H, W) the digit
    grad_linear: np.ndarray  # (L, H, W) linearised |gradient| per layer, on the image
    grad_real: np.ndarray  # (H, W) first seed's |gradient|, last layer, on the digit
    user: UserFields | None = None  # --model: the user's network instead of the stack


def _finite_spread(values: np.ndarray) -> Spread:
    """Spread over the seeds whose share exists (a dead unit has no gradient mass: NaN)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Spread(float("nan"), float("nan"), float("nan"), float("nan"), 0)
    return spread(finite)


def _prefix(model: Any, upto: int) -> Any:
    import torch.nn as nn

    return nn.Sequential(*list(model.children())[: upto + 1])


def _centre_gradient(model: Any, x: Any, unit: tuple[int, int]) -> np.ndarray:
    """``(H, W)``: |∂ Σ_c model(x)[0, c, i, j] / ∂x| summed over input channels (Luo et al.)."""
    xg = x.detach().clone().requires_grad_(True)
    model(xg)[0, :, unit[0], unit[1]].sum().backward()
    return xg.grad[0].abs().sum(0).numpy().astype(np.float64)


def measure(
    params: ReceptiveFieldParams, progress: Progress | None = None
) -> ReceptiveFieldNumbers:
    import warnings

    with warnings.catch_warnings():  # an even kernel's 'same' padding copies the input: harmless
        warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
        if params.model:
            return _measure_model(params, progress)
        return _measure(params, progress)


def _measure_model(
    params: ReceptiveFieldParams, progress: Progress | None
) -> ReceptiveFieldNumbers:
    """``--model``: the user's network (:mod:`cnnlab.lab.receptive_field_model`)."""
    import torch

    from cnnlab.lab.receptive_field_model import measure_user
    from cnnlab.lab.user_model import load_user

    user = load_user(params)
    if user is None:  # params.model is set on this path
        raise RuntimeError("receptive-field: --model given but no user model loaded")
    ds = open_data(params)
    image, label = ds[ds.check_index(params.index)]  # (C, H, W) in [0, 1]
    u, x = measure_user(user, image, progress)
    with torch.no_grad():
        y = user.model(x)
    last = u.layers[-1]
    area = (last.box[1] - last.box[0] + 1) * (last.box[3] - last.box[2] + 1)
    inside = u.grad_real[last.box[0] : last.box[1] + 1, last.box[2] : last.box[3] + 1]
    return ReceptiveFieldNumbers(
        dataset=ds.name,
        split=ds.split,
        index=params.index,
        label=int(label),
        stack=user.name,
        seed=params.seed,
        seeds=1,
        input_shape=tuple(x.shape),
        output_shape=tuple(y.shape),
        layers=(),
        rf_size=[lay.measured[0] for lay in u.layers],
        jump=[lay.measured_jump for lay in u.layers],
        all_agree=u.chain,
        uniform_share=UNIFORM_SHARE,
        real_unit=(last.out[1] // 2, last.out[2] // 2),
        real_nonzero=last.nonzero_real,
        real_fraction_of_field=last.nonzero_real / max(area, 1),
        real_outside_field=last.nonzero_real - int((inside > 0).sum()),
        image=u.image,
        grad_linear=u.grad_linear,
        grad_real=u.grad_real,
        user=u,
    )


def _measure(params: ReceptiveFieldParams, progress: Progress | None) -> ReceptiveFieldNumbers:
    import torch

    from cnnlab.geometry import rf_chain
    from cnnlab.inspect.receptive_field import gradient_rf, support_box

    specs = parse_spec(params.stack)
    ds = open_data(params)
    image, label = ds[ds.check_index(params.index)]  # (1, H, W) in [0, 1]
    x = image.unsqueeze(0)  # (1, 1, H, W)
    hw = (int(x.shape[-2]), int(x.shape[-1]))
    outs = [out_sizes(specs, hw[0]), out_sizes(specs, hw[1])]  # ShapeError before any gradient
    fields = rf_chain((ls.kernel, ls.stride, ls.padding[0], ls.dilation) for ls in specs)
    model = parse_stack(params.stack).eval()
    conv_index = [i for i, m in enumerate(model.children()) if type(m).__name__ in KINDS.values()]

    # Random ReLU nets, one per seed: central share per layer on the digit and on shuffled pixels.
    real = np.zeros((params.seeds, len(specs)))  # (seeds, L)
    shuffled = np.zeros((params.seeds, len(specs)))
    grad_real = np.zeros(hw)
    for s in range(params.seeds):
        torch.manual_seed(params.seed + s)
        net = parse_stack(params.stack).eval()
        gen = torch.Generator().manual_seed(params.seed + s)
        perm = torch.randperm(x.numel(), generator=gen)
        x_shuf = x.flatten()[perm].view_as(x)  # (1, 1, H, W): same pixel values, no shape
        for depth, (f, idx) in enumerate(zip(fields, conv_index, strict=True)):
            unit = (outs[0][depth] // 2, outs[1][depth] // 2)
            first = (f.left + unit[0] * f.jump, f.left + unit[1] * f.jump)
            prefix = _prefix(net, idx)  # ends at the layer itself: before the unit's own ReLU
            g = _centre_gradient(prefix, x, unit)
            real[s, depth] = central_share(g, first, f.size)
            g_shuf = _centre_gradient(prefix, x_shuf, unit)
            shuffled[s, depth] = central_share(g_shuf, first, f.size)
            if s == 0 and depth == len(specs) - 1:
                grad_real = g
        emit(progress, "stage", stage="random_nets", index=s + 1, total=params.seeds)

    layers: list[LayerField] = []
    grad_linear = np.zeros((len(specs), *hw))  # (L, H, W)
    for depth, (ls, f, idx) in enumerate(zip(specs, fields, conv_index, strict=True)):
        prefix = _prefix(model, idx)
        # linearised prefix on a canvas where the whole field fits: formula check and share
        canvas = (max(hw[0], 3 * f.size), max(hw[1], 3 * f.size))
        c_out = (
            out_sizes(specs[: depth + 1], canvas[0])[-1],
            out_sizes(specs[: depth + 1], canvas[1])[-1],
        )
        c_unit = (c_out[0] // 2, c_out[1] // 2)
        g = gradient_rf(prefix, canvas, c_unit).numpy().astype(np.float64)  # (Hc, Wc)
        c_first = (f.left + c_unit[0] * f.jump, f.left + c_unit[1] * f.jump)
        c_box = (c_first[0], c_first[0] + f.size - 1, c_first[1], c_first[1] + f.size - 1)
        found = support_box(torch.from_numpy(g))
        # on the image: the centre unit's clipped field, and the map that is drawn
        out = (outs[0][depth], outs[1][depth])
        unit = (out[0] // 2, out[1] // 2)
        first = (f.left + unit[0] * f.jump, f.left + unit[1] * f.jump)
        box = (
            max(first[0], 0),
            min(first[0] + f.size - 1, hw[0] - 1),
            max(first[1], 0),
            min(first[1] + f.size - 1, hw[1] - 1),
        )
        grad_linear[depth] = gradient_rf(prefix, hw, unit).numpy()
        layers.append(
            LayerField(
                depth=depth + 1,
                kind=ls.kind,
                kernel=ls.kernel,
                stride=ls.stride,
                padding=ls.padding,
                dilation=ls.dilation,
                out=out,
                size=f.size,
                jump=f.jump,
                left=f.left,
                start=f.start,
                effective_padding=-f.left,
                unit=unit,
                box=box,
                box_area=(box[1] - box[0] + 1) * (box[3] - box[2] + 1),
                measured=0 if found is None else found[1] - found[0] + 1,
                agree=found == c_box,
                filled=int((g > 0).sum()) == f.size * f.size,
                share_linear=central_share(g, c_first, f.size),
                share_real=_finite_spread(real[:, depth]),
                share_shuffled=_finite_spread(shuffled[:, depth]),
                dead_real=int(np.isnan(real[:, depth]).sum()),
                dead_shuffled=int(np.isnan(shuffled[:, depth]).sum()),
            )
        )
        emit(progress, "stage", stage="layer", index=depth + 1, total=len(specs))

    last = layers[-1]
    top, bottom, lft, rgt = last.box
    inside = grad_real[top : bottom + 1, lft : rgt + 1]
    nonzero = int((grad_real > 0).sum())
    with torch.no_grad():
        y = model(x)  # (1, C, h, w)
    return ReceptiveFieldNumbers(
        dataset=ds.name,
        split=ds.split,
        index=params.index,
        label=int(label),
        stack=params.stack,
        seed=params.seed,
        seeds=params.seeds,
        input_shape=tuple(x.shape),
        output_shape=tuple(y.shape),
        layers=tuple(layers),
        rf_size=[lf.size for lf in layers],
        jump=[lf.jump for lf in layers],
        all_agree=all(lf.agree for lf in layers),
        uniform_share=UNIFORM_SHARE,
        real_unit=last.unit,
        real_nonzero=nonzero,
        real_fraction_of_field=nonzero / last.box_area,
        real_outside_field=nonzero - int((inside > 0).sum()),
        image=image[0].numpy().astype(np.float32),
        grad_linear=grad_linear.astype(np.float32),
        grad_real=grad_real.astype(np.float32),
    )


def _pct(v: float) -> float:
    return 100.0 * v


def explain(n: ReceptiveFieldNumbers) -> list[Message]:
    if n.user is not None:
        from cnnlab.lab.receptive_field_model import explain_user

        return explain_user(n.user, n.dataset, item_words(n.dataset, n.index, n.label), n.split)
    msgs: list[Message] = [
        (
            "lab.receptive_field.data",
            {
                "dataset": n.dataset,
                "split": Msg(f"lab.split.{n.split}"),
                **item_words(n.dataset, n.index, n.label),
                "stack": n.stack,
                "shape": list(n.input_shape),
                "out": list(n.output_shape),
            },
        ),
        ("lab.receptive_field.formula", {}),
        ("lab.receptive_field.coordinates", {}),
    ]
    for lf in n.layers:
        lo, hi = lf.padding
        msgs.append(
            (
                "lab.receptive_field.layer",
                {
                    "depth": lf.depth,
                    "kind": lf.kind,
                    "k": lf.kernel,
                    "s": lf.stride,
                    "d": lf.dilation,
                    "pad": str(lo) if lo == hi else f"{lo}+{hi}",
                    "out": lf.out[0],
                    "size": lf.size,
                    "jump": lf.jump,
                    "start": lf.start,
                    "eff": lf.effective_padding,
                    "verdict": "✓" if lf.agree else "✗",
                },
            )
        )
    msgs.append(
        (
            "lab.receptive_field.agree" if n.all_agree else "lab.receptive_field.disagree",
            {"n": len(n.layers)},
        )
    )
    if not all(lf.filled for lf in n.layers):
        msgs.append(("lab.receptive_field.holes", {}))
    last = n.layers[-1]
    clipped = "clipped" if last.effective_padding > 0 else "clipped_none"
    msgs.append(
        (
            f"lab.receptive_field.{clipped}",
            {
                "size": last.size,
                "h": n.input_shape[-2],
                "box": list(last.box),
                "eff": last.effective_padding,
            },
        )
    )
    msgs.append(
        (
            "lab.receptive_field.real",
            {
                "seed": n.seed,
                "nonzero": n.real_nonzero,
                "area": last.box_area,
                "pct": _pct(n.real_fraction_of_field),
                "outside": n.real_outside_field,
            },
        )
    )

    # the effective field: one number per layer, against the uniform reference
    msgs.append(("lab.receptive_field.erf_how", {"uniform": _pct(n.uniform_share)}))
    msgs.append(
        (
            "lab.receptive_field.erf_seeds" if n.seeds > 1 else "lab.receptive_field.erf_one_seed",
            {"seeds": n.seeds},
        )
    )
    for lf in n.layers:
        msgs.append(
            (
                "lab.receptive_field.erf_layer",
                {
                    "depth": lf.depth,
                    "size": lf.size,
                    "lin": _pct(lf.share_linear),
                    "real": _pct(lf.share_real.mean),
                    "real_sd": _pct(lf.share_real.std),
                    "shuf": _pct(lf.share_shuffled.mean),
                    "shuf_sd": _pct(lf.share_shuffled.std),
                },
            )
        )
        if lf.dead_real or lf.dead_shuffled:
            msgs.append(
                (
                    "lab.receptive_field.erf_dead",
                    {
                        "depth": lf.depth,
                        "dead": lf.dead_real,
                        "dead_shuf": lf.dead_shuffled,
                        "seeds": n.seeds,
                    },
                )
            )
    first, deep = n.layers[0], max(n.layers, key=lambda lf: lf.share_linear)
    rises = deep.share_linear - first.share_linear > 0.005
    msgs.append(
        (
            "lab.receptive_field.erf_linear" if rises else "lab.receptive_field.erf_linear_flat",
            {
                "first": _pct(first.share_linear),
                "deep": _pct(deep.share_linear),
                "depth": deep.depth,
                "size": deep.size,
                "uniform": _pct(n.uniform_share),
            },
        )
    )
    r = last.share_real
    if r.n == 0:
        key = "lab.receptive_field.erf_real_none"
    elif r.low > n.uniform_share:
        key = "lab.receptive_field.erf_real_above"  # every seed concentrates more than uniform
    elif r.high < n.uniform_share:
        key = "lab.receptive_field.erf_real_below"
    else:
        key = "lab.receptive_field.erf_real_mixed"
    msgs.append(
        (
            key,
            {
                "real": _pct(r.mean),
                "low": _pct(r.low),
                "high": _pct(r.high),
                "uniform": _pct(n.uniform_share),
                "lin": _pct(last.share_linear),
            },
        )
    )
    sh = last.share_shuffled
    gap = abs(r.mean - sh.mean)
    noise = max(r.std, sh.std)
    if min(r.n, sh.n) == 0:
        key = ""  # nothing to compare with
    elif min(r.n, sh.n) < 2:
        key = "lab.receptive_field.erf_shuffled_one"
    elif gap <= noise:
        key = "lab.receptive_field.erf_shuffled_same"
    else:
        key = "lab.receptive_field.erf_shuffled_differs"
    if key:
        msgs.append(
            (
                key,
                {
                    "real": _pct(r.mean),
                    "shuf": _pct(sh.mean),
                    "gap": _pct(gap),
                    "noise": _pct(noise),
                },
            )
        )
    msgs.append(("lab.receptive_field.truth", {}))
    return msgs


EXPERIMENT = register(
    "receptive-field",
    ReceptiveFieldParams,
    "lab.receptive_field.title",
    numbers=ReceptiveFieldNumbers,
    measure=measure,
    explain=explain,
    draw=draw,
    quick={"data": "mnist-sample", "seeds": 1},
)

__all__ = [
    "ReceptiveFieldParams",
    "ReceptiveFieldNumbers",
    "LayerField",
    "LayerSpec",
    "parse_spec",
    "parse_stack",
    "check_stack",
    "estimate_bytes",
    "out_sizes",
    "central_weights",
    "central_share",
    "measure",
    "explain",
    "draw",
    "EXPERIMENT",
    "UNIFORM_SHARE",
]
