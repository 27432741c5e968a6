"""Hypothesis strategies shared by the engine tests: small, always-valid sliding-op settings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st


@dataclass(frozen=True)
class ConvCase:
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] | str
    dilation: tuple[int, ...]
    bias: bool
    seed: int

    def arrays(self, dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        rng = np.random.default_rng(self.seed)
        x = rng.standard_normal(self.x_shape).astype(dtype)
        w = rng.standard_normal(self.w_shape).astype(dtype)
        b = rng.standard_normal(self.w_shape[0]).astype(dtype) if self.bias else None
        return x, w, b


@st.composite
def conv_cases(draw: st.DrawFn, dims: int = 2) -> ConvCase:
    """A valid conv configuration: the dilated kernel always fits the padded input."""
    n, c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    same = draw(st.booleans()) and draw(st.booleans())  # 'same' in about a quarter of the cases
    if same:
        stride: tuple[int, ...] = (1,) * dims
        padding: tuple[int, ...] | str = "same"
        size = tuple(draw(st.integers(1, 8)) for _ in range(dims))
    else:
        stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
        padding = tuple(draw(st.integers(0, 3)) for _ in range(dims))
        spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
        size = tuple(
            draw(st.integers(max(1, s - 2 * p), max(1, s - 2 * p) + 7))
            for s, p in zip(spans, padding)
        )
    return ConvCase(
        x_shape=(n, c_in, *size),
        w_shape=(c_out, c_in, *kernel),
        stride=stride,
        padding=padding,
        dilation=dilation,
        bias=draw(st.booleans()),
        seed=draw(st.integers(0, 2**31 - 1)),
    )


@dataclass(frozen=True)
class PoolCase:
    x_shape: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...] | None
    padding: tuple[int, ...]
    seed: int

    def array(self, dtype: type = np.float64) -> np.ndarray:
        return np.random.default_rng(self.seed).standard_normal(self.x_shape).astype(dtype)


@st.composite
def pool_cases(draw: st.DrawFn, dims: int = 2) -> PoolCase:
    """A valid pooling configuration (padding <= kernel // 2, window fits)."""
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    stride = None if draw(st.booleans()) else tuple(draw(st.integers(1, 3)) for _ in range(dims))
    size = tuple(draw(st.integers(max(1, k - 2 * p), 9)) for k, p in zip(kernel, padding))
    return PoolCase(
        x_shape=(draw(st.integers(1, 2)), draw(st.integers(1, 3)), *size),
        kernel=kernel,
        stride=stride,
        padding=padding,
        seed=draw(st.integers(0, 2**31 - 1)),
    )
