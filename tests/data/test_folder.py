"""``folder:<path>``: your own images through the Dataset API, train/evaluate/predict end to end
(gray and RGB), the recorded split, the cache, and every error before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli import main
from cnnlab.data import folder as folder_mod
from cnnlab.data import get_dataset, image_names, is_valid_name, names, resolve
from cnnlab.data.folder import FolderDataset, FolderOptions, decode, load_folder
from cnnlab.errors import ConfigError, DataError


def make_folder(root: Path, per_class: int = 12, classes: tuple[str, ...] = ("a", "b")) -> Path:
    """Classes of distinct images: class k is bright in its own quadrant. Mixed sizes, gray and
    RGB, PNG and JPEG (so the transform really resizes and converts)."""
    rng = np.random.default_rng(0)
    for k, name in enumerate(classes):
        d = root / name
        d.mkdir(parents=True)
        for i in range(per_class):
            h, w = 20 + 3 * i, 16 + 5 * (i % 4)
            a = rng.integers(0, 40, (h, w)).astype(np.uint8)
            r0, c0 = (k // 2) * h // 2, (k % 2) * w // 2
            a[r0 : r0 + h // 2, c0 : c0 + w // 2] = 230
            if i % 3 == 0:
                Image.fromarray(a).save(d / f"{i:02d}.png")  # gray PNG
            elif i % 3 == 1:
                Image.fromarray(np.stack([a, a, 255 - a], -1)).save(d / f"{i:02d}.jpg", quality=95)
            else:
                Image.fromarray(np.stack([a, a // 2, a], -1)).save(d / f"{i:02d}.png")  # RGB PNG
    return root


@pytest.fixture(autouse=True)
def _fresh_memo() -> None:
    folder_mod._MEMO.clear()


def test_names_and_resolution(tmp_path: Path) -> None:
    name = f"folder:{tmp_path}"
    assert name in names() and is_valid_name(name) and name in image_names()
    assert "folder:" not in image_names() and "folder:<path>" in list(image_names())
    assert resolve(name).describe().startswith(f"Data: {name}, your images")


def test_dataset_api_gray_and_rgb(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "imgs")
    gray = get_dataset(f"folder:{root}", train=True)
    assert isinstance(gray, FolderDataset) and gray.classes == ("a", "b")
    assert gray.images.shape == (len(gray), 28, 28) and gray.images.dtype == np.uint8
    x, y = gray[0]
    assert tuple(x.shape) == (1, 28, 28) and 0.0 <= float(x.min()) <= float(x.max()) <= 1.0
    assert y in (0, 1)
    rgb = get_dataset(f"folder:{root}", train=False, folder=FolderOptions(mode="rgb", size=12))
    assert rgb.images.shape == (len(rgb), 3, 12, 12) and tuple(rgb[0][0].shape) == (3, 12, 12)
    assert tuple(rgb.data.shape) == (len(rgb), 3, 12, 12)


def test_split_is_stratified_reproducible_and_recorded(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "imgs", per_class=10)
    name = f"folder:{root}"
    tr, te = get_dataset(name, train=True), get_dataset(name, train=False)
    assert len(tr) == 16 and len(te) == 4  # 20% of each class of 10
    assert np.bincount(te.labels).tolist() == [2, 2]
    assert set(tr.files).isdisjoint(te.files) and len(set(tr.files) | set(te.files)) == 20
    folder_mod._MEMO.clear()
    again = get_dataset(name, train=False)
    assert again.files == te.files  # same seed, same split, decoded afresh
    other = get_dataset(name, train=False, folder=FolderOptions(seed=1))
    assert other.files != te.files
    rec = tr.record
    assert rec["n_train"] == 16 and rec["n_test"] == 4 and rec["classes"] == ["a", "b"]
    import hashlib

    assert rec["test_sha256"] == hashlib.sha256("\n".join(te.files).encode()).hexdigest()


def test_transform_crop_keeps_the_centre(tmp_path: Path) -> None:
    """A 30×10 image, left third black, middle white, right third black: the centre crop is all
    white; plain resizing squeezes the three bands into one square."""
    a = np.zeros((10, 30), np.uint8)
    a[:, 10:20] = 255
    Image.fromarray(a).save(tmp_path / "wide.png")
    cropped = decode(tmp_path / "wide.png", FolderOptions(size=10, crop=True))
    assert cropped.shape == (1, 10, 10) and cropped.min() == 255
    squeezed = decode(tmp_path / "wide.png", FolderOptions(size=9))
    assert squeezed[0, :, 0].max() < 60 and squeezed[0, :, 4].min() > 200
    rgba = np.zeros((8, 8, 4), np.uint8)  # fully transparent: white paper, not black
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    assert decode(tmp_path / "clear.png", FolderOptions(size=8, mode="rgb")).min() == 255


def test_decoded_once_and_cached_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_folder(tmp_path / "imgs", per_class=6)
    monkeypatch.setattr(folder_mod, "CACHE_MIN", 1)
    first = load_folder(f"folder:{root}", FolderOptions())
    assert first.cached == ""
    assert load_folder(f"folder:{root}", FolderOptions()).cached == "memory"
    folder_mod._MEMO.clear()
    from_disk = load_folder(f"folder:{root}", FolderOptions())
    assert from_disk.cached == "disk" and np.array_equal(from_disk.images, first.images)
    (root / "a" / "00.png").touch()  # changed mtime: the key changes, decoded again
    folder_mod._MEMO.clear()
    os_stat = (root / "a" / "00.png").stat()
    import os

    os.utime(root / "a" / "00.png", ns=(os_stat.st_atime_ns, os_stat.st_mtime_ns + 10**9))
    assert load_folder(f"folder:{root}", FolderOptions()).cached == ""


def test_options_in_the_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``folder:<path>?mode=rgb&size=12&crop``: every face that takes a name reads it alike."""
    root = make_folder(tmp_path / "imgs", per_class=10)
    ds = get_dataset(f"folder:{root}?mode=rgb&size=12&crop&test=0.3", train=False)
    assert ds.images.shape == (6, 3, 12, 12) and ds.options.crop and ds.root == root
    explicit = get_dataset(f"folder:{root}?mode=rgb", train=False, folder=FolderOptions(size=8))
    assert explicit.images.shape == (4, 8, 8)  # explicit options replace the name's
    with pytest.raises(ConfigError, match=r"unknown option 'colour'. Valid: mode, size, crop"):
        get_dataset(f"folder:{root}?colour=rgb")
    with pytest.raises(ConfigError, match=r"option 'size' cannot take the value 'big'"):
        get_dataset(f"folder:{root}?size=big")
    out = tmp_path / "run"
    name = f"folder:{root}?mode=rgb&size=16"
    args = ["train", "--data", name, "--epochs", "1", "--batch-size", "8", "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    assert _ckpt_meta(out)["model"]["kwargs"]["in_channels"] == 3


def test_options_validated() -> None:
    with pytest.raises(ConfigError, match=r"Image mode 'cmyk' is not valid. Valid: gray, rgb"):
        FolderOptions(mode="cmyk").validate()
    with pytest.raises(ConfigError, match=r"Image size 2 is out of range: .* from 4 to 512"):
        FolderOptions(size=2).validate()
    with pytest.raises(ConfigError, match=r"Test fraction 1.0 is out of range"):
        FolderOptions(test_fraction=1.0).validate()


def _ckpt_meta(out: Path) -> dict:
    return json.loads((out / "checkpoint.json").read_text())


def test_train_evaluate_predict_rgb_via_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_folder(tmp_path / "imgs", per_class=10)
    out = tmp_path / "run"
    args = ["train", "--data", f"folder:{root}", "--image-mode", "rgb", "--image-size", "16"]
    rc = main([*args, "--epochs", "1", "--batch-size", "8", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "RGB (3 channels) → resize to 16×16" in captured.err
    assert "Split: 16 train / 4 test images over 2 classes" in captured.err
    meta = _ckpt_meta(out)
    assert meta["model"]["kwargs"] == {"in_channels": 3, "image_size": 16, "num_classes": 2}
    assert meta["input_shape"] == [3, 16, 16] and meta["classes"] == ["a", "b"]
    rec = meta["run"]["folder"]
    assert rec["mode"] == "rgb" and rec["n_test"] == 4 and len(rec["train_sha256"]) == 64

    assert main(["evaluate", "--checkpoint", str(out), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["n"] == 4 and ev["data"] == f"folder:{root}"

    image = root / "b" / "01.jpg"
    assert main(["predict", "--checkpoint", str(out), str(image), "--json"]) == 0
    pred = json.loads(capsys.readouterr().out)
    assert pred["input_shape"] == [3, 16, 16] and pred["transform"]["mode"] == "rgb"
    assert abs(sum(r["prob"] for r in pred["top"]) - 1.0) < 1e-5


def test_evaluate_finds_a_relative_folder_from_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_folder(tmp_path / "imgs", per_class=10)
    monkeypatch.chdir(tmp_path)
    args = ["train", "--data", "folder:imgs", "--epochs", "1", "--batch-size", "8"]
    assert main([*args, "--out", "run"]) == 0
    capsys.readouterr()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["data"] == f"folder:{tmp_path / 'imgs'}" and ev["n"] == 4
    for i in range(5):  # new files since training: the recorded split no longer matches
        Image.fromarray(np.full((20, 20), 200, np.uint8)).save(
            tmp_path / "imgs" / "a" / f"n{i}.png"
        )
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert "the test split of this folder is not the one the checkpoint was trained with" in err
    assert "(4 images then, 5 now" in err


def test_skip_bad_reports_the_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_folder(tmp_path / "imgs", per_class=10)
    (root / "a" / "notes.txt").write_text("not an image")
    out = tmp_path / "run"
    args = ["train", "--data", f"folder:{root}", "--skip-bad", "--epochs", "1"]
    assert main([*args, "--batch-size", "8", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "Skipped 1 file(s) that are not readable images (--skip-bad), first: a/notes.txt" in err
    assert _ckpt_meta(out)["run"]["folder"]["skipped"] == 1


def _broken(kind: str, tmp_path: Path) -> tuple[str, list[str], str]:
    """(data name, extra options, expected message) for one error case."""
    if kind == "missing":
        return f"folder:{tmp_path / 'nope'}", [], r"Image folder '.*nope' does not exist"
    if kind == "file":
        (tmp_path / "f.png").write_bytes(b"x")
        return f"folder:{tmp_path / 'f.png'}", [], r"f.png' is a file, not a folder"
    root = make_folder(tmp_path / "imgs", per_class=10)
    if kind == "no_classes":
        return f"folder:{root / 'a'}", [], r"has no sub-folders"
    if kind == "one_class":
        import shutil

        shutil.rmtree(root / "b")
        return f"folder:{root}", [], r"has only one class \('a'\)"
    if kind == "empty_class":
        (root / "c").mkdir()
        return f"folder:{root}", [], r"Class folder '.*c' \(class 'c'\) holds no files"
    if kind == "not_image":
        (root / "b" / "readme.txt").write_text("hello")
        return f"folder:{root}", [], r"'.*b/readme.txt' is not a readable image .*--skip-bad"
    if kind == "all_skipped":
        for p in (root / "b").iterdir():
            p.write_bytes(b"garbage")
        return f"folder:{root}", ["--skip-bad"], r"class 'b'\) holds no readable image: all 10"
    if kind == "few":
        return f"folder:{root}", ["--batch-size", "64"], r"gives 16 training images, fewer than"
    if kind == "mode":
        return f"folder:{root}", ["--image-mode", "cmyk"], r"Image mode 'cmyk' is not valid"
    raise AssertionError(kind)


CASES = ("missing", "file", "no_classes", "one_class", "empty_class", "not_image", "all_skipped")


@pytest.mark.parametrize("kind", [*CASES, "few", "mode"])
def test_errors_exit_2_and_write_nothing(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, extra, message = _broken(kind, tmp_path)
    out = tmp_path / "out" / "run"
    args = ["train", "--data", data, "--epochs", "1", "--out", str(out)]
    if "--batch-size" not in extra:
        extra = [*extra, "--batch-size", "8"]
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "Traceback" not in err
    import re

    assert re.search(message, err), err
    assert not (tmp_path / "out").exists()


def test_error_in_korean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, _, _ = _broken("one_class", tmp_path)
    assert main(["train", "--data", data, "--out", str(tmp_path / "o"), "--lang", "ko"]) == 2
    assert "클래스가 하나('a')뿐입니다" in capsys.readouterr().err


def test_library_errors_are_data_errors(tmp_path: Path) -> None:
    data, _, _ = _broken("empty_class", tmp_path)
    with pytest.raises(DataError, match=r"holds no files"):
        get_dataset(data)


def test_lab_experiment_takes_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default --out lands here
    root = make_folder(tmp_path / "imgs", per_class=8)
    rc = main(["lab", "receptive-field", "--data", f"folder:{root}", "--seeds", "1", "--json"])
    assert rc == 0
    numbers = json.loads(capsys.readouterr().out)
    assert numbers["dataset"] == f"folder:{root}" and numbers["input_shape"] == [1, 1, 28, 28]
