"""Pooling: shapes and window values on a real digit; shift sensitivity with and without pooling."""

from __future__ import annotations

import pytest
import torch

from cnnlab import lab
from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.lab.pooling import shift_right


@pytest.fixture(scope="module")
def result():
    return lab.run("pooling", data="mnist-sample", n_images=200)


def test_shapes_and_window_values(result) -> None:
    n = result.numbers
    assert n["input_shape"] == [1, 1, 28, 28]
    assert n["maxpool_shape"] == n["avgpool_shape"] == [1, 1, 14, 14]
    win = torch.tensor(n["window"])  # (4, 4)
    blocks = win.reshape(2, 2, 2, 2).permute(0, 2, 1, 3).reshape(2, 2, 4)  # (2, 2, p·p)
    torch.testing.assert_close(torch.tensor(n["window_max"]), blocks.amax(-1))
    torch.testing.assert_close(torch.tensor(n["window_avg"]), blocks.mean(-1))
    assert (torch.tensor(n["window_max"]) >= torch.tensor(n["window_avg"])).all()


def test_pooling_reduces_but_does_not_remove_shift_change(result) -> None:
    at1 = result.numbers["relative_change_at_1"]
    assert at1["conv"] > at1["conv_maxpool"] > 0.05
    assert at1["conv"] > at1["conv_avgpool"] > 0.05
    assert at1["conv_maxpool2"] < at1["conv_maxpool"]
    assert at1["conv_globalmax"] < 1e-6  # digits keep an empty margin: global max sees the same
    curves = result.numbers["relative_change"]
    assert all(c[0] == 0 for c in curves.values())
    assert curves["conv"][4] > curves["conv"][1]  # larger shifts change more
    assert result.numbers["conv_equivariance_max_abs_error"] < 1e-6


def test_shift_right_is_exact() -> None:
    x = torch.arange(2 * 3 * 5, dtype=torch.float32).reshape(1, 2, 3, 5)
    y = shift_right(x, 2)
    assert torch.equal(y[..., 2:], x[..., :3]) and torch.equal(y[..., :2], torch.zeros(1, 2, 3, 2))
    assert torch.equal(shift_right(x, 0), x)


def test_reproducible() -> None:
    a = lab.run("pooling", data="mnist-sample", n_images=20, seed=1).numbers
    b = lab.run("pooling", data="mnist-sample", n_images=20, seed=1).numbers
    assert a["relative_change"] == b["relative_change"]


def test_bad_parameters(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"max_shift = 28 is out of range; valid: 1\.\.27"):
        lab.run("pooling", max_shift=28)
    with pytest.raises(ConfigError, match=r"pool = 15 is out of range; valid: 1\.\.14"):
        lab.run("pooling", pool=15)
    out = tmp_path / "o"
    assert main(["lab", "pooling", "--max-shift", "-1", "--out", str(out)]) == 2
    assert "max_shift = -1 is out of range" in capsys.readouterr().err and not out.exists()
