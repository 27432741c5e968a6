"""TextCNN (Kim 2014, "Convolutional Neural Networks for Sentence Classification"): the lecture's
1-D convolution on text, where a kernel of width ``w`` slides over the sentence and reads n-grams.

::

    ids (N, L) int64
      → Embedding(V, E, padding_idx=0)          (N, L, E)
      → transpose                               (N, E, L)     embedding dims are the channels
      → for each width w: Conv1d(E, C, w) → ReLU (N, C, L - w + 1)
                          → max over time       (N, C)        one number per filter
      → concatenate the widths                  (N, k·C)      k = len(widths)
      → Dropout(p) → Linear(k·C, classes)       (N, classes)  logits

(``k·C`` is ``Σ C_i`` when each width has its own number of filters.)

A sequence shorter than the widest kernel is padded with ``<pad>`` (id 0, whose embedding is kept
at zero) up to that width, so every filter has at least one position.

Parameter count by formula (:func:`textcnn_params`)::

    V·E  +  Σ_i (E·C_i·w_i + C_i)  +  (Σ_i C_i)·classes + classes

(``channels`` is one ``C`` for every width, as in Kim 2014, or one per width.)

Defaults (E=128, widths 3/4/5, C=100) with a 10,000-token vocabulary and 2 classes:
1,280,000 + (38,500 + 51,300 + 64,100) + 602 = 1,434,502 — the embedding holds 89% of them.

:meth:`TextCNN.max_over_time` gives, for every filter, the value it kept and the position where it
fired (the start of the n-gram of ``w`` tokens) — the "n-gram detectors" of the lecture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import ConfigError, ShapeError
from cnnlab.geometry import check_positive
from cnnlab.models.checks import check_channels, check_dropout

WIDTHS = (3, 4, 5)  # Kim 2014: tri-, four- and five-grams
TEXT_MODELS = ("textcnn",)  # registry names that take (N, L) token ids


def textcnn_params(
    vocab_size: int = 30_000,
    num_classes: int = 2,
    embed_dim: int = 128,
    widths: Sequence[int] = WIDTHS,
    channels: int | Sequence[int] = 100,
    padding_idx: int | None = 0,
) -> int:
    """Parameter count of :class:`TextCNN` by the formula in the module docstring (the padding row
    of the embedding is a parameter too: it is kept at zero, not removed). The defaults of
    ``vocab_size`` and ``num_classes`` (a capped vocabulary, two classes) give a training plan its
    memory estimate before the vocabulary is built."""
    ws = check_channels(widths, "widths")
    cs = _per_width(channels, ws)
    convs = sum(embed_dim * c * w + c for c, w in zip(cs, ws, strict=True))
    return vocab_size * embed_dim + convs + sum(cs) * num_classes + num_classes


def _per_width(channels: int | Sequence[int], widths: tuple[int, ...]) -> tuple[int, ...]:
    """Filters per width: one int (or a one-element list) for all, else one per width."""
    cs = check_channels((channels,) if isinstance(channels, int) else channels)
    if len(cs) == 1:
        return cs * len(widths)
    if len(cs) != len(widths):
        raise ConfigError("error.model_text_channels", value=list(cs), n=len(widths))
    return cs


@dataclass(frozen=True)
class MaxOverTime:
    """What max-over-time kept, per sample and filter (``F = Σ channels`` filters, in
    the order of the linear layer's inputs: all of width ``widths[0]`` first).

    ``values``: (N, F) the ReLU'd maximum; ``positions``: (N, F) the start of the n-gram where it
    fired; ``widths``: (F,) each filter's width, so filter ``f`` read tokens
    ``positions[:, f] : positions[:, f] + widths[f]``.
    """

    values: torch.Tensor
    positions: torch.Tensor
    widths: torch.Tensor


class TextCNN(nn.Module):
    """``(N, L)`` token ids → ``(N, num_classes)`` logits.

    Args:
        vocab_size: rows of the embedding (the vocabulary's length, ``<pad>`` and ``<unk>`` in it).
        num_classes: output logits.
        embed_dim: embedding size ``E`` (the channels the convolutions read).
        widths: kernel widths, one group of ``channels`` filters each (Kim: 3, 4, 5).
        channels: filters per width (Kim: 100), or one number per width.
        dropout: before the linear layer (Kim: 0.5).
        padding_idx: the id whose embedding stays zero (``<pad>`` = 0); None for none.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embed_dim: int = 128,
        widths: Sequence[int] = WIDTHS,
        channels: int | Sequence[int] = 100,
        dropout: float = 0.5,
        padding_idx: int | None = 0,
    ) -> None:
        super().__init__()
        check_positive("vocab_size", vocab_size, 2)
        check_positive("num_classes", num_classes)
        check_positive("embed_dim", embed_dim)
        self.widths = check_channels(widths, "widths")
        cs = _per_width(channels, self.widths)
        check_dropout(dropout)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.convs = nn.ModuleList(
            nn.Conv1d(embed_dim, c, w) for c, w in zip(cs, self.widths, strict=True)
        )
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(sum(cs), num_classes)
        self.pad_id = 0 if padding_idx is None else padding_idx

    def feature_maps(self, ids: torch.Tensor) -> list[torch.Tensor]:
        """One ReLU'd map per width, each ``(N, C, L' - w + 1)`` (``L' = max(L, max width)``)."""
        if ids.ndim != 2:
            raise ShapeError("error.model_text_shape", shape=list(ids.shape))
        ids = ids.long()
        short = max(self.widths) - ids.shape[1]
        if short > 0:  # every filter needs one full window: pad with <pad> on the right
            ids = F.pad(ids, (0, short), value=self.pad_id)
        x = self.embedding(ids).transpose(1, 2)  # (N, L, E) -> (N, E, L)
        return [torch.relu(conv(x)) for conv in self.convs]

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        pooled = [m.amax(dim=2) for m in self.feature_maps(ids)]  # each (N, C)
        return self.fc(self.dropout(torch.cat(pooled, dim=1)))  # (N, k·C) -> (N, classes)

    def max_over_time(self, ids: torch.Tensor) -> MaxOverTime:
        """Each filter's kept value and the start of the n-gram that gave it (see
        :class:`MaxOverTime`) (ties: any of the tied positions)."""
        values, positions, widths = [], [], []
        for w, m in zip(self.widths, self.feature_maps(ids), strict=True):
            v, p = m.max(dim=2)  # (N, C) each
            values.append(v)
            positions.append(p)
            widths.append(torch.full((m.shape[1],), w, dtype=torch.long))
        return MaxOverTime(torch.cat(values, 1), torch.cat(positions, 1), torch.cat(widths))


__all__ = ["TextCNN", "textcnn_params", "MaxOverTime", "WIDTHS", "TEXT_MODELS"]
