"""Fixtures for the text tests: small NSMC-format and CSV files written by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

# Reviews with a clear word for each class, so a tiny TextCNN can learn them in seconds.
POSITIVE = [
    "정말 재밌다",
    "최고의 영화",
    "배우 연기 좋다",
    "감동 그 자체",
    "또 보고 싶다",
    "음악 좋다",
]
NEGATIVE = [
    "정말 지루하다",
    "최악의 영화",
    "연기 별로다",
    "시간 아깝다",
    "다시는 안 본다",
    "돈 아깝다",
]


def reviews(n: int, seed: int = 0) -> list[tuple[str, int]]:
    """``n`` (text, label) pairs built from the phrases above with a random filler word."""
    import random

    rng = random.Random(seed)
    fillers = ["", "진짜", "오늘", "그냥", "음", "이번"]
    out = []
    for i in range(n):
        label = i % 2
        phrase = rng.choice(POSITIVE if label else NEGATIVE)
        out.append((f"{rng.choice(fillers)} {phrase}".strip(), label))
    return out


def write_nsmc(path: Path, rows: list[tuple[str, int]], start_id: int = 1) -> Path:
    """An NSMC-format TSV (``id document label``)."""
    lines = ["id\tdocument\tlabel"]
    lines += [f"{start_id + i}\t{text}\t{label}" for i, (text, label) in enumerate(rows)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def nsmc_dir(tmp_path: Path) -> Path:
    """A folder holding ``nsmc/ratings_{train,test}.txt`` with 400/200 learnable reviews."""
    root = tmp_path / "shared"
    write_nsmc(root / "nsmc" / "ratings_train.txt", reviews(400, 0))
    write_nsmc(root / "nsmc" / "ratings_test.txt", reviews(200, 1), start_id=10_000)
    return root


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tiny TextCNN trained through the CLI on a learnable NSMC-format slice (a few seconds):
    ``{"data": folder, "out": checkpoint folder}``."""
    from cnnlab.cli import main

    root = tmp_path_factory.mktemp("text-trained")
    data = root / "data"
    write_nsmc(data / "nsmc" / "ratings_train.txt", reviews(400, 0))
    write_nsmc(data / "nsmc" / "ratings_test.txt", reviews(200, 1), start_id=10_000)
    out = root / "run"
    args = ["--lang", "en", "train", "--model", "textcnn", "--data", "nsmc"]
    args += ["--data-dir", str(data), "--epochs", "3", "--batch-size", "40", "--channels", "8"]
    args += ["--embed-dim", "32", "--widths", "2", "--widths", "3"]
    args += ["--seed", "0", "--threads", "1", "--out", str(out)]
    code = main(args)
    assert code == 0, code
    return {"data": data, "out": out}
