"""conv-steps: the hand arithmetic (every shown sum) against the engine's output and PyTorch, the
cross-correlation claim against its control (the flipped kernel), the figure, saved numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab import lab
from cnnlab.cli import main
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.lab.conv_steps import EXPERIMENT, ConvStepsParams, measure


def _torch(n) -> np.ndarray:
    """PyTorch's conv2d of the example's numbers, float64."""
    return F.conv2d(
        torch.from_numpy(n.image)[None, None],
        torch.from_numpy(n.kernel)[None, None],
        torch.tensor([n.bias], dtype=torch.float64),
        n.stride,
        n.padding,
        n.dilation,
    )[0, 0].numpy()


def test_guide_example() -> None:
    n = measure(ConvStepsParams())
    assert n.output.tolist() == [[13, 10, 11], [16, 16, 22], [22, 16, 18]]
    np.testing.assert_array_equal(n.output, _torch(n))
    assert len(n.steps) == 9 and n.hidden == 0 and n.steps_match_output
    assert n.torch_max_abs_diff == 0.0
    first = n.steps[0]
    assert first.position == (0, 0) and first.total == 13.0
    np.testing.assert_array_equal(first.products, n.image[:3, :3] * n.kernel)


def test_kernel_is_not_flipped() -> None:
    # the control for "this is cross-correlation": the flipped kernel (true convolution) differs
    n = measure(ConvStepsParams())
    flipped = F.conv2d(
        torch.from_numpy(n.image)[None, None], torch.from_numpy(n.kernel).flip(0, 1)[None, None]
    )[0, 0].numpy()
    assert np.abs(flipped - n.output).max() > 1
    assert "cross-correlation" in EXPERIMENT.result(n).text("en")
    assert "교차상관" in EXPERIMENT.result(n).text("ko")


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(1, 7),
    k=st.integers(1, 4),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    bias=st.sampled_from([0.0, 0.5, -2.0]),
)
def test_every_step_against_torch(
    size: int, k: int, stride: int, padding: int, dilation: int, bias: float
) -> None:
    params = ConvStepsParams(
        input_size=size,
        kernel_size=k,
        stride=stride,
        padding=padding,
        dilation=dilation,
        bias=bias,
        limit=0,
    )
    if dilation * (k - 1) + 1 > size + 2 * padding:
        with pytest.raises(ShapeError, match="Kernel too large"):
            measure(params)
        return
    n = measure(params)
    ref = _torch(n)
    np.testing.assert_allclose(n.output, ref, atol=1e-12)
    assert len(n.steps) == ref.size and n.hidden == 0 and n.steps_match_output
    for s in n.steps:
        i, j = s.position
        assert s.value == pytest.approx(ref[i, j], abs=1e-12)
        assert s.rows == tuple(i * stride - padding + a * dilation for a in range(k))
        assert s.cols == tuple(j * stride - padding + b * dilation for b in range(k))
        inside = np.array([[0 <= r < size and 0 <= c < size for c in s.cols] for r in s.rows])
        np.testing.assert_array_equal(s.is_padding, ~inside)
        assert s.window[s.is_padding].sum() == 0  # padding cells hold zeros


def test_written_sum_adds_up() -> None:
    n = measure(ConvStepsParams(padding=1, bias=0.5, limit=0))
    text = EXPERIMENT.result(n).text("en")
    sums = [line for line in text.splitlines() if line.startswith("sum = ")]
    assert len(sums) == len(n.steps) == 25
    for line, step in zip(sums, n.steps, strict=True):
        terms, total = line.removeprefix("sum = ").rsplit(" = ", 1)
        assert eval(terms) == float(total) == step.total  # the products as written add up
    assert "+ bias: 6 + 0.5 = 6.5" in text


def test_limit_and_at() -> None:
    n = measure(ConvStepsParams(padding=1, limit=2))
    assert [s.position for s in n.steps] == [(0, 0), (0, 1)] and n.hidden == 23
    assert "23 more output cells" in EXPERIMENT.result(n).text("en")
    n = measure(ConvStepsParams(padding=1, at=(4, 2)))
    assert [s.position for s in n.steps] == [(4, 2)]
    assert "more output cells" not in EXPERIMENT.result(n).text("en")
    with pytest.raises(ConfigError, match=r"position \(0, 0, 5, 0\) is outside the output"):
        measure(ConvStepsParams(padding=1, at=(5, 0)))


def test_real_digit_patch() -> None:
    from cnnlab.data import get_dataset

    n = measure(ConvStepsParams(image="mnist-sample", index=3, input_size=8))
    ds = get_dataset("mnist-sample", train=False)
    np.testing.assert_array_equal(n.image, ds.images[3][10:18, 10:18])
    assert n.kernel[:, 0].tolist() == [1, 1, 1] and n.kernel[:, -1].tolist() == [-1, -1, -1]
    assert (n.dataset, n.split, n.index) == ("mnist-sample", "test", 3)
    assert n.label == str(ds.classes[int(ds.labels[3])])
    np.testing.assert_array_equal(n.output, _torch(n))
    with pytest.raises(ConfigError, match=r"--input-size 29 is larger than the 28×28 image"):
        measure(ConvStepsParams(image="mnist-sample", input_size=29))


def test_parameters_validated_before_work() -> None:
    with pytest.raises(ConfigError, match=r"input_size = 0 is out of range; valid: 1\.\.64"):
        lab.run("conv-steps", input_size=0)
    with pytest.raises(ConfigError, match=r"image = 'nope' is not valid"):
        lab.run("conv-steps", image="nope")


def test_figure_marks_window_and_cell() -> None:
    from matplotlib.patches import Rectangle

    r = lab.run("conv-steps", padding=1, stride=2, dilation=2, at=(1, 0))
    fig = r.figures["step"]
    ax_in, _, ax_p, ax_out = (ax for ax in fig.axes if ax.images)
    marked = [p for p in ax_in.patches if isinstance(p, Rectangle)]
    assert len(marked) == 9  # one square per tap, spread by dilation 2
    assert sorted({(p.get_x() + 0.5, p.get_y() + 0.5) for p in marked}) == [
        (c, r) for c in (0, 2, 4) for r in (2, 4, 6)
    ]  # padded coordinates of output (1, 0)'s taps
    (cell,) = [p for p in ax_out.patches if isinstance(p, Rectangle)]
    assert (cell.get_x() + 0.5, cell.get_y() + 0.5) == (0, 1)
    assert "sum = " in fig._suptitle.get_text()
    assert ax_p.images[0].get_array().shape == (3, 3)


def test_numbers_round_trip_with_sidecar() -> None:
    from cnnlab.jsonable import equal

    r = lab.run("conv-steps", image="mnist-sample", input_size=20, limit=3)
    data, arrays = r.split_numbers()
    assert arrays  # the 20×20 patch and its output go to the sidecar
    loaded = EXPERIMENT.load(json.loads(json.dumps(data)), arrays)
    assert equal(loaded.data, r.data) and loaded.text("ko") == r.text("ko")


def test_lab_command(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "conv-steps", "--limit", "1", "--json", "--out", str(tmp_path)]) == 0
    numbers = json.loads(capsys.readouterr().out)
    assert numbers["output"] == [[13, 10, 11], [16, 16, 22], [22, 16, 18]]
    assert (tmp_path / "conv-steps_step.png").is_file()


def test_at_needs_two_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match=r"at must be an int or a tuple of 2 ints, got \(1,\)"):
        measure(ConvStepsParams(at=(1,)))  # type: ignore[arg-type]
    assert main(["conv-steps", "--at", "1"]) == 2
    assert "requires 2 arguments" in capsys.readouterr().err
