"""Bad text input through the real CLI, in English and Korean: exit 2, one error line naming the
problem, no traceback, and nothing written (neither --out nor the working folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cnnlab.cli import main

HANGUL = re.compile("[\uac00-\ud7a3]")
CSV = {
    "not_utf8": b"text,label\n\xec\xa2\x8b\xeb\x8b\xa4,1\n\xc1\xc1,0\n",
    "no_column": b"review_text,stars\nabc,1\ndef,0\n",
    "one_class": "text,label\n좋다,1\n최고,1\n".encode(),
    "not_int": "text,label\n좋다,1\n별로,negative\n".encode(),
}
TRAIN = ["train", "--model", "textcnn", "--epochs", "1", "--threads", "1"]
# (id, args, what the message must contain in both languages); {csv}, {ckpt}, {out} filled in
CASES = [
    ("predict-empty", ["predict", "--checkpoint", "{ckpt}", "   "], ["'   '"]),
    ("predict-blank", ["predict", "--checkpoint", "{ckpt}", ""], ["''"]),
    ("predict-no-ckpt", ["predict", "--checkpoint", "{out}", "영화 정말 재밌다"], ["{out}"]),
    ("not-utf8", [*TRAIN, "--data", "csvtext:{not_utf8}", "--out", "{out}"], ["0xc1", "20"]),
    (
        "no-column",
        [*TRAIN, "--data", "csvtext:{no_column}", "--out", "{out}"],
        ["review_text, stars"],
    ),
    ("one-class", [*TRAIN, "--data", "csvtext:{one_class}", "--out", "{out}"], ["'1'"]),
    ("not-int", [*TRAIN, "--data", "csvtext:{not_int}", "--out", "{out}"], ["negative", "3"]),
    (
        "label-column",
        [*TRAIN, "--data", "csvtext:{one_class}", "--label-column", "y", "--out", "{out}"],
        ["'y'", "text, label"],
    ),
    (
        "tokenizer",
        [*TRAIN, "--data", "nsmc", "--tokenizer", "jamo", "--out", "{out}"],
        ["jamo", "syllable, word, morpheme"],
    ),
    ("max-len", [*TRAIN, "--data", "nsmc", "--max-len", "0", "--out", "{out}"], ["--max-len"]),
    ("vocab", [*TRAIN, "--data", "nsmc", "--vocab-size", "2", "--out", "{out}"], ["--vocab-size"]),
    (
        "min-count",
        [*TRAIN, "--data", "nsmc", "--min-count", "0", "--out", "{out}"],
        ["--min-count"],
    ),
    (
        "text-model-on-images",
        ["train", "--model", "textcnn", "--data", "mnist-sample", "--out", "{out}"],
        ["textcnn", "mnist-sample"],
    ),
    (
        "image-model-on-text",
        ["train", "--model", "cnn", "--data", "nsmc", "--out", "{out}"],
        ["cnn", "nsmc", "textcnn"],
    ),
]


@pytest.mark.parametrize(("name", "args", "names"), CASES, ids=[c[0] for c in CASES])
def test_bad_text_input_is_refused(
    name: str,
    args: list[str],
    names: list[str],
    trained: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = {}
    for key, body in CSV.items():
        path = tmp_path / f"{key}.csv"
        path.write_bytes(body)
        files[key] = str(path)
    monkeypatch.setenv("CNNLAB_DATA_PATH", str(trained["data"]))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for lang, prefix in (("en", "Error: "), ("ko", "오류: ")):
        out = tmp_path / f"out-{lang}"
        filled = [a.format(ckpt=trained["out"], out=out, **files) for a in args]
        code = main(["--lang", lang, *filled])
        err = capsys.readouterr().err
        assert "Traceback" not in err, err
        assert code == 2, (lang, code, err)
        errors = [line for line in err.splitlines() if line.startswith(prefix)]
        assert len(errors) == 1, (lang, err)
        message = err[err.index(prefix) :]
        for word in names:
            word = word.format(out=out)
            assert word in message, (lang, word, message)
        if lang == "ko":
            assert HANGUL.search(message), message
        assert not out.exists(), f"{out} was written"
        assert not any(work.iterdir()), "written into the working folder"
