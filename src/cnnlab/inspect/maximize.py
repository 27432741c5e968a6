"""What a filter wants to see: activation maximisation by gradient ascent on the input.

Start from faint noise and repeatedly change the *input* (the weights stay fixed) in the direction
that raises one channel's activation (Erhan et al. 2009; Olah, Mordvintsev & Schubert, "Feature
Visualization", Distill 2017)::

    x ← clip(x + lr · g / max|g|),   g = blur(∇ₓ a(jitter(x)))

- ``a`` is channel ``c`` of the layer at the **centre unit** of its map (``objective="centre"``,
  default: the result lines up with the top patches, which are also one unit's field) or the mean
  over the map (``"mean"``); for a flat output ``(N, F)`` (a ``Linear``, the logits) it is feature
  ``c`` itself — "what the net wants to see for class c";
- **jitter**: each step sees the image rolled by a random shift of up to ``jitter`` pixels, so
  patterns that work only at one exact pixel offset (the high-frequency noise plain ascent finds)
  stop paying off;
- **blur** (a frequency penalty): the gradient is smoothed with a Gaussian of ``blur`` pixels before
  each step, and the image itself every ``blur_every`` steps — high frequencies are damped;
- a monotone activation (ReLU, …) is climbed through its input: a ReLU at 0 has no gradient;
- the step is normalised by the gradient's largest magnitude, so no pixel moves more than ``lr``
  per step (the scale of activations varies by orders of magnitude between layers), and the image
  stays in the data's range ``value_range``;
- the last eighth of the steps has neither jitter nor image blur, so the result settles.

Randomness (start noise and jitter) comes from ``seed`` only: the same call gives the same image.
The control is built in: the same channel on ``n_random`` noise images of the full range — the
result reports the optimised activation as a ratio to their mean and to their maximum, and as a
z-score.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.errors import ConfigError
from cnnlab.inspect.feature_maps import find_module, layer_output
from cnnlab.inspect.patches import UnitField, check_channels

if TYPE_CHECKING:
    import torch
    from torch import nn

Preprocess = Callable[[Any], Any]
OBJECTIVES = ("centre", "mean")
# Activations that never decrease: raising their input raises their output. The ascent climbs the
# input (the pre-activation), because a ReLU that is 0 at the start has gradient 0 and would never
# move; the trajectory and the control are still measured on the layer's output.
MONOTONE = ("ReLU", "ReLU6", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softplus", "Hardtanh")


@dataclass(frozen=True)
class Maximized:
    """The result of :func:`maximize`.

    image:      (C, H, W) the optimised input, in ``value_range``
    trajectory: (steps + 1,) the objective before the first step and after each step
    random:     (n_random,) the objective on uniform-noise images (the control)
    final:      the objective on ``image`` (no jitter)
    box:        the centre unit's field ``(top, bottom, left, right)`` when known (else None)
    """

    layer: str
    channel: int
    objective: str
    image: np.ndarray
    trajectory: np.ndarray
    random: np.ndarray
    final: float
    box: tuple[int, int, int, int] | None
    seed: int

    @property
    def random_max(self) -> float:
        return float(self.random.max())

    @property
    def random_mean(self) -> float:
        return float(self.random.mean())

    @property
    def ratio(self) -> float:
        """``final / mean(random)``: how many times the channel's typical response to a noise image
        the optimised input reaches (inf when noise leaves the channel at 0 or below)."""
        return self.final / self.random_mean if self.random_mean > 0 else math.inf

    @property
    def ratio_to_max(self) -> float:
        """``final / max(random)``: above 1, the optimised input beats every noise image."""
        return self.final / self.random_max if self.random_max > 0 else math.inf

    @property
    def z_score(self) -> float:
        """``(final - mean(random)) / std(random)``."""
        sd = float(self.random.std())
        return (self.final - float(self.random.mean())) / sd if sd > 0 else math.inf

    def crop(self) -> np.ndarray:
        """The image cut to ``box`` (the whole image when no box), ``(C, h, w)``."""
        from cnnlab.inspect.patches import cut

        return self.image if self.box is None else cut(self.image, self.box)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "channel": self.channel,
            "objective": self.objective,
            "final": self.final,
            "random_mean": self.random_mean,
            "random_max": self.random_max,
            "ratio": _finite(self.ratio),
            "ratio_to_max": _finite(self.ratio_to_max),
            "z_score": _finite(self.z_score),
            "trajectory": self.trajectory.round(6).tolist(),
            "box": list(self.box) if self.box else None,
            "seed": self.seed,
        }


def _finite(v: float) -> float | None:
    """JSON has no infinity: None stands for "noise never activates the channel"."""
    return v if math.isfinite(v) else None


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Depthwise Gaussian blur of ``(N, C, H, W)`` with reflect padding (``sigma`` in pixels)."""
    import torch
    import torch.nn.functional as F

    if sigma <= 0:
        return x
    radius = max(1, math.ceil(2 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    c = x.shape[1]
    pad_h, pad_w = min(radius, x.shape[2] - 1), min(radius, x.shape[3] - 1)
    kh, kw = g[radius - pad_h : radius + pad_h + 1], g[radius - pad_w : radius + pad_w + 1]
    kh, kw = kh / kh.sum(), kw / kw.sum()
    y = x
    if pad_h > 0:  # separable: rows, then columns; (C, 1, k, 1) depthwise kernels
        y = F.pad(y, (0, 0, pad_h, pad_h), mode="reflect")
        y = F.conv2d(y, kh.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    if pad_w > 0:
        y = F.pad(y, (pad_w, pad_w, 0, 0), mode="reflect")
        y = F.conv2d(y, kw.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return y


def _objective(out: torch.Tensor, channel: int, objective: str) -> torch.Tensor:
    """``(N,)``: channel ``channel`` at the centre unit, as the map mean, or a flat feature."""
    if out.ndim == 2:  # (N, F)
        return out[:, channel]
    out = out[:, channel]  # (N, *spatial)
    if objective == "mean":
        return out.flatten(1).mean(1)
    flat = out.flatten(1)  # (N, positions), row-major: the centre cell's flat index below
    centre, stride = 0, 1
    for size in reversed(out.shape[1:]):
        centre += (size // 2) * stride
        stride *= size
    return flat[:, centre]


def channel_count(model: nn.Module, layer: str, input_shape: Sequence[int]) -> int:
    """How many channels (features, for a flat output) ``layer`` has on an ``input_shape`` input."""
    import torch

    with torch.no_grad():
        out, _ = layer_output(model, torch.zeros(1, *input_shape), layer)
    return int(out.shape[1])


def maximize(
    model: nn.Module,
    layer: str,
    channel: int,
    input_shape: Sequence[int],
    steps: int = 128,
    lr: float = 0.1,
    jitter: int = 1,
    blur: float = 0.5,
    blur_every: int = 4,
    objective: str = "centre",
    value_range: tuple[float, float] = (0.0, 1.0),
    seed: int = 0,
    n_random: int = 64,
    preprocess: Preprocess | None = None,
    field: UnitField | None = None,
) -> Maximized:
    """Gradient ascent on the input to raise channel ``channel`` of ``layer`` (module docstring).

    Args:
        input_shape: ``(C, H, W)`` of one input, in the data's pixel space (before ``preprocess``).
        steps, lr: number and size of the ascent steps (lr in units of ``value_range``'s width).
        jitter: largest random shift in pixels per step (0: none).
        blur, blur_every: Gaussian sigma in pixels for the gradient (every step) and the image
            (every ``blur_every`` steps); 0 turns it off.
        objective: ``"centre"`` (the centre unit) or ``"mean"`` (the map's mean).
        value_range: the pixel range the image is kept in (``(0, 1)`` for cnnlab's datasets).
        seed: the only source of randomness (start noise, jitter, the control's noise images).
        preprocess: applied before the model (a checkpoint's standardisation).
        field: the layer's receptive field, to report the centre unit's box (``crop()``).
    """
    import torch

    find_module(model, layer)
    if objective not in OBJECTIVES:
        raise ConfigError(
            "inspect.maximize.bad_objective", value=objective, valid=", ".join(OBJECTIVES)
        )
    for name, number, minimum in (("steps", steps, 1), ("n_random", n_random, 2)):
        if isinstance(number, bool) or not isinstance(number, int) or number < minimum:
            raise ConfigError("error.min_value", name=name, value=number, minimum=minimum)
    shape = tuple(int(v) for v in input_shape)
    check_channels([channel], channel_count(model, layer, shape), layer)
    lo, hi = value_range
    width = hi - lo
    gen = torch.Generator().manual_seed(seed)
    pre = preprocess or (lambda t: t)

    climb_input = type(find_module(model, layer)).__name__ in MONOTONE

    def value(x: torch.Tensor, climb: bool = False) -> torch.Tensor:
        out, _ = layer_output(model, pre(x), layer, use_input=climb)
        return _objective(out, channel, objective)

    with torch.no_grad():
        noise = lo + width * torch.rand(n_random, *shape, generator=gen)  # (n, C, H, W)
        random = value(noise).double().numpy()
    # faint noise around the middle of the range: no pattern to start with
    x = lo + width * (0.5 + 0.05 * torch.randn(1, *shape, generator=gen))  # (1, C, H, W)
    x = x.clamp(lo, hi)
    trajectory = []
    with torch.no_grad():
        trajectory.append(float(value(x)[0]))
    settle = steps - steps // 8  # the last eighth: no jitter, no image blur — the result settles
    for step in range(steps):
        x.requires_grad_(True)
        dy, dx = (
            torch.randint(-jitter, jitter + 1, (2,), generator=gen).tolist()
            if jitter and step < settle
            else (0, 0)
        )
        shifted = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
        (grad,) = torch.autograd.grad(value(shifted, climb_input).sum(), x)  # (1, C, H, W)
        x = x.detach()
        with torch.no_grad():
            grad = gaussian_blur(grad, blur)
            scale = grad.abs().amax()  # the largest pixel step is lr: stable at any layer's scale
            if scale > 0:
                x = x + lr * width * grad / scale
            if blur > 0 and blur_every and (step + 1) % blur_every == 0 and step < settle:
                x = gaussian_blur(x, blur * (1 - step / settle))  # a blur that fades out
            x = x.clamp(lo, hi)
            trajectory.append(float(value(x)[0]))
    box = None
    if field is not None and len(shape) == 3:
        with torch.no_grad():
            out, _ = layer_output(model, pre(x), layer)
        if out.ndim == 4 and objective == "centre":
            box = field.box((out.shape[2] // 2, out.shape[3] // 2), (shape[1], shape[2]))
    return Maximized(
        layer=layer,
        channel=int(channel),
        objective=objective,
        image=x[0].numpy().astype(np.float32),
        trajectory=np.array(trajectory),
        random=random,
        final=trajectory[-1],
        box=box,
        seed=seed,
    )


__all__ = ["Maximized", "maximize", "gaussian_blur", "channel_count", "OBJECTIVES"]
