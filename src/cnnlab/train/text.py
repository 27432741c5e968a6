"""Text through the image trainer: tokenise, build the vocabulary, encode, fit; predict with
per-token contributions.

A text set (``nsmc``, ``csvtext:<path>``) trains through the same :func:`cnnlab.train.fit` as the
images and series: :func:`prepare_text` turns both splits into :class:`TextDataset` objects whose
``ids`` are int64 ``(N, L)`` token ids (:func:`cnnlab.train.tensors.as_tensors` passes integer
inputs through untouched: no standardisation). What differs lives here:

- :class:`TextOptions` — tokeniser, padded length, vocabulary minimum count and size cap, text
  column — checked in the plan, before anything is read;
- the vocabulary is built on the training split only (after ``--limit``), and the whole
  :class:`~cnnlab.text.TextEncoding` (tokeniser name, vocabulary, length, share truncated) is
  recorded in the checkpoint under ``run.text``, so ``predict``/``evaluate``/``resume`` encode text
  exactly as training did;
- :func:`explain_prediction` gives class probabilities and, for each token, its contribution to
  the predicted class through the filters whose max-over-time n-gram covers it.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from cnnlab.errors import ConfigError, DataError
from cnnlab.geometry import check_positive
from cnnlab.i18n import Msg
from cnnlab.models.checks import check_channels
from cnnlab.models.textcnn import TEXT_MODELS
from cnnlab.text import TOKENIZERS, TextEncoding, get_tokenizer, normalize
from cnnlab.text.encoding import check_max_len

DEFAULT_TOKENIZER = "syllable"  # no extra package, any language; on NSMC close to morphemes
DEFAULT_MIN_COUNT = 2  # a token seen once is a typo or a name more often than a signal: <unk>
DEFAULT_VOCAB_SIZE = 30_000  # caps the embedding (NSMC has 351,668 distinct words)
LENGTH_COVERAGE = 0.99  # --max-len default: the length that covers 99% of the training texts
LENGTH_ROUND = 8
# TextCNN's training defaults where no recipe row exists (cnnlab.train.recipes): Kim's CNN trains
# with an adaptive optimiser; SGD at the image nets' lr 0.05 barely moves the embedding.
TEXT_TRAIN_DEFAULTS: dict[str, Any] = {
    "optimizer": "adamw",
    "lr": 2e-3,
    "epochs": 3,
    "batch_size": 128,
    "schedule": "onecycle",
}


@dataclass(frozen=True)
class TextOptions:
    """How a text run reads its texts (``max_len`` None: chosen from the training lengths)."""

    tokenizer: str = DEFAULT_TOKENIZER
    max_len: int | None = None
    min_count: int = DEFAULT_MIN_COUNT
    vocab_size: int | None = DEFAULT_VOCAB_SIZE
    text_column: str | None = None
    embed_dim: int | None = None  # TextCNN's embedding size (None: the model's default, 128)
    widths: tuple[int, ...] | None = None  # TextCNN's kernel widths (None: 3, 4, 5)

    def validate(self) -> TextOptions:
        if self.tokenizer not in TOKENIZERS:
            raise ConfigError(
                "text.tokenizer.unknown", value=self.tokenizer, valid=", ".join(TOKENIZERS)
            )
        if self.max_len is not None:
            check_max_len(self.max_len)
        if isinstance(self.min_count, bool) or not isinstance(self.min_count, int):
            raise ConfigError("text.vocab.min_count", value=self.min_count)
        if self.min_count < 1:
            raise ConfigError("text.vocab.min_count", value=self.min_count)
        if self.vocab_size is not None and (
            isinstance(self.vocab_size, bool)
            or not isinstance(self.vocab_size, int)
            or self.vocab_size < 3
        ):
            raise ConfigError("text.vocab.max_size", value=self.vocab_size)
        if self.embed_dim is not None:
            check_positive("embed_dim", self.embed_dim)
        if self.widths is not None:
            check_channels(self.widths, "widths")
        if self.tokenizer == "morpheme":
            get_tokenizer("morpheme")  # kiwipiepy missing: said now, not after reading the data
        return self

    def model_kwargs(self) -> dict[str, Any]:
        """The TextCNN keywords given as options (embedding size, kernel widths)."""
        kw: dict[str, Any] = {}
        if self.embed_dim is not None:
            kw["embed_dim"] = self.embed_dim
        if self.widths is not None:
            kw["widths"] = list(self.widths)
        return kw

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> TextOptions:
        if not isinstance(data, dict):
            return cls()
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if isinstance(fields.get("widths"), list):
            fields["widths"] = tuple(fields["widths"])
        return cls(**fields)


@dataclass
class TextDataset:
    """Encoded texts: ``ids`` int64 ``(N, L)``, ``labels`` int64 ``(N,)``, class names, the raw
    ``texts`` (for figures and explanations) and the share of texts cut at ``L``."""

    ids: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    texts: list[str]
    truncated_share: float = 0.0

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(self.ids[index]), int(self.labels[index])


def is_text_data(name: str) -> bool:
    from cnnlab.data.text import is_text_name

    return is_text_name(name)


def check_text_fit(model: str, data: str) -> None:
    """ConfigError unless a text model goes with a text set and every other model with the rest."""
    wants_text, text = model in TEXT_MODELS, is_text_data(data)
    if wants_text == text:
        return
    from cnnlab.models import names

    valid = [n for n in names() if (n in TEXT_MODELS) == text]
    raise ConfigError(
        "train.text.model_data",
        model=model,
        data=data,
        needs=Msg("train.text.kind.text" if wants_text else "train.text.kind.other"),
        holds=Msg("train.text.kind.text" if text else "train.text.kind.other"),
        valid=", ".join(valid),
    )


def text_defaults(options: dict[str, Any], given: Collection[str]) -> dict[str, Any]:
    """``options`` with :data:`TEXT_TRAIN_DEFAULTS` for each one the user did not give, and
    ``channels_last`` off (a 2-D batch of ids has no NHWC layout)."""
    out = {**options, "channels_last": False}
    for key, value in TEXT_TRAIN_DEFAULTS.items():
        if key in out and key not in given:
            out[key] = value
    return out


def choose_max_len(lengths: np.ndarray) -> int:
    """The smallest multiple of 8 covering :data:`LENGTH_COVERAGE` of ``lengths`` (at least 8)."""
    if len(lengths) == 0:
        return LENGTH_ROUND
    q = float(np.quantile(lengths, LENGTH_COVERAGE))
    return max(LENGTH_ROUND, math.ceil(q / LENGTH_ROUND) * LENGTH_ROUND)


def fit_encoding(texts: list[str], options: TextOptions) -> tuple[TextEncoding, np.ndarray]:
    """Tokenise the training ``texts``, build the vocabulary and encode them:
    ``(encoding, ids (N, L))``."""
    from cnnlab.text import Vocab
    from cnnlab.text.cache import tokenize_cached

    tok = get_tokenizer(options.tokenizer)
    lists = tokenize_cached(tok, texts)
    max_len = options.max_len or choose_max_len(np.fromiter(map(len, lists), np.int64, len(lists)))
    vocab = Vocab.build(lists, min_count=options.min_count, max_size=options.vocab_size)
    ids, share = vocab.encode_batch(lists, max_len)
    return TextEncoding(tok.name, vocab, max_len, share), ids


def load_texts(
    data: str,
    train: bool,
    data_dir: str | None,
    label_column: str | None,
    options: TextOptions,
) -> Any:
    """One split's :class:`~cnnlab.data.text.TextData`; a missing NSMC names ``data download``."""
    from cnnlab.data.text import load_text

    try:
        return load_text(
            data,
            "train" if train else "test",
            data_dir=data_dir,
            text_column=options.text_column,
            label_column=label_column,
        )
    except DataError as exc:
        if exc.key == "data.text.nsmc_missing":
            raise DataError("train.text.nsmc_missing", **exc.params) from exc
        raise


def prepare_text(
    data: str,
    data_dir: str | None,
    limit: int | None,
    label_column: str | None,
    options: TextOptions,
    saved: dict[str, Any] | None = None,
    raw: tuple[Any, Any] | None = None,
) -> tuple[TextDataset, TextDataset, dict[str, Any]]:
    """``(train, test, run info)``: both splits encoded with one :class:`TextEncoding` — fitted on
    the (limited) training split, or ``saved`` (a checkpoint's ``run.text``) on resume. ``raw``:
    the two splits' :class:`~cnnlab.data.text.TextData` if already read (by the plan)."""
    if raw is None:
        raw = (
            load_texts(data, True, data_dir, label_column, options),
            load_texts(data, False, data_dir, label_column, options),
        )
    raw_train, raw_test = raw
    texts, labels = raw_train.texts, raw_train.labels
    if limit is not None:
        texts, labels = texts[:limit], labels[:limit]
    if saved is not None:
        encoding = TextEncoding.from_dict(saved)
        ids, share = encoding.encode(texts)
    else:
        encoding, ids = fit_encoding(texts, options)
        share = encoding.truncated_share
    test_ids, test_share = encoding.encode(raw_test.texts)
    train_ds = TextDataset(ids, labels, raw_train.classes, texts, share)
    test_ds = TextDataset(test_ids, raw_test.labels, raw_test.classes, raw_test.texts, test_share)
    info = {
        "input": "text",
        "text": encoding.to_dict(),
        "text_options": options.to_dict(),
        "dropped_empty": {"train": raw_train.dropped_empty, "test": raw_test.dropped_empty},
        "truncated_share": {"train": share, "test": test_share},
        "text_source": raw_train.source,
    }
    return train_ds, test_ds, info


def model_kwargs(train: TextDataset, info: dict[str, Any]) -> dict[str, Any]:
    """The keywords the data decides: vocabulary size and class count."""
    return {
        "vocab_size": len(info["text"]["vocab"]["tokens"]),
        "num_classes": len(train.classes),
    }


def encoding_of(meta: dict[str, Any], path: str) -> TextEncoding:
    """The checkpoint's :class:`TextEncoding` (CheckpointError-like DataError if absent)."""
    run = meta.get("run") or {}
    if not isinstance(run.get("text"), dict):
        raise DataError("train.text.no_encoding", path=path)
    return TextEncoding.from_dict(run["text"])


def is_text_checkpoint(meta: dict[str, Any]) -> bool:
    return str((meta.get("model") or {}).get("name", "")) in TEXT_MODELS


def check_text_input(text: str) -> str:
    """The text to predict, NFC-normalised; DataError for an empty or whitespace-only one."""
    cleaned = normalize(text)
    if not cleaned:
        raise DataError("train.text.empty_input", value=text)
    return cleaned


@dataclass(frozen=True)
class TokenContribution:
    """One token of the explained text: its contribution to the predicted class's logit (relative
    to the mean over classes) and the filter whose n-gram gave it the largest share."""

    token: str
    position: int
    contribution: float
    filter: int | None
    width: int | None
    ngram: list[str]
    unknown: bool = False  # not in the vocabulary: the model read it as <unk>


@dataclass(frozen=True)
class TextPrediction:
    """Probabilities (best first), the tokens as the model read them, per-token contributions and
    the check that they add up: ``sum(contributions) + padding + bias == logit - mean logit``."""

    text: str
    ranking: list[dict[str, Any]]
    tokens: list[str]
    truncated: bool
    contributions: list[TokenContribution]
    padding_contribution: float
    bias: float
    margin: float  # the predicted class's logit minus the mean logit

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "prediction": self.ranking[0],
            "top": self.ranking,
            "tokens": self.tokens,
            "truncated": self.truncated,
            "contributions": [asdict(c) for c in self.contributions],
            "padding_contribution": self.padding_contribution,
            "bias": self.bias,
            "margin": self.margin,
        }


@torch.no_grad()
def explain_prediction(
    model: Any, encoding: TextEncoding, text: str, classes: list[str]
) -> TextPrediction:
    """Classify ``text`` and split the winning logit over its tokens.

    For filter ``f`` with kept value ``v_f`` (max over time) and linear weights ``W``, its share of
    class ``c``'s logit relative to the mean class is ``v_f · (W[c, f] − mean_k W[k, f])``; that
    share is spread evenly over the ``w`` tokens of the n-gram where ``f`` fired. Positions in the
    padding collect under ``padding_contribution``. Exact in eval mode (dropout off): the shares,
    the padding part and the bias difference add up to ``logit_c − mean logit``.
    """
    cleaned = check_text_input(text)
    tokens = encoding.get_tokenizer().tokenize(cleaned)
    ids = torch.tensor([encoding.vocab.encode(tokens, encoding.max_len)], dtype=torch.long)
    model.eval()
    device = next(model.parameters()).device
    ids = ids.to(device)
    logits = model(ids)[0].float().cpu()  # (classes,)
    probs = torch.softmax(logits, 0)
    c = int(probs.argmax())
    mot = model.max_over_time(ids)
    values = mot.values[0].float().cpu()  # (F,)
    starts = mot.positions[0].cpu().tolist()
    widths = mot.widths.tolist()
    weight = model.fc.weight.float().cpu()  # (classes, F)
    rel = weight[c] - weight.mean(0)  # (F,)
    share = (values * rel).tolist()  # each filter's part of the margin
    n = min(len(tokens), encoding.max_len)
    per_token = [0.0] * n
    best: list[tuple[float, int | None]] = [(0.0, None)] * n
    padding = 0.0
    for f, (s, w, part) in enumerate(zip(starts, widths, share, strict=True)):
        for pos in range(s, s + w):
            if pos < n:
                per_token[pos] += part / w
                if abs(part) > abs(best[pos][0]):
                    best[pos] = (part, f)
            else:
                padding += part / w
    index = encoding.vocab.index
    contributions = []
    for pos in range(n):
        top = best[pos][1]
        if top is None:  # no filter fired on this token
            contributions.append(
                TokenContribution(
                    tokens[pos], pos, per_token[pos], None, None, [], tokens[pos] not in index
                )
            )
            continue
        gram = tokens[starts[top] : starts[top] + widths[top]]
        contributions.append(
            TokenContribution(
                tokens[pos], pos, per_token[pos], top, widths[top], gram, tokens[pos] not in index
            )
        )
    bias = model.fc.bias.float().cpu()
    names = classes or [str(i) for i in range(len(probs))]
    ranking = [
        {"class": names[i] if i < len(names) else str(i), "index": i, "prob": float(probs[i])}
        for i in probs.argsort(descending=True).tolist()
    ]
    return TextPrediction(
        cleaned,
        ranking,
        tokens[:n],
        len(tokens) > encoding.max_len,
        contributions,
        padding,
        float(bias[c] - bias.mean()),
        float(logits[c] - logits.mean()),
    )


@dataclass(frozen=True)
class TextPlan:
    """A text run's part of the plan: the options and both splits, read (and so checked) before
    anything is written."""

    options: TextOptions
    train: Any  # cnnlab.data.text.TextData
    test: Any

    def to_dict(self) -> dict[str, Any]:
        return self.options.to_dict()


def plan_text(
    model: str,
    data: str,
    config: Any,
    given: Collection[str],
    text: TextOptions | None,
    saved: dict[str, Any] | None,
    data_dir: str | None = None,
    label_column: str | None = None,
) -> tuple[Any, TextPlan | None]:
    """The plan's text part: ``(config, text plan)``; ``(config, None)`` for non-text data.

    Refuses a text model on other data and the reverse; on resume the checkpoint's options win
    (its vocabulary is the one the weights were trained with). Where no recipe row exists for the
    model and data, :data:`TEXT_TRAIN_DEFAULTS` fill the options the user did not give. Reads both
    splits, so a bad file is refused before the run writes anything.
    """
    import dataclasses

    check_text_fit(model, data)
    if not is_text_data(data):
        return config, None
    run = (saved or {}).get("run") or {}
    if saved is not None and isinstance(run.get("text_options"), dict):
        text = TextOptions.from_dict(run["text_options"])
    text = (text or TextOptions()).validate()
    options = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    if saved is None and not _has_recipe(model, data):
        options = text_defaults(options, given)
    else:
        options["channels_last"] = False
    config = dataclasses.replace(config, **options).validate()
    train = load_texts(data, True, data_dir, label_column, text)
    test = load_texts(data, False, data_dir, label_column, text)
    return config, TextPlan(text, train, test)


def _has_recipe(model: str, data: str) -> bool:
    try:
        from cnnlab.train.recipes import recipes_for
    except ImportError:  # no recipes table in this version
        return False
    return bool(recipes_for(model, data))


def run_text_training(plan: Any, progress: Any = None) -> Any:
    """:func:`cnnlab.train.session.run_training` for a text set: encode both splits with one
    vocabulary (the checkpoint's on resume), build the model for it and fit."""
    from cnnlab.models import build, num_params
    from cnnlab.train import checkpoint as ckpt
    from cnnlab.train.loop import fit, seed_everything
    from cnnlab.train.session import TrainRun

    out = plan.config.out
    saved = None
    if plan.config.resume and out is not None and ckpt.exists(out):
        saved = (ckpt.load(out).meta.get("run") or {}).get("text")
    text = plan.text
    train_ds, test_ds, info = prepare_text(
        plan.data,
        plan.data_dir,
        plan.limit,
        plan.label_column,
        text.options,
        saved,
        (text.train, text.test),
    )
    seed_everything(plan.config.seed)
    # the data's keywords, then the recipe's/resumed ones, then --embed-dim/--widths as given
    kwargs = {**model_kwargs(train_ds, info), **plan.model_kwargs, **text.options.model_kwargs()}
    net = build(plan.model, **kwargs)
    run_info = {**plan.run_info, **info, "label_column": plan.label_column}
    result = fit(net, train_ds, test_ds, plan.config, progress, run_info=run_info)
    run = TrainRun(plan, result, num_params(net), list(train_ds.classes))
    run.text_info = info  # type: ignore[attr-defined]  # for the face's notes
    return run


def text_split_for(
    meta: dict[str, Any],
    checkpoint: str,
    data: str,
    data_dir: str | None,
    train: bool,
    limit: int | None,
    label_column: str | None,
) -> TextDataset | None:
    """For ``evaluate``: split ``data`` encoded with the checkpoint's vocabulary; None when neither
    the model nor the data is text (the image/series path applies)."""
    model = str((meta.get("model") or {}).get("name", ""))
    if model not in TEXT_MODELS and not is_text_data(data):
        return None
    check_text_fit(model, data)
    encoding = encoding_of(meta, checkpoint)
    run = meta.get("run") or {}
    options = TextOptions.from_dict(run.get("text_options"))
    raw = load_texts(data, train, data_dir, label_column, options)
    texts, labels = raw.texts, raw.labels
    if limit is not None:
        texts, labels = texts[:limit], labels[:limit]
    ids, share = encoding.encode(texts)
    return TextDataset(ids, labels, raw.classes, texts, share)


__all__ = [
    "TEXT_MODELS",
    "TEXT_TRAIN_DEFAULTS",
    "TextOptions",
    "TextPlan",
    "TextDataset",
    "TextPrediction",
    "TokenContribution",
    "check_text_fit",
    "text_defaults",
    "choose_max_len",
    "fit_encoding",
    "prepare_text",
    "model_kwargs",
    "encoding_of",
    "is_text_checkpoint",
    "check_text_input",
    "explain_prediction",
    "plan_text",
    "run_text_training",
    "text_split_for",
]
