"""Classification loss: ``log_softmax`` and ``cross_entropy`` (PyTorch's names and reductions).

``log_softmax(z)_k = z_k - log sum_j exp(z_j)``, computed after subtracting ``max_j z_j`` so that
``exp`` cannot overflow (the log-sum-exp trick; the shift cancels exactly).

``cross_entropy(z, y) = -log_softmax(z)[y]`` averaged over the batch (``reduction='mean'``). Its
gradient is the famous ``softmax(z) - onehot(y)`` (divided by ``N`` for the mean).
"""

from __future__ import annotations

import numpy as np

from cnnlab.engine.windows import check_float, check_ndim
from cnnlab.errors import ConfigError, ShapeError

REDUCTIONS = ("mean", "sum", "none")


def log_softmax(x: np.ndarray, dim: int = -1) -> np.ndarray:
    """``x - logsumexp(x, dim)``, numerically stable; same shape as ``x``."""
    check_float("input", x)
    shifted: np.ndarray = x - x.max(axis=dim, keepdims=True)
    out: np.ndarray = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
    return out


def log_softmax_backward(grad_out: np.ndarray, out: np.ndarray, dim: int = -1) -> np.ndarray:
    """Given ``out = log_softmax(x)``: ``dx = g - softmax(x) * sum(g, dim)``."""
    dx: np.ndarray = grad_out - np.exp(out) * grad_out.sum(axis=dim, keepdims=True)
    return dx


def _check_target(logits: np.ndarray, target: np.ndarray, reduction: str) -> None:
    check_ndim("cross_entropy", "input", logits, 2, "(N, classes)")
    if reduction not in REDUCTIONS:
        raise ConfigError("engine.reduction", value=reduction)
    n, classes = logits.shape
    target = np.asarray(target)
    bad_shape = target.shape != (n,) or not np.issubdtype(target.dtype, np.integer)
    if bad_shape or (n and (target.min() < 0 or target.max() >= classes)):
        raise ShapeError(
            "engine.target",
            n=n,
            last=classes - 1,
            shape=tuple(target.shape),
            lo=target.min() if target.size else None,
            hi=target.max() if target.size else None,
        )


def cross_entropy(logits: np.ndarray, target: np.ndarray, reduction: str = "mean") -> np.ndarray:
    """Negative log-likelihood of the target class: ``logits (N, classes)``, ``target (N,)`` int.

    Returns a 0-d array for ``'mean'``/``'sum'``, ``(N,)`` for ``'none'`` (``F.cross_entropy``).
    """
    _check_target(logits, target, reduction)
    losses: np.ndarray = -log_softmax(logits)[np.arange(logits.shape[0]), target]  # (N,)
    if reduction == "none":
        return losses
    return np.asarray(losses.mean() if reduction == "mean" else losses.sum())  # 0-d


def cross_entropy_backward(
    logits: np.ndarray,
    target: np.ndarray,
    reduction: str = "mean",
    grad_out: float | np.ndarray = 1.0,
) -> np.ndarray:
    """``dL/dlogits (N, classes) = (softmax(logits) - onehot(target)) * grad_out`` (mean: ``/ N``).

    ``grad_out`` is a scalar for ``'mean'``/``'sum'`` and ``(N,)`` for ``'none'``.
    """
    _check_target(logits, target, reduction)
    n = logits.shape[0]
    grad: np.ndarray = np.exp(log_softmax(logits))  # softmax, (N, classes)
    grad[np.arange(n), target] -= 1
    scale = np.asarray(grad_out, dtype=logits.dtype)
    if reduction == "none":
        scale = scale[:, None]  # (N, 1): one upstream gradient per row
    elif reduction == "mean":
        scale = scale / n
    out: np.ndarray = grad * scale
    return out


__all__ = ["log_softmax", "log_softmax_backward", "cross_entropy", "cross_entropy_backward"]
