"""Recipes: the best settings known for a model on a kind of data — the defaults of a training run.

``cnnlab train --model cnn --data fashion-mnist`` with nothing else trains with
``find("cnn", "fashion-mnist")`` (the recipe named ``default``); ``--recipe best`` picks another
one of the same table row; every option the user gives still overrides its own field
(:func:`apply`). The table is data, one row per ``(model, data)``, where ``data`` is a dataset name
or a family of them (:func:`family`): a row for the exact name wins over its family's row.

Each recipe carries the measurement it comes from (``evidence``): a recipe is a claim about speed
and accuracy, and the claim must point at the benchmark that checks it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from cnnlab.errors import ConfigError

DEFAULT = "default"  # the recipe a run gets when none is named
NONE = "none"  # ``--recipe none``: no recipe, the plain built-in defaults (a control)

# Model keywords that a face offers as options (cnnlab.train.session.Architecture): a user's value
# for one of these replaces the recipe's. Other model keywords of a recipe (kernel_size, ...) stay.
ARCH_OPTIONS = ("channels", "hidden", "dropout", "pool_first", "strided_stem", "test_flip")


@dataclass(frozen=True)
class Recipe:
    """One training setting: model keywords, :class:`~cnnlab.train.TrainConfig` fields, evidence."""

    name: str
    model: Mapping[str, Any]  # keywords of cnnlab.models.build(model, ...)
    train: Mapping[str, Any]  # TrainConfig fields
    evidence: str  # the benchmark and figure this recipe comes from (English, for docs and JSON)

    def options(self) -> str:
        """The recipe as the command-line options that would give it (language-neutral)."""
        parts: list[str] = []
        for key, value in {**self.model, **self.train}.items():
            flag = "--" + key.replace("_", "-")
            if value is True:
                parts.append(flag)
            elif isinstance(value, (list, tuple)):
                if key in ARCH_OPTIONS:  # --channels 16 --channels 32, as click takes it
                    parts += [f"{flag} {v}" for v in value]
                else:  # a model keyword with no option: shown as the keyword itself
                    parts.append(f"{key}={list(value)}")
            elif key in ARCH_OPTIONS or key in self.train:
                parts.append(f"{flag} {value}")
            else:
                parts.append(f"{key}={value!r}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": dict(self.model),
            "train": dict(self.train),
            "evidence": self.evidence,
        }


# --- the CNN on the MNIST family (28x28 grayscale, 10 classes) -----------------------------------
# conv -> pool -> BN -> ReLU (pool_first): pooling first quarters the BN/ReLU work, which with the
# first conv's map dominates a step of this small net on a 2-core CPU (docs/benchmarks.md).
_FAST_MODEL = {"channels": [16, 32], "hidden": 128, "pool_first": True}
# precision auto: bf16 autocast where the CPU multiplies bfloat16 natively (AVX512-BF16: 1.6x
# faster steps), float32 elsewhere; the same accuracy within the seed spread (evidence below).
_FAST_TRAIN = {
    "epochs": 5,
    "batch_size": 256,
    "lr": 0.2,
    "eval_when": "near-target",
    "precision": "auto",
}
_BF16_EVIDENCE = (
    "; bf16 vs fp32 (2026-12-02, seeds 0-2): Fashion-MNIST default recipe 92.42/92.05/92.25% vs "
    "92.54/92.20/92.07%, mnist-sample 96.5/95.8/96.2% vs 95.9/96.2/96.4%"
)
_FAST_EVIDENCE = (
    "benchmarks/train_fashion.py 'fast': 92.15-92.35% on Fashion-MNIST after 5 epochs (seeds 0-2)"
    + _BF16_EVIDENCE
)
# Fashion-MNIST's fast recipe: the first block downsamples by its conv's stride (the 28x28 map and
# its pooling are never computed: ~25% less time per epoch), training sees random mirror images
# and a prediction averages an image with its mirror image (cnnlab.models.flip: +0.4 points).
_FASHION_MODEL = {**_FAST_MODEL, "strided_stem": True, "test_flip": True}
_FASHION_TRAIN = {**_FAST_TRAIN, "augment": "flip"}
_FASHION_EVIDENCE = (
    "benchmarks/fashion_recipe_probe.py (docs/benchmarks.md, 2026-12-02): strided stem + flips "
    "+ flip averaging after 5 epochs; benchmarks/train_fashion.py times it to 92%" + _BF16_EVIDENCE
)
# The 3-minute recipe: a twice-wider net, dropout, label smoothing; batch 128, lr 0.1. On
# Fashion-MNIST with flips and flip averaging, 16 epochs in bf16 (about 2 minutes on 2 AVX512-BF16
# cores; in fp32, 9 epochs took 4 minutes on 2 AVX2 cores), evaluated once at the end unless a
# --target-acc can stop it earlier.
_BEST_MODEL = {"channels": [32, 64], "hidden": 256, "dropout": 0.3, "pool_first": True}
_BEST_TRAIN = {
    "epochs": 7,
    "batch_size": 128,
    "lr": 0.1,
    "label_smoothing": 0.1,
    "precision": "auto",
}
_BEST_EVIDENCE = "benchmarks/train_fashion.py 'best3min': 93.20% on Fashion-MNIST in 167 s"
_FASHION_BEST_TRAIN = {**_BEST_TRAIN, "epochs": 16, "augment": "flip", "eval_when": "near-target"}
_FASHION_BEST_EVIDENCE = (
    "benchmarks/fashion_recipe_probe.py 'best9', seed 0: 93.41% plain, 93.53% flip-averaged after "
    "9 epochs (8 epochs: 93.33 / 93.50%); the whole command, bf16, seed 0 (2026-12-02, 2-core "
    "AVX512-BF16 EPYC): 9 epochs 93.62% in 69 s, 16 epochs 93.79% in 110 s; "
    "benchmarks/train_fashion.py times it"
)


def _cnn_rows() -> dict[str, dict[str, Recipe]]:
    fast = Recipe(DEFAULT, _FAST_MODEL, _FAST_TRAIN, _FAST_EVIDENCE)
    return {
        # horizontal flips suit clothes, not digits or characters: only Fashion-MNIST gets them
        "fashion-mnist": {
            DEFAULT: Recipe(DEFAULT, _FASHION_MODEL, _FASHION_TRAIN, _FASHION_EVIDENCE),
            "best": Recipe(
                "best",
                {**_BEST_MODEL, "test_flip": True},
                _FASHION_BEST_TRAIN,
                _FASHION_BEST_EVIDENCE,
            ),
        },
        "mnist": {
            DEFAULT: fast,
            "best": Recipe("best", _BEST_MODEL, _BEST_TRAIN, _BEST_EVIDENCE + " (without flips)"),
        },
    }


# --- series models (benchmarks/train_series.py measures them; docs/series.md) -------------------
_SERIES_FAST = Recipe(
    DEFAULT,
    {"channels": [64, 64, 64], "kernel_size": 5, "global_pool": "max"},
    {"epochs": 8, "batch_size": 128, "lr": 0.1, "augment": "roll"},
    "benchmarks/train_series.py 'fast': MNIST-1D 98.50 +- 0.36% in 3.5 s (3 seeds)",
)
_SERIES_FULL = Recipe(
    "full",
    {"channels": [128, 128, 128], "kernel_size": 5, "global_pool": "max"},
    {"epochs": 20, "batch_size": 128, "lr": 0.1, "augment": "roll"},
    "benchmarks/train_series.py 'full': MNIST-1D 99.03 +- 0.25% in 21.8 s (3 seeds)",
)
_FCN = Recipe(
    DEFAULT,
    {},  # cnn1d's own defaults are the FCN of Wang et al. 2017 (128-256-128, kernels 8-5-3)
    {"epochs": 100, "batch_size": 16, "optimizer": "adamw", "lr": 1e-3},
    "benchmarks/train_series.py 'fcn': GunPoint 100%, ItalyPowerDemand 95.9%, BasicMotions 100%",
)
_MLP1D = Recipe(
    DEFAULT,
    {"hidden": [100, 100]},
    {"epochs": 60, "batch_size": 100, "optimizer": "adamw", "lr": 1e-2, "weight_decay": 0.0},
    "benchmarks/train_series.py 'mlp': MNIST-1D 67.27 +- 0.80% (the paper's MLP: 68%)",
)

# --- TextCNN on NSMC (benchmarks/train_text.py measures it; docs/text.md, docs/text-benchmark.md) -
# The benchmark's search: a wider, shallower-embedding net than Kim's 128/3-4-5/100 — embedding 64,
# four widths 2-5 of 128 filters — with AdamW and OneCycle, two epochs. The tokeniser is a text
# option (--tokenizer), not part of the recipe.
_TEXTCNN = Recipe(
    DEFAULT,
    {"embed_dim": 64, "widths": [2, 3, 4, 5], "channels": [128], "dropout": 0.5},
    {"epochs": 2, "batch_size": 128, "optimizer": "adamw", "lr": 3e-3, "weight_decay": 0.01},
    "benchmarks/train_text.py 'best', seeds 0 and 1, 2 epochs: NSMC 84.85 +- 0.02% with the "
    "syllable default, 85.58 +- 0.06% with --tokenizer morpheme (docs/text-benchmark.md)",
)

# (model, dataset name or family) -> {recipe name -> recipe}; the first entry is the default.
RECIPES: dict[tuple[str, str], dict[str, Recipe]] = {
    **{("cnn", data): row for data, row in _cnn_rows().items()},
    ("cnn1d", "mnist1d"): {DEFAULT: _SERIES_FAST, "full": _SERIES_FULL},
    ("cnn1d", "ucr"): {DEFAULT: _FCN},
    ("mlp1d", "mnist1d"): {DEFAULT: _MLP1D},
    ("mlp1d", "ucr"): {DEFAULT: _MLP1D},
    ("textcnn", "nsmc"): {DEFAULT: _TEXTCNN},  # csvtext:<path> uses cnnlab.train.text's defaults
}

# dataset name -> family; names not listed are their own family (ucr:<Name>, csv:<path> by prefix)
FAMILIES: dict[str, str] = {
    "mnist": "mnist",
    "kmnist": "mnist",
    "mnist-sample": "mnist",
    "auto": "mnist",  # auto is full MNIST or the embedded MNIST sample
    "fashion-mnist": "fashion-mnist",
    "mnist1d": "mnist1d",
    "mnist1d-shuffled": "mnist1d",
}


def family(data: str) -> str:
    """The family of dataset ``data``: ``mnist`` for the digit sets, ``ucr`` for ``ucr:<Name>``…"""
    if ":" in data:
        return data.split(":", 1)[0]
    return FAMILIES.get(data, data)


def recipes_for(model: str, data: str) -> dict[str, Recipe]:
    """Every recipe for ``model`` on ``data`` (exact name first, then its family); may be empty."""
    return RECIPES.get((model, data)) or RECIPES.get((model, family(data))) or {}


def find(model: str, data: str, name: str = DEFAULT) -> Recipe | None:
    """The recipe ``name`` for ``model`` on ``data``; None for ``none`` or when the row has no
    default. An unknown name is a ConfigError listing the valid ones for this model and data."""
    if name == NONE:
        return None
    row = recipes_for(model, data)
    if name in row:
        return row[name]
    if name == DEFAULT:
        return None  # no recipe known for this pair: the built-in defaults
    valid = ", ".join([*row, NONE])
    raise ConfigError("train.recipe.unknown", name=name, model=model, data=data, valid=valid)


@dataclass(frozen=True)
class Applied:
    """What :func:`apply` returns: the options and model keywords to run with, and which of the
    recipe's fields the user's own options replaced."""

    options: dict[str, Any]
    model_kwargs: dict[str, Any]
    overridden: tuple[str, ...]


def apply(
    recipe: Recipe | None,
    options: Mapping[str, Any],
    model_kwargs: Mapping[str, Any],
    given: Collection[str],
) -> Applied:
    """The recipe's fields under the user's: every name in ``given`` keeps the user's value.

    ``options`` are TrainConfig fields as the face collected them (defaults included),
    ``model_kwargs`` the architecture keywords the user gave (:data:`ARCH_OPTIONS`).
    """
    if recipe is None:
        return Applied(dict(options), dict(model_kwargs), ())
    opts = dict(options)
    overridden = []
    for key, value in recipe.train.items():
        if key in given:
            overridden.append(key)
        else:
            opts[key] = value
    kwargs = dict(recipe.model)
    for key, value in model_kwargs.items():
        if key in recipe.model:
            overridden.append(key)
        kwargs[key] = value
    for key in ARCH_OPTIONS:  # an option given at its default (--no-pool-first) still overrides
        if key in given and key not in model_kwargs and key in kwargs:
            overridden.append(key)
            kwargs.pop(key)
    return Applied(opts, kwargs, tuple(dict.fromkeys(overridden)))


__all__ = [
    "ARCH_OPTIONS",
    "Applied",
    "DEFAULT",
    "FAMILIES",
    "NONE",
    "RECIPES",
    "Recipe",
    "apply",
    "family",
    "find",
    "recipes_for",
]
