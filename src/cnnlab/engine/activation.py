"""ReLU, the nonlinearity between the layers: ``relu(x) = max(x, 0)`` element-wise.

Its derivative is 1 where ``x > 0`` and 0 elsewhere. At exactly ``x = 0`` PyTorch uses 0
(``threshold_backward``), and so do we — after max pooling of all-zero windows this choice is
visible in the gradients, so it has to match for the engine and torch to follow the same trajectory.
"""

from __future__ import annotations

import numpy as np

from cnnlab.engine.windows import check_float


def relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)`` element-wise; any shape."""
    check_float("input", x)
    out: np.ndarray = np.maximum(x, 0, dtype=x.dtype)
    return out


def relu_backward(grad_out: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``dL/dx = dL/dy * [x > 0]`` (same shape as ``x``)."""
    return grad_out * (x > 0)


__all__ = ["relu", "relu_backward"]
