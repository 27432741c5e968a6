"""The lecture note's experiment, exactly: one MNIST digit through ``Conv2d(1, 3, 3)`` without and with
padding.

Steps (as in the note): take digit ``index``; ``ToTensor`` gives ``(1, 28, 28)`` in [0, 1];
``unsqueeze(0)`` adds the batch axis → ``(N, C, H, W) = (1, 1, 28, 28)``; two seeded one-layer models,
padding 0 and 1, give ``(1, 3, 26, 26)`` and ``(1, 3, 28, 28)``; draw the 3 + 3 feature maps in a 2×3
grid.

Shape arithmetic (stride 1, dilation 1): ``out = in + 2*padding - kernel + 1`` →
``28 - 3 + 1 = 26`` and ``28 + 2 - 3 + 1 = 28``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnlab.inspect.shapes import out_size
from cnnlab.lab.common import DataParams, open_data
from cnnlab.lab.registry import register
from cnnlab.result import Result


@dataclass
class PaddingParams(DataParams):
    index: int = field(default=0, metadata={"help": "lab.param.index", "min": 0})
    # the note uses train_dataset[0]; on the embedded sample index i is a digit of class i % 10
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0})
    # torch.manual_seed before building the two models, so the random kernels are reproducible


@register("padding", PaddingParams, "lab.padding.title")
def run(params: PaddingParams, *, lang: str | None = None, callback: Any = None) -> Result:
    import torch

    from cnnlab.i18n import t
    from cnnlab.models.padding_pair import KERNEL, CNN_NoPadding, CNN_WithPadding
    from cnnlab.viz.fonts import figure_lang
    from cnnlab.viz.maps import feature_map_grid

    ds = open_data(params)
    image, label = ds[ds.check_index(params.index)]  # (1, 28, 28) in [0, 1]
    x = image.unsqueeze(0)  # (1, 1, 28, 28): Conv2d wants (N, C, H, W)

    torch.manual_seed(params.seed)
    no_pad, with_pad = CNN_NoPadding().eval(), CNN_WithPadding().eval()
    with torch.no_grad():
        y0 = no_pad(x)  # (1, 3, 26, 26)
        y1 = with_pad(x)  # (1, 3, 28, 28)

    h = x.shape[-1]
    arith0, arith1 = out_size(h, KERNEL, padding=0), out_size(h, KERNEL, padding=1)
    numbers = {
        "dataset": ds.name,
        "split": ds.split,
        "index": params.index,
        "label": label,
        "seed": params.seed,
        "image_shape": list(image.shape),
        "input_shape": list(x.shape),
        "no_padding_shape": list(y0.shape),
        "padding_shape": list(y1.shape),
        "no_padding_formula": f"{h} - {KERNEL} + 1 = {arith0.out}",
        "padding_formula": f"{h} + 2*1 - {KERNEL} + 1 = {arith1.out}",
        "formula_matches_torch": [arith0.out, arith1.out] == [y0.shape[-1], y1.shape[-1]],
        "parameters_per_model": sum(p.numel() for p in no_pad.parameters()),
        "no_padding_range": [float(y0.min()), float(y0.max())],
        "padding_range": [float(y1.min()), float(y1.max())],
    }

    flang = figure_lang(lang)
    n = y0.shape[1]
    titles = [
        [t("lab.padding.map_nopad", flang, i=i + 1, h=y0.shape[-2], w=y0.shape[-1]) for i in range(n)],
        [t("lab.padding.map_pad", flang, i=i + 1, h=y1.shape[-2], w=y1.shape[-1]) for i in range(n)],
    ]
    grid = feature_map_grid([y0[0].numpy(), y1[0].numpy()], titles,
                            suptitle=t("lab.padding.suptitle", flang, dataset=ds.name,
                                       index=params.index, label=label))

    result = Result("padding", numbers, {"feature_maps": grid}, lang=flang)
    result.say("lab.padding.data", dataset=ds.name, split=ds.split, index=params.index, label=label)
    result.say("lab.padding.unsqueeze", image=list(image.shape), input=list(x.shape))
    result.say("lab.padding.no_pad", shape=list(y0.shape), formula=numbers["no_padding_formula"])
    result.say("lab.padding.pad", shape=list(y1.shape), formula=numbers["padding_formula"])
    result.say("lab.padding.params", n=numbers["parameters_per_model"])
    result.say("lab.padding.truth")
    return result


__all__ = ["PaddingParams", "run"]
