"""hierarchy + the feature-map hook tool: hooks removed, mode restored, maps shrink and multiply."""

from __future__ import annotations

import pytest
import torch

from cnnlab import lab
from cnnlab.errors import ConfigError
from cnnlab.inspect.feature_maps import feature_maps, leaf_names
from cnnlab.lab.hierarchy import kernel_smoothness
from cnnlab.models import build

QUICK = {"n_train": 300, "n_test": 50, "epochs": 1, "channels": (4, 8, 16), "n_show": 3,
         "index": 3}


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
    with pytest.raises(ConfigError,
                       match=r"No layer named bogus in this model\. Valid layer names: features"):
        feature_maps(model, x, layers=["bogus"])


def test_kernel_smoothness_separates_noise_from_smooth_kernels() -> None:
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(64, 1, 5, 5, generator=g)
    ramp = torch.linspace(-1, 1, 5)
    edges = (ramp.view(5, 1) * torch.ones(5)).expand(8, 1, 5, 5)  # vertical light/dark edges
    assert abs(kernel_smoothness(noise)) < 0.1
    assert kernel_smoothness(edges) > 0.4


def test_quick_run_maps_shrink_and_multiply() -> None:
    r = lab.run("hierarchy", **QUICK)
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


@pytest.mark.parametrize("bad,match", [
    ({"channels": (0, 8)}, r"channels = \[0, 8\] is not valid: give 1 to 4 blocks"),
    ({"channels": (2, 2, 2, 2, 2)}, r"channels = \[2, 2, 2, 2, 2\] is not valid"),
    ({"index": 50}, r"index = 50 is out of range; valid: 0\.\.49"),
])
def test_invalid_params_fail_before_training(bad: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        lab.run("hierarchy", **{**QUICK, **bad})


def test_kernel_choice_validated() -> None:
    with pytest.raises(ConfigError, match=r"kernel = 4 is not valid\. Valid: 3, 5, 7"):
        lab.get("hierarchy").make_params(kernel=4)


@pytest.mark.parametrize("extra,expected", [([], [8, 16, 32]),
                                            (["--channels", "4", "--channels", "8"], [4, 8])])
def test_cli_channels_option(tmp_path, capsys: pytest.CaptureFixture[str], extra: list[str],
                             expected: list[int]) -> None:
    import json

    from cnnlab.cli import main

    args = ["lab", "hierarchy", "--n-train", "100", "--n-test", "20", "--epochs", "1",
            "--n-show", "2", "--json", "--out", str(tmp_path), *extra]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):out.rindex("}") + 1])["block_channels"] == expected
