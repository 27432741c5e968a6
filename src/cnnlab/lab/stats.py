"""Spread over seeds and paired tests: what every accuracy comparison in the lab reports.

- :func:`spread` — mean, sample standard deviation, min and max of one number over seeds.
- :func:`mcnemar` — the exact McNemar test for two classifiers scored on the *same* test images:
  only the discordant images count (``b``: A right and B wrong, ``c``: A wrong and B right); under
  "no difference" each discordant image goes either way with probability 1/2, so
  ``p = min(1, 2 · P[Binomial(b + c, 1/2) ≤ min(b, c)])`` (McNemar 1947; exact form as in
  Dietterich 1998, "Approximate statistical tests for comparing supervised classification learning
  algorithms").
- :func:`paired_bootstrap` — a percentile confidence interval of ``acc(A) - acc(B)`` resampling test
  images (both models scored on each resample).

Verdicts use :data:`ALPHA`: a difference is "within noise" when ``p ≥ ALPHA``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05  # the usual 5 % level; the lab reports p, so a reader can apply another


@dataclass(frozen=True)
class Spread:
    """One number over seeds: ``mean ± std`` (sample std, ddof=1; 0 for one seed), min, max, n."""

    mean: float
    std: float
    low: float
    high: float
    n: int


def spread(values: Sequence[float]) -> Spread:
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("spread of no values")
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return Spread(float(arr.mean()), std, float(arr.min()), float(arr.max()), int(arr.size))


@dataclass(frozen=True)
class Paired:
    """McNemar's exact test of two classifiers on the same images."""

    a_only: int  # images A classifies right and B wrong
    b_only: int  # images B classifies right and A wrong
    p_value: float
    n: int  # test images

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def mcnemar(
    correct_a: Sequence[bool] | np.ndarray, correct_b: Sequence[bool] | np.ndarray
) -> Paired:
    """Exact two-sided McNemar test; ``correct_*`` are per-image booleans on the same images."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired test needs two equal 1-D vectors, got {a.shape} and {b.shape}")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    m, k = a_only + b_only, min(a_only, b_only)
    if m == 0:
        return Paired(a_only, b_only, 1.0, int(a.size))
    tail = sum(math.comb(m, i) for i in range(k + 1)) / 2**m  # exact ints: no overflow for big m
    return Paired(a_only, b_only, min(1.0, 2.0 * tail), int(a.size))


def paired_bootstrap(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of ``mean(correct_a) - mean(correct_b)`` over resampled test images."""
    a = np.asarray(correct_a, dtype=float)
    b = np.asarray(correct_b, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, a.size, size=(n_boot, a.size))  # (n_boot, N) resampled image indices
    diffs = a[idx].mean(1) - b[idx].mean(1)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(diffs, [tail, 100.0 - tail])
    return float(low), float(high)


__all__ = ["ALPHA", "Spread", "spread", "Paired", "mcnemar", "paired_bootstrap"]
