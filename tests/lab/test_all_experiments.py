"""One suite over every registered experiment: runs on a tiny budget, JSON numbers, decodable
figures, Korean and English text, validated parameters, a working CLI."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from PIL import Image

from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.i18n import catalog
from cnnlab.lab.registry import load_all

EXPERIMENTS = load_all()
NAMES = sorted(EXPERIMENTS)


@pytest.fixture(scope="module")
def results():
    """Each experiment run once with its quick preset (shared by the checks below)."""
    cache = {}

    def get(name: str):
        if name not in cache:
            exp = EXPERIMENTS[name]
            cache[name] = exp(exp.make_params(**exp.quick), lang="en")
        return cache[name]

    return get


@pytest.mark.parametrize("name", NAMES)
def test_runs_with_json_numbers(results, name: str) -> None:
    r = results(name)
    assert r.name == name
    numbers = json.loads(r.to_json())
    assert isinstance(numbers, dict) and len(numbers) >= 2


@pytest.mark.parametrize("name", NAMES)
def test_figures_decode(results, name: str) -> None:
    r = results(name)
    assert r.figures, f"{name} draws no figure"
    for fig_name in r.figures:
        img = Image.open(io.BytesIO(r.png_bytes(fig_name, dpi=50)))
        img.load()
        assert img.width > 50 and img.height > 50


@pytest.mark.parametrize("name", NAMES)
def test_text_in_korean_and_english(results, name: str) -> None:
    r = results(name)
    keys = [key for key, _ in r.messages]
    assert keys and all(key in catalog() for key in keys), [k for k in keys if k not in catalog()]
    en, ko = r.text("en"), r.text("ko")
    assert en.strip() and ko.strip() and en != ko
    assert any("\uac00" <= ch <= "\ud7a3" for ch in ko)
    assert EXPERIMENTS[name].title_key in catalog()


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_documented_and_validated(name: str) -> None:
    exp = EXPERIMENTS[name]
    for f in dataclasses.fields(exp.params):
        assert f.metadata.get("help") in catalog(), f"{name}.{f.name} has no catalog help"
        if "min" in f.metadata and isinstance(f.metadata["min"], int):
            with pytest.raises(
                ConfigError, match=rf"{f.name} = {f.metadata['min'] - 1} is out of range"
            ):
                exp.make_params(**{f.name: f.metadata["min"] - 1})
        if "choices" in f.metadata:
            with pytest.raises(ConfigError, match=rf"{f.name} = 'bogus' is not valid. Valid: "):
                exp.make_params(**{f.name: "bogus"})
    with pytest.raises(ConfigError, match=rf"Experiment '{name}' has no parameter\(s\) bogus"):
        exp.make_params(bogus=1)


@pytest.mark.parametrize("name", NAMES)
def test_cli_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", name, "--help"]) == 0
    assert "--json" in capsys.readouterr().out


def test_unknown_experiment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tour", "--only", "nope"]) == 2
    assert "Unknown experiment 'nope'. Valid: " in capsys.readouterr().err


@pytest.mark.parametrize("name", NAMES)
def test_numbers_round_trip_through_json_and_sidecar(results, name: str) -> None:
    """Saved numbers load back equal to the measured ones, and give the same text and figures."""
    import numpy as np

    from cnnlab.jsonable import equal

    r = results(name)
    data, arrays = r.split_numbers()
    data = json.loads(json.dumps(data))  # through real JSON text
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    loaded = EXPERIMENTS[name].load(data, arrays, lang="en")
    assert type(loaded.data) is type(r.data)
    assert equal(loaded.data, r.data)
    assert loaded.text("en") == r.text("en") and loaded.text("ko") == r.text("ko")
    assert sorted(loaded.figures) == sorted(r.figures)


@pytest.mark.parametrize("name", NAMES)
def test_numbers_are_frozen_dataclasses_without_torch(results, name: str) -> None:
    r = results(name)
    assert dataclasses.is_dataclass(r.data) and type(r.data).__dataclass_params__.frozen
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(r.data, dataclasses.fields(r.data)[0].name, None)

    def walk(value: object) -> None:
        assert "torch" not in type(value).__module__, type(value)
        if dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(r.data)
