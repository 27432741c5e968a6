"""Parameters and helpers shared by experiments that take one digit from a dataset."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnlab.data import get_dataset, image_names


@dataclass
class DataParams:
    """Which data an experiment runs on. Defaults run offline on the embedded sample."""

    data: str = field(default="auto", metadata={"help": "lab.param.data", "choices": image_names()})
    # auto: full MNIST when found locally (data-dir or cache), else the embedded 5,000-digit sample
    data_dir: str | None = field(default=None, metadata={"help": "lab.param.data_dir"})
    split: str = field(
        default="train", metadata={"help": "lab.param.split", "choices": ("train", "test")}
    )
    download: bool = field(default=False, metadata={"help": "lab.param.download"})


def item_words(dataset: str, index: int, label: int) -> dict[str, Any]:
    """``{item}`` and ``{label}`` for a sentence naming one image: "digit #0" and "9" on the digit
    sets; "item #0" and "9 (Ankle boot)" where the classes are not digits (Fashion-MNIST, KMNIST).
    """
    from cnnlab.data.folder import folder_classes, is_folder_name
    from cnnlab.data.registry import REGISTRY
    from cnnlab.i18n import Msg

    if is_folder_name(dataset):  # your own images: the class is its sub-folder's name
        names = folder_classes(dataset)
        name = names[label] if 0 <= label < len(names) else "?"
        return {
            "item": Msg("data.item.image", index=index),
            "label": Msg("data.label.named", label=label, name=name),
        }
    spec = REGISTRY.get(dataset)
    classes = spec.classes if spec is not None else tuple(str(d) for d in range(10))
    if classes == tuple(str(d) for d in range(10)):
        return {"item": Msg("data.item.digit", index=index), "label": label}
    key = f"data.class.{dataset.replace('-', '_')}.{label}"
    return {
        "item": Msg("data.item.image", index=index),
        "label": Msg("data.label.named", label=label, name=Msg(key)),
    }


def open_data(params: DataParams) -> Any:
    """The dataset the params point at (raises DataError with a suggestion when unavailable)."""
    return get_dataset(
        params.data, train=params.split == "train", root=params.data_dir, download=params.download
    )


__all__ = ["DataParams", "open_data", "item_words"]
