"""The lecture note's experiment, exactly: one MNIST digit through ``Conv2d(1, 3, 3)`` without and
with padding.

Steps (as in the note): take digit ``index``; ``ToTensor`` gives ``(1, 28, 28)`` in [0, 1];
``unsqueeze(0)`` adds the batch axis → ``(N, C, H, W) = (1, 1, 28, 28)``; two one-layer models,
padding 0 and 1, give ``(1, 3, 26, 26)`` and ``(1, 3, 28, 28)``; draw the 3 + 3 feature maps in a
2×3 grid.

Teaching truth beyond the note: the two models share their (seeded, random) kernels, so the maps can
be compared cell by cell — the 26×26 map *is* the 28×28 map without its outer ring (measured:
``interior_max_diff`` is 0 up to float rounding); padding changes only the ring of 28² − 26² = 108
cells whose windows overlap the zeros. The figure draws both at true scale with one gray scale per
kernel, so that ring is the only visible difference.

Shape arithmetic (stride 1, dilation 1): ``out = in + 2*padding - kernel + 1`` →
``28 - 3 + 1 = 26`` and ``28 + 2 - 3 + 1 = 28``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from cnnlab.i18n import Msg
from cnnlab.lab.common import DataParams, item_words, open_data
from cnnlab.lab.registry import SEED_MAX, register
from cnnlab.progress import Progress
from cnnlab.result import Message

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class PaddingParams(DataParams):
    index: int = field(default=0, metadata={"help": "lab.param.index", "min": 0})
    # the note uses train_dataset[0]; on the embedded sample index i is a digit of class i % 10
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0, "max": SEED_MAX})
    # torch.manual_seed before building the models, so the random kernels are reproducible


@dataclass(frozen=True)
class PaddingNumbers:
    dataset: str
    split: str
    index: int
    label: int
    seed: int
    image_shape: tuple[int, ...]  # (C, H, W) from ToTensor
    input_shape: tuple[int, ...]  # (N, C, H, W) after unsqueeze(0)
    no_padding_shape: tuple[int, ...]
    padding_shape: tuple[int, ...]
    no_padding_formula: str
    padding_formula: str
    formula_matches_torch: bool
    parameters_per_model: int
    shared_kernels: bool  # both models hold the same weights and bias
    no_padding_range: tuple[float, float]
    padding_range: tuple[float, float]
    interior_max_diff: float  # max |no-pad map - padded map without its outer ring|
    ring_cells: int  # cells per map that padding adds (28² - 26²)
    maps_no_padding: np.ndarray  # (3, 26, 26)
    maps_padding: np.ndarray  # (3, 28, 28)


def measure(params: PaddingParams, progress: Progress | None = None) -> PaddingNumbers:
    import torch

    from cnnlab.geometry import out_size
    from cnnlab.models.padding_pair import KERNEL, CNN_NoPadding, CNN_WithPadding

    ds = open_data(params)
    image, label = ds[ds.check_index(params.index)]  # (1, 28, 28) in [0, 1]
    x = image.unsqueeze(0)  # (1, 1, 28, 28): Conv2d wants (N, C, H, W)

    torch.manual_seed(params.seed)
    no_pad, with_pad = CNN_NoPadding().eval(), CNN_WithPadding().eval()
    with_pad.load_state_dict(no_pad.state_dict())  # same kernels: the only difference is padding
    with torch.no_grad():
        y0 = no_pad(x)  # (1, 3, 26, 26)
        y1 = with_pad(x)  # (1, 3, 28, 28)

    h = x.shape[-1]
    arith0, arith1 = out_size(h, KERNEL, padding=0), out_size(h, KERNEL, padding=1)
    maps0, maps1 = y0[0].numpy(), y1[0].numpy()
    return PaddingNumbers(
        dataset=ds.name,
        split=ds.split,
        index=params.index,
        label=int(label),
        seed=params.seed,
        image_shape=tuple(image.shape),
        input_shape=tuple(x.shape),
        no_padding_shape=tuple(y0.shape),
        padding_shape=tuple(y1.shape),
        no_padding_formula=f"{h} - {KERNEL} + 1 = {arith0.out}",
        padding_formula=f"{h} + 2*1 - {KERNEL} + 1 = {arith1.out}",
        formula_matches_torch=[arith0.out, arith1.out] == [y0.shape[-1], y1.shape[-1]],
        parameters_per_model=sum(p.numel() for p in no_pad.parameters()),
        shared_kernels=all(
            torch.equal(a, b)
            for a, b in zip(no_pad.parameters(), with_pad.parameters(), strict=True)
        ),
        no_padding_range=(float(y0.min()), float(y0.max())),
        padding_range=(float(y1.min()), float(y1.max())),
        interior_max_diff=float(np.abs(maps0 - maps1[:, 1:-1, 1:-1]).max()),
        ring_cells=maps1.shape[-1] * maps1.shape[-2] - maps0.shape[-1] * maps0.shape[-2],
        maps_no_padding=maps0,
        maps_padding=maps1,
    )


def explain(n: PaddingNumbers) -> list[Message]:
    return [
        (
            "lab.padding.data",
            {
                "dataset": n.dataset,
                "split": Msg(f"lab.split.{n.split}"),
                **item_words(n.dataset, n.index, n.label),
            },
        ),
        ("lab.padding.unsqueeze", {"image": list(n.image_shape), "input": list(n.input_shape)}),
        (
            "lab.padding.no_pad",
            {"shape": list(n.no_padding_shape), "formula": n.no_padding_formula},
        ),
        ("lab.padding.pad", {"shape": list(n.padding_shape), "formula": n.padding_formula}),
        ("lab.padding.params", {"n": n.parameters_per_model}),
        (
            "lab.padding.ring",
            {
                "diff": f"{n.interior_max_diff:.1g}",
                "ring": n.ring_cells,
                "inner": n.no_padding_shape[-1],
                "outer": n.padding_shape[-1],
            },
        ),
        ("lab.padding.truth", {}),
    ]


def draw(n: PaddingNumbers, lang: str) -> dict[str, Figure]:
    from cnnlab.i18n import t
    from cnnlab.viz.maps import feature_map_grid

    y0, y1 = n.maps_no_padding, n.maps_padding
    titles = [
        [
            t("lab.padding.map_nopad", lang, i=i + 1, h=y0.shape[-2], w=y0.shape[-1])
            for i in range(len(y0))
        ],
        [
            t("lab.padding.map_pad", lang, i=i + 1, h=y1.shape[-2], w=y1.shape[-1])
            for i in range(len(y1))
        ],
    ]
    suptitle = t("lab.padding.suptitle", lang, dataset=n.dataset, index=n.index, label=n.label)
    return {"feature_maps": feature_map_grid([y0, y1], titles, suptitle=suptitle, true_scale=True)}


EXPERIMENT = register(
    "padding",
    PaddingParams,
    "lab.padding.title",
    numbers=PaddingNumbers,
    measure=measure,
    explain=explain,
    draw=draw,
)

__all__ = ["PaddingParams", "PaddingNumbers", "measure", "explain", "draw", "EXPERIMENT"]
