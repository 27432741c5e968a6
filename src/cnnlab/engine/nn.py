"""Torch-like layers over the functional engine: enough to build and train a LeNet-style CNN.

Each layer keeps what its backward needs from the forward (the input) and calls the explicit
backward function of its op — the chain rule reads top to bottom in :meth:`Sequential.backward`::

    net = Sequential(Conv2d(1, 6, 5, padding=2), ReLU(), MaxPool2d(2), Flatten(), Linear(1176, 10))
    opt = SGD(net.parameters(), lr=0.1)
    logits = net(x)                                  # (N, 10)
    loss = CrossEntropyLoss()
    value = loss(logits, y)
    opt.zero_grad()
    net.backward(loss.backward())                    # fills every Parameter.grad
    opt.step()

Names follow PyTorch (``parameters()``, ``zero_grad()``, ``weight``/``bias``, ``SGD(lr, momentum,
weight_decay)``); initialisation is PyTorch's default (Kaiming-uniform with ``a=sqrt(5)``, i.e.
``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for weight and bias), drawn from a ``numpy.random.Generator``
passed in as ``rng`` so that runs are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from cnnlab.engine import activation, conv, dense, loss, pool
from cnnlab.engine.windows import Padding
from cnnlab.errors import ConfigError


@dataclass(eq=False)
class Parameter:
    """A learnable array and its gradient (``grad`` is ``None`` until a backward pass)."""

    data: np.ndarray
    grad: np.ndarray | None = field(default=None)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape


def _uniform(
    rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, dtype: np.dtype
) -> np.ndarray:
    # PyTorch's default: kaiming_uniform_(a=sqrt(5)) gives bound 1/sqrt(fan_in); so does the bias.
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


class Module:
    """Base layer: ``forward``/``backward`` plus PyTorch's parameter bookkeeping."""

    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(
        self, grad_out: np.ndarray, input_grad: bool = True
    ) -> np.ndarray | None:  # pragma: no cover
        """Fill the parameters' ``grad``; return ``dL/dx`` (None when ``input_grad`` is False)."""
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """``(name, Parameter)`` pairs with PyTorch's dotted names (``0.weight``, ``0.bias``, …)."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield name, value

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def _saved(self, name: str) -> np.ndarray:
        saved: np.ndarray | None = getattr(self, name, None)
        if saved is None:
            raise ConfigError("engine.no_grad", layer=type(self).__name__)
        return saved


class Conv2d(Module):
    """``weight (out_channels, in_channels, kH, kW)``, ``bias (out_channels,)`` — ``nn.Conv2d``."""

    # the functional pair this layer wraps (Conv1d swaps them)
    _op: Callable[..., np.ndarray] = staticmethod(conv.conv2d)
    _op_backward: Callable[..., tuple[np.ndarray | None, np.ndarray, np.ndarray]] = staticmethod(
        conv.conv2d_backward
    )

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: Padding = 0,
        dilation: int | tuple[int, int] = 1,
        bias: bool = True,
        rng: np.random.Generator | None = None,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        rng = rng if rng is not None else np.random.default_rng()
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        fan_in = in_channels * kh * kw
        self.weight = Parameter(
            _uniform(rng, (out_channels, in_channels, kh, kw), fan_in, np.dtype(dtype))
        )
        self.bias = (
            Parameter(_uniform(rng, (out_channels,), fan_in, np.dtype(dtype))) if bias else None
        )
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self._x: np.ndarray | None = None
        self._windows: np.ndarray | None = None  # the forward's window matrix, if it kept one

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        b = self.bias.data if self.bias is not None else None
        args = (self.stride, self.padding, self.dilation)
        if self._op is conv.conv2d:
            # Keep the window matrix when the forward built a whole one: the backward reuses it.
            out, self._windows = conv.conv2d_with_windows(x, self.weight.data, b, *args)
            return out
        return self._op(x, self.weight.data, b, *args)

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x, w, args = self._saved("_x"), self.weight.data, (self.stride, self.padding, self.dilation)
        if self._op is conv.conv2d:
            dx, dw, db = conv.conv2d_backward(
                grad_out, x, w, *args, input_grad, windows=self._windows
            )
        else:
            dx, dw, db = self._op_backward(grad_out, x, w, *args, input_grad)
        _accumulate(self.weight, dw)
        if self.bias is not None:
            _accumulate(self.bias, db)
        return dx


class Conv1d(Conv2d):
    """``weight (out_channels, in_channels, k)`` — ``nn.Conv1d``; input ``(N, C_in, L)``."""

    _op = staticmethod(conv.conv1d)
    _op_backward = staticmethod(conv.conv1d_backward)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: Padding = 0,
        dilation: int = 1,
        bias: bool = True,
        rng: np.random.Generator | None = None,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        super().__init__(in_channels, out_channels, (1, kernel_size), 1, 0, 1, bias, rng, dtype)
        self.weight.data = self.weight.data[:, :, 0, :].copy()  # (C_out, C_in, k)
        self.stride, self.padding, self.dilation = stride, padding, dilation


class Linear(Module):
    """``weight (out_features, in_features)``, ``bias (out_features,)`` — ``nn.Linear``."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rng: np.random.Generator | None = None,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        rng = rng if rng is not None else np.random.default_rng()
        self.weight = Parameter(
            _uniform(rng, (out_features, in_features), in_features, np.dtype(dtype))
        )
        self.bias = (
            Parameter(_uniform(rng, (out_features,), in_features, np.dtype(dtype)))
            if bias
            else None
        )
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return dense.linear(x, self.weight.data, self.bias.data if self.bias is not None else None)

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        dx, dw, db = dense.linear_backward(grad_out, self._saved("_x"), self.weight.data)
        _accumulate(self.weight, dw)
        if self.bias is not None:
            _accumulate(self.bias, db)
        return dx


class ReLU(Module):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return activation.relu(x)

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return activation.relu_backward(grad_out, self._saved("_x"))


class _Pool(Module):
    """A pooling layer: ``_op`` / ``_op_backward`` are the functional pair it wraps."""

    _op = staticmethod(pool.max_pool2d)
    _op_backward = staticmethod(pool.max_pool2d_backward)

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int = 0,
    ) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return self._op(x, self.kernel_size, self.stride, self.padding)

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return self._op_backward(
            grad_out, self._saved("_x"), self.kernel_size, self.stride, self.padding
        )


class MaxPool2d(_Pool):
    """``nn.MaxPool2d(kernel_size, stride=None, padding=0)``."""


class AvgPool2d(_Pool):
    """``nn.AvgPool2d(kernel_size, stride=None, padding=0)`` (``count_include_pad=True``)."""

    _op = staticmethod(pool.avg_pool2d)
    _op_backward = staticmethod(pool.avg_pool2d_backward)


class MaxPool1d(_Pool):
    """``nn.MaxPool1d(kernel_size, stride=None, padding=0)``; input ``(N, C, L)``."""

    _op = staticmethod(pool.max_pool1d)
    _op_backward = staticmethod(pool.max_pool1d_backward)


class AvgPool1d(_Pool):
    """``nn.AvgPool1d(kernel_size, stride=None, padding=0)``; input ``(N, C, L)``."""

    _op = staticmethod(pool.avg_pool1d)
    _op_backward = staticmethod(pool.avg_pool1d_backward)


class Flatten(Module):
    """``(N, C, H, W)`` → ``(N, C*H*W)`` — ``nn.Flatten()``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._shape = x.shape
        return dense.flatten(x)

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        if getattr(self, "_shape", None) is None:
            raise ConfigError("engine.no_grad", layer="Flatten")
        return dense.flatten_backward(grad_out, self._shape)


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse (the chain rule)."""

    def __init__(self, *layers: Module) -> None:
        self.layers = list(layers)

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate through the layers in reverse. ``input_grad=False`` (training on data)
        lets the first layer skip the gradient for the input — for LeNet's first conv, the most
        expensive part of its backward."""
        grad: np.ndarray | None = grad_out
        for i in reversed(range(len(self.layers))):
            if grad is None:  # only layer 0 may skip its input gradient: the loop is over
                break
            grad = self.layers[i].backward(grad, input_grad=input_grad or i > 0)
        return grad

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for i, layer in enumerate(self.layers):
            for name, p in layer.named_parameters():
                yield f"{i}.{name}", p


class CrossEntropyLoss:
    """``nn.CrossEntropyLoss()`` (mean over the batch); ``backward()`` returns ``dL/dlogits``."""

    def __call__(self, logits: np.ndarray, target: np.ndarray) -> float:
        self._logits, self._target = logits, target
        return float(loss.cross_entropy(logits, target))

    def backward(self) -> np.ndarray:
        if getattr(self, "_logits", None) is None:
            raise ConfigError("engine.no_grad", layer="CrossEntropyLoss")
        return loss.cross_entropy_backward(self._logits, self._target)


def _accumulate(p: Parameter, grad: np.ndarray) -> None:
    # Gradients add up across backward calls until zero_grad(), as in PyTorch.
    grad = grad.astype(p.data.dtype, copy=False)
    p.grad = grad if p.grad is None else p.grad + grad


class SGD:
    """``torch.optim.SGD(params, lr, momentum=0, weight_decay=0)`` with PyTorch's update rule::

    g = grad + weight_decay * w
    v = momentum * v + g        (v = g on the first step)
    w = w - lr * v
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        self.params = list(params)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self._velocity: dict[int, np.ndarray] = {}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            if self.momentum:
                v = self._velocity.get(i)
                v = g.copy() if v is None else self.momentum * v + g
                self._velocity[i] = v
                g = v
            p.data -= (self.lr * g).astype(p.data.dtype, copy=False)


def lenet5(
    rng: np.random.Generator | None = None, dtype: np.dtype | type = np.float32
) -> Sequential:
    """LeNet-5 with ReLU and max pooling for 28×28 input: ``(N, 1, 28, 28) → (N, 10)`` logits.

    Padding 2 on the first conv keeps 28×28, as LeCun's 32×32 input did. 61,706 parameters.
    """
    return Sequential(
        Conv2d(1, 6, 5, padding=2, rng=rng, dtype=dtype), ReLU(), MaxPool2d(2),  # (N, 6, 14, 14)
        Conv2d(6, 16, 5, rng=rng, dtype=dtype), ReLU(), MaxPool2d(2),           # (N, 16, 5, 5)
        Flatten(),                                                               # (N, 400)
        Linear(400, 120, rng=rng, dtype=dtype), ReLU(),
        Linear(120, 84, rng=rng, dtype=dtype), ReLU(),
        Linear(84, 10, rng=rng, dtype=dtype),
    )  # fmt: skip


__all__ = [
    "lenet5",
    "Parameter",
    "Module",
    "Conv2d",
    "Conv1d",
    "Linear",
    "ReLU",
    "MaxPool2d",
    "AvgPool2d",
    "MaxPool1d",
    "AvgPool1d",
    "Flatten",
    "Sequential",
    "CrossEntropyLoss",
    "SGD",
]
