"""A from-scratch NumPy CNN engine with PyTorch's names, argument order and weight layouts.

"Slide the kernel, multiply overlapping elements, add them up" — done literally in
:mod:`~cnnlab.engine.reference` and :mod:`~cnnlab.engine.trace` (every output cell explained), and
fast (im2col + BLAS) in :mod:`~cnnlab.engine.conv`. Each op has an explicit backward function
returning the gradients; :mod:`~cnnlab.engine.nn` stacks them into torch-like layers with
``parameters()``, ``zero_grad()`` and an ``SGD`` optimizer.

Functional API (``x`` is ``(N, C, H, W)`` or ``(N, C, L)``; float32 or float64)::

    conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1)  conv2d_backward(g, x, w, ...)
    conv1d(...)                                                    conv1d_backward(...)
    max_pool2d(x, kernel_size, stride=None, padding=0)             max_pool2d_backward(g, x, ...)
    avg_pool2d / max_pool1d / avg_pool1d                           ..._backward
    relu(x)                                                        relu_backward(g, x)
    linear(x, weight, bias=None)                                   linear_backward(g, x, weight)
    flatten(x, start_dim=1)                                        flatten_backward(g, x_shape)
    log_softmax(x, dim=-1)                                         log_softmax_backward(g, out)
    cross_entropy(logits, target)                                  cross_entropy_backward(logits, y)

The ops never import torch; :func:`cnnlab.engine.torch_twin.to_torch` builds the PyTorch twin of a
network (same layers and weights) for checking the engine against it.
"""

from cnnlab.engine.activation import relu, relu_backward
from cnnlab.engine.conv import conv1d, conv1d_backward, conv2d, conv2d_backward
from cnnlab.engine.dense import flatten, flatten_backward, linear, linear_backward
from cnnlab.engine.loss import (
    cross_entropy,
    cross_entropy_backward,
    log_softmax,
    log_softmax_backward,
)
from cnnlab.engine.pool import (
    avg_pool1d,
    avg_pool1d_backward,
    avg_pool2d,
    avg_pool2d_backward,
    max_pool1d,
    max_pool1d_backward,
    max_pool2d,
    max_pool2d_backward,
)
from cnnlab.engine.trace import (
    ConvStep,
    ConvTrace,
    PoolStep,
    PoolTrace,
    trace_conv1d,
    trace_conv2d,
    trace_pool1d,
    trace_pool2d,
)

__all__ = [
    "conv2d",
    "conv2d_backward",
    "conv1d",
    "conv1d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "max_pool1d",
    "max_pool1d_backward",
    "avg_pool1d",
    "avg_pool1d_backward",
    "relu",
    "relu_backward",
    "linear",
    "linear_backward",
    "flatten",
    "flatten_backward",
    "log_softmax",
    "log_softmax_backward",
    "cross_entropy",
    "cross_entropy_backward",
    "trace_conv2d",
    "trace_conv1d",
    "trace_pool2d",
    "trace_pool1d",
    "ConvTrace",
    "ConvStep",
    "PoolTrace",
    "PoolStep",
]
