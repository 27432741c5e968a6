"""``hierarchy``, ``receptive-field`` and ``pattern`` with ``--model path/net.py:Class``: a
user-style CNN written to a temporary file, run through the CLI and the API, numbers checked
against the model itself (receptive fields against the chain formula worked by hand, maps and
kernels against a forward pass of the same seeded model)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab.cli import main
from cnnlab.lab.registry import get

NET = textwrap.dedent(
    """
    import torch
    from torch import nn


    class Net(nn.Module):
        '''A chain: conv5 → pool2 → dilated conv3 → pool2 → conv3, then a pooled linear head.'''

        def __init__(self, width: int = 4, classes: int = 10):
            super().__init__()
            self.conv1 = nn.Conv2d(1, width, 5, padding=2)
            self.pool1 = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=2, dilation=2)
            self.pool2 = nn.MaxPool2d(2)
            self.conv3 = nn.Conv2d(2 * width, 2 * width, 3, padding=1)
            self.head = nn.Linear(2 * width, classes)

        def forward(self, x):
            x = self.pool1(torch.relu(self.conv1(x)))
            x = self.pool2(torch.relu(self.conv2(x)))
            x = torch.relu(self.conv3(x))
            return self.head(x.mean((2, 3)))


    class Res(nn.Module):
        '''RGB input, a residual block, then two parallel stride-2 paths added.'''

        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.a = nn.Conv2d(8, 8, 3, padding=1)
            self.b = nn.Conv2d(8, 8, 3, padding=1)
            self.down = nn.Conv2d(8, 8, 1, stride=2)
            self.c = nn.Conv2d(8, 8, 3, stride=2, padding=1)
            self.head = nn.Linear(8, 5)

        def forward(self, x):
            x = torch.relu(self.stem(x))
            x = torch.relu(x + self.b(torch.relu(self.a(x))))
            x = self.down(x) + self.c(x)
            return self.head(x.mean((2, 3)))


    class NoConv(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(784, 10)

        def forward(self, x):
            return self.fc(x.flatten(1))
    """
)

# Net's fields worked by hand: r += (k−1)·d·jump, jump ×= stride
#   conv1 k5        r = 5,                 jump 1
#   pool1 k2 s2     r = 5 + 1·1   = 6,     jump 2
#   conv2 k3 d2     r = 6 + 2·2·2 = 14,    jump 2
#   pool2 k2 s2     r = 14 + 1·2  = 16,    jump 4
#   conv3 k3        r = 16 + 2·4  = 24,    jump 4
NET_FIELDS = [5, 6, 14, 16, 24]
NET_JUMPS = [1, 2, 2, 4, 4]


@pytest.fixture
def net_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the CLI's default --out lands here, not in the repository
    path = tmp_path / "net.py"
    path.write_text(NET)
    return path


def _user_net(net_file: Path, name: str = "Net", seed: int = 0, **kw: int) -> torch.nn.Module:
    """The same model the experiment builds: the file's class under the same seed."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("user_net_copy", net_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(seed)
    return getattr(module, name)(**kw).eval()


def test_receptive_field_cli_matches_the_chain_formula(
    net_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        ["lab", "receptive-field", "--model", f"{net_file}:Net", "--data", "mnist-sample", "--json"]
    )
    assert rc == 0, capsys.readouterr().err
    n = json.loads(capsys.readouterr().out)
    layers = n["user"]["layers"]
    assert [lay["name"] for lay in layers] == ["conv1", "pool1", "conv2", "pool2", "conv3"]
    assert [lay["formula"] for lay in layers] == NET_FIELDS
    assert [lay["measured"] for lay in layers] == [[r, r] for r in NET_FIELDS]
    assert [lay["measured_jump"] for lay in layers] == NET_JUMPS
    assert all(lay["agree"] for lay in layers) and n["user"]["chain"] is True
    assert [lay["out"] for lay in layers][-1] == [8, 7, 7]
    assert n["user"]["model"]["kind"] == "file" and n["user"]["model"]["trained"] is False
    # the linearised gradient of layer 1 is exactly the 5×5 box around the centre unit (14, 14)
    grad = np.asarray(n["user"]["grad_linear"] if isinstance(n["user"]["grad_linear"], list) else 0)
    if grad.ndim == 3:
        rows, cols = np.nonzero(grad[0] > 0)
        assert (rows.min(), rows.max(), cols.min(), cols.max()) == (12, 16, 12, 16)


def test_receptive_field_api_finds_where_a_net_stops_being_a_chain(net_file: Path) -> None:
    r = get("receptive-field")(model=f"{net_file}:Res", data="mnist-sample")
    u = r.data.user
    assert u.channels_fit == "repeated"  # gray digits into an RGB model
    sizes = [lay.measured[0] for lay in u.layers]
    # stem 3; a 5; b 7 (the residual sum keeps the widest path); down (1×1, s2) 7; c: 7 + 2·1 = 9
    assert sizes == [3, 5, 7, 7, 9]
    assert [lay.agree for lay in u.layers] == [True, True, True, True, False]
    assert u.layers[-1].formula == 0  # the chain order (down → c) would give a 7×7 output, not 14
    assert u.first_branch == 5 and not u.chain
    text = r.text()
    assert "From layer 5 (c) the formula over the call order no longer matches" in text
    assert "5층(c)부터는" in r.text("ko")


def test_receptive_field_real_gradient_is_the_models_own(net_file: Path) -> None:
    """The 'your model' gradient is |∂ Σ_c conv3(x)[centre] / ∂x| of the seeded model itself."""
    from cnnlab.data import get_dataset

    r = get("receptive-field")(model=f"{net_file}:Net", data="mnist-sample", index=3, seed=2)
    model = _user_net(net_file, seed=2)
    x = get_dataset("mnist-sample", train=True)[3][0][None].clone().requires_grad_(True)
    h = torch.relu(model.conv1(x))
    h = model.pool2(torch.relu(model.conv2(model.pool1(h))))
    out = model.conv3(h)  # (1, 8, 7, 7)
    out[0, :, 3, 3].sum().backward()
    want = x.grad[0].abs().sum(0).numpy()
    np.testing.assert_allclose(r.data.user.grad_real, want, rtol=1e-5, atol=1e-8)


def test_hierarchy_api_maps_and_fields_of_the_users_net(net_file: Path) -> None:
    from cnnlab.data import get_dataset
    from cnnlab.lab.hierarchy import kernel_smoothness

    r = get("hierarchy")(model=f"{net_file}:Net", kw=("width=6",), data="mnist-sample", index=7)
    n = r.data
    assert [s.name for s in n.user.stages] == ["conv1", "pool1", "conv2", "pool2", "conv3"]
    assert [s.receptive_field for s in n.user.stages] == NET_FIELDS
    assert n.block_channels == [6, 12, 12] and n.block_spatial == [28, 14, 7]
    model = _user_net(net_file, width=6)
    x = get_dataset("mnist-sample", train=False)[7][0][None]
    with torch.no_grad():
        c1 = model.conv1(x)
        logits = model(x)
    row = n.rows[1]  # conv1's maps, first n_show channels
    np.testing.assert_allclose(row.maps, c1[0, : len(row.maps)].numpy(), rtol=1e-5, atol=1e-6)
    assert n.prediction == int(logits.argmax(1))
    assert n.user.kernel_user == pytest.approx(kernel_smoothness(model.conv1.weight))
    assert n.frame is None and "Not measured for your model" in r.text()
    assert set(r.figures) == {"feature_maps", "first_layer_kernels"}


def test_pattern_api_top_window_is_the_argmax_of_the_users_first_conv(net_file: Path) -> None:
    from cnnlab.data import get_dataset
    from cnnlab.lab.pattern import centred_cosine
    from cnnlab.train.tensors import as_tensors

    r = get("pattern")(model=f"{net_file}:Net", data="mnist-sample", n_test=60)
    le = r.data.learned
    assert le.kind == "user" and le.n_kernels == 4 and le.kernel == 5 and le.n_search == 60
    model = _user_net(net_file)
    x = as_tensors(get_dataset("mnist-sample", train=False))[0][:60]  # (60, 1, 28, 28)
    with torch.no_grad():
        act = model.conv1(x)  # (60, 4, 28, 28)
    w = model.conv1.weight.detach().double().numpy()  # (4, 1, 5, 5)
    padded = F.pad(x, (2, 2, 2, 2))
    for ch in range(4):
        img, pos = divmod(int(act[:, ch].flatten().argmax()), 28 * 28)
        r0, c0 = divmod(pos, 28)
        window = padded[img, :, r0 : r0 + 5, c0 : c0 + 5].double().numpy()
        want = centred_cosine(w[ch : ch + 1], window[None])[0]
        assert le.cosine_top[ch] == pytest.approx(want, abs=1e-6)
        np.testing.assert_allclose(le.patches[ch], window.mean(0), atol=1e-6)
    assert 0.0 <= le.p_value <= 1.0
    assert "re-initialised" in r.text()


def test_numbers_round_trip(net_file: Path) -> None:
    for name, extra in (("receptive-field", {}), ("hierarchy", {}), ("pattern", {"n_test": 30})):
        exp = get(name)
        r = exp(model=f"{net_file}:Net", data="mnist-sample", **extra)
        again = exp.load(json.loads(r.to_json()))
        assert again.text() == r.text(), name


def test_bad_models_exit_2(net_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["lab", "hierarchy", "--data", "mnist-sample", "--model"]
    assert main([*args, f"{net_file}:NoConv"]) == 2
    assert "has no Conv2d layer" in capsys.readouterr().err
    assert main([*args, f"{net_file}:Nope"]) == 2
    assert "Nope" in capsys.readouterr().err
    assert main([*args, f"{net_file}:Net", "--kw", "width=0"]) == 2
    assert "Error:" in capsys.readouterr().err
