"""The lab's statistics against SciPy-free closed forms and hand-countable cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnlab.lab.stats import mcnemar, paired_bootstrap, spread


def test_spread_matches_numpy() -> None:
    s = spread([0.9, 0.92, 0.94])
    assert s.mean == pytest.approx(0.92) and s.std == pytest.approx(0.02)
    assert (s.low, s.high, s.n) == (0.9, 0.94, 3)
    assert spread([0.5]).std == 0.0


def test_mcnemar_exact_binomial() -> None:
    # 10 discordant images, 8 to 2: p = 2 * P[Bin(10, .5) <= 2] = 2 * 56 / 1024
    a = np.array([True] * 8 + [False] * 2 + [True] * 50)
    b = np.array([False] * 8 + [True] * 2 + [True] * 50)
    res = mcnemar(a, b)
    assert (res.a_only, res.b_only, res.n) == (8, 2, 60)
    assert res.p_value == pytest.approx(2 * (1 + 10 + 45) / 1024)
    assert not res.significant
    assert mcnemar(a, a).p_value == 1.0
    big = mcnemar([True] * 30 + [False] * 70, [False] * 30 + [False] * 70)
    assert big.p_value == pytest.approx(2 * 0.5**30) and big.significant
    with pytest.raises(ValueError, match="two equal 1-D vectors"):
        mcnemar([True], [True, False])


def test_mcnemar_symmetric() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random(200) < 0.8, rng.random(200) < 0.7
    assert math.isclose(mcnemar(a, b).p_value, mcnemar(b, a).p_value)


def test_paired_bootstrap_covers_the_difference() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.random(1000) < 0.9, rng.random(1000) < 0.8
    low, high = paired_bootstrap(a, b)
    assert low < a.mean() - b.mean() < high
    assert paired_bootstrap(a, a) == (0.0, 0.0)


def test_mcnemar_many_discordant_images() -> None:
    a = np.array([True] * 1600 + [False] * 1400)
    res = mcnemar(a, ~a)  # 3,000 discordant images: 2.0**3000 overflows a float
    assert (res.a_only, res.b_only) == (1600, 1400)
    assert 0 < res.p_value < 0.001
