"""Vocabulary: token ↔ id, built from training texts, saved as JSON (never pickle).

Ids 0 and 1 are reserved: ``<pad>`` (0, fills short sequences; TextCNN's embedding keeps it at
zero) and ``<unk>`` (1, any token not in the vocabulary). The rest are the training tokens seen at
least ``min_count`` times, most frequent first (ties by the token, so the same texts always give
the same ids), cut to ``max_size`` entries in all (the two specials included).

    >>> v = Vocab.build([["영", "화"], ["영", "상"]], min_count=1)
    >>> v.tokens
    ['<pad>', '<unk>', '영', '상', '화']
    >>> v.encode(["영", "화", "관"], length=5)
    [2, 4, 1, 0, 0]
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnlab.errors import ConfigError, DataError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
FORMAT = "cnnlab-vocab/1"


@dataclass(frozen=True)
class Vocab:
    """An ordered token list; ``tokens[i]`` is the token of id ``i``."""

    tokens: list[str]
    min_count: int = 1
    max_size: int | None = None
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.tokens[:2] != [PAD, UNK]:
            raise DataError("text.vocab.specials", first=str(self.tokens[:2]))
        index = {tok: i for i, tok in enumerate(self.tokens)}
        if len(index) != len(self.tokens):
            raise DataError("text.vocab.duplicate", n=len(self.tokens) - len(index))
        object.__setattr__(self, "index", index)

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Sequence[str]],
        min_count: int = 1,
        max_size: int | None = None,
    ) -> Vocab:
        """Count tokens over ``token_lists`` and keep those seen ``min_count``+ times, most frequent
        first, at most ``max_size`` entries including ``<pad>`` and ``<unk>``."""
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise ConfigError("text.vocab.min_count", value=min_count)
        if max_size is not None and (
            isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 3
        ):
            raise ConfigError("text.vocab.max_size", value=max_size)
        counts: Counter[str] = Counter(itertools.chain.from_iterable(token_lists))  # C loop
        counts.pop(PAD, None)
        counts.pop(UNK, None)
        kept = sorted(
            (tok for tok, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], t)
        )
        if max_size is not None:
            kept = kept[: max_size - 2]
        return cls([PAD, UNK, *kept], min_count, max_size)

    def __len__(self) -> int:
        return len(self.tokens)

    def id(self, token: str) -> int:
        return self.index.get(token, UNK_ID)

    def encode(self, tokens: Sequence[str], length: int | None = None) -> list[int]:
        """Ids of ``tokens``; with ``length``: cut after ``length`` tokens or padded with 0."""
        get = self.index.get
        ids = [get(tok, UNK_ID) for tok in (tokens if length is None else tokens[:length])]
        if length is not None:
            ids += [PAD_ID] * (length - len(ids))
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids`` (``<pad>`` included)."""
        return [self.tokens[int(i)] for i in ids]

    def encode_batch(
        self, token_lists: Sequence[Sequence[str]], length: int
    ) -> tuple[np.ndarray, float]:
        """``(ids int64 (N, length), share of sequences longer than length)`` — the cut-off a
        training run reports (a share of 0.10 means one review in ten lost its end)."""
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ConfigError("text.vocab.length", value=length)
        n = len(token_lists)
        out = np.zeros((n, length), dtype=np.int64)  # 0 = <pad>
        if n == 0:
            return out, 0.0
        lengths = np.fromiter(map(len, token_lists), np.int64, n)  # (N,)
        kept = np.minimum(lengths, length)
        # every kept token of every text, in order, looked up by map() in C (no Python loop)
        flat = itertools.chain.from_iterable(
            tokens if len(tokens) <= length else tokens[:length] for tokens in token_lists
        )
        total = int(kept.sum())
        ids = np.fromiter(map(self.index.get, flat, itertools.repeat(UNK_ID)), np.int64, total)
        rows = np.repeat(np.arange(n), kept)  # (total,) the text of each token
        starts = np.cumsum(kept) - kept  # (N,) where each text's tokens begin in ids
        cols = np.arange(total) - np.repeat(starts, kept)  # (total,) position inside its text
        out[rows, cols] = ids
        return out, float((lengths > length).mean())

    def unknown_share(self, token_lists: Sequence[Sequence[str]]) -> float:
        """Share of token occurrences that map to ``<unk>`` (a vocabulary's coverage)."""
        total = unknown = 0
        index = self.index
        for tokens in token_lists:
            total += len(tokens)
            unknown += sum(1 for tok in tokens if tok not in index)
        return unknown / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "min_count": self.min_count,
            "max_size": self.max_size,
            "tokens": list(self.tokens),
        }

    def to_json(self) -> str:
        """JSON text (UTF-8 tokens written as they are, not ``\\u`` escapes)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Any) -> Vocab:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DataError("text.vocab.format", expected=FORMAT)
        tokens = data.get("tokens")
        if (
            not isinstance(tokens, list)
            or len(tokens) < 2
            or not all(isinstance(t, str) for t in tokens)
        ):
            raise DataError("text.vocab.format", expected=FORMAT)
        max_size = data.get("max_size")
        return cls(
            list(tokens), int(data.get("min_count", 1)), None if max_size is None else int(max_size)
        )

    @classmethod
    def from_json(cls, text: str) -> Vocab:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise DataError("text.vocab.format", expected=FORMAT) from exc
        return cls.from_dict(data)


__all__ = ["Vocab", "PAD", "UNK", "PAD_ID", "UNK_ID"]
