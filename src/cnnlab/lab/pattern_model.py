"""``pattern --model SOURCE``: part 2 of the pattern experiment on a user's own first convolution.

Part 1 (a planted pattern found by correlation with a handmade kernel) does not involve a model
and runs unchanged. Part 2 takes the model's **first ``Conv2d``** as it comes — no training — and,
for every output channel, finds the window of ``n_test`` test images that drives the conv's output
(before any activation: the layers after it are the user's own) highest, and the cosine between
that window and the kernel (both centred, over input channels × kernel). The windows are cut with
``F.unfold`` using the layer's own stride, padding and dilation, so each is exactly what the kernel
multiplied.

Controls, as in the built-in part 2: the same layer re-initialised with PyTorch's default under
``seed + 1`` (the top window of *any* kernel resembles it: the by-construction baseline), the
paired difference per kernel with a sign-flip test, and the user's kernels against random windows
that contain ink. Whether the user's kernels are trained is not known from the model object: the
text says where the weights came from (:mod:`cnnlab.lab.user_model`).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.errors import ConfigError
from cnnlab.i18n import Msg
from cnnlab.lab.user_model import UserModel, first_conv
from cnnlab.progress import Progress, emit
from cnnlab.result import Message

if TYPE_CHECKING:
    import torch

MAX_SHOWN = 16  # kernels drawn (statistics use every channel)
CHUNK = 256  # test images per forward of the first conv


def _search(conv: Any, fed: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel of ``conv``: (image index, flat output position) of its largest
    output over ``fed (N, C, H, W)``."""
    import torch

    values, images, positions = [], [], []
    with torch.no_grad():
        for i in range(0, len(fed), CHUNK):
            act = conv(fed[i : i + CHUNK]).flatten(2)  # (n, C_out, L)
            value, pos = act.max(dim=2)  # (n, C_out): best per image and channel
            v, img = value.max(dim=0)  # (C_out,): best image of this chunk
            values.append(v)
            images.append(img + i)
            positions.append(pos.gather(0, img[None])[0])
    best = torch.stack(values).argmax(dim=0)  # (C_out,): the chunk holding the overall best
    pick = best[None]
    img_all = torch.stack(images).gather(0, pick)[0]
    pos_all = torch.stack(positions).gather(0, pick)[0]
    return img_all.numpy(), pos_all.numpy()


def _windows(conv: Any, x: torch.Tensor, imgs: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The input windows ``(K, C_in, kH, kW)`` that output positions ``pos`` of images ``imgs``
    of ``x (N, C_in, H, W)`` multiply with the kernel (the layer's stride/padding/dilation)."""
    import torch.nn.functional as F

    kh, kw = conv.kernel_size
    out = []
    for img, p in zip(imgs.tolist(), pos.tolist(), strict=True):
        cols = F.unfold(
            x[img : img + 1], (kh, kw), conv.dilation, _padding(conv), conv.stride
        )  # (1, C_in·kH·kW, L)
        out.append(cols[0, :, p].reshape(x.shape[1], kh, kw).numpy())
    return np.stack(out)


def _padding(conv: Any) -> Any:
    if isinstance(conv.padding, str):  # 'same' / 'valid' at stride 1
        if conv.padding == "valid":
            return 0
        return tuple(d * (k - 1) // 2 for k, d in zip(conv.kernel_size, conv.dilation))
    return conv.padding


def learned_user(
    user: UserModel, x: torch.Tensor, params: Any, progress: Progress | None = None
) -> Any:
    """The pattern experiment's ``Learned`` numbers for the user's first conv on ``x`` (test
    images ``(N, C, H, W)`` in [0, 1])."""
    import torch

    from cnnlab.lab.hierarchy import kernel_smoothness
    from cnnlab.lab.pattern import INK, N_RANDOM, Learned, centred_cosine, sign_flip_test

    conv = first_conv(user.model)
    if conv is None:  # load_user refuses a model without one
        raise RuntimeError(f"pattern: {user.name} has no Conv2d after load_user checked it")
    if conv.groups != 1:
        raise ConfigError("lab.pattern.user.groups", model=user.name, groups=conv.groups)
    emit(progress, "stage", stage="first conv")
    fed, _ = user.feed(x)  # (N, C', H, W) what the model sees
    raw, _ = user.feed_raw(x)  # the same windows in [0, 1], for the figure and the ink test
    control = copy.deepcopy(conv).eval()
    # seed + 1: the user's own class was built under ``seed`` (lab.user_model.load_user), so
    # ``seed`` would re-create its very initial kernels
    torch.manual_seed(params.seed + 1)
    control.reset_parameters()
    conv = conv.eval()
    results = []
    for layer in (conv, control):
        imgs, pos = _search(layer, fed)
        win = _windows(layer, fed, imgs, pos)  # (C_out, C_in, kH, kW)
        shown = _windows(layer, raw, imgs, pos)
        w = layer.weight.detach().double().numpy()
        results.append((w, win, shown, centred_cosine(w, win)))
    (w_u, _, shown_u, c_u), (w_c, _, shown_c, c_c) = results
    # random windows of the test images that contain ink: the user's kernels against them
    rng = np.random.default_rng(params.seed)
    with torch.no_grad():
        length = conv(fed[:1]).shape[-1] * conv(fed[:1]).shape[-2]
    rnd: list[float] = []
    tries = 0
    while len(rnd) < N_RANDOM * len(w_u) and tries < 50 * N_RANDOM * len(w_u):
        tries += 1
        img, p = int(rng.integers(len(x))), int(rng.integers(length))
        patch = _windows(conv, raw, np.array([img]), np.array([p]))[0]
        if patch.max() < INK:
            continue
        window = _windows(conv, fed, np.array([img]), np.array([p]))[0]
        ch = len(rnd) % len(w_u)
        rnd.append(float(centred_cosine(w_u[ch : ch + 1], window[None])[0]))
    diffs = c_u - c_c
    return Learned(
        channels=min(len(w_u), MAX_SHOWN),
        kernel=int(w_u.shape[-1]),
        n_train=0,
        n_search=len(x),
        epochs=0,
        seeds=[params.seed],
        accuracy=[float("nan")],
        per_seed_top=[float(c_u.mean())],
        per_seed_untrained=[float(c_c.mean())],
        per_seed_random=[float(np.mean(rnd)) if rnd else float("nan")],
        mean_cosine_top=float(c_u.mean()),
        std_cosine_top=float(c_u.std()),
        mean_cosine_untrained=float(c_c.mean()),
        std_cosine_untrained=float(c_c.std()),
        mean_cosine_random=float(np.mean(rnd)) if rnd else float("nan"),
        std_cosine_random=float(np.std(rnd)) if rnd else float("nan"),
        difference=float(diffs.mean()),
        p_value=sign_flip_test(diffs, seed=params.seed),
        smoothness_trained=kernel_smoothness(w_u),
        smoothness_untrained=kernel_smoothness(w_c),
        cosine_top=[float(v) for v in c_u[:MAX_SHOWN]],
        cosine_top_untrained=[float(v) for v in c_c[:MAX_SHOWN]],
        kernels=w_u.mean(1)[:MAX_SHOWN].astype(np.float32),  # (C, kH, kW) mean over inputs
        patches=shown_u.mean(1)[:MAX_SHOWN].astype(np.float32),
        kernels_untrained=w_c.mean(1)[:MAX_SHOWN].astype(np.float32),
        patches_untrained=shown_c.mean(1)[:MAX_SHOWN].astype(np.float32),
        kind="user",
        n_kernels=len(w_u),
    )


def explain_learned_user(le: Any, model: dict[str, Any]) -> list[Message]:
    from cnnlab.lab.pattern import ALPHA

    out: list[Message] = [
        (
            "lab.pattern.user.learned",
            {
                "name": model["name"],
                "kind": Msg(f"lab.user.kind.{model['kind']}"),
                "weights": Msg(
                    "lab.user.weights.trained" if model["trained"] else "lab.user.weights.init"
                ),
                "n": le.n_kernels,
                "k": le.kernel,
                "search": le.n_search,
            },
        ),
        ("lab.user.feed_standardised" if model["standardised"] else "lab.user.feed_raw", {}),
        (
            "lab.pattern.user.cosines",
            {
                "top": le.mean_cosine_top,
                "top_std": le.std_cosine_top,
                "control": le.mean_cosine_untrained,
                "control_std": le.std_cosine_untrained,
                "rnd": le.mean_cosine_random,
                "rnd_std": le.std_cosine_random,
            },
        ),
    ]
    if le.p_value >= ALPHA:
        key = "lab.pattern.user.diff_noise"
    else:
        key = "lab.pattern.user.diff_up" if le.difference > 0 else "lab.pattern.user.diff_down"
    out += [
        (key, {"diff": le.difference, "p": le.p_value, "k": le.n_kernels}),
        ("lab.pattern.by_construction", {"untrained": le.mean_cosine_untrained}),
        (
            "lab.pattern.user.smoothness",
            {"yours": le.smoothness_trained, "control": le.smoothness_untrained},
        ),
        ("lab.pattern.user.truth", {}),
    ]
    return out


__all__ = ["learned_user", "explain_learned_user"]
