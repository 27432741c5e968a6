"""feature_maps / layer_output on any nn.Module: names, default layers, hooks always removed and
``model.training`` restored — also when forward raises."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.inspect.feature_maps import (
    default_layers,
    feature_maps,
    find_module,
    layer_output,
)


class Block(nn.Module):
    """A residual block: forward is code, not a chain (what hooks must cope with)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x)) + x


class Branchy(nn.Module):
    def __init__(self, boom: bool = False) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.block = Block(4)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(4 * 5 * 6, 2)
        self.drop = nn.Dropout(0.5)
        self.boom = boom

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pool(self.block(self.stem(x)))  # (N, 4, 5, 6)
        if self.boom:
            raise RuntimeError("boom inside forward")
        return self.head(self.drop(y.flatten(1)))


def _hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_maps_of_a_branching_rgb_model_with_odd_size() -> None:
    torch.manual_seed(0)
    model = Branchy()
    x = torch.rand(2, 3, 10, 12)  # 3 channels, not square, not 28×28
    maps = feature_maps(model, x)
    assert [m.name for m in maps] == [
        "stem",
        "block.conv",
        "block.act",
        "pool",
        "drop",
        "head",
    ]
    assert maps[0].shape == (2, 4, 10, 12) and maps[3].shape == (2, 4, 5, 6)
    # the conv map is cloned before the in-place ReLU: it keeps its negative values
    assert float(maps[1].output.min()) < 0 <= float(maps[2].output.min())
    ref = model.block.conv(model.stem(x))
    torch.testing.assert_close(maps[1].output, ref.detach())
    assert default_layers(model) == ["stem", "block.conv", "block.act", "pool"]


def test_unknown_layer_lists_the_valid_names() -> None:
    model = Branchy()
    with pytest.raises(ConfigError, match=r"No layer named blok\.conv.*block\.conv.*head"):
        feature_maps(model, torch.rand(1, 3, 10, 12), layers=["blok.conv"])
    with pytest.raises(ConfigError, match=r"No layer named nope.*stem, block"):
        find_module(model, "nope")
    assert _hooks(model) == 0


@pytest.mark.parametrize("training", [True, False])
def test_hooks_removed_and_mode_restored_when_forward_raises(training: bool) -> None:
    model = Branchy(boom=True)
    model.train(training)
    with pytest.raises(RuntimeError, match="boom inside forward"):
        feature_maps(model, torch.rand(1, 3, 10, 12))
    assert _hooks(model) == 0
    assert all(m.training is training for m in model.modules())
    with pytest.raises(RuntimeError, match="boom inside forward"):
        layer_output(model, torch.rand(1, 3, 10, 12), "head", stop=True)  # never reached
    assert _hooks(model) == 0
    assert all(m.training is training for m in model.modules())


def test_layer_output_stops_early_and_keeps_the_graph() -> None:
    model = Branchy(boom=True)  # forward would raise after the pool: stopping there never sees it
    model.train()
    x = torch.rand(1, 3, 40, 40, requires_grad=True)  # the head expects 10×12: never runs
    out, final = layer_output(model, x, "pool")
    assert final is None and out.shape == (1, 4, 20, 20)
    (g,) = torch.autograd.grad(out.sum(), x)
    assert g.abs().sum() > 0
    assert _hooks(model) == 0 and model.training


def test_layer_output_input_of_an_inplace_relu_is_the_pre_activation() -> None:
    torch.manual_seed(0)
    model = Branchy()
    x = torch.rand(1, 3, 10, 12)
    pre, _ = layer_output(model, x, "block.act", use_input=True)
    post, _ = layer_output(model, x, "block.act")
    torch.testing.assert_close(post, pre.clamp(min=0))
    assert float(pre.detach().min()) < 0


def test_full_run_keeps_the_captured_map_intact() -> None:
    """stop=False: the rest of the model gets a copy, so an in-place ReLU after a conv does not
    overwrite the captured conv output."""
    torch.manual_seed(0)
    model = Branchy()
    x = torch.rand(1, 3, 10, 12)
    conv, logits = layer_output(model, x, "block.conv", stop=False)
    assert logits is not None and logits.shape == (1, 2)
    assert float(conv.detach().min()) < 0
    assert model.training  # restored; the comparison below runs in eval mode like layer_output
    torch.testing.assert_close(logits, model.eval()(x))


def test_layer_not_called_is_named() -> None:
    class Unused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = nn.Conv2d(1, 1, 3)
            self.spare = nn.Conv2d(1, 1, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.used(x)

    with pytest.raises(ConfigError, match="spare is never called"):
        layer_output(Unused(), torch.rand(1, 1, 8, 8), "spare")
