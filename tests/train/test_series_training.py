"""Series through the one training loop: a tiny MNIST-1D run learns, the checkpoint reloads, the
CLI's train / evaluate / predict work, and mismatches or bad series files are clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cnnlab.cli import main
from cnnlab.data import get_dataset
from cnnlab.errors import ConfigError, DataError
from cnnlab.train import load_model
from cnnlab.train.series import prepare_series, read_series
from cnnlab.train.session import Architecture, plan_training, run_training
from cnnlab.train.tensors import as_tensors, random_roll

# --recipe none: these tests check the options given, not the series recipe's kernel and pooling
FAST = [
    "--recipe",
    "none",
    "--channels",
    "32",
    "--channels",
    "32",
    "--channels",
    "32",
    "--threads",
    "1",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short cnn1d run on MNIST-1D through the CLI (shared by the tests below)."""
    out = tmp_path_factory.mktemp("cnn1d")
    args = ["train", "--model", "cnn1d", "--data", "mnist1d", "--epochs", "4", "--out", str(out)]
    assert main([*args, *FAST, "--batch-size", "64", "--augment", "roll", "--lang", "en"]) == 0
    return out, json.loads((out / "checkpoint.json").read_text())


def _cli(capsys, *args: str) -> tuple[int, str]:
    rc = main(list(args))
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


def test_a_tiny_run_learns_far_above_chance(trained):
    _, result = trained
    # 10 balanced classes: chance is 10 %; four short epochs of a small FCN reach far more
    assert result["metrics"]["accuracy"] > 0.6
    assert result["metrics"]["n"] == 1000


def test_the_checkpoint_stores_what_the_series_need(trained):
    out, _ = trained
    meta = json.loads((out / "checkpoint.json").read_text())
    assert meta["model"] == {
        "name": "cnn1d",
        "kwargs": {"in_channels": 1, "length": 40, "num_classes": 10, "channels": [32, 32, 32]},
    }
    assert meta["run"]["input"] == "series"
    assert (meta["run"]["channels"], meta["run"]["length"], meta["run"]["znorm"]) == (1, 40, False)
    assert meta["input_shape"] == [1, 1, 40]  # (C, 1, L): series travel as 1-pixel-high images
    assert meta["classes"] == [str(i) for i in range(10)]
    assert meta["config"]["augment"] == "roll"


def test_evaluate_reproduces_the_training_metrics(trained, capsys):
    out, result = trained
    rc, text = _cli(capsys, "evaluate", "--checkpoint", str(out), "--json")
    assert rc == 0, text
    m = json.loads(text)
    assert m["data"] == "mnist1d"
    assert m["accuracy"] == pytest.approx(result["metrics"]["accuracy"])


def test_predict_npy_and_csv_agree_with_the_model(trained, tmp_path, capsys):
    out, _ = trained
    test = get_dataset("mnist1d", train=False)
    x = test.series[:1]  # (1, 1, 40)
    loaded = load_model(out)
    xt, _ = as_tensors((torch.from_numpy(x).unsqueeze(2), torch.zeros(1, dtype=torch.int64)))
    with torch.no_grad():
        expected = int(loaded.model(loaded.preprocess.apply(xt)).argmax(1))
    np.save(tmp_path / "s.npy", x[0, 0])  # (L,)
    np.save(tmp_path / "s2.npy", x[0])  # (C, L)
    np.savetxt(tmp_path / "s.csv", x[0], delimiter=",")  # one row per channel
    for name in ("s.npy", "s2.npy", "s.csv"):
        rc, text = _cli(capsys, "predict", "--checkpoint", str(out), str(tmp_path / name), "--json")
        assert rc == 0, text
        got = json.loads(text)
        assert got["prediction"]["index"] == expected
        assert got["shape"] == [1, 40]
        assert sum(r["prob"] for r in got["top"]) <= 1.0 + 1e-6


@pytest.mark.parametrize(
    "model,data,match",
    [
        ("cnn", "mnist1d", r"'cnn' takes images.*'mnist1d' holds series.*cnn1d, mlp1d"),
        ("mlp", "mnist1d", r"'mlp' takes images"),
        ("cnn1d", "mnist-sample", r"'cnn1d' takes series.*holds images.*cnn, mlp"),
    ],
)
def test_model_data_mismatch_is_refused_before_any_work(model, data, match, tmp_path, capsys):
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=match):
        plan_training(model, data, options={}, arch=Architecture(), out=out)
    rc, text = _cli(
        capsys, "train", "--model", model, "--data", data, "--out", str(out), "--lang", "en"
    )
    assert rc == 2
    assert "takes" in text and "Traceback" not in text
    assert not out.exists()


def test_predict_kind_mismatch_and_bad_series_files(trained, tmp_path, capsys):
    out, _ = trained
    png = tmp_path / "digit.png"
    from PIL import Image

    Image.new("L", (28, 28)).save(png)
    rc, text = _cli(capsys, "predict", "--checkpoint", str(out), str(png), "--lang", "en")
    assert rc == 2
    assert "'cnn1d', which takes series" in text and "Give a series file" in text
    bad = tmp_path / "bad.csv"
    bad.write_text("0.1,0.2,nan,0.4\n")
    with pytest.raises(DataError, match=r"row 1, column 3: 'nan' is not a finite number"):
        read_series(bad, 1)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("1,2,3\n4,5\n")
    with pytest.raises(DataError, match=r"different lengths \[3, 2\]"):
        read_series(ragged, 2)
    np.save(tmp_path / "inf.npy", np.array([[1.0, np.inf, 2.0]]))
    with pytest.raises(DataError, match=r"row 1, column 2: inf"):
        read_series(tmp_path / "inf.npy", 1)
    np.save(tmp_path / "three.npy", np.zeros((3, 40)))
    with pytest.raises(DataError, match=r"shape \[3, 40\].*C = 1"):
        read_series(tmp_path / "three.npy", 1)
    rc, text = _cli(
        capsys, "predict", "--checkpoint", str(out), str(tmp_path / "three.npy"), "--lang", "ko"
    )
    assert rc == 2 and "모양은 [3, 40]입니다" in text


def test_mlp1d_trains_through_run_training_with_a_limit(tmp_path):
    plan = plan_training(
        "mlp1d",
        "mnist1d",
        options={"epochs": 2, "batch_size": 100, "optimizer": "adamw", "lr": 0.003, "threads": 1},
        arch=Architecture(hidden=64),
        out=tmp_path / "mlp",
        limit=2000,
    )
    run = run_training(plan)
    assert run.params == 40 * 64 + 64 + 64 * 10 + 10  # one hidden layer of 64
    assert run.result.global_step == 2 * 2000 // 100  # the limit kept 2000 series
    assert run.result.metrics is not None and run.result.metrics.accuracy > 0.2
    meta = json.loads((tmp_path / "mlp" / "checkpoint.json").read_text())
    assert meta["model"]["kwargs"]["length"] == 40


def test_random_roll_is_a_per_sample_torch_roll():
    x = torch.arange(3 * 2 * 10, dtype=torch.float32).view(3, 2, 1, 10)
    g = torch.Generator().manual_seed(5)
    out = random_roll(x, 3, g)
    shifts = torch.randint(-3, 4, (3, 1), generator=torch.Generator().manual_seed(5))
    for i in range(3):
        torch.testing.assert_close(out[i], torch.roll(x[i], int(shifts[i]), dims=-1))


def test_prepare_series_znormalises_each_channel_like_the_data_layer():
    x = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 5.0, 5.0]], dtype=np.float32)
    z = prepare_series(x, znorm=True)
    np.testing.assert_allclose(z[0].mean(), 0, atol=1e-6)
    np.testing.assert_allclose(z[0].std(), 1, atol=1e-6)
    assert (z[1] == 0).all()  # a constant channel becomes zeros, no division by zero
    assert prepare_series(x, znorm=False) is x


def test_a_six_channel_ucr_set_sets_the_model(tmp_path, capsys):
    """BasicMotions (6 channels, 4 named classes): the data sizes the model; a multivariate UEA set
    is used as published (no per-series z-normalisation), and predict feeds a series as it is."""
    pytest.importorskip("aeon")
    out = tmp_path / "bm"
    args = ["train", "--model", "cnn1d", "--data", "ucr:BasicMotions", "--epochs", "2"]
    opts = ["--channels", "4", "--channels", "4", "--batch-size", "8", "--threads", "1"]
    assert main([*args, *opts, "--out", str(out), "--lang", "en"]) == 0
    capsys.readouterr()
    meta = json.loads((out / "checkpoint.json").read_text())
    assert meta["model"]["kwargs"]["in_channels"] == 6
    assert meta["model"]["kwargs"]["num_classes"] == 4
    assert meta["run"]["znorm"] is False
    assert meta["classes"] == ["badminton", "running", "standing", "walking"]
    x = get_dataset("ucr:BasicMotions", train=False).series[0]  # (6, 100)
    np.save(tmp_path / "a.npy", x)
    rc, text = _cli(capsys, "predict", "--checkpoint", str(out), str(tmp_path / "a.npy"), "--json")
    assert rc == 0, text
    assert json.loads(text)["top"][0]["index"] in range(4)


def test_predict_znormalises_a_univariate_ucr_series(tmp_path, capsys):
    """GunPoint is z-normalised per series (UCR practice), and predict does the same to its input:
    a rescaled, shifted series gets the same answer."""
    pytest.importorskip("aeon")
    out = tmp_path / "gp"
    args = ["train", "--model", "cnn1d", "--data", "ucr:GunPoint", "--epochs", "2"]
    opts = ["--channels", "4", "--channels", "4", "--batch-size", "8", "--threads", "1"]
    assert main([*args, *opts, "--out", str(out), "--lang", "en"]) == 0
    capsys.readouterr()
    assert json.loads((out / "checkpoint.json").read_text())["run"]["znorm"] is True
    x = get_dataset("ucr:GunPoint", train=False).series[0]  # (1, 150)
    probs = []
    for name, series in (("a.npy", x), ("b.npy", 10 * x + 3)):
        np.save(tmp_path / name, series)
        rc, text = _cli(capsys, "predict", "--checkpoint", str(out), str(tmp_path / name), "--json")
        assert rc == 0, text
        probs.append(json.loads(text)["top"])
    assert [r["index"] for r in probs[0]] == [r["index"] for r in probs[1]]
    assert probs[0][0]["prob"] == pytest.approx(probs[1][0]["prob"], abs=1e-4)


def test_roll_augmentation_is_seeded_and_changes_training():
    """Same seed → the same weights; roll vs none → different ones (the shifts reach the model)."""
    from cnnlab.models import build
    from cnnlab.train import TrainConfig, fit, seed_everything

    g = torch.Generator().manual_seed(0)
    data = (torch.randn(64, 1, 1, 20, generator=g), torch.randint(0, 3, (64,), generator=g))

    def weights(augment: str) -> torch.Tensor:
        seed_everything(1)
        model = build("cnn1d", channels=(4,), num_classes=3)
        fit(model, data, None, TrainConfig(epochs=2, batch_size=16, augment=augment, threads=1))
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    first = weights("roll")
    torch.testing.assert_close(weights("roll"), first, rtol=0, atol=0)
    assert not torch.equal(weights("none"), first)
