"""Where the net looks: input-gradient saliency and Grad-CAM for one input.

Both explain one score ``y_t`` — the logit of class ``t`` (by default the predicted class):

- **saliency** (Simonyan, Vedaldi & Zisserman 2014): ``S[i, j] = max_c |∂ y_t / ∂ x[c, i, j]|``, how
  much a tiny change of each pixel would move the score. Pixel-sharp, often noisy.
- **Grad-CAM** (Selvaraju et al. 2017) at a spatial layer with maps ``A_k`` ``(K, h, w)``:
  ``α_k = mean_{i,j} ∂ y_t / ∂ A_k[i, j]`` (how much map ``k`` matters for the class), then
  ``CAM = ReLU(Σ_k α_k A_k)`` — ``(h, w)``, upsampled bilinearly to the image. Coarse (one cell per
  unit of that layer) but class-specific; the default layer is the last spatial module the forward
  pass calls (the last conv/activation/pool before the classifier).

Both maps are returned raw and scaled to ``[0, 1]`` by their maximum (a map that is 0 everywhere
stays 0). The model runs in eval mode and is left as it was (:func:`layer_output`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.errors import ConfigError
from cnnlab.inspect.feature_maps import feature_maps, find_module, layer_output

if TYPE_CHECKING:
    import torch
    from torch import nn

Preprocess = Callable[[Any], Any]


@dataclass(frozen=True)
class Looks:
    """Saliency and Grad-CAM of one input for class ``target``.

    image:    (C, H, W) the input as given (pixel space)
    probs:    (K,) softmax of the logits
    saliency: (H, W) ``max_c |∂ y_t / ∂ x|``, scaled to [0, 1]
    cam:      (H, W) Grad-CAM upsampled to the image, scaled to [0, 1]
    cam_raw:  (h, w) Grad-CAM at the layer's resolution, unscaled
    weights:  (K_maps,) the α_k
    """

    layer: str
    target: int
    predicted: int
    image: np.ndarray
    probs: np.ndarray
    saliency: np.ndarray
    cam: np.ndarray
    cam_raw: np.ndarray
    weights: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "target": self.target,
            "predicted": self.predicted,
            "probs": self.probs.round(6).tolist(),
            "cam_shape": list(self.cam_raw.shape),
            "cam_raw": self.cam_raw.round(6).tolist(),
            "saliency_peak": [
                int(v) for v in np.unravel_index(self.saliency.argmax(), self.saliency.shape)
            ],
            "cam_peak": [int(v) for v in np.unravel_index(self.cam.argmax(), self.cam.shape)],
        }


def _scaled(a: np.ndarray) -> np.ndarray:
    top = float(a.max()) if a.size else 0.0
    return (a / top if top > 0 else np.zeros_like(a)).astype(np.float32)


def cam_layer(model: nn.Module, x: torch.Tensor) -> str:
    """The last leaf module whose output is a spatial map ``(N, C, h, w)`` larger than 1×1 —
    Grad-CAM's default."""
    maps = [m for m in feature_maps(model, x) if m.is_spatial and m.shape[2] * m.shape[3] > 1]
    if not maps:
        raise ConfigError("inspect.attribution.no_spatial")
    return maps[-1].name


def _check_target(target: int | None, k: int) -> None:
    if target is not None and (isinstance(target, bool) or not 0 <= int(target) < k):
        raise ConfigError("inspect.attribution.bad_target", value=target, n=k, last=k - 1)


def saliency(
    model: nn.Module,
    x: torch.Tensor,
    target: int | None = None,
    preprocess: Preprocess | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(S (H, W), logits (K,))`` for one input ``x (C, H, W)`` (module docstring)."""
    import torch

    xg = x.detach().clone().unsqueeze(0).requires_grad_(True)  # (1, C, H, W)
    was = model.training
    model.eval()
    try:
        logits = model(preprocess(xg) if preprocess else xg)  # (1, K)
        _check_target(target, int(logits.shape[1]))
        t = int(logits[0].argmax()) if target is None else int(target)
        (grad,) = torch.autograd.grad(logits[0, t], xg)  # (1, C, H, W)
    finally:
        model.train(was)
    return grad[0].abs().amax(dim=0).numpy(), logits[0].detach().numpy()


def grad_cam(
    model: nn.Module,
    x: torch.Tensor,
    layer: str | None = None,
    target: int | None = None,
    preprocess: Preprocess | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """``(CAM (H, W) upsampled, CAM (h, w), α (K_maps,), layer)`` for one input ``x (C, H, W)``."""
    import torch
    import torch.nn.functional as F

    xb = x.detach().unsqueeze(0)  # (1, C, H, W)
    xin = preprocess(xb) if preprocess else xb
    if layer is None:
        with torch.no_grad():
            layer = cam_layer(model, xin)
    find_module(model, layer)
    with torch.enable_grad():
        maps, logits = layer_output(model, xin, layer, stop=False)
        if maps.ndim != 4:
            raise ConfigError("inspect.patches.not_spatial", name=layer, shape=tuple(maps.shape))
        if logits is None:  # stop=False runs the whole forward pass
            raise RuntimeError("attribution: the full forward pass returned no logits")
        _check_target(target, int(logits.shape[1]))
        t = int(logits[0].argmax()) if target is None else int(target)
        (grad,) = torch.autograd.grad(logits[0, t], maps)  # (1, K, h, w)
    alpha = grad[0].mean(dim=(1, 2))  # (K,)
    cam = torch.relu((alpha[:, None, None] * maps[0].detach()).sum(0))  # (h, w)
    up = F.interpolate(
        cam[None, None], size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False
    )
    return up[0, 0].numpy(), cam.numpy(), alpha.numpy(), layer


def where_looks(
    model: nn.Module,
    x: torch.Tensor,
    layer: str | None = None,
    target: int | None = None,
    preprocess: Preprocess | None = None,
) -> Looks:
    """Saliency and Grad-CAM of ``x (C, H, W)`` for ``target`` (None: the predicted class)."""
    import torch

    if x.ndim != 3:
        raise ConfigError("inspect.patches.not_image", shape=tuple(x.shape))
    sal, logits = saliency(model, x, target, preprocess)
    predicted = int(logits.argmax())
    t = predicted if target is None else int(target)
    cam, raw, alpha, layer = grad_cam(model, x, layer, t, preprocess)
    probs = torch.softmax(torch.from_numpy(logits).double(), 0).numpy()
    return Looks(
        layer=layer,
        target=t,
        predicted=predicted,
        image=x.detach().numpy(),
        probs=probs,
        saliency=_scaled(sal),
        cam=_scaled(np.maximum(cam, 0)),
        cam_raw=raw,
        weights=alpha,
    )


__all__ = ["Looks", "saliency", "grad_cam", "where_looks", "cam_layer"]
