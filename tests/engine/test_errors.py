"""Invalid hyperparameters raise ShapeError/ConfigError naming the values, showing the formula."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab import engine as E
from cnnlab.engine import nn
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.i18n import set_lang

X = np.zeros((1, 2, 5, 5))
W = np.zeros((3, 2, 3, 3))
FORMULA = r"out = \(in \+ 2\*padding - dilation\*\(kernel-1\) - 1\) // stride \+ 1"


def test_kernel_larger_than_padded_input() -> None:
    with pytest.raises(
        ShapeError, match=rf"kernel spans 7 cells .*padded input is only 5 .*{FORMULA}"
    ):
        E.conv2d(X, np.zeros((3, 2, 7, 7)))
    with pytest.raises(ShapeError, match=r"kernel spans 5 cells \(kernel 3, dilation 2\)"):
        E.conv2d(X[:, :, :4, :4], W, dilation=2)


@pytest.mark.parametrize(
    "name, kwargs",
    [("stride", {"stride": 0}), ("stride", {"stride": (1, -2)}), ("dilation", {"dilation": 0})],
)
def test_nonpositive_stride_or_dilation(name: str, kwargs: dict) -> None:
    with pytest.raises(
        ConfigError, match=rf"conv2d: {name}=-?\d is invalid; it must be an integer >= 1.*{FORMULA}"
    ):
        E.conv2d(X, W, **kwargs)


def test_negative_padding_and_bad_padding_name() -> None:
    with pytest.raises(
        ConfigError, match=rf"padding=-1 is invalid; it must be an integer >= 0.*{FORMULA}"
    ):
        E.conv2d(X, W, padding=-1)
    with pytest.raises(ConfigError, match=r"padding='full' is not valid; use 'same', 'valid'"):
        E.conv2d(X, W, padding="full")
    with pytest.raises(ConfigError, match=r"padding='same' needs stride 1 .*got stride=\(2, 2\)"):
        E.conv2d(X, W, stride=2, padding="same")


def test_channel_mismatch() -> None:
    with pytest.raises(
        ShapeError,
        match=r"input has C_in=2 channels \(shape \(1, 2, 5, 5\)\) but the weight expects C_in=4",
    ):
        E.conv2d(X, np.zeros((3, 4, 3, 3)))
    with pytest.raises(ShapeError, match=r"conv1d: channel mismatch"):
        E.conv1d(np.zeros((1, 2, 9)), np.zeros((3, 1, 3)))
    with pytest.raises(ShapeError, match=r"input has 7 features .*in_features=4"):
        E.linear(np.zeros((2, 7)), np.zeros((3, 4)))


def test_output_size_below_one_in_pooling_and_conv1d() -> None:
    with pytest.raises(ShapeError, match=r"kernel spans 3 cells .*padded input is only 2"):
        E.max_pool2d(np.zeros((1, 1, 2, 2)), 3, padding=0)
    with pytest.raises(ShapeError, match=r"kernel spans 9 cells \(kernel 5, dilation 2\)"):
        E.conv1d(np.zeros((1, 1, 6)), np.zeros((1, 1, 5)), dilation=2)
    with pytest.raises(ConfigError, match=r"padding 2 must be at most half the kernel size 3"):
        E.max_pool2d(np.zeros((1, 1, 6, 6)), 3, padding=2)


def test_shape_and_dtype_errors() -> None:
    with pytest.raises(
        ShapeError, match=r"conv2d: input must be 4-D \(N, C_in, H, W\), got shape \(5, 5\)"
    ):
        E.conv2d(np.zeros((5, 5)), W)
    with pytest.raises(ShapeError, match=r"bias must have shape \(3,\)"):
        E.conv2d(X, W, np.zeros(2))
    with pytest.raises(ConfigError, match=r"input must be float32 or float64, got dtype int64"):
        E.conv2d(X.astype(np.int64), W)
    with pytest.raises(
        ShapeError, match=r"target must be class indices of shape \(2,\) with values in 0..2"
    ):
        E.cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(
        ShapeError,
        match=r"grad_out has shape \(1, 3, 2, 2\) but the forward output has shape \(1, 3, 3, 3\)",
    ):
        E.conv2d_backward(np.zeros((1, 3, 2, 2)), X, W)


def test_backward_before_forward() -> None:
    with pytest.raises(ConfigError, match=r"Conv2d.backward\(\) called before forward\(\)"):
        nn.Conv2d(1, 1, 3).backward(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ConfigError, match=r"Flatten.backward\(\) called before forward\(\)"):
        nn.Flatten().backward(np.zeros((1, 9)))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": (3, 3)},
        {"kernel_size": 3, "stride": (1, 2)},
        {"kernel_size": 3, "padding": "x"},
    ],
)
def test_1d_arguments_are_one_int(kwargs: dict) -> None:
    with pytest.raises(
        ConfigError, match=r"(kernel_size|stride|padding) must be an int or a tuple of 1 ints"
    ):
        E.max_pool1d(np.zeros((1, 1, 8)), **kwargs)


def test_messages_in_korean() -> None:
    set_lang("ko")
    with pytest.raises(ShapeError, match=r"채널 수가 맞지 않습니다. 입력은 C_in=2채널"):
        E.conv2d(X, np.zeros((3, 4, 3, 3)))
    with pytest.raises(ConfigError, match=r"stride=0은 잘못된 값입니다"):
        E.conv2d(X, W, stride=0)


@pytest.mark.parametrize("stride", [True, (1, True), 1.0])
def test_remembered_geometry_does_not_admit_a_bool_or_float(stride: object) -> None:
    """Geometries of valid int arguments are remembered across calls; a bool or float equal to
    such an int (``True == 1``) must still be refused, before or after the int was seen."""
    E.conv2d(X, W, stride=1)
    E.conv2d(X, W, stride=(1, 1))
    with pytest.raises(ConfigError):
        E.conv2d(X, W, stride=stride)  # type: ignore[arg-type]
