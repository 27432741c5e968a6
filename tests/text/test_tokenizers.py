"""Tokenisers on Korean text: round trips, NFC, the morpheme tokeniser's spans, errors."""

from __future__ import annotations

import itertools
import sys
import unicodedata

import pytest

from cnnlab.errors import ConfigError
from cnnlab.text import SPACE, get_tokenizer, normalize
from cnnlab.text import tokenizers as tok_mod

KOREAN = ["영화 정말 재밌다", "  배우들   연기가\t최고!! ㅋㅋ ", "2005년작 맞나?", "Good 영화 :)"]


@pytest.mark.parametrize("text", KOREAN)
def test_syllable_round_trip(text: str) -> None:
    tok = get_tokenizer("syllable")
    tokens = tok.tokenize(text)
    assert tok.detokenize(tokens) == " ".join(text.split())  # whitespace runs → one space
    assert all(len(t) == 1 for t in tokens)
    assert tokens.count(SPACE) == len(text.split()) - 1


def test_syllable_tokens_of_a_sentence() -> None:
    assert get_tokenizer("syllable").tokenize("영화 정말") == ["영", "화", SPACE, "정", "말"]


@pytest.mark.parametrize("text", KOREAN)
def test_word_round_trip(text: str) -> None:
    tok = get_tokenizer("word")
    assert tok.detokenize(tok.tokenize(text)) == " ".join(text.split())


def test_nfd_input_gives_the_same_tokens_as_nfc() -> None:
    """Korean typed on macOS arrives decomposed (jamo): the same syllables after NFC."""
    nfc = "영화 정말 재밌다"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc and len(nfd) > len(nfc)
    for name in ("syllable", "word"):
        tok = get_tokenizer(name)
        assert tok.tokenize(nfd) == tok.tokenize(nfc)


def test_tokenize_many_matches_tokenize() -> None:
    for name in ("syllable", "word", "morpheme"):
        tok = get_tokenizer(name)
        assert [list(x) for x in tok.tokenize_many(KOREAN)] == [tok.tokenize(t) for t in KOREAN]


def test_morpheme_tokens_and_spans() -> None:
    tok = get_tokenizer("morpheme")
    assert tok.name == "morpheme"
    assert tok.tokenize("영화 정말 재밌다") == ["영화", "정말", "재밌", "다"]
    text = "배우들 연기가 최고"
    spans = tok.spans(text)  # type: ignore[attr-defined]
    tokens = tok.tokenize(text)
    assert len(spans) == len(tokens)
    # each span lies inside the normalised text, in order, without overlap
    norm = normalize(text)
    assert all(0 <= a < b <= len(norm) for a, b in spans)
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(spans))
    # a surface-preserving morpheme reads back from its span
    assert norm[spans[0][0] : spans[0][1]] == tokens[0] == "배우"


def test_unknown_tokenizer_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"Unknown tokenizer 'jamo'.*syllable, word, morpheme"):
        get_tokenizer("jamo")


def test_morpheme_without_kiwipiepy_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kiwipiepy", None)  # import now fails as if not installed
    monkeypatch.setattr(tok_mod, "_KIWI", None)
    with pytest.raises(ConfigError, match=r"pip install 'cnnlab\[korean\]'"):
        get_tokenizer("morpheme")


def test_morpheme_cache_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    from cnnlab.text import cache

    monkeypatch.setattr(cache, "MIN_TEXTS", 1)
    tok = get_tokenizer("morpheme")
    texts = ["영화 정말 재밌다", "배우들 연기가 최고"]
    first = cache.tokenize_cached(tok, texts)
    path = cache.cache_path(tok, texts)
    assert path.is_file() and first == tok.tokenize_many(texts)
    assert cache.tokenize_cached(tok, texts) == first  # read back from the file
    path.write_bytes(b"not gzip")  # a broken cache is recomputed, never trusted
    assert cache.tokenize_cached(tok, texts) == first
    assert cache.tokenize_cached(get_tokenizer("word"), texts) == [t.split() for t in texts]
