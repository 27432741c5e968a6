"""Basics: ToTensor is /255, unbatched Conv2d input gives the same values, cross-correlation vs
true convolution (nonzero difference for asymmetric kernels, zero for symmetric ones)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab import lab
from cnnlab.errors import ConfigError
from cnnlab.lab.basics import true_convolution


@pytest.fixture(scope="module")
def result():
    return lab.run("basics", data="mnist-sample", index=7)


def test_to_tensor_is_division_by_255(result) -> None:
    n = result.numbers
    assert n["to_tensor_is_div_255"] is True
    assert (n["raw_dtype"], n["tensor_dtype"]) == ("uint8", "float32")
    assert n["tensor_shape"] == [1, 28, 28] and n["raw_range"][1] == 255
    assert n["tensor_range"] == [0.0, 1.0]


def test_unbatched_equals_batched(result) -> None:
    n = result.numbers
    assert n["batched_shape"] == [1, 1, 28, 28]
    assert n["batched_output_shape"] == [1, 3, 28, 28]
    assert n["unbatched_output_shape"] == [3, 28, 28]
    assert n["unbatched_max_abs_diff"] < 1e-6 and n["two_d_input_rejected"] is True


def test_cross_correlation_vs_convolution(result) -> None:
    cc = result.numbers["cross_correlation"]
    assert cc["random"]["max_abs_diff_corr_vs_conv"] > 0.1 and not cc["random"]["symmetric"]
    assert cc["sobel"]["max_abs_diff_corr_vs_conv"] > 0.1
    assert cc["blur"]["symmetric"] and cc["blur"]["max_abs_diff_corr_vs_conv"] < 1e-12
    assert all(v["flipped_kernel_equals_fft_conv"] for v in cc.values())
    assert "cross-correlation" in result.text("en") and "교차상관" in result.text("ko")


@settings(max_examples=30, deadline=None)
@given(h=st.integers(3, 12), w=st.integers(3, 12), k=st.integers(1, 3), seed=st.integers(0, 1000))
def test_fft_convolution_is_the_flipped_kernel_correlation(
    h: int, w: int, k: int, seed: int
) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(h, w, generator=g, dtype=torch.float64)
    kern = torch.randn(k, k, generator=g, dtype=torch.float64)
    flipped = F.conv2d(x[None, None], kern.flip(0, 1)[None, None])[0, 0]
    torch.testing.assert_close(true_convolution(x, kern), flipped)
    sym = kern + kern.flip(0, 1)  # symmetric under a 180° rotation
    torch.testing.assert_close(
        true_convolution(x, sym), F.conv2d(x[None, None], sym[None, None])[0, 0]
    )


def test_sobel_convolution_is_negated_correlation() -> None:
    x = torch.rand(10, 10, dtype=torch.float64)
    sobel = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float64)
    torch.testing.assert_close(
        true_convolution(x, sobel), -F.conv2d(x[None, None], sobel[None, None])[0, 0]
    )


def test_bad_index() -> None:
    with pytest.raises(ConfigError, match=r"--index 4000 is out of range.*valid: 0\.\.3999"):
        lab.run("basics", data="mnist-sample", index=4000)


def test_maps_in_numbers_are_the_two_operations(result) -> None:
    # the figure draws only from the numbers: they must be F.conv2d and the flipped-kernel F.conv2d
    n = result.data
    img = torch.from_numpy(n.tensor[0]).double()[None, None]  # (1, 1, H, W)
    for c in n.cross_correlation.values():
        w = torch.from_numpy(c.kernel)
        torch.testing.assert_close(torch.from_numpy(c.corr), F.conv2d(img, w[None, None])[0, 0])
        flipped = F.conv2d(img, w.flip(0, 1)[None, None])[0, 0]
        torch.testing.assert_close(torch.from_numpy(c.conv), flipped)
    assert (n.tensor[0] * 255).round().astype("uint8").tolist() == n.raw.tolist()
    assert sorted(result.figures) == ["cross_correlation", "to_tensor"]


def test_korean_says_what_to_tensor_and_unsqueeze_do(result) -> None:
    ko = result.text("ko")
    assert "255로 나눈" in ko and "크기를 바꾸거나 표준화하지는 않습니다" in ko  # not a resize
    assert "(N, C, H, W) 차원 순서" in ko and "기본 배치" not in ko  # layout = 차원 순서
    assert "학습 세트" in ko
    assert "does not resize or standardise" in result.text("en")
    test = lab.run("basics", data="mnist-sample", split="test", index=1)
    assert "테스트 세트" in test.text("ko") and "(test)" in test.text("en")
