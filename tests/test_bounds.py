"""Bounded resources, checked before any work: every experiment's size, count and seed parameter has
a range in its metadata; NaN and inf fail every float range; ``--out`` is probed for real; one run
per output folder (with two real processes)."""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnlab.cli import main
from cnnlab.cli.common import check_out_dir, hold_out_dir
from cnnlab.errors import ConfigError, OutputError
from cnnlab.fileio import LOCK_NAME, lock_output_dir
from cnnlab.lab.receptive_field import estimate_bytes, parse_spec
from cnnlab.lab.registry import SEED_MAX, load_all

EXPERIMENTS = load_all()

# (experiment, field, min, max) for every int field with a range, and every float field.
INT_RANGES = [
    (name, f.name, f.metadata.get("min"), f.metadata["max"])
    for name, exp in EXPERIMENTS.items()
    for f in dataclasses.fields(exp.params)
    if "max" in f.metadata and isinstance(f.metadata["max"], int)
]
FLOATS = [
    (name, f.name)
    for name, exp in EXPERIMENTS.items()
    for f in dataclasses.fields(exp.params)
    if isinstance(f.default, float)
]
# Fields that are sizes, counts or seeds: each must have both ends of its range (indices are
# bounded by the dataset they index, with a message naming its length).
COUNTED = ("seed", "seeds", "epochs", "n_", "size", "channels", "limit", "batch", "repeats")


# checked by the experiment itself before any work, with a message that needs more than a range
OWN_CHECK = {("hierarchy", "channels")}  # 1..4 blocks of 1..128 channels, blocks by image size


def _is_counted(name: str) -> bool:
    return any(name == c or name.startswith(c) or name.endswith(c) for c in COUNTED)


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_size_count_and_seed_has_a_range(name: str) -> None:
    for f in dataclasses.fields(EXPERIMENTS[name].params):
        if f.name.endswith("seed"):
            assert f.metadata.get("max") == SEED_MAX, f"{name}.{f.name}"
        if _is_counted(f.name) and (name, f.name) not in OWN_CHECK:
            assert "min" in f.metadata and "max" in f.metadata, f"{name}.{f.name} is unbounded"


@pytest.mark.parametrize(("name", "param", "low", "high"), INT_RANGES)
def test_past_the_top_of_the_range_is_refused(
    name: str, param: str, low: int | None, high: int
) -> None:
    exp = EXPERIMENTS[name]
    default = next(f.default for f in dataclasses.fields(exp.params) if f.name == param)
    bad: object = (
        (high + 1, high + 1) if isinstance(default, tuple) or default is None else high + 1
    )
    with pytest.raises(ConfigError, match=rf"{param} = {high + 1} is out of range; valid: "):
        exp.make_params(**{param: bad})


@pytest.mark.parametrize(("name", "param"), FLOATS)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_fail_every_float_range(name: str, param: str, value: float) -> None:
    with pytest.raises(ConfigError, match=rf"{param} = {value!r} is not a finite number; valid: "):
        EXPERIMENTS[name].make_params(**{param: value})


def test_seed_past_64_bits_names_the_range() -> None:
    with pytest.raises(ConfigError, match=rf"seed = {2**64} is out of range; valid: 0..{SEED_MAX}"):
        EXPERIMENTS["padding"].make_params(seed=2**64)
    assert EXPERIMENTS["padding"].make_params(seed=SEED_MAX).seed == SEED_MAX


def test_conv_steps_limit_and_sizes() -> None:
    exp = EXPERIMENTS["conv-steps"]
    with pytest.raises(ConfigError, match=r"input_size = 100000 is out of range; valid: 1..64"):
        exp.make_params(input_size=100_000)
    with pytest.raises(ConfigError, match=r"limit = -1 is out of range; valid: 0..4096"):
        exp.make_params(limit=-1)
    with pytest.raises(ConfigError, match=r"at = -1 is out of range; valid: 0..192"):
        exp.make_params(at=(-1, 0))


def test_receptive_field_stack_token_limits() -> None:
    exp = EXPERIMENTS["receptive-field"]
    with pytest.raises(
        ConfigError, match=r"'c3p100000'.*padding 100000 is too large; valid: 0..32"
    ):
        exp.make_params(stack="c3p100000")
    with pytest.raises(ConfigError, match=r"'c99'.*kernel size 99 is too large; valid: 1..32"):
        exp.make_params(stack="c3,c99")
    # 'same' padding follows kernel and dilation: not a typed padding, not refused as one
    assert exp.make_params(stack="c31d2").stack == "c31d2"


def test_receptive_field_stack_korean_message() -> None:
    with pytest.raises(ConfigError) as info:
        EXPERIMENTS["receptive-field"].make_params(stack="c3p100000")
    assert "패딩 100000이 너무 큽니다. 가능한 범위는 0..32입니다" in info.value.message("ko")


def test_receptive_field_memory_estimate_refuses_with_available_memory() -> None:
    deep = ",".join(["c3s2"] * 15 + ["c3"])  # field doubles each layer: canvas ~ 3 · 2^16 pixels
    need = estimate_bytes(parse_spec(deep))
    assert need > 2**40  # terabytes: the 1.4 TB class of the issue
    with pytest.raises(
        ConfigError, match=r"would need about [\d,]+ MiB.*\(([\d,]+|\?) MiB available"
    ):
        EXPERIMENTS["receptive-field"].make_params(stack=deep)
    # the default stack needs well under a MiB
    default = EXPERIMENTS["receptive-field"].params().stack
    assert estimate_bytes(parse_spec(default)) < 2**20


def test_receptive_field_estimate_bounds_the_real_run() -> None:
    """The estimate is an upper bound of the tensors the linearised check allocates."""
    import torch

    from cnnlab.inspect.receptive_field import gradient_rf
    from cnnlab.lab.receptive_field import parse_stack

    spec = "c5d2,c5d2,m2,c5d2"
    specs = parse_spec(spec)
    from cnnlab.geometry import rf_chain

    f = rf_chain((s.kernel, s.stride, s.padding[0], s.dilation) for s in specs)[-1]
    canvas = 3 * f.size
    g = gradient_rf(parse_stack(spec).eval(), (canvas, canvas))
    assert g.shape == (canvas, canvas)
    assert estimate_bytes(specs) >= 3 * canvas * canvas * torch.float32.itemsize


# ---- output folders -------------------------------------------------------------------------


def test_empty_out_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        OutputError, match=r"Cannot write to output directory '': the path is empty"
    ):
        check_out_dir("")


def test_out_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match=r"is not a directory"):
        check_out_dir(tmp_path / "f" / "sub")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_out_in_proc_is_refused_by_a_real_probe() -> None:
    # as root os.access(/proc, W_OK) is True, yet nothing can be created there
    with pytest.raises(OutputError, match=r"'/proc/cnnlab-x': /proc is not writable"):
        check_out_dir("/proc/cnnlab-x")


def test_probe_leaves_nothing(tmp_path: Path) -> None:
    assert check_out_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert list(tmp_path.iterdir()) == []


def test_hold_out_dir_removes_what_a_failed_run_created(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    with pytest.raises(RuntimeError), hold_out_dir(out):
        assert (out / LOCK_NAME).exists()
        raise RuntimeError("the run failed")
    assert list(tmp_path.iterdir()) == []
    with hold_out_dir(out):
        (out / "kept.txt").write_text("x")
    assert (out / "kept.txt").exists() and not (out / LOCK_NAME).exists()


@pytest.mark.parametrize(
    "args",
    [
        ["padding", "--seed", str(2**64)],
        ["lab", "pattern", "--noise", "nan"],
        ["conv-steps", "--bias", "nan"],
        ["conv-steps", "--input-size", "100000"],
        ["conv-steps", "--limit", "-1"],
        ["lab", "receptive-field", "--stack", "c3p100000"],
        ["lab", "pooling", "--n-images", "1000000"],
        ["lab", "cnn-vs-fc", "--seeds", "1000"],
        ["padding", "--out", "/proc/cnnlab-x"],
        ["lab", "shapes", "--out", ""],
    ],
)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_cli_refuses_before_any_work(
    args: list[str], lang: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    extra = [] if "--out" in args else ["--out", str(out)]
    cwd = os.getcwd()
    os.chdir(tmp_path)  # an --out "" that slipped through would write here
    try:
        code = main([*args, *extra, "--lang", lang])
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and err.count("\n") <= 2
    assert (
        ("valid" in err or "writable" in err or "path is empty" in err)
        if lang == "en"
        else ("가능한" in err or "쓸 수" in err or "경로가 비어" in err)
    )
    assert list(tmp_path.iterdir()) == []


# ---- one run per output folder: two real processes ------------------------------------------


def _cnnlab(*args: str) -> list[str]:
    return [sys.executable, "-m", "cnnlab", *args]


@pytest.mark.parametrize(
    "second", [("lab", "shapes"), ("tour", "--quick", "--only", "shapes"), ("padding",)]
)
def test_second_run_on_one_folder_is_refused_at_once(
    second: tuple[str, ...], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CNNLAB_LANG": "en"}
    # the first run: a full tour of a training experiment (minutes), holding the folder
    first = subprocess.Popen(
        _cnnlab("tour", "--only", "pattern", "--out", str(out)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        lock = out / LOCK_NAME
        deadline = time.monotonic() + 120
        while not (lock.exists() and lock.read_text().startswith(f"{first.pid}\n")):
            assert first.poll() is None, "the first run ended before it held the folder"
            assert time.monotonic() < deadline, "the first run never took the folder"
            time.sleep(0.05)
        start = time.monotonic()
        res = subprocess.run(
            _cnnlab(*second, "--out", str(out)), env=env, capture_output=True, text=True
        )
        assert res.returncode == 2, res.stderr
        assert time.monotonic() - start < 60  # refused at once, not after its own work
        assert f"'{out}' is in use by another cnnlab run (PID {first.pid}" in res.stderr
        assert "Traceback" not in res.stderr
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]  # the second wrote nothing
        assert first.poll() is None  # and the first goes on
    finally:
        first.terminate()
        first.wait(timeout=60)


def test_lock_is_free_again_after_a_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["lab", "shapes", "--out", str(out)]) == 0
    assert not (out / LOCK_NAME).exists()
    with lock_output_dir(out):  # nothing left held
        pass


# ---- datasets whose items are not digits ----------------------------------------------------


def test_fashion_items_are_named_by_their_class() -> None:
    from cnnlab.i18n import t
    from cnnlab.lab.common import item_words

    words = item_words("fashion-mnist", 0, 9)
    en = t("lab.padding.data", "en", dataset="fashion-mnist", split="train", **words)
    ko = t("lab.padding.data", "ko", dataset="fashion-mnist", split="학습 세트", **words)
    assert en == "Input: fashion-mnist (train) item #0, label 9 (Ankle boot)."
    assert ko == "입력은 fashion-mnist 학습 세트의 0번 이미지이고 레이블은 9(앵클 부츠)입니다."
    digits = item_words("mnist-sample", 3, 3)
    assert t("lab.padding.data", "en", dataset="mnist-sample", split="test", **digits) == (
        "Input: mnist-sample (test) digit #3, label 3."
    )
    assert "(お (o))" in t("data.label.named", "en", **item_words("kmnist", 1, 0)["label"].params)


def test_data_list_status_words_in_korean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list", "--lang", "ko"]) == 0
    out = capsys.readouterr().out
    assert "mnist-sample   train=내장  test=내장" in out
    assert "embedded" not in out and "missing" not in out and "system" not in out
    assert main(["data", "list", "--json"]) == 0  # JSON keeps the machine words
    assert '"train": "embedded"' in capsys.readouterr().out


def test_a_run_that_fails_inside_the_lock_leaves_no_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad labels in a user's IDX files: refused when the data loads (inside the run), exit 2, the
    --out folder the run created is gone again."""
    import numpy as np

    from cnnlab.data.idx import write_idx

    data = tmp_path / "data"
    data.mkdir()
    write_idx(data / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 28), np.uint8))
    write_idx(data / "t10k-labels-idx1-ubyte.gz", np.array([1, 200, 2], np.uint8))
    out = tmp_path / "out" / "run"
    args = ["padding", "--data", "mnist", "--data-dir", str(data), "--split", "test"]
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "t10k-labels-idx1-ubyte.gz" in err and "index 1 has label 200" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
