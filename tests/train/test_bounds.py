"""Bad input to ``train | evaluate | predict``: exit 2, one message naming the option and what is
valid (both languages), no traceback, nothing written — checked before any work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from cnnlab.cli import main
from cnnlab.train.config import max_threads
from tests.train.test_cli import TINY

# (args, English pattern, Korean pattern). {out} is a fresh folder that must stay absent.
TRAIN_CASES = [
    (["--seed", "18446744073709551616"], r"seed must be an integer in \[0, 4294967295\]", r"seed"),
    (
        ["--seed", "-1"],
        r"seed must be an integer in \[0, 4294967295\], got -1",
        r"\[0, 4294967295\]",
    ),
    (["--threads", "100000"], rf"threads must be an integer in \[1, {max_threads()}\]", r"threads"),
    (["--threads", "0"], r"threads must be an integer in \[1, ", r"범위의 정수"),
    (["--lr", "1e300"], r"lr must be in \(0, 10\], got 1e\+300", r"\(0, 10\] 범위"),
    (["--lr", "1e10"], r"lr must be in \(0, 10\], got 10000000000\.0", r"lr"),
    (["--lr", "nan"], r"lr must be in \(0, 10\], got nan", r"lr"),
    (["--lr", "inf"], r"lr must be in \(0, 10\], got inf", r"lr"),
    (["--lr", "0"], r"lr must be in \(0, 10\], got 0\.0", r"lr"),
    (["--label-smoothing", "nan"], r"label_smoothing must be in \[0, 1\), got nan", r"label"),
    (["--dropout", "nan"], r"dropout", r"dropout"),
    (["--target-acc", "nan"], r"target_acc must be in \(0, 1\], got nan", r"target_acc"),
    (["--time-budget", "nan"], r"time_budget must be a finite number > 0, got nan", r"time"),
    (["--time-budget", "inf"], r"time_budget must be a finite number > 0, got inf", r"time"),
    (["--epochs", "0"], r"epochs must be an integer >= 1, got 0", r"epochs"),
    (["--batch-size", "-3"], r"batch_size must be an integer >= 1, got -3", r"batch_size"),
    (["--limit", "-5"], r"limit must be an integer >= 1, got -5", r"limit"),
    (["--limit", "0"], r"limit must be an integer >= 1, got 0", r"limit"),
    (
        ["--channels", "100000"],
        r"--channels 100000 has 2,509,901,418 parameters and needs about "
        r"[\d,.]+ GiB .* but only [\d,.]+ GiB is available",
        r"매개변수가 2,509,901,418개",
    ),
    (
        [
            "--channels",
            "4",
            "--channels",
            "8",
            "--channels",
            "16",
            "--channels",
            "32",
            "--channels",
            "64",
            "--channels",
            "128",
        ],
        r"--channels 4 8 16 32 64 128: 6 convolution blocks are too many for a 28x28 "
        r"input.*at most 4 --channels",
        r"`--channels`는 4개까지",
    ),
    (["--resume", "--overwrite"], r"--resume and --overwrite contradict each other", r"함께"),
    (["--resume"], r"--resume: there is no checkpoint to resume in", r"이어서 학습할 체크포인트"),
]


def _run(args: list[str], lang: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(["--lang", lang, *args])
    captured = capsys.readouterr()
    return rc, captured.err


@pytest.mark.parametrize("args,en,ko", TRAIN_CASES)
def test_train_bad_input(tmp_path: Path, capsys, args, en, ko):
    out = tmp_path / "out"
    base = ["train", "--data", "mnist-sample", "--threads", "1", "--out", str(out)]
    if "--threads" in args:
        base = base[:3] + base[5:]
    for lang, pattern in (("en", en), ("ko", ko)):
        rc, err = _run([*base, *args], lang, capsys)
        assert rc == 2, err
        assert re.search(pattern, err), err
        assert "Traceback" not in err and len(re.findall(r"(?m)^(Error|오류): ", err)) == 1, err
        assert not out.exists()


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bounds") / "run"
    assert main(["--lang", "en", "train", *TINY, "--out", str(out), "--json"]) == 0
    return out


@pytest.mark.parametrize(
    "args,en",
    [
        (["--limit", "-5"], r"limit must be an integer >= 1, got -5"),
        (["--limit", "0"], r"limit must be an integer >= 1, got 0"),
        (["--data", "cifar"], r"Unknown dataset 'cifar'"),
        (
            ["--data", "mnist", "--data-dir", "{tmp}/none"],
            r"--data-dir .*none does not exist or is not a folder",
        ),
    ],
)
def test_evaluate_bad_input(ckpt, tmp_path, capsys, args, en):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    rc, err = _run(["evaluate", "--checkpoint", str(ckpt), *args], "en", capsys)
    assert rc == 2 and re.search(en, err) and "Traceback" not in err, err
    assert "--download" not in err  # evaluate has no such option


def test_evaluate_limit_help_says_what_it_does(capsys):
    assert main(["--lang", "en", "evaluate", "--help"]) == 0
    assert "first N examples of the chosen --split" in " ".join(capsys.readouterr().out.split())


def test_data_not_found_hint_names_a_real_command(ckpt, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "empty-cache"))
    rc, err = _run(["evaluate", "--checkpoint", str(ckpt), "--data", "mnist"], "en", capsys)
    assert rc == 2 and "is not available offline" in err, err
    assert "fetch it first with `cnnlab data download mnist`" in err and "--download" not in err


def test_resume_into_another_model_says_so(ckpt, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(ckpt, copy)
    args = ["train", *TINY[:-6], "--threads", "1", "--model", "mlp", "--out", str(copy), "--resume"]
    rc, err = _run(args, "en", capsys)
    assert rc == 2
    assert f"Checkpoint '{copy}' holds a cnn model, but you asked for mlp. Pass --model cnn" in err
    assert "features" not in err  # no list of tensors


def _png(path: Path, mode: str, size: tuple[int, int], color: int) -> Path:
    Image.new(mode, size, color).save(path)
    return path


@pytest.mark.parametrize("size,color", [((60, 40), 255), ((60, 40), 0), ((1, 1), 0), ((1, 1), 255)])
def test_predict_blank_image_says_no_ink_and_shows_steps(ckpt, tmp_path, capsys, size, color):
    png = _png(tmp_path / "blank.png", "L", size, color)
    saved = tmp_path / "in.png"
    args = ["predict", "--checkpoint", str(ckpt), str(png), "--save-input", str(saved)]
    assert main(["--lang", "en", *args]) == 2
    cap = capsys.readouterr()
    assert "No ink found in" in cap.err and "no digit to classify" in cap.err
    assert "original" in cap.out and "resized" in cap.out  # the steps are still shown
    assert "Prediction" not in cap.out and not saved.exists()
    assert main(["--lang", "ko", *args]) == 2
    cap = capsys.readouterr()
    assert "잉크를 찾지 못했습니다" in cap.err and "원본" in cap.out and "original" not in cap.out


def test_predict_steps_in_korean(ckpt, tmp_path, capsys):
    from tests.train.test_cli import _digit_png

    png = _digit_png(tmp_path / "zero.png")
    assert main(["--lang", "ko", "predict", "--checkpoint", str(ckpt), str(png)]) == 0
    out = capsys.readouterr().out
    for word in ("원본", "흑백 변환", "색 반전", "잘라내기", "크기 조정", "28×28 가운데 정렬"):
        assert word in out
    assert not re.search(r"original|grayscale|inverted|cropped|resized|centered", out)


def test_predict_save_input_into_a_missing_folder(ckpt, tmp_path, capsys):
    from tests.train.test_cli import _digit_png

    png = _digit_png(tmp_path / "zero.png")
    target = tmp_path / "missing" / "x.png"
    rc, err = _run(
        ["predict", "--checkpoint", str(ckpt), str(png), "--save-input", str(target)], "en", capsys
    )
    assert rc == 2 and "Traceback" not in err
    assert f"--save-input '{target}': the folder '{target.parent}' does not exist" in err
    assert not target.parent.exists()


def test_partial_last_batch_is_announced(tmp_path, capsys):
    args = [
        "train",
        "--data",
        "mnist-sample",
        "--limit",
        "500",
        "--epochs",
        "1",
        "--batch-size",
        "256",
        "--channels",
        "4",
        "--channels",
        "8",
        "--threads",
        "1",
        "--out",
        str(tmp_path / "o"),
        "--json",
    ]
    assert main(["--lang", "en", *args]) == 0
    err = capsys.readouterr().err
    assert "500 training examples at batch size 256 make 1 step(s) per epoch; the last 244" in err
