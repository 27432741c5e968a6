"""cnnlab.geometry against PyTorch: conv/pool sizes (floor, ceil, 'same'), padding, RF chain."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.geometry import (
    Field,
    conv_out_shape,
    out_size,
    pair,
    pool_out_size,
    resolve_padding,
    rf_chain,
    same_padding,
    taps,
    unseen_pixels,
)


def test_lecture_examples() -> None:
    assert out_size(28, 3).out == 26
    assert out_size(28, 3, padding=1).out == 28
    assert out_size(28, 3, 2, 1).formula() == "(28 + 2*1 - 3) // 2 + 1 = 14"
    assert conv_out_shape((28, 20), 3, (1, 2), 1) == (28, 10)


@pytest.mark.parametrize("size", [1, 2, 5, 8, 13])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("dilation", [1, 2])
def test_conv_out_size_matches_torch(size: int, kernel: int, stride: int, dilation: int) -> None:
    x = torch.zeros(1, 1, size)
    for padding in range(3):
        span = dilation * (kernel - 1) + 1
        if span > size + 2 * padding:
            with pytest.raises(ShapeError, match=rf"kernel spans {span} cells"):
                out_size(size, kernel, stride, padding, dilation)
            continue
        w = torch.zeros(1, 1, kernel)
        expected = F.conv1d(x, w, None, stride, padding, dilation).shape[-1]
        assert out_size(size, kernel, stride, padding, dilation).out == expected


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("dilation", [1, 2, 3])
def test_same_padding_split_matches_torch(kernel: int, dilation: int) -> None:
    x = torch.arange(9.0).reshape(1, 1, 9)
    w = torch.zeros(1, 1, kernel)
    w[0, 0, 0] = 1.0  # the output is the input shifted by the left padding
    lo, hi = same_padding(kernel, dilation)
    assert lo + hi == dilation * (kernel - 1) and hi - lo in (0, 1)
    got = F.conv1d(x, w, padding="same", dilation=dilation)
    ours = F.conv1d(F.pad(x, (lo, hi)), w, dilation=dilation)
    assert torch.equal(got, ours)
    assert out_size(9, kernel, 1, "same", dilation).out == 9
    assert out_size(9, kernel, 1, "same", dilation).pads == (lo, hi)


def test_padding_strings_are_validated() -> None:
    assert resolve_padding("valid", 3) == (0, 0)
    with pytest.raises(ConfigError, match=r"padding='same' needs stride 1"):
        out_size(9, 3, 2, "same")
    with pytest.raises(ConfigError, match=r"padding='full' is not valid"):
        out_size(9, 3, 1, "full")
    with pytest.raises(ConfigError, match=r"padding must be an integer >= 0, got -1"):
        out_size(9, 3, 1, -1)


@pytest.mark.parametrize("size", range(1, 12))
@pytest.mark.parametrize("kernel", [1, 2, 3, 4])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pool_out_size_matches_torch(size: int, kernel: int, stride: int, ceil_mode: bool) -> None:
    x = torch.zeros(1, 1, size)
    for padding in range(kernel // 2 + 1):
        if kernel > size + 2 * padding:
            continue
        expected = F.max_pool1d(x, kernel, stride, padding, ceil_mode=ceil_mode).shape[-1]
        assert pool_out_size(size, kernel, stride, padding, ceil_mode=ceil_mode).out == expected


def test_pool_rules() -> None:
    with pytest.raises(ConfigError, match=r"MaxPool2d: padding 2 is too large for kernel 3"):
        pool_out_size(8, 3, padding=2)
    with pytest.raises(ConfigError, match=r"AvgPool2d has no dilation \(got 2\)"):
        pool_out_size(8, 2, dilation=2, kind="AvgPool2d")
    assert pool_out_size(8, 2).stride == 2  # stride defaults to the kernel


def test_pair_and_validation() -> None:
    assert pair(3, 2, "kernel_size") == (3, 3)
    assert pair([1, 2], 2, "stride") == (1, 2)
    with pytest.raises(ConfigError, match=r"kernel_size must be an int or a tuple of 2 ints"):
        pair((1, 2, 3), 2, "kernel_size")
    with pytest.raises(ConfigError, match=r"stride must be an integer, got True"):
        pair(True, 2, "stride")
    with pytest.raises(ConfigError, match=r"stride must be an integer >= 1, got 0"):
        out_size(5, 3, 0)


def test_taps_and_unseen_pixels() -> None:
    ar = out_size(10, 3, stride=4)  # windows 0-2, 4-6: 3 and 7..9 never touched
    assert taps(ar, 1) == [4, 5, 6]
    assert unseen_pixels(ar) == [3, 7, 8, 9]
    assert ar.leftover == 3
    assert unseen_pixels(out_size(28, 3, 1, 1)) == []


def test_receptive_field_chain() -> None:
    # SimpleCNN-like: c3, c3, m2, c3 → 3, 5, 6, 10 with jumps 1, 1, 2, 2
    fields = rf_chain([(3, 1, 1, 1), (3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 1, 1)])
    assert [f.size for f in fields] == [3, 5, 6, 10]
    assert [f.jump for f in fields] == [1, 1, 2, 2]
    assert fields[-1] == Field(10, 2, -4)
    assert fields[-1].start == 0.5  # pixel 0's centre is 0; unit 0's field is centred on 0.5
    assert fields[-1].span(3) == (2, 11)
    assert rf_chain([(3, 1, 0, 2)])[0].size == 5  # dilation widens the span to d·(k-1)+1


def test_geometry_imports_neither_torch_nor_numpy() -> None:
    code = "import sys, cnnlab.geometry; print('torch' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
