"""``cnnlab maps`` and ``cnnlab looks`` (in process): files written and parsed back, any model
source, 3-channel inputs of any size, Korean, and errors that write nothing (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli import main

USER_NET = '''
import torch
from torch import nn


class TinyRGB(nn.Module):
    """A user's model: 3 input channels, a residual add, any image size (global pooling)."""

    def __init__(self, width: int = 4, classes: int = 3):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.body = nn.Conv2d(width, width, 3, padding=1)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        y = self.act(self.stem(x))
        y = self.pool(self.act(self.body(y)) + y)
        return self.head(y.mean(dim=(2, 3)))
'''


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def _png(path: Path) -> tuple[int, int]:
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        return img.size


def test_maps_of_a_registry_model_on_the_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "maps"
    rc, stdout, err = run(
        capsys,
        "maps",
        "--model",
        "cnn",
        "--data",
        "mnist-sample",
        "--index",
        "3",
        "--layer",
        "features.0",
        "--layer",
        "features.3",
        "--channels",
        "8",
        "--out",
        str(out),
    )
    assert rc == 0, err
    assert "features.3" in stdout and "32×14×14" in stdout
    numbers = json.loads((out / "maps.json").read_text())
    assert [r["layer"] for r in numbers["layers"]] == ["features.0", "features.3"]
    assert numbers["layers"][1]["shape"] == [32, 14, 14]
    assert numbers["input_shape"] == [1, 28, 28] and "sample 3" in numbers["input"]
    assert len(numbers["layers"][0]["channel_max"]) == 32
    assert _png(out / "maps-features-0.png")[0] > 400


def test_user_model_from_a_file_with_an_rgb_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = tmp_path / "user_net.py"
    net.write_text(USER_NET)
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[:, :20, 0] = 255  # red left half
    Image.fromarray(rgb).save(tmp_path / "photo.png")
    out = tmp_path / "m"
    rc, _, err = run(
        capsys,
        "maps",
        "--model",
        f"{net}:TinyRGB",
        "--kw",
        "width=6",
        "--image",
        str(tmp_path / "photo.png"),
        "--input-size",
        "3,20,24",
        "--out",
        str(out),
    )
    assert rc == 0, err
    numbers = json.loads((out / "maps.json").read_text())
    assert numbers["input_shape"] == [3, 20, 24]
    assert [r["layer"] for r in numbers["layers"]] == [
        "stem",
        "act",
        "body",
        "act",
        "pool",
    ]  # call order; act twice
    assert numbers["layers"][-1]["shape"] == [6, 10, 12]
    assert {p.name for p in out.iterdir()} == {
        "maps.json",
        "maps-stem.png",
        "maps-body.png",
        "maps-act.png",
        "maps-pool.png",
    }
    rc, _, err = run(
        capsys,
        "looks",
        "--where",
        "--model",
        f"{net}:TinyRGB",
        "--image",
        str(tmp_path / "photo.png"),
        "--input-size",
        "3x20x24",
        "--out",
        str(tmp_path / "w"),
    )
    assert rc == 0, err
    where = json.loads((tmp_path / "w" / "where.json").read_text())
    assert where["layer"] == "pool" and where["cam_shape"] == [10, 12]
    assert _png(tmp_path / "w" / "where.png")[0] > 300


def test_looks_wants_to_see_with_top_patches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "looks"
    rc, stdout, err = run(
        capsys,
        "looks",
        "--model",
        "cnn",
        "--data",
        "mnist-sample",
        "--layer",
        "features.2",
        "--channel",
        "5",
        "--k",
        "4",
        "--limit",
        "200",
        "--steps",
        "12",
        "--out",
        str(out),
    )
    assert rc == 0, err
    assert "one unit sees 3×3 input pixels" in stdout and "(receptive-field formula)" in stdout
    numbers = json.loads((out / "looks-features-2-5.json").read_text())
    assert numbers["maximize"]["channel"] == 5 and len(numbers["maximize"]["trajectory"]) == 13
    tp = numbers["top_patches"]
    assert tp["field"]["size"] == [3, 3] and tp["n_images"] == 200 and len(tp["indices"][0]) == 4
    assert tp["activations"][0] == sorted(tp["activations"][0], reverse=True)
    best = tp["activations"][0][0]  # the optimised input against the best real patch
    assert numbers["maximized_vs_best_real"] == pytest.approx(
        numbers["maximize"]["final"] / best, rel=1e-4
    )
    _png(out / "wants-features-2-5.png")


def test_where_in_korean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, stdout, err = run(
        capsys,
        "--lang",
        "ko",
        "looks",
        "--where",
        "--model",
        "cnn",
        "--data",
        "mnist-sample",
        "--index",
        "1",
        "--out",
        str(tmp_path / "w"),
    )
    assert rc == 0, err
    assert "예측한 클래스는" in stdout and "features.7 층" in stdout
    assert json.loads((tmp_path / "w" / "where.json").read_text())["cam_shape"] == [7, 7]


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["maps", "--model", "cnn", "--data", "mnist-sample", "--layer", "feature.0"],
            r"No layer named feature.0 in this model. Valid layer names: features, features.0",
        ),
        (
            [
                "looks",
                "--model",
                "cnn",
                "--data",
                "mnist-sample",
                "--layer",
                "features.0",
                "--channel",
                "32",
            ],
            "Channel 32 does not exist in layer features.0: it has 32 channels, numbered 0..31",
        ),
        (
            ["maps", "--model", "cnn", "--data", "mnist-sample", "--index", "5000"],
            "5000",
        ),
        (["looks", "--model", "cnn", "--data", "mnist-sample"], "needs --layer and --channel"),
        (["looks", "--model", "cnn", "--layer", "features.0", "--channel", "0"], "give --data"),
        (["maps", "--model", "cnn", "--input-size", "3,32"], "Input size 3,32 is not C,H,W"),
        (["looks", "--where", "--model", "cnn"], "No input: give --data"),
        (
            ["looks", "--where", "--model", "cnn", "--data", "mnist-sample", "--target", "10"],
            "Class 10 does not exist: the model has 10 outputs",
        ),
    ],
)
def test_errors_exit_2_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    out = tmp_path / "never"
    rc, _, err = run(capsys, *args, "--out", str(out))
    assert rc == 2
    assert message in err and "Traceback" not in err
    assert not out.exists()


def _folder_of_rgb_images(root: Path) -> Path:
    """Two classes of RGB images in mixed sizes and formats: a bright red or blue square."""
    rng = np.random.default_rng(0)
    for cls, ch in (("red", 0), ("blue", 2)):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            h, w = (int(v) for v in rng.integers(20, 40, 2))
            a = (rng.random((h, w, 3)) * 60).astype(np.uint8)
            r, c = int(rng.integers(0, h - 8)), int(rng.integers(0, w - 8))
            a[r : r + 8, c : c + 8, ch] = 255
            Image.fromarray(a).save(root / cls / f"{i}.{'png' if i % 2 else 'jpg'}")
    return root


def test_folder_of_rgb_images_with_a_user_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = tmp_path / "user_net.py"
    net.write_text(USER_NET)
    data = f"folder:{_folder_of_rgb_images(tmp_path / 'photos')}"
    common = ["--model", f"{net}:TinyRGB", "--data", data, "--image-mode", "rgb"]
    common += ["--image-size", "24"]
    rc, stdout, err = run(capsys, "maps", *common, "--index", "1", "--out", str(tmp_path / "m"))
    assert rc == 0, err
    assert "3×24×24" in stdout and "RGB (3 channels)" in err  # the transform is shown
    assert json.loads((tmp_path / "m" / "maps.json").read_text())["input_shape"] == [3, 24, 24]
    rc, stdout, err = run(
        capsys,
        "looks",
        *common,
        "--layer",
        "pool",
        "--channel",
        "1",
        "--k",
        "2",
        "--steps",
        "8",
        "--out",
        str(tmp_path / "l"),
    )
    assert rc == 0, err
    numbers = json.loads((tmp_path / "l" / "looks-pool-1.json").read_text())
    tp = numbers["top_patches"]
    assert tp["field"]["size"] == [6, 6] and tp["field"]["jump"] == [2, 2]
    assert set(tp["labels"][0]) <= {0, 1}
    rc, stdout, err = run(
        capsys, "looks", "--where", *common, "--index", "0", "--out", str(tmp_path / "w")
    )
    assert rc == 0, err
    assert json.loads((tmp_path / "w" / "where.json").read_text())["cam_shape"] == [12, 12]


def test_what_the_logits_want_to_see(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A class logit: its top patches are whole images, the optimised input a whole image."""
    rc, stdout, err = run(
        capsys,
        "looks",
        "--model",
        "cnn",
        "--data",
        "mnist-sample",
        "--layer",
        "classifier.3",
        "--channel",
        "4",
        "--k",
        "3",
        "--limit",
        "100",
        "--steps",
        "6",
        "--out",
        str(tmp_path),
    )
    assert rc == 0, err
    assert "sees the whole 28×28 image" in stdout
    numbers = json.loads((tmp_path / "looks-classifier-3-4.json").read_text())
    assert numbers["top_patches"]["field"]["whole"] is True
    assert numbers["top_patches"]["boxes"][0][0] == [0, 27, 0, 27]
    assert numbers["maximize"]["box"] is None
