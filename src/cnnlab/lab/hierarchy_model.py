"""``hierarchy --model SOURCE``: what every convolution and pooling layer of a user's model makes of
one test image — no training; the model is measured as it comes (:mod:`cnnlab.lab.user_model`).

Measured, per ``Conv2d``/``MaxPool2d``/``AvgPool2d`` call in forward order: the output shape, the
number of values, the fraction above zero, and the receptive field of its centre unit measured from
the input gradient of a linearised copy (:func:`cnnlab.inspect.measured_field.measure_fields`), so
a residual or branching net is measured, not assumed. Against the image: the ink's extent and its
stroke width, as in the built-in experiment. First-layer kernels: their neighbour correlation,
against the same layer re-initialised with PyTorch's default (the control: what "no structure"
measures for this shape). Not measured for a user's model: the padding frame (it needs the
built-in Conv → BatchNorm → ReLU layout) and anything about training.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.i18n import Msg
from cnnlab.lab.user_model import first_conv, geometric_calls, load_user
from cnnlab.progress import Progress, emit
from cnnlab.result import Message

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_ROWS = 10  # drawn layers (the table covers every one)
MAX_KERNELS = 16


@dataclass(frozen=True)
class UserStage:
    name: str  # module name (+ "#k" for a repeated call)
    kind: str  # Conv2d | MaxPool2d | AvgPool2d
    shape: list[int]  # (C, H, W)
    values: int
    active_fraction: float  # outputs > 0
    receptive_field: int  # measured (H axis), 0: none; a lower bound where ``clipped``
    clipped: bool


@dataclass(frozen=True)
class UserHierarchy:
    model: dict[str, Any]  # UserModel.describe()
    channels_fit: str
    stages: list[UserStage]
    shown: list[int]  # indices of ``stages`` drawn
    kernel_control: float  # neighbour correlation of the re-initialised first conv
    kernel_user: float  # ... of the model's own first conv
    kernel_size: int


def measure_user(params: Any, progress: Progress | None = None) -> Any:
    """HierarchyNumbers for ``params.model`` (see the module docstring)."""
    import torch

    from cnnlab.data import get_dataset
    from cnnlab.inspect.measured_field import measure_fields
    from cnnlab.lab.hierarchy import (
        INK,
        Block,
        HierarchyNumbers,
        Layer,
        Row,
        kernel_smoothness,
        stroke_width,
    )

    user = load_user(params)
    if user is None:  # this path runs only with params.model set
        raise RuntimeError("hierarchy: --model given but no user model loaded")
    ds = get_dataset(params.data, train=False, root=params.data_dir, download=params.download)
    image, label = ds[ds.check_index(params.index)]  # (C, H, W) in [0, 1]
    x, how = user.feed(image.unsqueeze(0))  # (1, C', H, W)
    emit(progress, "stage", stage="feature maps")
    calls = geometric_calls(user, x)
    from cnnlab.inspect.feature_maps import feature_maps

    names = sorted({c.name for c in calls})
    maps = feature_maps(user.model, x, layers=names) if names else []
    with torch.no_grad():
        y = user.model(x)
    pred = int(y.argmax(1)) if y.dim() == 2 else -1
    emit(progress, "stage", stage="receptive fields")
    measured = measure_fields(user.model, tuple(x.shape[1:]), [(c.name, c.call) for c in calls])
    stages: list[UserStage] = []
    for c, fm in zip(calls, maps, strict=False):  # both in call order
        m = measured.get((c.name, c.call))
        stages.append(
            UserStage(
                name=c.name + (f"#{c.call}" if c.call else ""),
                kind=c.kind,
                shape=list(fm.output.shape[1:]),
                values=int(fm.output[0].numel()),
                active_fraction=float((fm.output > 0).double().mean()),
                receptive_field=int(m.size[0]) if m is not None else 0,
                clipped=bool(m.clipped) if m is not None else False,
            )
        )
    step = max(1, -(-len(stages) // MAX_ROWS))
    shown = list(range(0, len(stages), step))[:MAX_ROWS]
    rows = [Row("input", 0, list(x.shape[1:]), x[0].numpy())]
    for i in shown:
        rows.append(
            Row(stages[i].kind, i + 1, stages[i].shape, maps[i].output[0, : params.n_show].numpy())
        )
    convs = [s for s in stages if s.kind == "Conv2d"]
    conv = first_conv(user.model)
    w_user = conv.weight.detach().clone()  # (C_out, C_in, k, k)
    control = copy.deepcopy(conv)
    # seed + 1: the user's own class was built under ``seed`` (lab.user_model.load_user), so
    # ``seed`` would re-create its very initial kernels
    torch.manual_seed(params.seed + 1)
    control.reset_parameters()
    w_ctl = control.weight.detach().clone()
    img = image.mean(0).numpy()
    ink_r, ink_c = np.nonzero(img >= INK)
    user_h = UserHierarchy(
        model=user.describe(),
        channels_fit=how,
        stages=stages,
        shown=shown,
        kernel_control=kernel_smoothness(w_ctl),
        kernel_user=kernel_smoothness(w_user),
        kernel_size=int(w_user.shape[-1]),
    )
    blocks = [Block(s.shape[0], s.shape[-1], s.values, s.receptive_field) for s in convs]
    return HierarchyNumbers(
        dataset=ds.name,
        n_train=0,
        n_test=len(ds),
        epochs=0,
        seed=params.seed,
        seeds=[],
        accuracy=float("nan"),
        accuracies=[],
        params=sum(p.numel() for p in user.model.parameters()),
        model={"channels": [s.shape[0] for s in convs], "kernel": user_h.kernel_size},
        index=params.index,
        label=int(label),
        prediction=pred,
        layers=[
            Layer(
                m.name,
                m.kind,
                list(m.output.shape[1:]),
                int(m.output[0].numel()),
                s.active_fraction,
            )
            for m, s in zip(maps, stages, strict=False)
        ],
        rows=rows,
        blocks=blocks,
        block_channels=[b.channels for b in blocks],
        block_spatial=[b.spatial for b in blocks],
        channels_grow=all(a.channels <= b.channels for a, b in pairwise(blocks))
        and len(blocks) > 1
        and blocks[-1].channels > blocks[0].channels,
        maps_shrink=all(a.spatial >= b.spatial for a, b in pairwise(blocks))
        and len(blocks) > 1
        and blocks[-1].spatial < blocks[0].spatial,
        digit_height=int(np.ptp(ink_r)) + 1 if ink_r.size else 0,
        digit_width=int(np.ptp(ink_c)) + 1 if ink_c.size else 0,
        stroke_width=stroke_width(img),
        kernel_smoothness={"initial": user_h.kernel_control, "trained": user_h.kernel_user},
        smoothness_initial=[user_h.kernel_control],
        smoothness_trained=[user_h.kernel_user],
        kernel_relative_change=float("nan"),
        kernels_initial=w_ctl.mean(1)[:MAX_KERNELS].numpy(),  # (C, k, k): mean over inputs
        kernels_trained=w_user.mean(1)[:MAX_KERNELS].numpy(),
        frame=None,
        user=user_h,
    )


def explain_user(n: Any) -> list[Message]:
    u: UserHierarchy = n.user
    m = u.model
    from cnnlab.lab.common import item_words

    out: list[Message] = [
        (
            "lab.user.setup",
            {
                "name": m["name"],
                "kind": Msg(f"lab.user.kind.{m['kind']}"),
                "weights": Msg(
                    "lab.user.weights.trained" if m["trained"] else "lab.user.weights.init"
                ),
                "dataset": n.dataset,
                "split": Msg("lab.split.test"),
                **item_words(n.dataset, n.index, n.label),
            },
        ),
        ("lab.user.feed_standardised" if m["standardised"] else "lab.user.feed_raw", {}),
    ]
    if u.channels_fit != "same":
        out.append((f"lab.user.channels_{u.channels_fit}", {"c": m["in_channels"]}))
    if n.prediction >= 0:
        out.append(("lab.hierarchy.user.prediction", {"pred": n.prediction, "label": n.label}))
    out.append(("lab.hierarchy.user.how", {"n": len(u.stages)}))
    from cnnlab.data.folder import is_folder_name

    digits = not is_folder_name(n.dataset)  # ink and strokes describe digits, not photos
    side = max(n.digit_height, n.digit_width, 1)
    for i, s in enumerate(u.stages):
        out.append(
            (
                "lab.hierarchy.user.stage" if digits else "lab.hierarchy.user.stage_plain",
                {
                    "i": i + 1,
                    "name": s.name,
                    "kind": s.kind,
                    "shape": "×".join(map(str, s.shape)),
                    "values": s.values,
                    "active": 100 * s.active_fraction,
                    "rf": f"{'≥' if s.clipped else ''}{s.receptive_field}",
                    "part": 100 * min(1.0, s.receptive_field / side),
                },
            )
        )
    key = "trend" if n.channels_grow and n.maps_shrink else "no_trend"
    out.append((f"lab.hierarchy.user.{key}", {"c": n.block_channels, "s": n.block_spatial}))
    if digits:
        digit = {"h": n.digit_height, "w": n.digit_width, "stroke": n.stroke_width}
        out.append(("lab.hierarchy.digit", digit))
    out.append(("lab.hierarchy.user.parts", {}))
    out.append(
        (
            "lab.hierarchy.user.kernels",
            {"k": u.kernel_size, "user": u.kernel_user, "control": u.kernel_control},
        )
    )
    out.append(("lab.hierarchy.user.not_measured", {}))
    return out


def draw_user(n: Any, lang: str) -> dict[str, Figure]:
    return {"feature_maps": _maps(n, lang), "first_layer_kernels": _kernels(n, lang)}


def _maps(n: Any, lang: str) -> Figure:
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    u: UserHierarchy = n.user
    cols = max(len(r.maps) for r in n.rows)
    fig = Figure(figsize=(1.45 * cols + 2.2, 1.5 * len(n.rows) + 0.6), layout="constrained")
    axes = fig.subplots(len(n.rows), cols, squeeze=False)
    for r, row in enumerate(n.rows):
        c, h, w = row.shape
        if row.kind == "input":
            label = t("lab.hierarchy.row_input", lang)
        else:
            s = u.stages[row.block - 1]
            label = f"{row.block}. {s.name}\n{s.kind}\n{c}×{h}×{w}\n" + t(
                "lab.hierarchy.row_rf", lang, rf=s.receptive_field
            )
        for j in range(cols):
            ax = axes[r][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(row.maps):
                ax.axis("off")
                continue
            ax.imshow(row.maps[j], cmap="gray" if row.kind == "input" else "viridis")
            if j == 0:
                ax.set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle(
        t("lab.hierarchy.user.fig_maps", lang, name=u.model["name"], index=n.index, n=cols)
    )
    return fig


def _kernels(n: Any, lang: str) -> Figure:
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    u: UserHierarchy = n.user
    count = len(n.kernels_trained)
    fig = Figure(figsize=(1.1 * count + 2.0, 3.4), layout="constrained")
    axes = fig.subplots(2, count, squeeze=False)
    rows = (
        (n.kernels_initial, "lab.hierarchy.user.kernels_control", u.kernel_control),
        (n.kernels_trained, "lab.hierarchy.user.kernels_yours", u.kernel_user),
    )
    for r, (w, key, s) in enumerate(rows):
        for j in range(count):
            ax = axes[r][j]
            k = w[j].astype(np.float64)
            lim = float(np.abs(k).max()) or 1.0
            ax.imshow(k, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(t(key, lang, s=s), fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle(t("lab.hierarchy.user.fig_kernels", lang, k=u.kernel_size, name=u.model["name"]))
    return fig


__all__ = ["UserStage", "UserHierarchy", "measure_user", "explain_user", "draw_user"]
