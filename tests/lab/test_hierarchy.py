"""hierarchy + the feature-map hook tool: hooks removed, mode restored, maps shrink and multiply;
receptive fields against a gradient probe; the padding frame against its background-padding
control."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from cnnlab import lab
from cnnlab.errors import ConfigError
from cnnlab.inspect.feature_maps import feature_maps, leaf_names
from cnnlab.lab.hierarchy import frame_effect, kernel_smoothness, receptive_fields, stroke_width
from cnnlab.models import build

QUICK = {
    "n_train": 300,
    "n_test": 50,
    "epochs": 1,
    "channels": (4, 8, 16),
    "n_show": 3,
    "index": 3,
    "seeds": 1,
}


@pytest.fixture(scope="module")
def quick_run():
    torch.set_num_threads(1)
    return lab.run("hierarchy", **QUICK)


def _hooks(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


@pytest.mark.parametrize("training", [True, False])
def test_hooks_removed_and_mode_restored(training: bool) -> None:
    torch.manual_seed(0)
    model = build("cnn", channels=(4, 8)).train(training)
    maps = feature_maps(model, torch.randn(2, 1, 28, 28))
    assert model.training is training and _hooks(model) == 0
    assert [m.name for m in maps] == leaf_names(model)  # every leaf, in call order
    assert maps[0].shape == (2, 4, 28, 28) and maps[-1].shape == (2, 10)


def test_hooks_removed_even_when_forward_fails() -> None:
    model = build("cnn", channels=(4, 8)).train()
    with pytest.raises(RuntimeError):
        feature_maps(model, torch.randn(1, 3, 28, 28))  # 3 channels into a 1-channel conv
    assert model.training is True and _hooks(model) == 0


def test_outputs_are_copies_despite_inplace_relu() -> None:
    torch.manual_seed(0)
    model = build("cnn", channels=(4, 8))  # BatchNorm2d → ReLU(inplace=True)
    maps = {m.name: m for m in feature_maps(model, torch.randn(1, 1, 28, 28))}
    assert maps["features.1"].kind == "BatchNorm2d" and maps["features.1"].output.min() < 0
    assert maps["features.2"].kind == "ReLU" and maps["features.2"].output.min() >= 0


def test_eval_mode_and_selection() -> None:
    torch.manual_seed(0)
    model = build("cnn", channels=(4, 8)).train()
    x = torch.randn(1, 1, 28, 28)
    maps = feature_maps(model, x, layers=["classifier.3"])
    with torch.no_grad():
        expected = model.eval()(x)
    torch.testing.assert_close(maps[0].output, expected)  # BatchNorm used running statistics
    pooled = feature_maps(model, x, kinds={"MaxPool2d"})
    assert [m.shape for m in pooled] == [(1, 4, 14, 14), (1, 8, 7, 7)]
    with pytest.raises(
        ConfigError, match=r"No layer named bogus in this model\. Valid layer names: features"
    ):
        feature_maps(model, x, layers=["bogus"])


def test_kernel_smoothness_separates_noise_from_smooth_kernels() -> None:
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(64, 1, 5, 5, generator=g)
    ramp = torch.linspace(-1, 1, 5)
    edges = (ramp.view(5, 1) * torch.ones(5)).expand(8, 1, 5, 5)  # vertical light/dark edges
    assert abs(kernel_smoothness(noise)) < 0.1
    assert kernel_smoothness(edges) > 0.4
    assert kernel_smoothness(noise.numpy()[:, 0]) == pytest.approx(kernel_smoothness(noise))


def test_quick_run_maps_shrink_and_multiply(quick_run) -> None:
    r = quick_run
    n = r.numbers
    assert n["block_channels"] == [4, 8, 16] and n["block_spatial"] == [14, 7, 3]
    assert n["channels_grow"] is True and n["maps_shrink"] is True
    assert n["label"] == 3 and 0 <= n["prediction"] <= 9
    kinds = [layer["kind"] for layer in n["layers"]]
    assert kinds.count("Conv2d") == 3 and kinds[-1] == "Linear"
    assert set(r.figures) == {"feature_maps", "first_layer_kernels"}
    rows = {round(ax.get_position().y0, 3) for ax in r.figures["feature_maps"].axes if ax.images}
    assert len(rows) == 1 + 2 * 3  # input + (ReLU, pool) per block
    assert "smaller and more numerous" in r.text("en") and "작아지고" in r.text("ko")


@pytest.mark.parametrize(
    "bad,match",
    [
        ({"channels": (0, 8)}, r"channels = \[0, 8\] is not valid: give 1 to 4 blocks"),
        ({"channels": (2, 2, 2, 2, 2)}, r"channels = \[2, 2, 2, 2, 2\] is not valid"),
        ({"index": 50}, r"index = 50 is out of range; valid: 0\.\.49"),
    ],
)
def test_invalid_params_fail_before_training(bad: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        lab.run("hierarchy", **{**QUICK, **bad})


def test_kernel_choice_validated() -> None:
    with pytest.raises(ConfigError, match=r"kernel = 4 is not valid\. Valid: 3, 5, 7"):
        lab.get("hierarchy").make_params(kernel=4)


@pytest.mark.parametrize(
    "extra,expected", [([], [8, 16, 32]), (["--channels", "4", "--channels", "8"], [4, 8])]
)
def test_cli_channels_option(
    tmp_path, capsys: pytest.CaptureFixture[str], extra: list[str], expected: list[int]
) -> None:
    import json

    from cnnlab.cli import main

    args = [
        "lab",
        "hierarchy",
        "--n-train",
        "100",
        "--n-test",
        "20",
        "--epochs",
        "1",
        "--n-show",
        "2",
        "--seeds",
        "1",
        "--json",
        "--out",
        str(tmp_path),
        *extra,
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") : out.rindex("}") + 1])["block_channels"] == expected


@pytest.mark.parametrize(("kernel", "expected"), [(5, [6, 16, 36]), (3, [4, 10, 22])])
def test_receptive_fields_match_a_gradient_probe(kernel: int, expected: list[int]) -> None:
    # r_l = r_{l-1} + (k - 1)·j_{l-1}, checked against the input pixels one unit's gradient reaches
    torch.manual_seed(0)
    model = build("cnn", channels=(2, 2, 2), kernel_size=kernel)
    assert receptive_fields(model) == expected
    # ReLU and max pooling route gradients to few pixels: probe a linear copy
    linear = torch.nn.Sequential(
        *[
            torch.nn.AvgPool2d(2)
            if isinstance(m, torch.nn.MaxPool2d)
            else torch.nn.Identity()
            if isinstance(m, torch.nn.ReLU)
            else m
            for m in model.features
        ]
    ).eval()
    for block, rf in enumerate(expected, start=1):
        cut = 4 * block  # features[:cut] ends with block's pooling
        x = torch.zeros(1, 1, 96, 96, requires_grad=True)
        y = linear[:cut](x)  # (1, C, 96 / 2^block, 96 / 2^block)
        centre = y.shape[-1] // 2
        y[0, 0, centre, centre].backward()
        rows, cols = np.nonzero(x.grad[0, 0].abs().numpy() > 0)
        assert np.ptp(rows) + 1 == rf and np.ptp(cols) + 1 == rf


def test_stroke_width_is_the_median_horizontal_run() -> None:
    img = np.zeros((28, 28))
    img[4:24, 10:13] = 1.0  # a vertical bar 3 pixels wide
    img[4:6, 5:20] = 1.0  # a 15-pixel top bar on two rows (runs 15, 15 vs 18 runs of 3)
    assert stroke_width(img) == 3.0
    assert stroke_width(np.zeros((5, 5))) == 0.0


def test_frame_effect_matches_the_formula_and_the_control() -> None:
    # a blank standardised image through a kernel of -1s: inside, each window sums 25 background
    # pixels; on the frame, only the pixels inside the image (the rest is zero padding)
    torch.manual_seed(0)
    model = build("cnn", channels=(1,), kernel_size=5).eval()
    with torch.no_grad():
        model.features[0].weight.fill_(-1.0)
    bn = model.features[1]
    scale = 1 / np.sqrt(1 + bn.eps)
    bg = -0.42
    x = torch.zeros(1, 1, 28, 28)
    f = frame_effect(model, torch.full_like(x, bg), x, bg)
    inside = np.arange(28)
    cover = np.minimum(inside + 2, 27) - np.maximum(inside - 2, 0) + 1  # image pixels per axis
    counts = np.outer(cover, cover)  # (28, 28) image pixels in each 5×5 window
    border = np.ones((28, 28), bool)
    border[2:-2, 2:-2] = False
    assert f["frame_cells"] == 28 * 28 - 24 * 24 and f["interior_cells"] == 24 * 24
    assert f["interior_means"][0] == pytest.approx(25 * -bg * scale, rel=1e-5)
    assert f["frame_means"][0] == pytest.approx(counts[border].mean() * -bg * scale, rel=1e-5)
    assert f["channels_brighter"] == 0  # with this kernel the frame is darker
    assert f["abs_difference_background_pad"] == pytest.approx(0, abs=1e-5)


def test_frame_measured_with_control(quick_run) -> None:
    n = quick_run.data
    assert n.frame.background < 0  # standardised blank pixel: below the padding's 0
    assert n.frame.abs_difference > 1e-3 and n.frame.abs_difference_background_pad < 1e-5
    assert n.frame.frame_cells > 0 and n.frame.interior_cells > 0
    assert n.blocks[0].receptive_field == 6 and n.digit_height > 10 and 1 <= n.stroke_width <= 6
    en, ko = quick_run.text("en"), quick_run.text("ko")
    assert "zero padding" in en and "not measured" in en
    assert "0 패딩" in ko and "수용 영역" in ko and "을(를)" not in ko and "1를" not in ko


def test_kernel_description_follows_the_measurement(quick_run) -> None:
    exp = lab.get("hierarchy")

    def keys(trained: float) -> list[str]:
        numbers = dataclasses.replace(quick_run.data, smoothness_trained=[trained])
        return [k for k, _ in exp.explain(numbers)]

    assert "lab.hierarchy.kernels_rough" in keys(0.1)
    assert "lab.hierarchy.kernels_smooth" in keys(0.5)
    assert "lab.hierarchy.one_seed" in keys(0.1)
