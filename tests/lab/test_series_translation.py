"""series-translation: shifts (circular and zero-fill), the MLP control's permutation argument, the
shuffled twin's property, and paired tests that agree with the accuracies they compare."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab import lab
from cnnlab.data import get_dataset
from cnnlab.errors import ConfigError
from cnnlab.lab.series_translation import (
    DATASETS,
    RECIPES,
    _verdict,
    p_text,
    shift_each,
    shift_series,
)
from cnnlab.lab.stats import ALPHA
from cnnlab.models import build

QUICK = {"n_train": 500, "n_test": 150, "epochs": 2, "seeds": 2, "max_shift": 2}


@pytest.fixture(scope="module")
def quick():
    return lab.run("series-translation", **QUICK)


def test_shift_roll_and_zero_fill() -> None:
    x = torch.arange(1.0, 7.0).view(1, 1, 1, 6)  # (N, C, 1, L)
    assert torch.equal(shift_series(x, 2, "roll"), torch.roll(x, 2, -1))
    assert shift_series(x, 2, "zero")[0, 0, 0].tolist() == [0, 0, 1, 2, 3, 4]
    assert shift_series(x, -2, "zero")[0, 0, 0].tolist() == [3, 4, 5, 6, 0, 0]
    assert torch.equal(shift_series(x, 0, "zero"), x)
    both = torch.cat([x, x])
    out = shift_each(both, 1, "roll", np.array([1, -1]))
    assert out[0, 0, 0].tolist() == [6, 1, 2, 3, 4, 5]
    assert out[1, 0, 0].tolist() == [2, 3, 4, 5, 6, 1]


def test_shuffled_twin_is_a_fixed_permutation() -> None:
    # the property the control rests on: the same values and labels, positions permuted once
    a, b = (get_dataset(name, train=False) for name in DATASETS)
    assert np.array_equal(a.labels, b.labels)
    x, y = a.series[:, 0], b.series[:, 0]  # (N, L)
    perm = [int(np.flatnonzero(np.isclose(x[0], v))[0]) for v in y[0]]
    assert sorted(perm) == list(range(x.shape[1]))
    assert np.array_equal(x[:, perm], y) and not np.array_equal(x, y)


def test_mlp_is_blind_to_a_permutation() -> None:
    # an MLP with its first layer's columns permuted computes the same function on permuted inputs
    torch.manual_seed(0)
    name, kw = RECIPES["mlp"]
    mlp = build(name, in_channels=1, num_classes=10, length=40, **kw).eval()
    perm = torch.randperm(40)
    twin = build(name, in_channels=1, num_classes=10, length=40, **kw).eval()
    twin.load_state_dict(mlp.state_dict())
    first = next(m for m in twin.modules() if isinstance(m, torch.nn.Linear))
    with torch.no_grad():
        first.weight.copy_(first.weight[:, perm].clone())
    x = torch.randn(8, 1, 1, 40)
    with torch.no_grad():
        assert torch.allclose(mlp(x), twin(x[..., perm]), atol=1e-5)


def test_quick_run_numbers_agree(quick) -> None:
    n = quick.data
    assert n.seeds == 2 and n.shifts == [0, 1, 2] and n.shift_mode == "roll"
    assert set(n.accuracy) == {f"{m}@{d}" for m in ("cnn", "mlp") for d in DATASETS}
    for c in n.comparisons:
        # pooled over seeds with the same n per seed: mean accuracy difference = (b - c) / (seeds·N)
        diff = (c.test.a_only - c.test.b_only) / c.test.n
        assert c.accuracy_a.mean - c.accuracy_b.mean == pytest.approx(diff)
        assert c.test.n == n.seeds * n.n_test
    # shift 0 is the unshifted test set: the curve starts at the fitted accuracy
    for m in ("cnn", "mlp"):
        assert n.accuracy_vs_shift[m][0] == pytest.approx(n.accuracy[f"{m}@mnist1d"].mean)
    key, values = _verdict(n)
    orig = n.comparisons[0]
    first = "tie" if orig.test.p_value >= ALPHA else None
    assert first is None or key.split(".")[-1].startswith("tie_")
    assert values["p0"] == p_text(orig.test.p_value)
    assert any(k == key for k, _ in quick.messages)


def test_p_text() -> None:
    assert p_text(0.0) == "< 1e-300" and p_text(0.2134) == "= 0.21"


def test_bad_params() -> None:
    with pytest.raises(ConfigError, match=r"shift_mode = 'wrap' is not valid. Valid: roll, zero"):
        lab.run("series-translation", shift_mode="wrap")
    with pytest.raises(ConfigError, match=r"n_train = 5000 is out of range; valid: 10\.\.4000"):
        lab.run("series-translation", n_train=5000)
