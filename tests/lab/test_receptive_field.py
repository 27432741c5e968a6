"""Receptive field: the formula against input gradients, on many stacks; the experiment's claims."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab import lab
from cnnlab.cli import main
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.inspect.receptive_field import (
    gradient_rf,
    input_gradient,
    measured_fields,
    receptive_fields,
    support_box,
)
from cnnlab.lab.receptive_field import parse_stack

STACKS = {
    "simple_cnn": nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(),
                                nn.MaxPool2d(2)),
    "valid_convs": nn.Sequential(nn.Conv2d(1, 2, 5), nn.Conv2d(2, 2, 5), nn.Conv2d(2, 2, 3)),
    "strided": nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.ReLU(), nn.Conv2d(2, 2, 3, stride=2),
                             nn.AvgPool2d(2)),
    "dilated": nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2, padding=2), nn.Conv2d(2, 2, 3, dilation=4),
                             nn.MaxPool2d(3, stride=1, dilation=2)),
    "holes": nn.Sequential(nn.Conv2d(1, 2, 2, stride=3), nn.Conv2d(2, 2, 3), nn.AvgPool2d(3, 2, 1)),
    "non_square": nn.Sequential(nn.Conv2d(1, 2, (3, 5), padding="same"), nn.Conv2d(2, 2, (1, 3)),
                                nn.MaxPool2d((2, 3))),
}


@pytest.mark.parametrize("name", sorted(STACKS))
def test_formula_equals_gradient_field(name: str) -> None:
    model = STACKS[name]
    checks = measured_fields(model, (28, 28))
    assert checks and all(c["agree"] for c in checks), checks
    assert [c["measured"] for c in checks] == [r.size for r in receptive_fields(model, (28, 28))]


@pytest.mark.parametrize("name", sorted(STACKS))
def test_formula_output_sizes_match_torch(name: str) -> None:
    model = STACKS[name].eval()
    rows = receptive_fields(model, (28, 28))
    with torch.no_grad():
        y = model(torch.zeros(1, 1, 28, 28))
    assert tuple(y.shape[-2:]) == rows[-1].out


def test_known_values_of_the_default_stack() -> None:
    rows = receptive_fields(parse_stack("c3,c3,m2,c3,c3,m2,c3"), (28, 28))
    assert [r.size[0] for r in rows] == [3, 5, 6, 10, 14, 16, 24]
    assert [r.jump[0] for r in rows] == [1, 1, 2, 2, 2, 4, 4]
    assert [r.start[0] for r in rows] == [0, 0, 0.5, 0.5, 0.5, 1.5, 1.5]


@pytest.mark.parametrize("name", ["simple_cnn", "valid_convs", "strided"])
def test_every_unit_clipped_box_on_the_image(name: str) -> None:
    # plain stacks (no dilation, stride <= kernel): each unit's field is a full rectangle, clipped
    model = STACKS[name]
    last = receptive_fields(model, (20, 20))[-1]
    rows = sorted({0, last.out[0] // 2, last.out[0] - 1})  # corners, edges and centre
    cols = sorted({0, last.out[1] // 2, last.out[1] - 1})
    for i in rows:
        for j in cols:
            g = gradient_rf(model, (20, 20), (i, j))
            box = last.box((i, j), (20, 20))
            assert support_box(g) == box
            assert int((g > 0).sum()) == (box[1] - box[0] + 1) * (box[3] - box[2] + 1)


def test_dilation_leaves_holes_but_keeps_the_span() -> None:
    holes = measured_fields(STACKS["holes"], (28, 28))  # k2 s3 leaves gaps the next conv spans
    assert all(c["agree"] for c in holes) and holes[0]["filled"] and not holes[1]["filled"]
    dilated = measured_fields(STACKS["dilated"], (28, 28))  # taps 2 apart: a 5×5 span, 9 pixels
    assert dilated[0]["measured"] == (5, 5) and not dilated[0]["filled"]


def test_real_network_gradient_stays_inside_the_field() -> None:
    torch.manual_seed(0)
    model = parse_stack("c3,m2,c3,m2").train()  # built here: weights independent of test order
    x = torch.rand(1, 1, 28, 28)
    last = receptive_fields(model, (28, 28))[-1]
    with torch.no_grad():
        channel = int(model(x)[0, :, 3, 3].argmax())  # a unit whose ReLU is on
    g = input_gradient(model, x, (3, 3), channel=channel)
    top, bottom, left, right = last.box((3, 3), (28, 28))
    outside = g.clone()
    outside[top:bottom + 1, left:right + 1] = 0
    assert outside.abs().sum() == 0 and g.abs().sum() > 0
    assert model.training  # restored


def test_experiment_claims() -> None:
    r = lab.run("receptive-field", data="mnist-sample", index=3)
    n = r.numbers
    assert n["all_agree"] is True and n["rf_size"] == [3, 5, 6, 10, 14, 16, 24]
    assert n["real_outside_field"] == 0 and 0 < n["real_fraction_of_field"] <= 1
    assert "span exactly the formula's box" in r.text("en")
    assert set(r.figures) == {"growth", "gradients"}
    r2 = lab.run("receptive-field", data="mnist-sample", stack="c3s2d2,a3s2p1,c3d2,m2,c2")
    assert r2.numbers["all_agree"] is True and r2.numbers["rf_size"][-1] == 37
    assert "has holes" in r2.text("en")


def test_errors_name_the_problem() -> None:
    with pytest.raises(ConfigError, match=r"Layer 1 \(Flatten\) has no receptive field.*Conv2d"):
        receptive_fields(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten()), (28, 28))
    with pytest.raises(ConfigError, match="ceil_mode=True"):
        receptive_fields(nn.Sequential(nn.MaxPool2d(2, ceil_mode=True)), (28, 28))
    with pytest.raises(ShapeError, match=r"Output unit \(9, 9\) does not exist"):
        gradient_rf(nn.Sequential(nn.Conv2d(1, 1, 3)), (10, 10), (9, 9))
    with pytest.raises(ConfigError, match=r"Bad layer 'x3'.*c3,m2,c3s2d2"):
        lab.run("receptive-field", data="mnist-sample", stack="c3,x3")
    with pytest.raises(ShapeError, match="Kernel too large"):
        lab.run("receptive-field", data="mnist-sample", stack="m2,m2,m2,m2,m2")
    with pytest.raises(ConfigError, match=r"index = -1 is out of range"):
        lab.run("receptive-field", index=-1)


def test_cli_bad_stack_exit_2(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    out = tmp_path / "out"
    rc = main(["lab", "receptive-field", "--data", "mnist-sample", "--stack", "c0", "--out", str(out)])
    assert rc == 2 and "Bad layer 'c0'" in capsys.readouterr().err
    assert not out.exists()
