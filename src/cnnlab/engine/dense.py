"""The dense (fully connected) layer, ``linear``, and the ``flatten`` that feeds it.

(The module is not called ``linear.py`` so that ``cnnlab.engine.linear`` stays the function.)

``linear(x, weight, bias) = x @ weight.T + bias`` with PyTorch's layout: ``x (N, in_features)``,
``weight (out_features, in_features)``, ``bias (out_features,)`` (``torch.nn.Linear`` docs). Every
output sees every input — the contrast to convolution's local, shared kernel.

Backward of ``y = x W^T + b`` given ``g = dL/dy (N, out)``::

    dx = g W        (N, in)
    dW = g^T x      (out, in)
    db = sum_n g    (out,)
"""

from __future__ import annotations

import numpy as np

from cnnlab.engine.windows import check_float, check_ndim
from cnnlab.errors import ShapeError


def _check(x: np.ndarray, weight: np.ndarray) -> None:
    check_ndim("linear", "weight", weight, 2, "(out_features, in_features)")
    check_float("input", x)
    check_float("weight", weight)
    if x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(
            "engine.features_mismatch",
            op="linear",
            got=x.shape[-1] if x.ndim else 0,
            expected=weight.shape[1],
            x_shape=tuple(x.shape),
            w_shape=tuple(weight.shape),
        )


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """``(N, in_features)`` → ``(N, out_features)``, as ``torch.nn.functional.linear``."""
    _check(x, weight)
    out: np.ndarray = x @ weight.T
    if bias is not None:
        out += bias
    return out


def linear_backward(
    grad_out: np.ndarray, x: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dx (N, in), dweight (out, in), dbias (out,))`` given ``grad_out (N, out)``."""
    _check(x, weight)
    return grad_out @ weight, grad_out.T @ x, grad_out.sum(axis=0)


def flatten(x: np.ndarray, start_dim: int = 1) -> np.ndarray:
    """``(N, C, H, W)`` → ``(N, C*H*W)`` (``torch.flatten(x, 1)``): the bridge from feature maps to
    the fully connected layers. The backward is a reshape back to ``x.shape``."""
    return x.reshape(*x.shape[:start_dim], -1)


def flatten_backward(grad_out: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    """The gradient of :func:`flatten`: ``grad_out`` reshaped to the input's shape."""
    return grad_out.reshape(x_shape)


__all__ = ["linear", "linear_backward", "flatten", "flatten_backward"]
