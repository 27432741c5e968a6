"""The checkpoint index (``checkpoint.json``) is validated on load: tampering is refused by name,
and no JSON whatsoever makes the loader raise anything but a cnnlab error."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlab.cli import main
from cnnlab.errors import CheckpointError, CnnlabError
from cnnlab.train import TrainConfig, fit, load_checkpoint, load_model
from cnnlab.train.index import validate_index
from tests.train.helpers import tiny_data, tiny_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("index")
    train, val = tiny_data(128, 64)
    fit(tiny_model(), train, val, TrainConfig(epochs=1, batch_size=64, threads=1, out=str(out)))
    return out


@pytest.fixture(scope="module")
def meta(saved: Path) -> dict[str, Any]:
    return json.loads((saved / "checkpoint.json").read_text())


def _tampered(saved: Path, tmp_path: Path, edit: Any) -> Path:
    folder = tmp_path / "ckpt"
    folder.mkdir(parents=True)
    for f in saved.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    index = json.loads((folder / "checkpoint.json").read_text())
    edit(index)
    (folder / "checkpoint.json").write_text(json.dumps(index))
    return folder


def test_a_real_index_is_valid(saved, meta):
    assert validate_index(meta, "x") is meta
    load_model(saved)


def _set(path: str, value: Any):
    def edit(index: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = index
        for p in parents:
            node = node[p]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return edit


_DELETE = object()


@pytest.mark.parametrize(
    "path,value,pattern",
    [
        (
            "preprocess.std",
            [0.0],
            r"field preprocess\.std\[0\] is 0\.0, expected a finite number "
            r"in \(0, inf\]",
        ),
        ("preprocess.std", [-1.0], r"field preprocess\.std\[0\] is -1\.0"),
        ("preprocess.std", ["0.3"], r"field preprocess\.std\[0\] is '0\.3'"),
        (
            "preprocess.std",
            [0.3, 0.3],
            r"preprocess\.std is \[0\.3, 0\.3\], expected one value "
            r"per input channel \(1\)",
        ),
        ("preprocess.mean", [float("nan")], r"field preprocess\.mean\[0\] is nan"),
        ("preprocess.mean", _DELETE, r"field preprocess\.mean is missing"),
        ("preprocess", _DELETE, r"field preprocess is missing"),
        ("preprocess", [1], r"field preprocess is \[1\], expected a JSON object"),
        ("progress.epoch", -1, r"field progress\.epoch is -1, expected an integer in \[0, "),
        ("progress.epoch", "3", r"field progress\.epoch is '3'"),
        ("progress.global_step", 1.5, r"field progress\.global_step is 1\.5"),
        ("model.name", "resnet", r"field model\.name is 'resnet', expected one of cnn, mlp"),
        ("model.kwargs", {"depth": 3}, r"field model\.kwargs .*Model 'cnn' has no option 'depth'"),
        (
            "model.kwargs",
            {"channels": [10**9, 10**9]},
            r"expected a model of 1 to 2,147,483,648 "
            r"parameters",
        ),
        ("model.name", _DELETE, r"field model\.name is missing"),
        (
            "config.lr",
            1e300,
            r"field config\.lr is 1e\+300, expected valid training options "
            r"\(lr must be in \(0, 10\]",
        ),
        ("config.epochs", 0, r"field config\.epochs is 0"),
        ("config.optimizer", 7, r"field config\.optimizer is 7"),
        ("num_classes", 0, r"field num_classes is 0"),
        ("classes", "0123456789", r"field classes is '0123456789', expected a list"),
        ("input_shape", [1, 28], r"preprocess"),  # 2 dims are a series: fine, channels still 1
        ("input_shape", [0, 28, 28], r"field input_shape\[0\] is 0"),
        ("files.weights", "../../etc/passwd", r"field files\.weights is '\.\./\.\./etc/passwd'"),
        ("version", "1", r"field version is '1', expected an integer in \[1, 1\]"),
        ("best_accuracy", 1.5, r"field best_accuracy is 1\.5"),
        ("metrics.accuracy", -0.1, r"field metrics\.accuracy is -0\.1"),
        ("world_size", 0, r"field world_size is 0"),
    ],
)
def test_tampered_index_is_refused_by_name(saved, tmp_path, path, value, pattern):
    folder = _tampered(saved, tmp_path, _set(path, value))
    if path == "input_shape" and value == [1, 28]:
        load_checkpoint(folder)  # valid as an index; the model then refuses the shape
        return
    with pytest.raises(
        CheckpointError,
        match=r"checkpoint\.json' is broken: " + pattern.lstrip()
        if pattern.startswith("field")
        else pattern,
    ):
        load_checkpoint(folder)


def test_index_from_a_bigger_machine_still_loads(saved, tmp_path):
    """threads=64 and device=cuda were valid where it was trained: not a broken index here."""
    folder = _tampered(saved, tmp_path, lambda ix: ix["config"].update(threads=64, device="cuda"))
    load_model(folder)


def test_resume_of_a_run_from_a_bigger_machine_uses_this_ones_threads(saved, tmp_path):
    from cnnlab.train.session import Architecture, plan_training

    folder = _tampered(saved, tmp_path, lambda ix: ix["config"].update(threads=4096))
    kw = {"options": {"threads": None}, "arch": Architecture(), "resume": True}
    assert plan_training("cnn", "mnist-sample", out=folder, **kw).config.threads is None
    fits = _tampered(saved, tmp_path / "b", lambda ix: ix["config"].update(threads=1))
    assert plan_training("cnn", "mnist-sample", out=fits, **kw).config.threads == 1


def test_std_zero_via_cli_exit_2_in_both_languages(saved, tmp_path, capsys):
    folder = _tampered(saved, tmp_path, _set("preprocess.std", [0.0]))
    assert main(["--lang", "en", "evaluate", "--checkpoint", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "field preprocess.std[0] is 0.0, expected a finite number in (0, inf]" in err
    assert "Traceback" not in err
    assert main(["--lang", "ko", "evaluate", "--checkpoint", str(folder)]) == 2
    assert "필드 `preprocess.std[0]`의 값이 0.0인데, (0, inf] 범위의 유한한 수여야" in (
        capsys.readouterr().err
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            found += _paths(v, (*prefix, i))
    return found


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_index_loader_raises_only_cnnlab_errors(meta, data):
    """Replace, delete or retype any field (nested too) — or give any JSON at all."""
    index: Any = copy.deepcopy(meta)
    if data.draw(st.booleans(), label="whole index random") and data.draw(st.booleans()):
        index = data.draw(json_values, label="index")
    else:
        for _ in range(data.draw(st.integers(1, 3), label="edits")):
            paths = _paths(index)
            path = data.draw(st.sampled_from(paths), label="path")
            parent = index
            for key in path[:-1]:
                parent = parent[key]
            if data.draw(st.booleans(), label="delete") and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(json_values, label="value")
    try:
        validate_index(index, "fuzz/checkpoint.json")
    except CnnlabError as exc:
        assert isinstance(exc, CheckpointError)
        assert "fuzz/checkpoint.json" in exc.message("en") and exc.message("ko")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=st.one_of(st.text(max_size=40), json_values.map(json.dumps)))
def test_fuzz_index_file_bytes(saved, tmp_path, text):
    """Whatever bytes checkpoint.json holds, load raises CheckpointError or loads."""
    folder = tmp_path / "f"
    folder.mkdir(exist_ok=True)
    (folder / "checkpoint.json").write_text(text)
    with pytest.raises(CheckpointError):
        load_checkpoint(folder)
