"""Tokenisers: text → a list of string tokens, at three grains.

- ``syllable``: one token per character (a Hangul syllable block, a Latin letter, a digit, a
  punctuation mark); each run of whitespace becomes one ``▁`` token, so word boundaries stay
  visible to the convolution. Needs no package and works for any language.
- ``word``: whitespace-separated words (punctuation stays attached, as typed).
- ``morpheme``: Korean morphemes from ``kiwipiepy`` (optional extra ``cnnlab[korean]``; its model
  ships inside the package, so it works offline): ``영화 정말 재밌다`` → ``영화 정말 재밌 다``.

Every tokeniser first normalises the text to Unicode NFC (Korean typed on macOS arrives as NFD
jamo, which would otherwise be different tokens for the same syllable) and strips it.

    >>> get_tokenizer("syllable").tokenize("영화 정말")
    ['영', '화', '▁', '정', '말']
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from cnnlab.errors import ConfigError

SPACE = "▁"  # U+2581, sentencepiece's visible space: the syllable tokeniser's word boundary
TOKENIZERS = ("syllable", "word", "morpheme")


def normalize(text: str) -> str:
    """NFC, outer whitespace stripped (what every tokeniser sees)."""
    return unicodedata.normalize("NFC", text).strip()


class Tokenizer(Protocol):
    """What every tokeniser offers: a ``name`` and ``tokenize`` (one text) / ``tokenize_many``."""

    name: str

    def tokenize(self, text: str) -> list[str]: ...

    def tokenize_many(self, texts: Sequence[str]) -> list[Sequence[str]]: ...

    def detokenize(self, tokens: Sequence[str]) -> str: ...


class SyllableTokenizer:
    """Characters, whitespace runs as one ``▁``. ``detokenize(tokenize(t)) == normalize(t)`` up to
    whitespace runs collapsed to one space."""

    name = "syllable"

    def tokenize(self, text: str) -> list[str]:
        return list(SPACE.join(normalize(text).split()))

    def tokenize_many(self, texts: Sequence[str]) -> list[Sequence[str]]:
        """Each text as one string of its syllables: a string is a sequence of one-character
        tokens, and 150,000 reviews then cost no 5 million list items (the same tokens as
        :meth:`tokenize`)."""
        nfc, join = unicodedata.normalize, SPACE.join
        return [join(nfc("NFC", t).split()) for t in texts]

    def detokenize(self, tokens: Sequence[str]) -> str:
        return "".join(tokens).replace(SPACE, " ")


class WordTokenizer:
    """Whitespace-separated words; ``detokenize`` joins them with one space."""

    name = "word"

    def tokenize(self, text: str) -> list[str]:
        return normalize(text).split()

    def tokenize_many(self, texts: Sequence[str]) -> list[Sequence[str]]:
        nfc = unicodedata.normalize
        return [nfc("NFC", t).split() for t in texts]

    def detokenize(self, tokens: Sequence[str]) -> str:
        return " ".join(tokens)


class MorphemeTokenizer:
    """Kiwi's morphemes (surface forms of each analysed morpheme, tags dropped).

    A morpheme's form may differ from the text it came from (``했다`` → ``하 었 다``), so
    ``detokenize`` is approximate (morphemes joined by spaces); :meth:`spans` gives each token's
    (start, end) character offsets in the normalised text for exact highlighting.
    """

    name = "morpheme"

    def __init__(self) -> None:
        self._kiwi: Any = _load_kiwi()

    def tokenize(self, text: str) -> list[str]:
        return [tok.form for tok in self._kiwi.tokenize(normalize(text))]

    def tokenize_many(self, texts: Sequence[str]) -> list[Sequence[str]]:
        # Kiwi's batch form analyses an iterable lazily, in its own native threads
        normed = [normalize(t) for t in texts]
        return [[tok.form for tok in toks] for toks in self._kiwi.tokenize(normed)]

    def spans(self, text: str) -> list[tuple[int, int]]:
        return [(tok.start, tok.start + tok.len) for tok in self._kiwi.tokenize(normalize(text))]

    def detokenize(self, tokens: Sequence[str]) -> str:
        return " ".join(tokens)


_KIWI: Any = None  # one Kiwi per process: loading its model takes about a second


def _load_kiwi() -> Any:
    global _KIWI
    if _KIWI is None:
        try:
            from kiwipiepy import Kiwi
        except ImportError as exc:
            raise ConfigError("text.tokenizer.kiwi_missing") from exc
        _KIWI = Kiwi()
    return _KIWI


def get_tokenizer(name: str) -> Tokenizer:
    """The tokeniser ``name`` (``syllable`` | ``word`` | ``morpheme``).

    Raises ConfigError for an unknown name (listing the valid ones), or for ``morpheme`` without
    kiwipiepy (naming ``pip install 'cnnlab[korean]'``).
    """
    if name == "syllable":
        return SyllableTokenizer()
    if name == "word":
        return WordTokenizer()
    if name == "morpheme":
        return MorphemeTokenizer()
    raise ConfigError("text.tokenizer.unknown", value=name, valid=", ".join(TOKENIZERS))


def flatten(token_lists: Iterable[Sequence[str]]) -> Iterable[str]:
    for tokens in token_lists:
        yield from tokens


__all__ = [
    "SPACE",
    "TOKENIZERS",
    "Tokenizer",
    "SyllableTokenizer",
    "WordTokenizer",
    "MorphemeTokenizer",
    "get_tokenizer",
    "normalize",
]
