"""CNN vs fully connected network, and the shuffled-pixels control: why CNNs suit images.

A CNN (:class:`~cnnlab.models.SimpleCNN`, ``channels=(16, 32)``, hidden 64) and an MLP
(:class:`~cnnlab.models.MLP`, hidden ``(256, 128)``) are trained on the same digits with the same
seed, optimizer and budget — once on the images as they are, once with **one fixed permutation of
the pixel positions** applied to every training and test image::

    x (N, C, H, W) → flatten positions (N, C, H·W) → [:, :, perm] → (N, C, H, W)

Expected, and measured:

- The MLP does not care. Its first layer ``W x`` sees a list of pixels with no notion of neighbours;
  permuting the inputs is the same as permuting the columns of ``W``. Trained from the same initial
  weights with those columns permuted too (``W[:, perm]``), it follows *the same* trajectory and
  ends with the same predictions (up to float summation order) — the exact control. Trained from a
  fresh initialisation, its accuracy changes only within noise (2 standard errors of the
  difference).
- The CNN loses its advantage: its 3×3 kernels assume that neighbouring pixels belong together
  (locality) and its pooling that nearby positions are interchangeable; after shuffling, neighbours
  are random pixels from anywhere in the image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnnlab.lab.registry import register
from cnnlab.lab.training import TrainDataParams, binomial_se, load_train_test, train_model
from cnnlab.result import Result

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure
    from torch import nn

RECIPES: dict[str, dict[str, Any]] = {
    "cnn": {"channels": (16, 32), "hidden": 64},  # the translation experiment's CNN
    "mlp": {"hidden": (256, 128)},  # the registry's default MLP
}
OPTIM = {"optimizer": "adamw", "lr": 0.01}  # one optimizer for every run: only the data differs


@dataclass
class CnnVsFcParams(TrainDataParams):
    perm_seed: int = field(default=0, metadata={"help": "lab.cnn_vs_fc.param.perm_seed", "min": 0})
    # seeds the one pixel permutation shared by the training and test images
    epochs: int = field(default=4, metadata={"help": "lab.training.param.epochs", "min": 1,
                                             "max": 100})
    # both networks are near their plateau on mnist-sample after 4 AdamW epochs


def pixel_permutation(n_pixels: int, seed: int) -> torch.Tensor:
    """One fixed permutation of ``n_pixels`` positions, from its own seeded generator."""
    import torch

    return torch.randperm(n_pixels, generator=torch.Generator().manual_seed(seed))


def shuffle_pixels(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Apply ``perm`` to the pixel positions of ``x (N, C, H, W)`` (every channel alike)."""
    return x.flatten(2)[:, :, perm].reshape(x.shape)  # (N, C, H·W) → permuted → (N, C, H, W)


def mlp_with_permuted_inputs(mlp: nn.Module, perm: torch.Tensor) -> nn.Module:
    """Permute the columns of the MLP's first Linear so that ``mlp'(shuffle(x)) == mlp(x)``.

    ``shuffle(x)_j = x_perm[j]``, so ``Σ_j W'[:, j] x_perm[j] = Σ_i W[:, i] x_i`` needs
    ``W'[:, j] = W[:, perm[j]]``, i.e. ``W' = W[:, perm]``.
    """
    import torch

    first = next(m for m in mlp.modules() if isinstance(m, torch.nn.Linear))
    with torch.no_grad():
        first.weight.copy_(first.weight[:, perm])
    return mlp


def _param_split(model: nn.Module) -> tuple[int, int]:
    """(parameters in ``features`` — the conv blocks, parameters in ``classifier``)."""
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    return count(model.features), count(model.classifier)


@register("cnn-vs-fc", CnnVsFcParams, "lab.cnn_vs_fc.title",
          quick={"n_train": 300, "n_test": 100, "epochs": 1})
def run(params: CnnVsFcParams, *, lang: str | None = None, callback: Any = None) -> Result:
    from cnnlab.models import build
    from cnnlab.viz.fonts import figure_lang

    train, test, dataset = load_train_test(params)
    c, h, w = train[0].shape[1:]
    perm = pixel_permutation(h * w, params.perm_seed)
    shuffled = {"train": (shuffle_pixels(train[0], perm), train[1]),
                "test": (shuffle_pixels(test[0], perm), test[1])}

    def make(name: str) -> nn.Module:
        return build(name, in_channels=c, image_size=h, **RECIPES[name])

    runs = {}
    for name in RECIPES:
        runs[(name, "original")] = train_model(f"{name}", lambda name=name: make(name), train,
                                               test, params, callback=callback, **OPTIM)
        runs[(name, "shuffled")] = train_model(f"{name} (shuffled)", lambda name=name: make(name),
                                               shuffled["train"], shuffled["test"], params,
                                               callback=callback, **OPTIM)
    # The exact control: same initial weights with the first layer's columns permuted.
    control = train_model("mlp (shuffled, permuted init)",
                          lambda: mlp_with_permuted_inputs(make("mlp"), perm),
                          shuffled["train"], shuffled["test"], params, callback=callback, **OPTIM)
    pred_orig = runs[("mlp", "original")].logits(test[0]).argmax(1)
    pred_ctrl = control.logits(shuffled["test"][0]).argmax(1)
    w_orig = runs[("mlp", "original")].model.net[1].weight.detach()  # (256, C·H·W)
    w_ctrl = control.model.net[1].weight.detach()

    n_test = len(test[1])
    acc = {name: {kind: runs[(name, kind)].accuracy for kind in ("original", "shuffled")}
           for name in RECIPES}
    se = {name: {kind: binomial_se(a, n_test) for kind, a in accs.items()}
          for name, accs in acc.items()}
    noise = {name: 2 * (se[name]["original"] ** 2 + se[name]["shuffled"] ** 2) ** 0.5
             for name in RECIPES}
    conv_n, head_n = _param_split(runs[("cnn", "original")].model)
    first_n = sum(p.numel() for p in runs[("mlp", "original")].model.net[1].parameters())
    numbers = {
        "dataset": dataset, "n_train": len(train[1]), "n_test": n_test, "epochs": params.epochs,
        "seed": params.seed, "perm_seed": params.perm_seed,
        "recipes": RECIPES,
        "params": {"cnn": {"total": conv_n + head_n, "conv_layers": conv_n, "classifier": head_n},
                   "mlp": {"total": runs[("mlp", "original")].n_params, "first_layer": first_n}},
        "accuracy": acc,
        "accuracy_se": se,
        "change_when_shuffled": {name: acc[name]["shuffled"] - acc[name]["original"]
                                 for name in RECIPES},
        "noise_2se": noise,
        "mlp_unchanged_within_noise":
            abs(acc["mlp"]["shuffled"] - acc["mlp"]["original"]) <= noise["mlp"],
        "cnn_advantage": {kind: acc["cnn"][kind] - acc["mlp"][kind]
                          for kind in ("original", "shuffled")},
        "mlp_permuted_init_control": {
            "accuracy": control.accuracy,
            "prediction_agreement": float((pred_orig == pred_ctrl).double().mean()),
            "max_first_layer_diff": float((w_ctrl - w_orig[:, perm]).abs().max()),
        },
        "train_seconds": {f"{name}/{kind}": round(r.seconds, 2)
                          for (name, kind), r in runs.items()},
    }
    flang = figure_lang(lang)
    figures = {"accuracy": _accuracy_figure(numbers, flang),
               "shuffled_digits": _digits_figure(test[0][:6], shuffled["test"][0][:6], flang)}
    result = Result("cnn-vs-fc", numbers, figures, lang=flang)
    _explain(result, numbers)
    return result


def _explain(result: Result, numbers: dict[str, Any]) -> None:
    p, acc = numbers["params"], numbers["accuracy"]
    change, noise = numbers["change_when_shuffled"], numbers["noise_2se"]
    result.say("lab.cnn_vs_fc.params", cnn=p["cnn"]["total"], conv=p["cnn"]["conv_layers"],
               head=p["cnn"]["classifier"], mlp=p["mlp"]["total"], first=p["mlp"]["first_layer"])
    result.say("lab.cnn_vs_fc.original", n=numbers["n_train"], epochs=numbers["epochs"],
               cnn=100 * acc["cnn"]["original"], mlp=100 * acc["mlp"]["original"])
    result.say("lab.cnn_vs_fc.shuffle_setup", seed=numbers["perm_seed"])
    result.say("lab.cnn_vs_fc.mlp_same" if numbers["mlp_unchanged_within_noise"]
               else "lab.cnn_vs_fc.mlp_changed",
               before=100 * acc["mlp"]["original"], after=100 * acc["mlp"]["shuffled"],
               d=100 * change["mlp"], noise=100 * noise["mlp"])
    ctrl = numbers["mlp_permuted_init_control"]
    result.say("lab.cnn_vs_fc.control", agree=100 * ctrl["prediction_agreement"],
               acc=100 * ctrl["accuracy"], orig=100 * acc["mlp"]["original"],
               diff=ctrl["max_first_layer_diff"])
    adv = numbers["cnn_advantage"]
    lost = adv["shuffled"] < adv["original"] - noise["cnn"]
    result.say("lab.cnn_vs_fc.cnn_lost" if lost else "lab.cnn_vs_fc.cnn_kept",
               before=100 * acc["cnn"]["original"], after=100 * acc["cnn"]["shuffled"],
               d=100 * -change["cnn"], adv_before=100 * adv["original"],
               adv_after=100 * adv["shuffled"])
    result.say("lab.cnn_vs_fc.truth")


def _accuracy_figure(numbers: dict[str, Any], lang: str) -> Figure:
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    fig = Figure(figsize=(7.8, 4.6), layout="constrained")
    ax = fig.subplots()
    names = list(RECIPES)
    width = 0.38
    for j, (kind, color) in enumerate((("original", "tab:blue"), ("shuffled", "tab:gray"))):
        xs = [i + (j - 0.5) * width for i in range(len(names))]
        accs = [100 * numbers["accuracy"][n][kind] for n in names]
        errs = [200 * numbers["accuracy_se"][n][kind] for n in names]
        bars = ax.bar(xs, accs, width, yerr=errs, capsize=4, color=color,
                      label=t(f"lab.cnn_vs_fc.fig_{kind}", lang))
        ax.bar_label(bars, labels=[f"{a:.1f}%" for a in accs], label_type="center", color="white",
                     fontsize=9)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([t(f"lab.cnn_vs_fc.fig_model_{n}", lang,
                          params=numbers["params"][n]["total"]) for n in names])
    ax.set_ylim(0, 112)  # room for the legend above the bars
    ax.set_ylabel(t("lab.cnn_vs_fc.fig_y", lang))
    ax.set_title(t("lab.cnn_vs_fc.fig_title", lang, n=numbers["n_train"],
                   epochs=numbers["epochs"]), fontsize=11)
    ax.legend(loc="upper center", ncols=2, fontsize=9)
    return fig


def _digits_figure(x: torch.Tensor, xs: torch.Tensor, lang: str) -> Figure:
    """Test digits as they are (top) and with the fixed pixel permutation (bottom)."""
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    n = x.shape[0]
    fig = Figure(figsize=(1.5 * n + 1.2, 3.6), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False)
    for r, (imgs, key) in enumerate(((x, "fig_row_original"), (xs, "fig_row_shuffled"))):
        for j in range(n):
            ax = axes[r][j]
            ax.imshow(imgs[j, 0].numpy(), cmap="gray")
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(t(f"lab.cnn_vs_fc.{key}", lang), fontsize=9)
    fig.suptitle(t("lab.cnn_vs_fc.fig_digits", lang))
    return fig


__all__ = ["CnnVsFcParams", "pixel_permutation", "shuffle_pixels", "mlp_with_permuted_inputs",
           "run"]
