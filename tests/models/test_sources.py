"""load_model: every model source (registry, module path, file path, checkpoint), the refused
pickle, and each failure's message."""

from __future__ import annotations

import json
import pickle
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from cnnlab.errors import CheckpointError, ConfigError
from cnnlab.i18n import use_lang
from cnnlab.models import build
from cnnlab.models.sources import LoadedModel, load_model, parse_value, split_kw

NET_PY = textwrap.dedent(
    """
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv = nn.Conv2d(c, c, 3, padding=1)

        def forward(self, x):
            return x + torch.relu(self.conv(x))

    class TinyNet(nn.Module):
        def __init__(self, channels: int = 4, classes: int = 10, bias: bool = True):
            super().__init__()
            self.stem = nn.Conv2d(1, channels, 3, padding=1, bias=bias)
            self.block = Block(channels)
            self.head = nn.Linear(channels, classes)

        def forward(self, x):
            x = self.block(self.stem(x))
            return self.head(x.mean(dim=(2, 3)))

    def make_net(width=2):
        return TinyNet(channels=width)

    def not_a_model():
        return 42

    class Plain:
        pass
    """
)


@pytest.fixture
def net_file(tmp_path: Path) -> Path:
    path = tmp_path / "user_net.py"
    path.write_text(NET_PY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def checkpoint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real checkpoint: one step of a tiny cnn on 32 embedded digits, through the train API."""
    from cnnlab.data import get_dataset
    from cnnlab.train import TrainConfig, fit

    out = tmp_path_factory.mktemp("ckpt") / "run"
    ds = get_dataset("mnist-sample", train=True)
    torch.manual_seed(0)
    model = build("cnn", channels=(2, 4), hidden=8)
    data = (ds.data[:32].clone(), ds.targets[:32].clone())
    fit(model, data, None, TrainConfig(epochs=1, batch_size=32, out=str(out)))
    return out


def test_parse_value_literal_rules() -> None:
    assert parse_value("8") == 8 and isinstance(parse_value("8"), int)
    assert parse_value("0.5") == 0.5
    assert parse_value("True") is True and parse_value("false") is False
    assert parse_value("none") is None
    assert parse_value("(3, 3)") == (3, 3) and parse_value("[4, 8]") == [4, 8]
    assert parse_value("relu") == "relu" and parse_value("'x'") == "x"
    assert parse_value("__import__('os')") == "__import__('os')"  # text, never evaluated
    assert split_kw(("a=1", "b=x=y")) == {"a": "1", "b": "x=y"}
    with pytest.raises(ConfigError, match="key=value, got 'oops'"):
        split_kw(("oops",))


def test_registry_source() -> None:
    loaded = load_model("cnn", {"channels": "(2, 4)", "hidden": "8"})
    assert isinstance(loaded, LoadedModel)
    assert loaded.source_kind == "registry" and loaded.name == "cnn"
    assert loaded.input_shape is None and not loaded.model.training
    assert loaded.model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)
    with pytest.raises(ConfigError, match="has no option 'width'"):
        load_model("cnn", {"width": "3"})


def test_module_source_builds_with_kwargs() -> None:
    loaded = load_model(
        "torch.nn:Conv2d", {"in_channels": "3", "out_channels": "5", "kernel_size": "(3, 3)"}
    )
    assert loaded.source_kind == "module" and loaded.name == "Conv2d"
    assert isinstance(loaded.model, nn.Conv2d) and loaded.model.weight.shape == (5, 3, 3, 3)
    assert not loaded.model.training


def test_module_source_from_sys_path(net_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(net_file.parent))
    loaded = load_model("user_net:TinyNet", {"channels": "3", "bias": "false"})
    assert loaded.model.stem.out_channels == 3 and loaded.model.stem.bias is None
    factory = load_model("user_net:make_net", {"width": "5"})  # a function returning a model
    assert factory.model.stem.out_channels == 5
    sys.modules.pop("user_net", None)


def test_file_source(net_file: Path) -> None:
    loaded = load_model(f"{net_file}:TinyNet", {"channels": "6"})
    assert loaded.source_kind == "file" and loaded.name == "TinyNet"
    assert loaded.model.head.in_features == 6 and not loaded.model.training
    assert loaded.model(torch.zeros(2, 1, 12, 12)).shape == (2, 10)


def test_file_source_with_safetensors_weights(net_file: Path, tmp_path: Path) -> None:
    torch.manual_seed(1)
    trained = load_model(f"{net_file}:TinyNet").model
    save_file(trained.state_dict(), str(tmp_path / "net.safetensors"))
    again = load_model(f"{net_file}:TinyNet", weights=str(tmp_path / "net.safetensors")).model
    for k, v in trained.state_dict().items():
        assert torch.equal(again.state_dict()[k], v)
    with pytest.raises(CheckpointError, match=r"stem.weight.*\(4, 1, 3, 3\).*\(3, 1, 3, 3\)"):
        load_model(
            f"{net_file}:TinyNet", {"channels": "3"}, weights=str(tmp_path / "net.safetensors")
        )


def test_checkpoint_source(checkpoint_dir: Path) -> None:
    loaded = load_model(str(checkpoint_dir))
    assert loaded.source_kind == "checkpoint"
    assert loaded.input_shape == (1, 28, 28)
    assert loaded.name == f"cnn ({checkpoint_dir.name})"
    assert not loaded.model.training
    meta = json.loads((checkpoint_dir / "checkpoint.json").read_text())
    from safetensors.torch import load_file

    stored = load_file(str(checkpoint_dir / meta["files"]["weights"]))
    for k, v in loaded.model.state_dict().items():
        assert torch.equal(stored[k], v)  # the trained weights, not a fresh init
    same = load_model(str(checkpoint_dir / "checkpoint.json"))  # the index file works too
    assert same.input_shape == (1, 28, 28)
    with pytest.raises(ConfigError, match="--kw does not apply to the checkpoint"):
        load_model(str(checkpoint_dir), {"hidden": "4"})


def test_checkpoint_damaged_weights_are_refused(checkpoint_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(checkpoint_dir, copy)
    meta = json.loads((copy / "checkpoint.json").read_text())
    weights = copy / meta["files"]["weights"]
    weights.write_bytes(weights.read_bytes()[:-4] + b"XXXX")
    with pytest.raises(CheckpointError, match="sha256"):
        load_model(str(copy))
    meta["files"]["weights"] = "../../etc/passwd"
    (copy / "checkpoint.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"files\.weights"):
        load_model(str(copy))


def test_pickled_file_is_refused_unread(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Boom:
        def __reduce__(self):  # unpickling this would create the marker file
            return (Path.touch, (marker,))

    bad = tmp_path / "model.pt"
    bad.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ConfigError, match=r"pickled PyTorch file.*state_dict.*safetensors"):
        load_model(str(bad))
    with pytest.raises(ConfigError, match="pickled"):
        load_model("cnn", weights=str(bad))
    assert not marker.exists()
    with use_lang("ko"), pytest.raises(ConfigError, match="피클로 저장된"):
        load_model(str(bad))


@pytest.mark.parametrize(
    ("source", "kwargs", "error", "match"),
    [
        ("nosuch_pkg.models:Net", None, ConfigError, "Cannot import module 'nosuch_pkg.models'"),
        ("torch.nn:Nope", None, ConfigError, "has no 'Nope'"),
        ("collections:OrderedDict", None, ConfigError, "not a torch.nn.Module subclass"),
        ("math:pi", None, ConfigError, "not a torch.nn.Module subclass"),
        ("torch.nn:Conv2d", None, ConfigError, "needs in_channels, out_channels, kernel_size"),
        ("torch.nn:Conv2d", {"chans": "3"}, ConfigError, "no keyword 'chans'.*in_channels"),
        ("no/such/net.py:Net", None, ConfigError, "does not exist"),
        ("resnet9000", None, ConfigError, "Unknown model source 'resnet9000'.*cnn, mlp"),
        ("cnn", {"1x": "2"}, ConfigError, "not a Python identifier"),
    ],
)
def test_source_errors(source: str, kwargs: dict | None, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        load_model(source, kwargs)


def test_file_errors(net_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"has no 'Missing'.*Block, TinyNet"):
        load_model(f"{net_file}:Missing")
    with pytest.raises(ConfigError, match=r"'Plain'.*not a torch\.nn\.Module"):
        load_model(f"{net_file}:Plain")
    with pytest.raises(ConfigError, match=r"returned an object of type int, not an nn\.Module"):
        load_model(f"{net_file}:not_a_model")
    with pytest.raises(ConfigError, match=r"name the class.*Block, TinyNet"):
        load_model(str(net_file))
    with pytest.raises(ConfigError, match=r"TinyNet with channels='x' failed with TypeError"):
        load_model(f"{net_file}:TinyNet", {"channels": "x"})
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\nraise RuntimeError('no GPU here')\n")
    with pytest.raises(ConfigError, match="failed with RuntimeError: no GPU here"):
        load_model(f"{broken}:Net")
    with pytest.raises(CheckpointError, match="No checkpoint in"):
        load_model(str(tmp_path))
    with use_lang("ko"), pytest.raises(ConfigError, match="키워드가 없습니다"):
        load_model(f"{net_file}:TinyNet", {"width": "3"})
