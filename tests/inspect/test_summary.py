"""summary(): counts checked against torchinfo, receptive fields by formula on chains and by
gradient on branching nets (checked against hand-computed answers), hooks and mode restored."""

from __future__ import annotations

import json

import pytest
import torch
import torchinfo
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.inspect.measured_field import measure_fields
from cnnlab.inspect.receptive_field import receptive_fields
from cnnlab.inspect.summary import ModelSummary, check_input_size, summary
from cnnlab.models import build, names

# --------------------------------------------------------------------------------------------------
# models the tests define


class Block(nn.Module):
    """A ResNet basic block: two 3×3 convs + BatchNorm, added to a (maybe strided) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.short = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.short(x))


class BlockNet(nn.Module):
    def __init__(self, c_in: int = 1) -> None:
        super().__init__()
        self.stem = nn.Conv2d(c_in, 8, 3, padding=1)
        self.blocks = nn.Sequential(Block(8, 8), Block(8, 16, stride=2), Block(16, 16))
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        return self.head(x.mean(dim=(2, 3)))


def dilated_stack() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=2, dilation=2),
        nn.ReLU(),
        nn.Conv2d(4, 8, 3, padding=4, dilation=4),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 8, (3, 5), stride=(1, 2), padding=(1, 2), dilation=(2, 1)),
    )


def net_1d() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(2, 8, 5, padding=2),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Conv1d(8, 16, 3, stride=2, dilation=2),
        nn.ReLU(),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(16, 3),
    )


class HandNet(nn.Module):
    """Branches whose fields are computed by hand in test_gradient_field_on_branching_net."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)  # field 3×3, jump 1, left -1
        self.square = nn.Conv2d(4, 4, 3, padding=1)  # on stem: 5×5, left -2
        self.tall = nn.Conv2d(4, 4, (5, 1), padding=(2, 0))  # on stem: 7×3, left (-3, -1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.stem(x))
        s = self.square(y) + self.tall(y)  # residual-style sum of two paths: union 7×5
        s = torch.cat([s, y], dim=1)  # a concatenation with the 3×3 path: still 7×5
        return self.pool(s)  # 8×6, jump 2


# --------------------------------------------------------------------------------------------------
# counts vs torchinfo


def _torchinfo(model: nn.Module, size: tuple[int, ...]) -> torchinfo.ModelStatistics:
    tokens = len(size) == 1 and any(isinstance(m, nn.Embedding) for m in model.modules())
    dtypes = [torch.long] if tokens else None
    return torchinfo.summary(model, input_size=(1, *size), dtypes=dtypes, verbose=0)


# registry models that need constructor arguments or another input: (kwargs, input size)
SPECIAL = {"textcnn": ({"vocab_size": 50, "num_classes": 2}, (12,))}


def _registry_case(name: str) -> tuple:
    kwargs, size = SPECIAL.get(name, ({}, (1, 40) if name.endswith("1d") else (1, 28, 28)))
    return (f"registry-{name}", lambda: build(name, **kwargs), size)


CASES = [
    ("blocknet", BlockNet, (1, 20, 20)),
    ("blocknet-rgb", lambda: BlockNet(3), (3, 16, 16)),
    ("dilated", dilated_stack, (1, 24, 24)),
    ("1d", net_1d, (2, 40)),
] + [_registry_case(n) for n in names()]


@pytest.mark.parametrize(("label", "make", "size"), CASES, ids=[c[0] for c in CASES])
def test_counts_match_torchinfo(label: str, make, size: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    model = make().eval()
    ours = summary(model, size, measure=False)
    ref = _torchinfo(model, size)
    assert ours.params == ref.total_params
    assert ours.trainable == ref.trainable_params
    # the one documented difference: normalisation layers count one multiply-add per element,
    # torchinfo counts their 2·C parameters once
    ours_norm = sum(r.macs for r in ours.layers if "Norm" in r.kind)
    ref_norm = sum(
        li.macs for li in ref.summary_list if li.is_leaf_layer and "Norm" in li.class_name
    )
    assert ours.macs - ours_norm == ref.total_mult_adds - ref_norm
    norm_rows = [r for r in ours.layers if "Norm" in r.kind]
    for r in norm_rows:
        assert r.output_shape is not None
        assert r.macs == torch.Size(r.output_shape).numel()
    # the same leaf layers, in the same order, with the same output shapes
    ref_leaves = [li for li in ref.summary_list if li.is_leaf_layer]
    assert [r.kind for r in ours.layers] == [li.class_name for li in ref_leaves]
    assert [list(r.output_shape or ()) for r in ours.layers] == [
        li.output_size[1:] for li in ref_leaves
    ]


def test_frozen_and_shared_parameters() -> None:
    conv = nn.Conv2d(2, 2, 3, padding=1)

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first = nn.Conv2d(1, 2, 3, padding=1)
            self.conv = conv

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(self.conv(self.first(x)))  # the same layer twice: weights shared

    model = Twice()
    model.first.requires_grad_(False)
    s = summary(model, (1, 10, 10))
    assert [r.name for r in s.layers] == ["first", "conv", "conv"]
    assert s.layers[0].frozen == 20 and s.layers[0].trainable == 0
    assert s.layers[2].reused and s.layers[2].trainable == 0
    assert s.layers[2].macs == s.layers[1].macs == 38 * 100  # computed twice, stored once
    assert (s.trainable, s.frozen) == (38, 20) and s.params == _torchinfo(
        model, (1, 10, 10)
    ).total_params
    assert [r.field.size for r in s.layers if r.field] == [(3, 3), (5, 5), (7, 7)]


# --------------------------------------------------------------------------------------------------
# receptive fields


def test_chain_fields_by_formula_match_the_existing_calculator_and_the_gradient() -> None:
    stack = nn.Sequential(
        nn.Conv2d(1, 2, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(2, 2, 3, stride=2, dilation=2),
        nn.AvgPool2d(3, stride=1, padding=1),
    )
    s = summary(stack, (1, 64, 64))
    assert s.chain and all(r.field and r.field.method == "formula" for r in s.layers)
    geo = [r for r in s.layers if r.kind in ("Conv2d", "MaxPool2d", "AvgPool2d")]
    ref = receptive_fields(stack, (64, 64))
    assert [(r.field.size, r.field.jump, r.field.start) for r in geo] == [
        (f.size, f.jump, f.start) for f in ref
    ]
    # the gradient measurement on the linearised copy agrees with the formula on a chain
    measured = measure_fields(stack, (1, 64, 64), [(r.name, 0) for r in s.layers])
    for r in s.layers:
        m = measured[(r.name, 0)]
        assert (m.size, m.jump, m.start) == (r.field.size, r.field.jump, r.field.start), r.name


def test_dilated_and_non_square_fields() -> None:
    s = summary(dilated_stack(), (1, 64, 64))
    last = s.layers[-1].field
    # r: 1 → 3 → 7 → 15 → pool 16 (j 2) → (3,5) kernel, dilation (2,1): H 16 + 4·2 = 24, W 16 + 4·2
    assert last is not None and last.method == "formula"
    assert last.size == (24, 24) and last.jump == (2, 4)
    measured = measure_fields(dilated_stack(), (1, 64, 64), [(s.layers[-1].name, 0)])
    m = measured[(s.layers[-1].name, 0)]
    assert (m.size, m.jump, m.start) == (last.size, last.jump, last.start)


def test_gradient_field_on_branching_net() -> None:
    s = summary(HandNet(), (1, 24, 24))
    assert not s.chain and s.merges == 2  # the + and the cat
    rows = {r.name: r for r in s.layers}
    # before the branches meet: a chain, by formula
    assert rows["stem"].field.method == "formula" and rows["stem"].field.size == (3, 3)
    assert rows["square"].field.method == "formula" and rows["square"].field.size == (5, 5)
    tall = rows["tall"].field
    assert tall.method == "formula" and tall.size == (7, 3) and tall.start == (0, 0)
    # after them, measured: the union of the paths, then the pool (hand-computed):
    #   sum: H max(5, 7) = 7, W max(5, 3) = 5 (centred: start 0); cat with the 3×3 path: same;
    #   pool 2/2: size + 1·jump → 8×6, jump 2, start = left + (size-1)/2 = -3 + 3.5, -2 + 2.5
    pool = rows["pool"].field
    assert pool.method == "gradient" and not pool.clipped
    assert pool.size == (8, 6) and pool.jump == (2, 2) and pool.start == (0.5, 0.5)


def test_resnet_fields_grow_as_computed_by_hand() -> None:
    s = summary(BlockNet(), (1, 48, 48))
    conv2 = [r for r in s.layers if r.name.endswith("conv2")]
    # stem 3; block 1: +2 +2 = 7 (j 1); block 2: conv1 s2 → 9 (j 2), conv2 → 13;
    # block 3: +4 +4 = 21 (j 2)
    assert [r.field.size for r in conv2] == [(7, 7), (13, 13), (21, 21)]
    assert [r.field.jump for r in conv2] == [(1, 1), (2, 2), (2, 2)]
    assert conv2[0].field.method == "formula"  # block 1's residual path is still a chain
    assert conv2[1].field.method == "gradient"  # after block 1's +


def test_field_larger_than_the_input_is_measured_on_a_larger_input() -> None:
    s = summary(BlockNet(), (1, 12, 12))
    last = [r for r in s.layers if r.name.endswith("conv2")][-1].field
    assert last.size == (21, 21) and not last.clipped and last.method == "gradient"
    head = s.layers[-1].field  # the Linear after a global mean sees everything: a lower bound
    assert head.clipped and head.size == (12, 12) and head.jump is None


def test_one_dimensional_net() -> None:
    s = summary(net_1d(), (2, 40))
    fields = [r.field for r in s.layers]
    assert fields[0].size == (5,) and fields[3].size == (6,) and fields[3].jump == (2,)
    assert fields[4].size == (6 + 2 * 2 * 2,) and fields[4].jump == (4,)
    assert s.output_shape == (3,)
    assert s.layers[-1].field.method == "gradient"  # after adaptive pooling: measured


def test_measure_off_leaves_fields_after_a_branch_empty() -> None:
    s = summary(HandNet(), (1, 16, 16), measure=False)
    assert {r.name: r.field is None for r in s.layers} == {
        "stem": False,
        "square": False,
        "tall": False,
        "pool": True,
    }


# --------------------------------------------------------------------------------------------------
# outputs, errors, clean-up


def test_json_and_html_and_text() -> None:
    s = summary(BlockNet(), (1, 16, 16))
    data = json.loads(s.to_json())
    assert data["params"] == s.params and data["chain"] is False
    assert data["layers"][0]["field"]["method"] == "formula"
    assert data["input_shape"] == [1, 16, 16]
    html = s._repr_html_()
    assert html.count("<tr>") == len(s.layers) + 1 and "gradient" in html
    text = s.text("ko")
    assert "수용 영역" in text and "기울기 측정" in text and f"{s.params:,}" in text
    assert isinstance(s, ModelSummary) and str(s).startswith("BlockNet")


def test_input_size_parsing() -> None:
    assert check_input_size("1,28,28") == (1, 28, 28) == check_input_size([1, 28, 28])
    assert check_input_size("3x32x32") == (3, 32, 32)
    for bad in ("1,x,3", (0, 28, 28), "", "1,2,3,4,5", (1.5, 2)):
        with pytest.raises(ConfigError, match=r"Input size .* is not valid"):
            check_input_size(bad)
    with pytest.raises(ConfigError, match="more than"):
        check_input_size((1, 100000, 100000))


class Boom(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.bn(self.conv(x))
        raise RuntimeError("exploded after bn")


def _hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_hooks_removed_and_mode_restored_after_an_exception() -> None:
    model = Boom().train()
    with pytest.raises(ConfigError, match=r"size 1,8,8 .*RuntimeError: exploded after bn"):
        summary(model, (1, 8, 8))
    assert model.training and all(m.training for m in model.modules())
    assert _hooks(model) == 0
    model.eval()
    with pytest.raises(ConfigError):
        summary(model, (1, 8, 8))
    assert not model.training and _hooks(model) == 0


def test_hooks_removed_and_mode_restored_after_success() -> None:
    model = BlockNet().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    summary(model, (1, 16, 16))
    assert model.training and _hooks(model) == 0
    for k, v in model.state_dict().items():  # BatchNorm statistics untouched (eval inside)
        assert torch.equal(v, before[k]), k


def test_wrong_channels_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"size 3,28,28 .*--input-size"):
        summary(build("cnn"), (3, 28, 28))


class DeepResidual(nn.Module):
    """45 stacked 3×3 convs with one residual around them: field 91, deep enough that a float32
    gradient at the field's edge comes near underflow."""

    def __init__(self, depth: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(*[nn.Conv2d(2, 2, 3, padding=1) for _ in range(depth)])
        self.out = nn.Conv2d(2, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.convs(x) + x)


@pytest.mark.parametrize(("depth", "dtypes"), [(20, ["float32"]), (45, ["float32", "float64"])])
def test_deep_fields_stay_exact(depth: int, dtypes: list[str], monkeypatch) -> None:
    import cnnlab.inspect.measured_field as mf

    used: list[str] = []
    real = mf._measure_all

    def spy(model, shape, targets, dtype):
        used.append(str(dtype).removeprefix("torch."))
        return real(model, shape, targets, dtype)

    monkeypatch.setattr(mf, "_measure_all", spy)
    side = 2 * depth + 9
    last = summary(DeepResidual(depth), (2, side, side)).layers[-1].field
    assert last.method == "gradient" and used == dtypes
    assert last.size == (2 * depth + 1,) * 2 and last.jump == (1, 1) and last.start == (0, 0)


# --------------------------------------------------------------------------------------------------
# golden text: the example model of docs/inspect.md, in both languages


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_golden_text_of_the_example_resnet(lang: str) -> None:
    """``CNNLAB_UPDATE_GOLDEN=1 pytest tests/inspect/test_summary.py -k golden`` rewrites the files
    after a deliberate change (then read the diff)."""
    import importlib.util
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("resnet_small", root / "examples/resnet_small.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = summary(module.ResNetSmall(), (1, 28, 28)).text(lang) + "\n"
    golden = Path(__file__).parent / "golden" / f"resnet_small.{lang}.txt"
    if os.environ.get("CNNLAB_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


class PlainOnly(nn.Module):
    """Refuses anything but a plain float32 input: its linearised copy (which needs gradients)
    cannot run, the summary still can."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(1, 2, 3)
        self.b = nn.Conv2d(2, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.a(x)
        if y.requires_grad:
            raise ValueError("no gradients here")
        return self.b(y + y.flip(-1))


def test_a_failed_measurement_is_reported_not_raised() -> None:
    s = summary(PlainOnly(), (1, 9, 9))
    assert s.measure_error == "ValueError: no gradients here"
    assert s.layers[0].field is not None and s.layers[1].field is None
    assert "could not run on the linearised copy (ValueError: no gradients here)" in s.text()
