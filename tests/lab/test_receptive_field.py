"""Receptive field: the formula against input gradients, on many stacks; the experiment's claims."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
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
from cnnlab.lab.receptive_field import (
    UNIFORM_SHARE,
    central_share,
    central_weights,
    explain,
    parse_spec,
    parse_stack,
)

STACKS = {
    "simple_cnn": nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
    ),
    "valid_convs": nn.Sequential(nn.Conv2d(1, 2, 5), nn.Conv2d(2, 2, 5), nn.Conv2d(2, 2, 3)),
    "strided": nn.Sequential(
        nn.Conv2d(1, 2, 3, stride=2), nn.ReLU(), nn.Conv2d(2, 2, 3, stride=2), nn.AvgPool2d(2)
    ),
    "dilated": nn.Sequential(
        nn.Conv2d(1, 2, 3, dilation=2, padding=2),
        nn.Conv2d(2, 2, 3, dilation=4),
        nn.MaxPool2d(3, stride=1, dilation=2),
    ),
    "holes": nn.Sequential(nn.Conv2d(1, 2, 2, stride=3), nn.Conv2d(2, 2, 3), nn.AvgPool2d(3, 2, 1)),
    "non_square": nn.Sequential(
        nn.Conv2d(1, 2, (3, 5), padding="same"), nn.Conv2d(2, 2, (1, 3)), nn.MaxPool2d((2, 3))
    ),
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
    outside[top : bottom + 1, left : right + 1] = 0
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
    rc = main(
        ["lab", "receptive-field", "--data", "mnist-sample", "--stack", "c0", "--out", str(out)]
    )
    assert rc == 2 and "Bad layer 'c0'" in capsys.readouterr().err
    assert not out.exists()


# --- geometry, coordinates, effective padding -----------------------------------------------------


def _run(**kw: object) -> lab.Result:
    return lab.run("receptive-field", data="mnist-sample", **kw)


def test_formula_is_geometry_and_matches_the_torch_layers() -> None:
    from cnnlab.geometry import rf_chain

    stack = "c3s2d2,a3s2p1,c3d2,m2,c2"
    r = _run(stack=stack, seeds=1)
    fields = rf_chain(
        (ls.kernel, ls.stride, ls.padding[0], ls.dilation) for ls in parse_spec(stack)
    )
    layers = r.data.layers
    assert [lf.size for lf in layers] == [f.size for f in fields]
    assert [lf.left for lf in layers] == [f.left for f in fields]
    # an independent path: inspect reads the same numbers back from the built torch layers
    rows = receptive_fields(parse_stack(stack), (28, 28))
    assert [lf.size for lf in layers] == [row.size[0] for row in rows]
    assert [lf.start for lf in layers] == [row.start[0] for row in rows]
    assert [lf.out for lf in layers] == [row.out for row in rows]


def test_same_padding_is_pytorchs_split() -> None:
    assert parse_spec("c2")[0].padding == (0, 1)  # odd total: the extra cell right/bottom
    assert parse_spec("c3d2")[0].padding == (2, 2)
    assert parse_spec("c3s2")[0].padding == (1, 1)  # no 'same' at stride 2: the left half twice
    assert parse_spec("c5p0")[0].padding == (0, 0) and parse_spec("m2")[0].padding == (0, 0)
    with torch.no_grad():
        y = parse_stack("c2,c4")(torch.zeros(1, 1, 28, 28))
    assert tuple(y.shape) == (1, 4, 28, 28)  # 'same' keeps the size for even kernels too
    r = _run(stack="c2,c4", seeds=1)
    assert r.data.all_agree and [lf.out for lf in r.data.layers] == [(28, 28), (28, 28)]


def test_start_convention_and_effective_padding() -> None:
    r = _run(seeds=1)
    layers = r.data.layers
    assert [lf.effective_padding for lf in layers] == [1, 2, 2, 4, 6, 6, 10]
    assert all(lf.start == lf.left + (lf.size - 1) / 2 for lf in layers)
    # the tutorial's recurrence (pixel 0's centre at 0.5): start += ((k - 1) / 2 - p) * j
    start, jump, tutorial = 0.5, 1, []
    for ls in parse_spec("c3,c3,m2,c3,c3,m2,c3"):
        start += ((ls.kernel - 1) / 2 - ls.padding[0]) * jump
        jump *= ls.stride
        tutorial.append(start)
    assert [lf.start + 0.5 for lf in layers] == tutorial
    text = r.text("en")
    assert "pixel 0's centre is 0" in text and "add 0.5 to every start" in text
    assert "reaches 10 pixels beyond" in text and "0번 픽셀의 중심은 0" in r.text("ko")
    valid = _run(stack="c3p0,c3p0", seeds=1)
    assert [lf.effective_padding for lf in valid.data.layers] == [0, 0]
    assert "no unit's field reaches beyond" in valid.text("en")


# --- the effective receptive field: central share -------------------------------------------------


def test_central_weights_cover_half_the_field() -> None:
    for size in (1, 2, 3, 4, 5, 10, 24):
        w = central_weights(0, size, size)
        assert w.sum() == pytest.approx(size / 2) and w.max() <= 1
    assert central_weights(0, 3, 3).tolist() == [0.25, 1.0, 0.25]
    assert central_share(np.ones((7, 7)), (0, 0), 7) == pytest.approx(UNIFORM_SHARE)
    assert np.isnan(central_share(np.zeros((5, 5)), (0, 0), 5))


@pytest.mark.parametrize("k", [2, 3, 4, 5, 7])
def test_one_linearised_layer_is_uniform(k: int) -> None:
    # closed form: one ones-kernel window weighs its k×k pixels equally → (1/2)² of the mass
    r = _run(stack=f"c{k}", seeds=1)
    assert r.data.layers[0].share_linear == pytest.approx(0.25)


def test_two_linearised_layers_closed_form() -> None:
    # c3,c3: per axis the weights are 1,2,3,2,1 (/9); the central half [-1.25, 1.25] takes 3 of
    # the middle pixel and 3/4 of each neighbour: (3 + 2·2·0.75)/9 = 2/3 per axis → 4/9.
    r = _run(stack="c3,c3", seeds=1)
    assert r.data.layers[1].share_linear == pytest.approx(4 / 9)


def test_effective_field_shrinks_relative_to_the_theoretical_one() -> None:
    r = _run(stack="c3,c3,c3,c3,c3,c3,c3,c3", seeds=1)
    shares = [lf.share_linear for lf in r.data.layers]
    assert all(b > a for a, b in itertools.pairwise(shares)) and shares[-1] <= 1
    assert shares[0] == pytest.approx(UNIFORM_SHARE) and shares[-1] > 0.75
    for lf in r.data.layers:
        for sp in (lf.share_real, lf.share_shuffled):
            assert 0 <= sp.mean <= 1


def test_random_nets_spread_over_seeds() -> None:
    r = _run(stack="c3,c3,m2,c3", seeds=3, seed=5)
    layers = r.data.layers
    assert all(lf.share_real.n + lf.dead_real == 3 for lf in layers)
    assert all(
        lf.share_real.low <= lf.share_real.mean + 1e-12 <= lf.share_real.high + 2e-12
        for lf in layers
        if lf.share_real.n
    )
    assert any(lf.share_real.std > 0 for lf in layers)  # different seeds, different nets
    # digit 0's blank centre: in some nets every ReLU under the layer-2 centre unit is off; that
    # seed has no gradient mass, is counted and left out of the mean (not averaged in as 0 or NaN)
    assert layers[1].dead_real >= 1 and layers[1].share_real.n == 3 - layers[1].dead_real
    assert layers[1].dead_shuffled == 0 and np.isfinite(layers[1].share_real.mean)
    assert any(k == "lab.receptive_field.erf_dead" for k, _ in r.messages)
    again = _run(stack="c3,c3,m2,c3", seeds=1, seed=5)  # the first seed is the same net
    assert again.data.grad_real.tolist() == r.data.grad_real.tolist()
    assert "3 seeds, mean ± standard deviation" in r.text("en")
    assert "1 seed only" in _run(stack="c3", seeds=1).text("en")


def test_shuffled_control_is_the_same_image_and_exact_for_a_linear_unit() -> None:
    # one conv, gradient taken before its ReLU: the unit is linear in x, so its gradient (and the
    # share) cannot depend on the input — digit and shuffled pixels must agree exactly
    r = _run(stack="c5", seeds=3)
    lf = r.data.layers[0]
    assert lf.share_real == lf.share_shuffled
    # deeper, the ReLUs see the input: the control measures something different
    deep = _run(stack="c3,c3,c3", seeds=2)
    assert any(x.share_real.mean != x.share_shuffled.mean for x in deep.data.layers[1:])


def test_verdicts_follow_the_numbers() -> None:
    from cnnlab.lab.receptive_field import _finite_spread

    n = _run(stack="c3,c3", seeds=3).data
    last = n.layers[-1]

    def keys(real: list[float], shuffled: list[float]) -> list[str]:
        layer = dataclasses.replace(
            last,
            share_real=_finite_spread(np.array(real)),
            share_shuffled=_finite_spread(np.array(shuffled)),
        )
        return [k for k, _ in explain(dataclasses.replace(n, layers=(n.layers[0], layer)))]

    assert "lab.receptive_field.erf_real_above" in keys([0.4, 0.5, 0.6], [0.4, 0.5, 0.6])
    assert "lab.receptive_field.erf_real_below" in keys([0.1, 0.2, 0.24], [0.1, 0.2, 0.24])
    assert "lab.receptive_field.erf_real_mixed" in keys([0.2, 0.3, 0.4], [0.2, 0.3, 0.4])
    assert "lab.receptive_field.erf_shuffled_same" in keys([0.4, 0.5, 0.6], [0.45, 0.5, 0.6])
    assert "lab.receptive_field.erf_shuffled_differs" in keys([0.4, 0.41, 0.42], [0.6, 0.61, 0.62])
    nan = float("nan")  # every seed dead on the digit: no share, and no comparison with one
    dead = keys([nan, nan, nan], [0.4, 0.5, 0.6])
    assert "lab.receptive_field.erf_real_none" in dead
    assert not any(k.startswith("lab.receptive_field.erf_shuffled") for k in dead)


def test_gradient_panels_use_a_linear_scale() -> None:
    r = _run(seeds=1)
    fig = r.figures["gradients"]
    panels = [ax for ax in fig.axes if len(ax.images) == 2]
    first = panels[0].images[1]  # layer 1: a uniform 3×3 window, drawn in one colour, not black
    assert type(first.norm).__name__ == "Normalize" and first.norm.vmin == 0
    g = r.data.grad_linear[0]
    assert first.norm.vmax == pytest.approx(g.max()) and first.norm(g.max()) == 1
    assert "linear scale" in fig.get_suptitle()
