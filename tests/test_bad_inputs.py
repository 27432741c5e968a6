"""Bad input to every command is refused the same way, in English and in Korean.

One table over every command (tour, report, lab NAME for every experiment, padding, conv-steps,
shape, train, evaluate, predict, data list/download). Each case runs the real CLI twice, with
``--lang en`` and ``--lang ko``, and checks: exit code 2; exactly one error line; no traceback; the
message names the option (or the value) and what would be valid, in both languages (the same names
and numbers, and Hangul in the Korean one, with no English ``Error:``); and nothing was written (the
working folder, where the default ``--out`` would go, is unchanged, and the ``--out`` given does not
exist).

Most cases are derived from the experiments' parameter metadata (``min``/``max``/``choices``: one
below the minimum, one above the maximum, a non-number, NaN, an unknown choice); the rest are
written by hand from issue 11's list. A few run in a subprocess with a memory cap, because an
unfixed one would crash or exhaust the test process.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import resource
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest

from cnnlab.cli import main
from cnnlab.lab.registry import load_all

HANGUL = re.compile("[\uac00-\ud7a3]")
# English sentence words that must not appear in a Korean message (values and code aside)
ENGLISH = re.compile(
    r"\b(Valid|valid|is not|No such|Permission denied|cannot|must be|expected|got)\b"
)
DOUBLED = re.compile(r"[^\d∞.]\.\.(?:\s|$)")  # "1..64" is a range, "valid.." a doubled period
OUT = "<out>"  # replaced by a fresh path under tmp_path that must not exist afterwards
CKPT = "<ckpt>"  # replaced by the trained checkpoint folder
IMG = "<img>"  # replaced by a real 28×28 PNG
NOT_IMG = "<not-img>"  # replaced by a text file named .png
# train runs small if a bad value were let through (the case then fails on "nothing written")
TRAIN = ["train", "--data", "mnist-sample", "--epochs", "1", "--limit", "64"]


@dataclasses.dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    names: tuple[str, ...]  # each must appear in both the English and the Korean message
    subprocess: bool = False  # run as `python -m cnnlab`, memory-capped (a crash would kill pytest)


def _param(
    args: list[str],
    *names: str,
    id: str | None = None,
    sub: bool = False,
    xfail: str | None = None,
) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    case = Case(tuple(args), names, sub)
    return pytest.param(case, id=id or " ".join(args).replace(OUT, "").strip(), marks=marks)


# ---------------------------------------------------------------------------- derived from metadata


def _bound(value: Any, default: str) -> str:
    return default if value is None else str(value)


def _derived() -> list[Any]:
    """For every experiment and field with a range or choices: the values just outside."""
    cases = []
    for name, exp in sorted(load_all().items()):
        hints = typing.get_type_hints(exp.params)
        for f in dataclasses.fields(exp.params):
            meta, hint = f.metadata, hints[f.name]
            flag = "--" + f.name.replace("_", "-")
            base = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
            kind = base[0]
            nargs = 1
            if typing.get_origin(kind) is tuple:
                inner = typing.get_args(kind)
                nargs = len(inner) if Ellipsis not in inner else 1
                kind = inner[0]
            cmd = ["lab", name]
            if name == "conv-steps" and f.name == "at":
                continue  # --at I J: hand-written below

            def args(value: str, cmd: list[str] = cmd, flag: str = flag, n: int = nargs) -> list:
                return [*cmd, flag, *([value] * n), "--out", OUT]

            low, high = meta.get("min"), meta.get("max")
            valid = f"{_bound(low, '-∞')}..{_bound(high, '∞')}"
            if kind in (int, float) and "choices" not in meta:
                if low is not None:
                    below = low - 1 if kind is int else low - 0.5
                    cases.append(_param(args(str(below)), f.name, valid))
                if high is not None:
                    above = high + 1 if kind is int else high + 0.5
                    cases.append(_param(args(str(above)), f.name, valid))
                number = "integer" if kind is int else "float"
                cases.append(_param(args("x"), flag, "'x'", id=f"{name} {flag} x ({number})"))
                if kind is float and (low is not None or high is not None):
                    cases.append(_param(args("nan"), f.name, valid))
            if "choices" in meta:
                choices = [str(c) for c in meta["choices"]]
                bad = str(max(meta["choices"]) + 1) if kind is int else "bogus"
                cases.append(_param(args(bad), f.name, bad, choices[0], choices[-1]))
    return cases


# ------------------------------------------------------------------------------- hand-written

_EXPERIMENTS = ("basics", "cnn-vs-fc", "conv-steps")

HAND: list[Any] = [
    # top level
    _param(["bogus"], "'bogus'", "conv-steps", "data"),
    _param(["--lang", "fr", "shape"], "'fr'", "en, ko"),
    _param(["--bogus"], "'--bogus'"),
    # lab
    _param(["lab", "stride"], "'stride'", *_EXPERIMENTS),
    _param(["lab", "padding", "--bogus"], "'--bogus'"),
    _param(["lab", "receptive-field", "--stack", "c3p100000", "--out", OUT], "c3p100000", "0..32"),
    _param(["lab", "receptive-field", "--stack", "zz", "--out", OUT], "zz"),
    _param(["lab", "receptive-field", "--stack", "", "--out", OUT], "0", "1..16"),
    _param(["lab", "hierarchy", "--channels", "0", "--out", OUT], "channels", "1..128"),
    _param(["lab", "hierarchy", "--channels", "8", "--channels", "999", "--out", OUT], "999"),
    _param(["lab", "pattern", "--noise", "inf", "--out", OUT], "noise", "0.0..1.0"),
    _param(["lab", "pattern", "--noise", "-inf", "--out", OUT], "noise", "0.0..1.0"),
    _param(["lab", "pattern", "--row", "", "--out", OUT], "'--row'", "''"),
    _param(["lab", "pattern", "--seed", "18446744073709551616", "--out", OUT], "seed"),
    _param(["lab", "pooling", "--pool", "1.5", "--out", OUT], "'--pool'", "'1.5'"),
    _param(
        ["lab", "padding", "--index", "99999999", "--out", OUT],
        "--index",
        "99999999",
        "mnist-sample",
    ),
    _param(["lab", "padding", "--data", "", "--out", OUT], "data", "mnist"),
    _param(["lab", "padding", "--data-dir", "/nonexistent/cnnlab", "--out", OUT], "/nonexistent"),
    _param(["lab", "padding", "--out", "/proc/cnnlab-x"], "/proc/cnnlab-x"),
    # padding (top level)
    _param(["padding", "--index", "-1", "--out", OUT], "index", "0..∞"),
    _param(["padding", "--index", "x", "--out", OUT], "'--index'", "'x'"),
    _param(["padding", "--split", "val", "--out", OUT], "split", "train, test"),
    _param(["padding", "--seed", "-1", "--out", OUT], "seed", "0..4294967295"),
    _param(["padding", "--data", "nope", "--out", OUT], "nope", "mnist"),
    _param(["padding", "--out", ""], "--out"),
    _param(["padding", "extra", "--out", OUT], "extra"),
    # conv-steps
    _param(["conv-steps", "--input-size", "100000", "--out", OUT], "input_size", "1..64"),
    _param(["conv-steps", "--input-size", "0", "--out", OUT], "input_size", "1..64"),
    _param(["conv-steps", "--limit", "-1", "--out", OUT], "limit", "0..4096"),
    _param(["conv-steps", "--out", OUT, "--at", "1"], "'--at'", "2"),
    _param(["conv-steps", "--at", "-1", "0", "--out", OUT], "at", "0..192"),
    _param(["conv-steps", "--at", "0", "999", "--out", OUT], "at", "0..192"),
    _param(["conv-steps", "--bias", "nan", "--out", OUT], "bias"),
    _param(["conv-steps", "--kernel-size", "9", "--input-size", "3", "--out", OUT], "9", "3"),
    # shape (no --out: prints only)
    _param(["shape", "--input", "0"], "input", "1..4096"),
    _param(["shape", "--input", "x"], "'--input'", "'x'"),
    _param(["shape", "--kernel", "5000"], "kernel", "1..4096"),
    _param(["shape", "--stride", "0"], "stride", "1..4096"),
    _param(["shape", "--padding", "-1"], "padding", "0..4096"),
    _param(["shape", "--dilation", "0"], "dilation", "1..4096"),
    _param(["shape", "--input", "3", "--kernel", "7", "--padding", "0"], "7", "3"),
    _param(["shape", "--bogus", "1"], "'--bogus'"),
    # tour and report
    _param(["tour", "--only", "stride", "--out", OUT], "stride", *_EXPERIMENTS),
    _param(["tour", "--data", "nope", "--out", OUT], "nope", "mnist"),
    _param(["tour", "--data-dir", "/nonexistent/cnnlab", "--out", OUT], "/nonexistent/cnnlab"),
    _param(["tour", "--out", "/proc/cnnlab-x"], "/proc/cnnlab-x"),
    _param(["tour", "--quick", "x", "--out", OUT], "x"),
    _param(["report"], "'DIR'"),
    _param(["report", "/nonexistent/report", "--out", OUT], "/nonexistent/report"),
    _param(["report", "a", "b"], "b"),
    # train
    _param([*TRAIN, "--model", "bogus", "--out", OUT], "bogus", "cnn", "mlp"),
    _param([*TRAIN, "--optimizer", "adam", "--out", OUT], "'adam'", "sgd"),
    _param([*TRAIN, "--schedule", "cosine", "--out", OUT], "'cosine'", "onecycle"),
    _param([*TRAIN, "--device", "tpu", "--out", OUT], "'tpu'", "cpu"),
    _param([*TRAIN, "--augment", "mixup", "--out", OUT], "'mixup'", "flip"),
    _param([*TRAIN, "--epochs", "0", "--out", OUT], "epochs", "0"),
    _param([*TRAIN, "--epochs", "x", "--out", OUT], "'--epochs'", "'x'"),
    _param([*TRAIN, "--batch-size", "0", "--out", OUT], "batch", "0"),
    _param([*TRAIN, "--lr", "0", "--out", OUT], "lr", "0"),
    _param([*TRAIN, "--lr", "-1", "--out", OUT], "lr", "-1"),
    _param([*TRAIN, "--lr", "nan", "--out", OUT], "lr", "nan"),
    _param([*TRAIN, "--lr", "1e300", "--out", OUT], "lr", "1e+300", sub=True),
    _param([*TRAIN, "--dropout", "1.5", "--out", OUT], "1.5"),
    _param([*TRAIN, "--dropout", "nan", "--out", OUT], "nan"),
    _param([*TRAIN, "--label-smoothing", "1", "--out", OUT], "label", "1"),
    _param([*TRAIN, "--label-smoothing", "nan", "--out", OUT], "label", "nan"),
    _param([*TRAIN, "--target-acc", "2", "--out", OUT], "target", "2"),
    _param([*TRAIN, "--time-budget", "-1", "--out", OUT], "time", "-1"),
    _param([*TRAIN, "--channels", "0", "--out", OUT], "channels", "0"),
    _param(
        [*TRAIN, "--channels", "100000", "--out", OUT],
        "channels",
        "100000",
        sub=True,
    ),
    _param([*TRAIN, "--hidden", "0", "--out", OUT], "hidden", "0"),
    _param([*TRAIN, "--threads", "0", "--out", OUT], "threads", "0"),
    _param([*TRAIN, "--threads", "100000", "--out", OUT], "threads", "100000", sub=True),
    _param([*TRAIN, "--seed", "-1", "--out", OUT], "seed", "-1"),
    _param(
        [*TRAIN, "--seed", "18446744073709551616", "--out", OUT],
        "seed",
        "18446744073709551616",
        sub=True,
    ),
    _param([*TRAIN, "--limit", "0", "--out", OUT], "limit", "0"),
    _param([*TRAIN, "--limit", "-5", "--out", OUT], "limit", "-5"),
    _param([*TRAIN, "--data", "nope", "--out", OUT], "nope", "mnist"),
    _param(
        [
            "train",
            "--epochs",
            "1",
            "--limit",
            "64",
            "--data-dir",
            "/nonexistent/cnnlab",
            "--out",
            OUT,
        ],
        "/nonexistent/cnnlab",
    ),
    _param(
        [*TRAIN, "--data-dir", "/nonexistent/cnnlab", "--out", OUT],
        "/nonexistent/cnnlab",
    ),
    _param([*TRAIN, "--resume", "--out", OUT], "--resume"),
    _param([*TRAIN, "--out", "/proc/cnnlab-x"], "/proc/cnnlab-x"),
    # evaluate
    _param(["evaluate"], "'--checkpoint'"),
    _param(["evaluate", "--checkpoint", "/nonexistent/ckpt"], "/nonexistent/ckpt"),
    _param(["evaluate", "--checkpoint", CKPT, "--split", "val"], "'val'", "test", "train"),
    _param(["evaluate", "--checkpoint", CKPT, "--limit", "0"], "limit", "0"),
    _param(["evaluate", "--checkpoint", CKPT, "--limit", "-5"], "limit", "-5"),
    _param(["evaluate", "--checkpoint", CKPT, "--limit", "x"], "'--limit'", "'x'"),
    _param(["evaluate", "--checkpoint", CKPT, "--data", "nope"], "nope", "mnist"),
    _param(
        ["evaluate", "--checkpoint", CKPT, "--data-dir", "/nonexistent/cnnlab"],
        "/nonexistent/cnnlab",
    ),
    _param(["evaluate", "--checkpoint", CKPT, "--device", "tpu"], "tpu", "cpu"),
    # predict
    _param(["predict", IMG], "'--checkpoint'"),
    _param(["predict", "--checkpoint", CKPT], "'IMAGE|SERIES|TEXT'"),
    _param(["predict", "--checkpoint", CKPT, "/nonexistent/x.png"], "/nonexistent/x.png"),
    _param(["predict", "--checkpoint", CKPT, NOT_IMG], "not-image.png"),
    _param(["predict", "--checkpoint", CKPT, "--top", "0", IMG], "top", "0"),
    _param(["predict", "--checkpoint", CKPT, "--top", "-1", IMG], "top", "-1"),
    _param(["predict", "--checkpoint", CKPT, "--top", "x", IMG], "'--top'", "'x'"),
    _param(["predict", "--checkpoint", "/nonexistent/ckpt", IMG], "/nonexistent/ckpt"),
    _param(
        ["predict", "--checkpoint", CKPT, IMG, "--save-input", "/nonexistent/dir/in.png"],
        "/nonexistent/dir",
    ),
    # data
    _param(["data", "bogus"], "'bogus'", "download", "list"),
    _param(["data", "list", "extra"], "extra"),
    _param(["data", "list", "--bogus"], "'--bogus'"),
    _param(["data", "download"], "'NAME'"),
    _param(["data", "download", "bogus"], "bogus", "mnist", "kmnist"),
    _param(["data", "download", "mnist-sample"], "mnist-sample", "fashion-mnist"),
]

CASES = _derived() + HAND


def test_at_least_100_cases() -> None:
    assert len(CASES) >= 100


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A tiny trained checkpoint, a real digit PNG and a text file posing as a PNG."""
    from PIL import Image

    from cnnlab.i18n import set_lang

    root = tmp_path_factory.mktemp("bad-inputs")
    ckpt = root / "ckpt"
    args = ["train", "--model", "mlp", "--data", "mnist-sample", "--epochs", "1"]
    code = main([*args, "--limit", "256", "--threads", "1", "--out", str(ckpt)])
    set_lang(None)
    assert code == 0
    image = Image.new("L", (28, 28), 255)
    for i in range(6, 22):
        image.putpixel((14, i), 0)  # a dark "1" on white
    image.save(root / "one.png")
    (root / "not-image.png").write_text("definitely not a PNG", encoding="utf-8")
    return {CKPT: str(ckpt), IMG: str(root / "one.png"), NOT_IMG: str(root / "not-image.png")}


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    cap = 16 << 30  # 16 GiB of address space: an unchecked huge allocation fails, never the host
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _run(case: Case, lang: str, out: Path, files: dict[str, str], capsys: Any) -> tuple[int, str]:
    args = ["--lang", lang, *[files.get(a, str(out) if a == OUT else a) for a in case.args]]
    if not case.subprocess:
        code = main(args)
        return code, capsys.readouterr().err
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        preexec_fn=_limit_memory,
    )
    return proc.returncode, proc.stderr


def _error_lines(err: str, prefix: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(prefix)]


# ------------------------------------------------------------------------------- the suite


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused(
    case: Case,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    needs_files = any(a in (CKPT, IMG, NOT_IMG) for a in case.args)
    paths = request.getfixturevalue("files") if needs_files else {}
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # the default --out (cnnlab-out) would land here
    for lang, prefix in (("en", "Error: "), ("ko", "오류: ")):
        out = tmp_path / f"out-{lang}"
        code, err = _run(case, lang, out, paths, capsys)
        assert "Traceback" not in err, err
        assert code == 2, (lang, code, err)
        errors = _error_lines(err, prefix)
        assert len(errors) == 1, (lang, err)
        message = err[err.index(prefix) :]
        for name in case.names:
            assert name in message, (lang, name, message)
        assert not DOUBLED.search(message), message  # a sentence inside a sentence: "…valid.."
        if lang == "ko":
            assert HANGUL.search(message), message
            assert "Error:" not in err and "Usage:" not in err, err
            assert not ENGLISH.search(message), message
        assert not out.exists(), f"{out} was written"
        assert _tree(work) == set(), f"written into the working folder: {_tree(work)}"


def test_derived_cases_cover_every_experiment() -> None:
    """Each experiment with a bounded option has at least one derived case."""
    derived = {c.values[0].args[1] for c in _derived()}
    bounded = {
        name
        for name, exp in load_all().items()
        if any(
            "min" in f.metadata or "choices" in f.metadata for f in dataclasses.fields(exp.params)
        )
    }
    assert bounded <= derived


def test_nan_fails_every_float_range() -> None:
    """NaN compares false with everything: the derived cases include it for each bounded float."""
    nan_cases = [c for c in _derived() if c.values[0].args[-3] == "nan"]
    assert nan_cases and all(math.isnan(float(c.values[0].args[-3])) for c in nan_cases)
