"""A tiny TextCNN learns a slice through the same fit; the checkpoint keeps the vocabulary, so
evaluate, resume and predict read text exactly as training did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cnnlab.cli import main
from cnnlab.models import build
from cnnlab.text import TextEncoding
from cnnlab.train import checkpoint as ckpt
from cnnlab.train import evaluate, load_model
from cnnlab.train.text import TextDataset, encoding_of, explain_prediction, text_split_for


def _meta(out: Path) -> dict:
    return ckpt.load(out).meta


def test_tiny_run_learns_and_beats_an_untrained_control(trained: dict[str, Path]) -> None:
    meta = _meta(trained["out"])
    acc = meta["metrics"]["accuracy"]
    assert acc >= 0.9, acc  # the phrases decide the label
    # control: the same architecture untrained, on the same encoded test set
    enc = encoding_of(meta, str(trained["out"]))
    test = text_split_for(
        meta, str(trained["out"]), "nsmc", str(trained["data"]), False, None, None
    )
    assert isinstance(test, TextDataset) and len(test) == 200
    torch.manual_seed(0)
    untrained = build("textcnn", **meta["model"]["kwargs"])
    control = evaluate(untrained, test, load_model(trained["out"]).preprocess).accuracy
    assert control < acc - 0.2, (control, acc)
    assert meta["run"]["input"] == "text" and meta["input_shape"] == [enc.max_len]
    assert meta["preprocess"]["mean"] == [] and meta["config"]["optimizer"] == "adamw"
    kwargs = meta["model"]["kwargs"]  # --embed-dim, --widths and --channels reach the model
    assert (kwargs["embed_dim"], kwargs["widths"], kwargs["channels"]) == (32, [2, 3], [8])


def test_checkpoint_keeps_the_encoding(trained: dict[str, Path]) -> None:
    meta = _meta(trained["out"])
    run = meta["run"]
    enc = TextEncoding.from_dict(json.loads(json.dumps(run["text"])))
    assert enc.tokenizer == "syllable" and enc.vocab.tokens[:2] == ["<pad>", "<unk>"]
    assert meta["model"]["kwargs"]["vocab_size"] == len(enc.vocab)
    assert run["truncated_share"]["train"] == enc.truncated_share
    assert run["dropped_empty"] == {"train": 0, "test": 0}
    assert not list(trained["out"].glob("*.pkl")) and not list(trained["out"].glob("*.pt"))


def test_evaluate_reads_the_test_set_with_the_saved_vocabulary(
    trained: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--lang", "en", "evaluate", "--checkpoint", str(trained["out"])]
    assert main([*args, "--data-dir", str(trained["data"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["accuracy"] == pytest.approx(_meta(trained["out"])["metrics"]["accuracy"])


def test_contributions_add_up_to_the_margin(trained: dict[str, Path]) -> None:
    loaded = load_model(trained["out"])
    enc = encoding_of(loaded.meta, str(trained["out"]))
    pred = explain_prediction(loaded.model, enc, "진짜 최고의 영화", loaded.classes)
    assert pred.ranking[0]["class"] == "positive"
    assert [c.token for c in pred.contributions] == pred.tokens
    total = sum(c.contribution for c in pred.contributions) + pred.padding_contribution + pred.bias
    assert total == pytest.approx(pred.margin, abs=1e-4)
    # each named n-gram is the filter's window and covers its token
    assert not any(c.unknown for c in pred.contributions)  # every syllable was seen in training
    odd = explain_prediction(loaded.model, enc, "최고의 뷁", loaded.classes)
    assert [c.unknown for c in odd.contributions] == [False, False, False, False, True]
    for c in pred.contributions:
        if c.filter is not None:
            assert c.token in c.ngram and len(c.ngram) <= c.width


@pytest.mark.parametrize(
    ("lang", "words"), [("en", ("positive", "filter")), ("ko", ("긍정", "필터"))]
)
def test_predict_cli_prints_probabilities_and_contributions(
    trained: dict[str, Path], capsys: pytest.CaptureFixture[str], lang: str, words: tuple
) -> None:
    code = main(["--lang", lang, "predict", "--checkpoint", str(trained["out"]), "최고의 영화"])
    out = capsys.readouterr().out
    assert code == 0
    for word in words:
        assert word in out, out
    assert "최" in out and "%" in out


def test_predict_json(trained: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["predict", "--checkpoint", str(trained["out"]), "시간 아깝다", "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["prediction"]["class"] == "negative"
    assert sum(p["prob"] for p in result["top"]) == pytest.approx(1.0)
    assert len(result["contributions"]) == len(result["tokens"]) == 6


def test_resume_continues_with_the_same_vocabulary(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    """A run cut short by its time budget resumes to the end with the vocabulary it started
    with (the saved one, not one rebuilt from the data)."""
    out = tmp_path / "run"
    args = ["--lang", "en", "train", "--model", "textcnn", "--data", "nsmc", "--out", str(out)]
    args += ["--data-dir", str(trained["data"]), "--epochs", "2", "--batch-size", "40"]
    args += ["--channels", "8", "--threads", "1"]
    assert main([*args, "--time-budget", "0.001"]) == 0
    before = _meta(out)
    assert before["progress"]["epoch"] < 2
    resume = ["--lang", "en", "train", "--resume", "--out", str(out), "--threads", "1"]
    assert main([*resume, "--data-dir", str(trained["data"]), "--time-budget", "600"]) == 0
    after = _meta(out)
    assert after["progress"]["epoch"] == 2
    assert after["run"]["text"] == before["run"]["text"]
