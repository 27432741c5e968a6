"""Vocabulary: order, minimum count, size cap, padding/truncation, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnlab.errors import ConfigError, DataError
from cnnlab.text import PAD_ID, UNK_ID, TextEncoding, Vocab, get_tokenizer

LISTS = [["영", "화", "영"], ["영", "상"], ["화", "면"]]


def test_build_orders_by_count_then_token() -> None:
    v = Vocab.build(LISTS)
    # 영 ×3, 화 ×2, then 면 상 ×1 in code-point order
    assert v.tokens == ["<pad>", "<unk>", "영", "화", "면", "상"]
    assert (v.id("<pad>"), v.id("<unk>"), v.id("영")) == (PAD_ID, UNK_ID, 2)


def test_min_count_and_max_size() -> None:
    assert Vocab.build(LISTS, min_count=2).tokens == ["<pad>", "<unk>", "영", "화"]
    assert Vocab.build(LISTS, max_size=3).tokens == ["<pad>", "<unk>", "영"]
    with pytest.raises(ConfigError, match=r"--min-count.*got 0"):
        Vocab.build(LISTS, min_count=0)
    with pytest.raises(ConfigError, match=r"--vocab-size.*got 2"):
        Vocab.build(LISTS, max_size=2)


def test_encode_pads_truncates_and_maps_unknowns() -> None:
    v = Vocab.build(LISTS)
    assert v.encode(["영", "화", "관"], length=5) == [2, 3, UNK_ID, PAD_ID, PAD_ID]
    assert v.encode(["영", "화", "관"], length=2) == [2, 3]
    assert v.encode(["영"]) == [2]
    assert v.decode([2, 3, 1, 0]) == ["영", "화", "<unk>", "<pad>"]


def test_encode_batch_reports_the_share_truncated() -> None:
    v = Vocab.build(LISTS)
    ids, share = v.encode_batch([["영"] * 5, ["화"], [], ["영", "화", "면"]], length=3)
    assert ids.dtype == np.int64 and ids.shape == (4, 3)
    assert ids.tolist() == [[2, 2, 2], [3, 0, 0], [0, 0, 0], [2, 3, 4]]
    assert share == 0.25  # one of four is longer than 3
    with pytest.raises(ConfigError, match="--max-len"):
        v.encode_batch([["영"]], length=0)


def test_json_round_trip_keeps_korean_readable() -> None:
    v = Vocab.build(LISTS, min_count=1, max_size=10)
    text = v.to_json()
    assert "영" in text  # written as UTF-8, not \\u escapes
    back = Vocab.from_json(text)
    assert back == v and back.tokens == v.tokens and back.max_size == 10
    assert back.encode(["화", "영"], 3) == v.encode(["화", "영"], 3)


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", json.dumps({"format": "other"}), json.dumps({"format": "cnnlab-vocab/1"})],
)
def test_bad_json_is_a_data_error(text: str) -> None:
    with pytest.raises(DataError, match="not in the expected format"):
        Vocab.from_json(text)


def test_specials_must_come_first() -> None:
    with pytest.raises(DataError, match="must start with <pad> and <unk>"):
        Vocab(["영", "<pad>", "<unk>"])


def test_text_encoding_round_trip_encodes_the_same() -> None:
    texts = ["영화 정말 재밌다", "영화 지루하다", "정말 최고"]
    enc, ids = TextEncoding.fit(texts, "syllable", max_len=6)
    assert ids.shape == (3, 6)
    assert enc.truncated_share == pytest.approx(2 / 3)  # 9 and 7 syllables > 6
    back = TextEncoding.from_dict(json.loads(json.dumps(enc.to_dict())))
    assert back == enc
    new_ids, share = back.encode(["영화 최고", ""])
    tok = get_tokenizer("syllable")
    assert new_ids[0].tolist() == enc.vocab.encode(tok.tokenize("영화 최고"), 6)
    assert new_ids[1].tolist() == [0] * 6 and share == 0.0
