"""How a text model reads text: tokeniser + vocabulary + length, as one JSON-able record.

A training run builds one :class:`TextEncoding` from its training texts and saves it with the
checkpoint (``to_dict``); ``predict`` and ``evaluate`` load it back (``from_dict``), so a sentence
is tokenised, mapped to ids and padded exactly as the training texts were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnlab.errors import ConfigError, DataError
from cnnlab.text.cache import tokenize_cached
from cnnlab.text.tokenizers import TOKENIZERS, Tokenizer, get_tokenizer
from cnnlab.text.vocab import Vocab

FORMAT = "cnnlab-text-encoding/1"


@dataclass(frozen=True)
class TextEncoding:
    """``tokenizer`` name, the ``vocab``, the padded ``max_len`` and the training set's
    ``truncated_share`` (share of training texts longer than ``max_len``)."""

    tokenizer: str
    vocab: Vocab
    max_len: int
    truncated_share: float = 0.0

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        tokenizer: str = "syllable",
        max_len: int = 128,
        min_count: int = 1,
        max_size: int | None = None,
    ) -> tuple[TextEncoding, np.ndarray]:
        """Tokenise ``texts``, build the vocabulary on them and encode them:
        ``(encoding, ids int64 (N, max_len))``."""
        check_max_len(max_len)
        tok = get_tokenizer(tokenizer)
        lists = tokenize_cached(tok, texts)
        vocab = Vocab.build(lists, min_count=min_count, max_size=max_size)
        ids, share = vocab.encode_batch(lists, max_len)
        return cls(tok.name, vocab, max_len, share), ids

    def get_tokenizer(self) -> Tokenizer:
        return get_tokenizer(self.tokenizer)

    def encode(self, texts: Sequence[str]) -> tuple[np.ndarray, float]:
        """``(ids int64 (N, max_len), share truncated)`` for new texts, as training encoded its."""
        lists = tokenize_cached(self.get_tokenizer(), texts)
        return self.vocab.encode_batch(lists, self.max_len)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "tokenizer": self.tokenizer,
            "max_len": self.max_len,
            "truncated_share": self.truncated_share,
            "vocab": self.vocab.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> TextEncoding:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DataError("text.vocab.format", expected=FORMAT)
        tokenizer = data.get("tokenizer")
        if tokenizer not in TOKENIZERS:
            raise DataError("text.vocab.format", expected=FORMAT)
        return cls(
            str(tokenizer),
            Vocab.from_dict(data.get("vocab")),
            check_max_len(int(data.get("max_len", 0))),
            float(data.get("truncated_share", 0.0)),
        )


def check_max_len(value: int) -> int:
    """A padded length of 1..100,000 tokens."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        raise ConfigError("text.vocab.length", value=value)
    return value


__all__ = ["TextEncoding", "check_max_len"]
