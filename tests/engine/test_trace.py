"""Trace: every step's products sum (plus bias) to the output cell; conv and pool, 1-D and 2-D."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from cnnlab import engine as E
from cnnlab.errors import ConfigError

from ._strategies import ConvCase, PoolCase, conv_cases, pool_cases


@settings(max_examples=20, deadline=None)
@given(conv_cases(dims=2))
def test_conv2d_trace_sums_to_output(case: ConvCase) -> None:
    x, w, b = case.arrays()
    trace = E.trace_conv2d(x, w, b, case.stride, case.padding, case.dilation)
    fast = E.conv2d(x, w, b, case.stride, case.padding, case.dilation)
    assert trace.shape == fast.shape and len(trace) == fast.size
    np.testing.assert_allclose(trace.output, fast, rtol=1e-12, atol=1e-12)
    for step in trace:
        assert step.products.sum() == pytest.approx(step.total, abs=1e-12)
        assert step.total + step.bias == step.value
        assert step.value == pytest.approx(fast[step.position], abs=1e-10)
        # cells marked as padding hold zeros and point outside the input
        assert np.all(step.window[:, step.is_padding] == 0)


@settings(max_examples=15, deadline=None)
@given(conv_cases(dims=1))
def test_conv1d_trace_sums_to_output(case: ConvCase) -> None:
    x, w, b = case.arrays()
    pad = case.padding if isinstance(case.padding, str) else case.padding[0]
    trace = E.trace_conv1d(x, w, b, case.stride[0], pad, case.dilation[0])
    fast = E.conv1d(x, w, b, case.stride[0], pad, case.dilation[0])
    assert trace.shape == fast.shape
    for step in trace:
        assert len(step.position) == 3 and step.window.shape == w.shape[1:]
        assert step.value == pytest.approx(fast[step.position], abs=1e-10)


@pytest.mark.parametrize("op", ["max", "avg"])
@settings(max_examples=15, deadline=None)
@given(case=pool_cases(dims=2))
def test_pool_trace_matches_output(op: str, case: PoolCase) -> None:
    x = case.array()
    trace = E.trace_pool2d(x, case.kernel, case.stride, case.padding, op)
    fast = (E.max_pool2d if op == "max" else E.avg_pool2d)(
        x, case.kernel, case.stride, case.padding
    )
    np.testing.assert_allclose(trace.output, fast, rtol=1e-12)
    for step in trace:
        assert step.value == pytest.approx(fast[step.position], abs=1e-12)
        if op == "max":
            assert step.window[step.winner] == step.value


def test_worked_example_from_the_lecture() -> None:
    """5×5 input 0..24, 3×3 all-ones kernel, padding 1: the corner sees 4 real cells, 5 padding."""
    x = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)
    w = np.ones((1, 1, 3, 3))
    step = E.trace_conv2d(x, w, padding=1).at(0, 0, 0, 0)
    assert step.is_padding.sum() == 5
    assert list(step.rows) == [-1, 0, 1] and list(step.cols) == [-1, 0, 1]
    assert step.value == 0 + 1 + 5 + 6
    centre = E.trace_conv2d(x, w).at(0, 0, 1, 1)  # no padding: 3×3 output, centre window 6..18
    assert centre.value == sum([6, 7, 8, 11, 12, 13, 16, 17, 18])


def test_pool1d_trace_positions() -> None:
    x = np.array([[[1.0, 5.0, 2.0, 2.0, 9.0, 0.0]]])
    steps = list(E.trace_pool1d(x, 2))
    assert [s.value for s in steps] == [5.0, 2.0, 9.0]
    assert [s.winner for s in steps] == [(1,), (0,), (0,)]


def test_trace_position_out_of_range() -> None:
    trace = E.trace_conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(
        ConfigError, match=r"position \(0, 0, 3, 0\) is outside the output of shape \(1, 1, 3, 3\)"
    ):
        trace.at(0, 0, 3, 0)
    with pytest.raises(ConfigError, match="pooling op 'min' is not valid"):
        E.trace_pool2d(np.zeros((1, 1, 4, 4)), 2, op="min")


def test_steps_are_json_able() -> None:
    import json

    x = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)
    step = E.trace_conv2d(x, np.ones((1, 1, 2, 2)), padding=1).at(0, 0, 0, 0)
    data = json.loads(json.dumps(step.to_dict()))
    assert data["window"] == [[[0.0, 0.0], [0.0, 0.0]]] and data["value"] == 0.0
    assert data["is_padding"] == [[True, True], [True, False]]
    pool = json.loads(json.dumps(E.trace_pool2d(x, 2, 1).at(0, 0, 1, 1).to_dict()))
    assert pool["value"] == 8.0 and pool["winner"] == [1, 1]
