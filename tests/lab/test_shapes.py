"""The output-size formula against real PyTorch layers, its worked text, invalid combinations, CLI;
which cells the floor drops (padding or real pixels) against PyTorch's gradients."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from cnnlab import lab
from cnnlab.cli import main
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.inspect.shapes import out_size, pool_out_size
from cnnlab.lab.shapes import EXPERIMENT, ShapesParams, measure


def explain(params: ShapesParams):
    """The experiment's Result for ``params`` (numbers and text; figures only when asked)."""
    return EXPERIMENT.result(measure(params))


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(1, 40),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 5),
    padding=st.integers(0, 4),
    dilation=st.integers(1, 4),
)
def test_formula_matches_torch_layers(
    size: int, kernel: int, stride: int, padding: int, dilation: int
) -> None:
    x = torch.zeros(1, 1, size, size)
    span = dilation * (kernel - 1) + 1
    if span > size + 2 * padding:
        with pytest.raises(ShapeError, match="Kernel too large"):
            out_size(size, kernel, stride, padding, dilation)
        with pytest.raises(RuntimeError):
            nn.Conv2d(1, 1, kernel, stride, padding, dilation)(x)
        return
    conv = out_size(size, kernel, stride, padding, dilation).out
    assert nn.Conv2d(1, 1, kernel, stride, padding, dilation)(x).shape[-1] == conv
    if padding <= kernel // 2:
        assert (
            nn.MaxPool2d(kernel, stride, padding, dilation)(x).shape[-1]
            == pool_out_size(size, kernel, stride, padding, dilation).out
            == conv
        )
        if dilation == 1:
            assert nn.AvgPool2d(kernel, stride, padding)(x).shape[-1] == conv
    else:  # torch refuses too much pool padding; so do we, naming the valid range
        with pytest.raises(RuntimeError, match="pad should be"):
            nn.MaxPool2d(kernel, stride, padding, dilation)(x)
        with pytest.raises(
            ConfigError, match=rf"padding {padding} is too large.*0\.\.{kernel // 2}"
        ):
            pool_out_size(size, kernel, stride, padding, dilation)


def test_worked_example_of_the_issue() -> None:
    r = explain(ShapesParams(input=28, kernel=3, padding=1, stride=2))
    n = r.numbers
    assert (n["padded"], n["span"], n["out"], n["leftover"]) == (30, 3, 14, 1)
    assert n["output_shape"] == [1, 1, 14, 14] and n["all_match_torch"] is True
    assert n["unseen_pixels"] == []  # the dropped cell is padding, not a pixel
    assert "(30 − 3) // 2 + 1 = 13 + 1 = 14" in r.text("en")
    assert "윈도우를 놓을 수 있는 위치 수" in r.text("ko")  # glossary: window = 윈도우


def test_unseen_pixels_with_dilation_and_stride() -> None:
    # span 3 (taps at 0 and 2), stride 3: pixel 1 of each group of 3 is never touched
    n = explain(ShapesParams(input=28, kernel=2, padding=0, stride=3, dilation=2)).numbers
    assert n["out"] == 9
    assert n["unseen_pixels"] == [1, 4, 7, 10, 13, 16, 19, 22, 25, 27]
    assert n["ops"]["avgpool"]["valid"] is False  # AvgPool2d has no dilation
    assert n["ops"]["maxpool"]["matches_torch"] is True


def test_same_padding_advice() -> None:
    assert explain(ShapesParams(kernel=5, stride=1, padding=2)).numbers["same_padding"] == 2
    r = explain(ShapesParams(kernel=4, stride=1, padding=0))
    assert r.numbers["same_padding"] is None and "odd number" in r.text("en")


def test_pool_only_invalid_is_explained_not_raised() -> None:
    r = explain(ShapesParams(kernel=3, padding=2))
    assert r.numbers["ops"]["conv"]["matches_torch"] is True
    assert r.numbers["ops"]["maxpool"]["valid"] is False
    assert "MaxPool2d: padding 2 is too large for kernel 3" in r.text("en")


def test_kernel_larger_than_input_raises_before_work() -> None:
    with pytest.raises(ShapeError, match=r"spans 9 cells.*padded input is only 4"):
        lab.run("shapes", input=4, kernel=9, padding=0)
    with pytest.raises(ConfigError, match=r"stride = 0 is out of range; valid: 1\.\.4096"):
        lab.run("shapes", stride=0)


def test_figure_marks_every_window() -> None:
    r = lab.run("shapes", input=10, kernel=3, padding=1, stride=2)
    grid = r.figures["windows"].axes[0].images[0].get_array()
    assert grid.shape == (5, 12)  # 5 output positions × 12 padded cells
    assert ((grid == 2) | (grid == 3)).sum(axis=1).tolist() == [3] * 5


def test_cli_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            ["shape", "--input", "28", "--kernel", "3", "--padding", "1", "--stride", "2", "--json"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["out"] == 14 and out["ops"]["conv"]["torch"] == 14
    assert main(["shape", "--input", "5", "--kernel", "9"]) == 2
    assert "Kernel too large" in capsys.readouterr().err
    assert main(["shape", "--padding", "-1"]) == 2
    assert "padding = -1 is out of range" in capsys.readouterr().err
    assert main(["--lang", "ko", "shape", "--input", "5", "--kernel", "9"]) == 2
    assert "커널이 너무 큽니다" in capsys.readouterr().err


def _legend(r) -> list[str]:
    return [text.get_text() for text in r.figures["windows"].axes[0].get_legend().get_texts()]


def test_default_floor_drops_only_padding() -> None:
    # the claim "the floor drops the last cells" at the defaults: that cell is padding, not a pixel
    r = lab.run("shapes")
    n = r.numbers
    assert (n["leftover"], n["dropped_pixels"], n["dropped_padding"]) == (1, [], 1)
    assert n["unseen_pixels"] == [] and n["unseen_matches_torch"] is True
    assert "padding, so no real pixel is lost" in r.text("en")
    assert "실제 픽셀은 하나도 잃지 않습니다" in r.text("ko")
    assert "pixel never seen" not in _legend(r)  # nothing to point at


def test_without_padding_the_floor_drops_a_real_pixel() -> None:
    # the control: the same layer without padding loses pixel 27 for real
    r = lab.run("shapes", padding=0)
    n = r.numbers
    assert (n["leftover"], n["dropped_pixels"], n["dropped_padding"]) == (1, [27], 0)
    assert n["unseen_pixels"] == [27] and n["unseen_matches_torch"] is True
    assert "real pixels (0-based: [27]) that this layer never sees" in r.text("en")
    assert _legend(r)[-1] == "pixel never seen"
    assert "어떤 윈도우도 보지 않는 픽셀" in [
        t.get_text() for t in r.figures_in("ko")["windows"].axes[0].get_legend().get_texts()
    ]


@settings(max_examples=80, deadline=None)
@given(
    size=st.integers(1, 30),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 5),
    padding=st.integers(0, 3),
    dilation=st.integers(1, 3),
)
def test_dropped_and_unseen_against_torch_gradients(
    size: int, kernel: int, stride: int, padding: int, dilation: int
) -> None:
    if dilation * (kernel - 1) + 1 > size + 2 * padding:
        return
    n = measure(ShapesParams(size, kernel, padding, stride, dilation))
    # a pixel is seen iff the output depends on it: the gradient of an all-ones conv is nonzero
    x = torch.ones(1, 1, size, size, requires_grad=True)
    conv = nn.Conv2d(1, 1, kernel, stride, padding, dilation, bias=False)
    nn.init.ones_(conv.weight)
    conv(x).sum().backward()
    unseen_cols = [j for j in range(size) if (x.grad[0, 0, :, j] == 0).all()]
    assert n.unseen_pixels == unseen_cols and n.unseen_matches_torch
    assert n.dropped_padding + len(n.dropped_pixels) == n.leftover
    assert set(n.dropped_pixels) <= set(n.unseen_pixels)
    # the dropped cells are the last `leftover` cells of the padded axis
    last_reached = (n.out - 1) * stride + dilation * (kernel - 1)  # padded coordinate
    assert n.leftover == n.padded - 1 - last_reached
    assert n.dropped_pixels == [
        c - padding for c in range(last_reached + 1, n.padded) if padding <= c < padding + size
    ]  # a dropped cell left of the image (padding > stride) is padding, not a pixel


def test_shape_cli_text_matches_experiment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shape", "--padding", "0"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == lab.run("shapes", padding=0).text("en")


def test_legend_names_only_what_is_drawn() -> None:
    assert _legend(lab.run("shapes")) == ["kernel tap", "tap on padding", "padding"]
    assert _legend(lab.run("shapes", padding=0, stride=1)) == ["kernel tap"]
