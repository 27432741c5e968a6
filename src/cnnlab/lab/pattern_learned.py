"""Part 2 of ``pattern`` on the experiment's own networks: train ``seeds`` small CNNs and compare
each first-layer kernel's top test patch with the same model's untrained kernel's (the
by-construction control), the paired difference with a sign-flip test, and random inked patches.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.progress import Progress, emit

if TYPE_CHECKING:
    from cnnlab.lab.pattern import Learned, PatternParams


def _top_patches(model: Any, pre: Any, x: Any) -> tuple[np.ndarray, np.ndarray]:
    """First-layer kernels (sign-corrected for BatchNorm) and, per channel, the ``(k, k)`` patch of
    ``x (N, 1, H, W)`` in [0, 1] with the largest activation after Conv → BatchNorm → ReLU."""
    import torch
    import torch.nn.functional as F

    from cnnlab.lab.pattern import KERNEL

    first = model.eval().features[:3]  # Conv2d → BatchNorm2d → ReLU
    with torch.no_grad():
        act = first(pre.apply(x))  # (N, C, H, W): 'same' padding keeps H, W
    per_img, where = act.flatten(2).max(dim=2)  # (N, C) best value and its flat position
    best_img = per_img.argmax(dim=0)  # (C,)
    pad = KERNEL // 2
    padded = F.pad(x, (pad, pad, pad, pad))  # (N, 1, H+2p, W+2p): the window of every output cell
    width = act.shape[-1]
    patches = []
    for ch in range(act.shape[1]):
        img = int(best_img[ch])
        r, q = divmod(int(where[img, ch]), width)
        patches.append(padded[img, 0, r : r + KERNEL, q : q + KERNEL].numpy())
    weight = model.features[0].weight.detach()[:, 0].numpy()  # (C, k, k)
    sign = np.sign(model.features[1].weight.detach().numpy())  # BN's γ < 0 flips a kernel
    return (weight * sign[:, None, None]).astype(np.float32), np.stack(patches)


def _inked_patches(x: Any, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random ``(k, k)`` windows of ``x (N, 1, H, W)`` that contain ink (max ≥ INK)."""
    from cnnlab.lab.pattern import INK, KERNEL

    imgs = x[:, 0].numpy()  # (N, H, W)
    n, h, w = imgs.shape
    found: list[np.ndarray] = []
    while len(found) < count:
        j = rng.integers(n)
        r, q = rng.integers(h - KERNEL + 1), rng.integers(w - KERNEL + 1)
        patch = imgs[j, r : r + KERNEL, q : q + KERNEL]
        if patch.max() >= INK:
            found.append(patch)
    return np.stack(found)


def _learned(params: PatternParams, progress: Progress | None) -> Learned:
    """Train ``seeds`` CNNs; top-patch cosine of trained vs the same models' initial kernels."""
    import torch

    from cnnlab.lab.hierarchy import kernel_smoothness
    from cnnlab.lab.pattern import (
        KERNEL,
        N_RANDOM,
        Learned,
        centred_cosine,
        sign_flip_test,
    )
    from cnnlab.lab.training import load_train_test, train_model
    from cnnlab.models import build

    train, test, _ = load_train_test(params)
    size = train[0].shape[-1]

    def make() -> torch.nn.Module:
        return build("cnn", image_size=size, channels=(16, 32), kernel_size=KERNEL, hidden=64)

    seeds = [params.seed + j for j in range(params.seeds)]
    rng = np.random.default_rng(params.seed)
    acc, top, untr, rnd, diffs, sm_t, sm_u = [], [], [], [], [], [], []
    first: dict[str, np.ndarray] = {}
    for j, seed in enumerate(seeds):
        emit(progress, "stage", stage="train", index=j + 1, total=len(seeds), seed=seed)
        run = dataclasses.replace(params, seed=seed)
        torch.manual_seed(seed)  # the same seed train_model builds under: its initial weights
        initial = make()
        cnn = train_model(
            "cnn",
            make,
            train,
            test,
            run,
            callback=progress,
            batch_size=64,
            lr=0.05,
        )  # channels_last (fit's default): 20.5 vs 29.7 ms per batch-64 step of this 5×5 CNN
        k_t, p_t = _top_patches(cnn.model, cnn.preprocess, test[0])
        k_u, p_u = _top_patches(initial, cnn.preprocess, test[0])
        c_t, c_u = centred_cosine(k_t, p_t), centred_cosine(k_u, p_u)
        inked = _inked_patches(test[0], N_RANDOM * len(k_t), rng)  # (C·N_RANDOM, k, k)
        c_r = centred_cosine(np.repeat(k_t, N_RANDOM, axis=0), inked)
        acc.append(cnn.accuracy)
        top.append(float(c_t.mean()))
        untr.append(float(c_u.mean()))
        rnd.append(float(c_r.mean()))
        diffs.append(c_t - c_u)
        sm_t.append(kernel_smoothness(k_t))
        sm_u.append(kernel_smoothness(k_u))
        if j == 0:
            first = {
                "kernels": k_t,
                "patches": p_t,
                "kernels_untrained": k_u,
                "patches_untrained": p_u,
                "c_t": c_t,
                "c_u": c_u,
            }
    d = np.concatenate(diffs)  # (seeds·C,) paired by kernel
    return Learned(
        channels=len(first["kernels"]),
        kernel=KERNEL,
        n_train=len(train[1]),
        n_search=len(test[1]),
        epochs=params.epochs,
        seeds=seeds,
        accuracy=[float(a) for a in acc],
        per_seed_top=top,
        per_seed_untrained=untr,
        per_seed_random=rnd,
        mean_cosine_top=float(np.mean(top)),
        std_cosine_top=_std(top),
        mean_cosine_untrained=float(np.mean(untr)),
        std_cosine_untrained=_std(untr),
        mean_cosine_random=float(np.mean(rnd)),
        std_cosine_random=_std(rnd),
        difference=float(d.mean()),
        p_value=sign_flip_test(d, seed=params.seed),
        smoothness_trained=float(np.mean(sm_t)),
        smoothness_untrained=float(np.mean(sm_u)),
        cosine_top=[float(v) for v in first["c_t"]],
        cosine_top_untrained=[float(v) for v in first["c_u"]],
        kernels=first["kernels"],
        patches=first["patches"],
        kernels_untrained=first["kernels_untrained"],
        patches_untrained=first["patches_untrained"],
    )


def _std(values: list[float]) -> float:
    from cnnlab.lab.stats import spread

    return spread(values).std


__all__ = ["_top_patches", "_inked_patches", "_learned"]
