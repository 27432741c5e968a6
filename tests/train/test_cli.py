"""``cnnlab train | evaluate | predict``: results, --json, ko/en, and exit code 2 with nothing
written."""

from __future__ import annotations

import json

import pytest
from PIL import Image, ImageDraw

from cnnlab.cli import main

TINY = [
    "--data",
    "mnist-sample",
    "--limit",
    "256",
    "--epochs",
    "1",
    "--batch-size",
    "64",
    "--channels",
    "4",
    "--channels",
    "8",
    "--threads",
    "1",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    from cnnlab.i18n import set_lang

    set_lang("en")
    rc = main(["train", *TINY, "--out", str(out), "--json"])
    set_lang(None)
    assert rc == 0
    return out


def _digit_png(path, mode="RGB", size=(90, 60)):
    img = Image.new(mode, size, "white")
    ImageDraw.Draw(img).ellipse([30, 8, 60, 52], outline="black", width=7)  # a "0"
    img.save(path)
    return path


def test_train_json_and_checkpoint(trained, tmp_path, capsys):
    out = tmp_path / "again"
    assert main(["train", *TINY, "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "cnn" and result["data"] == "mnist-sample"
    assert result["metrics"]["n"] == 1000 and 0 <= result["metrics"]["accuracy"] <= 1
    assert (out / "checkpoint.json").is_file()


def test_evaluate_matches_training_result(trained, capsys):
    meta = json.loads((trained / "checkpoint.json").read_text())
    assert main(["evaluate", "--checkpoint", str(trained), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["data"] == "mnist-sample"  # recorded at training time
    assert ev["accuracy"] == pytest.approx(meta["metrics"]["accuracy"])
    assert ev["confusion"] == meta["metrics"]["confusion"]


def test_evaluate_text_in_korean(trained, capsys):
    assert main(["--lang", "ko", "evaluate", "--checkpoint", str(trained)]) == 0
    assert "클래스별 정확도" in capsys.readouterr().out


def test_predict_any_image(trained, tmp_path, capsys):
    png = _digit_png(tmp_path / "zero.png", mode="RGBA", size=(300, 180))
    saved = tmp_path / "input.png"
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                str(trained),
                str(png),
                "--json",
                "--save-input",
                str(saved),
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    steps = [s["step"] for s in res["preprocessing"]]
    assert steps[0] == "original" and steps[-1] == "centered 28x28" and res["inverted"]
    assert len(res["top"]) == 3 and sum(r["prob"] for r in res["top"]) <= 1.0 + 1e-6
    with Image.open(saved) as img:
        assert img.size == (28, 28) and img.mode == "L"


def test_train_architecture_and_smoothing_options_reach_the_checkpoint(tmp_path, capsys):
    out = tmp_path / "fast"
    assert (
        main(
            [
                "train",
                *TINY,
                "--pool-first",
                "--hidden",
                "32",
                "--dropout",
                "0.3",
                "--label-smoothing",
                "0.1",
                "--out",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    meta = json.loads((out / "checkpoint.json").read_text())
    assert meta["model"]["kwargs"] == {
        "channels": [4, 8],
        "hidden": 32,
        "dropout": 0.3,
        "pool_first": True,
    }
    assert meta["config"]["label_smoothing"] == 0.1
    mlp = tmp_path / "mlp"  # the MLP takes a list of widths: --hidden gives it one layer
    assert (
        main(
            [
                "train",
                *TINY[:-6],
                "--model",
                "mlp",
                "--hidden",
                "16",
                "--threads",
                "1",
                "--out",
                str(mlp),
                "--json",
            ]
        )
        == 0
    )
    assert json.loads((mlp / "checkpoint.json").read_text())["model"]["kwargs"] == {"hidden": [16]}


@pytest.mark.parametrize(
    "args,pattern",
    [
        (["train", "--model", "mlp", "--pool-first"], r"Model 'mlp' has no option 'pool_first'"),
        (["train", "--label-smoothing", "1"], r"label_smoothing must be in \[0, 1\), got 1\.0"),
        (["train", "--model", "resnet"], r"Unknown model 'resnet'\. Valid: cnn, mlp, lc, gap"),
        (["train", "--data", "cifar"], r"cifar"),
        (["train", "--lr", "0"], r"lr must be in \(0, 10\], got 0\.0"),
        (["train", "--lr", "-0.1"], r"lr must be in \(0, 10\]"),
        (["train", "--batch-size", "0"], r"batch_size must be an integer >= 1, got 0"),
        (["train", "--device", "quantum"], r"Unknown device 'quantum'"),
        (["train", "--precision", "fp8"], r"Unknown precision 'fp8'\. Valid: fp32, bf16, auto"),
    ],
)
def test_train_bad_input_exit_2_nothing_written(tmp_path, capsys, args, pattern):
    out = tmp_path / "out"
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err and __import__("re").search(pattern, err), err
    assert not out.exists()


def test_train_unwritable_out(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", *TINY, "--out", str(blocker / "run")]) == 2
    assert "Cannot write to output directory" in capsys.readouterr().err


def test_resume_with_other_architecture_names_tensors(trained, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    before = sorted(p.name for p in copy.iterdir())
    args = [a if a != "8" else "6" for a in TINY]
    assert main(["train", *args, "--model", "cnn", "--out", str(copy), "--resume"]) == 2
    err = capsys.readouterr().err
    assert (
        "does not fit" in err
        and "features.4.weight: checkpoint (8, 4, 3, 3) vs model (6, 4, 3, 3)" in err
    )
    assert sorted(p.name for p in copy.iterdir()) == before


def test_corrupt_checkpoint_exit_2(trained, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    next(copy.glob("model-*")).write_bytes(b"garbage")
    assert main(["evaluate", "--checkpoint", str(copy)]) == 2
    assert "sha256 mismatch" in capsys.readouterr().err


def test_predict_not_an_image(trained, tmp_path, capsys):
    fake = tmp_path / "fake.png"
    fake.write_text("definitely not a PNG")
    saved = tmp_path / "in.png"
    assert (
        main(["predict", "--checkpoint", str(trained), str(fake), "--save-input", str(saved)]) == 2
    )
    assert "is not a readable image" in capsys.readouterr().err
    assert not saved.exists()


def test_predict_decompression_bomb(trained, tmp_path, capsys, monkeypatch):
    bomb = _digit_png(tmp_path / "bomb.png", mode="L", size=(400, 300))
    monkeypatch.setattr(
        Image, "MAX_IMAGE_PIXELS", 10_000
    )  # 120,000 px is a "bomb" under this limit
    assert main(["predict", "--checkpoint", str(trained), str(bomb)]) == 2
    assert (
        "too large to open safely (400×300 = 120,000 pixels; the limit is 10000)"
        in capsys.readouterr().err
    )


def test_predict_missing_image_in_korean(trained, tmp_path, capsys):
    assert (
        main(["--lang", "ko", "predict", "--checkpoint", str(trained), str(tmp_path / "x.png")])
        == 2
    )
    assert "찾을 수 없습니다" in capsys.readouterr().err


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_train_says_what_precision_computes_in(tmp_path, capsys, lang):
    import torch

    args = ["--lang", lang, "train", *TINY, "--precision", "auto", "--out", str(tmp_path / "r")]
    assert main([*args, "--json"]) == 0
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    captured = capsys.readouterr()
    assert json.loads(captured.out)["precision"] == ("bf16" if native else "fp32")
    said = {
        ("en", True): "Precision: bf16 on cpu (the processor multiplies bfloat16 natively)",
        ("en", False): "Precision: fp32 (cpu has no native bfloat16 arithmetic)",
        ("ko", True): "정밀도: `cpu`에서 `bf16`으로 학습합니다(프로세서가 `bfloat16` 곱셈을",
        ("ko", False): "정밀도: `cpu`에는 `bfloat16` 연산 회로가 없으므로 `fp32`로 학습합니다.",
    }[(lang, bool(native))]
    assert said in captured.err, captured.err
