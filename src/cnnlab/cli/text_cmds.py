"""The text parts of ``cnnlab train | evaluate | predict``: the tokeniser and vocabulary options,
what a text run says about its data, and ``predict`` on a sentence with per-token contributions.

Thin shells over :mod:`cnnlab.train.text`; no torch at import time.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cnnlab.cli.common import info
from cnnlab.i18n import t

TEXT_OPTION_NAMES = (
    "tokenizer",
    "max_len",
    "min_count",
    "vocab_size",
    "text_column",
    "embed_dim",
    "widths",
)


def text_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--tokenizer --max-len --min-count --vocab-size --text-column --embed-dim --widths``
    (text sets only)."""
    options = [
        click.option(
            "--tokenizer",
            default=None,
            metavar="syllable|word|morpheme",
            help=t("cli.text.opt.tokenizer"),
        ),
        click.option("--max-len", type=int, default=None, help=t("cli.text.opt.max_len")),
        click.option("--min-count", type=int, default=None, help=t("cli.text.opt.min_count")),
        click.option("--vocab-size", type=int, default=None, help=t("cli.text.opt.vocab_size")),
        click.option("--text-column", default=None, help=t("cli.text.opt.text_column")),
        click.option("--embed-dim", type=int, default=None, help=t("cli.text.opt.embed_dim")),
        click.option("--widths", type=int, multiple=True, help=t("cli.text.opt.widths")),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def pop_text_options(opts: dict[str, Any]) -> Any:
    """Take the text options out of ``opts``: a TextOptions when any was given, else None (the
    defaults, or a resumed run's own)."""
    values = {k: opts.pop(k, None) for k in TEXT_OPTION_NAMES}
    values["widths"] = tuple(values["widths"] or ()) or None  # click gives () when not given
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        return None
    from cnnlab.train.text import TextOptions

    return TextOptions(**given)


def text_plan_notes(plan: Any) -> None:
    """Say how a text run reads its texts and which training defaults it uses (stderr)."""
    if getattr(plan, "text", None) is None:
        return
    opts = plan.text.options
    c = plan.config
    info(
        t(
            "cli.text.plan",
            tokenizer=t(f"cli.text.tokenizer.{opts.tokenizer}"),
            max_len=opts.max_len if opts.max_len is not None else t("cli.text.max_len_auto"),
            min_count=opts.min_count,
            vocab_size=f"{opts.vocab_size:,}" if opts.vocab_size is not None else "-",
            optimizer=c.optimizer,
            lr=c.lr,
            epochs=c.epochs,
            batch_size=c.batch_size,
        )
    )


def text_run_notes(run: Any) -> None:
    """After a text run: vocabulary size, padded length, share truncated, empty rows dropped."""
    text_info = getattr(run, "text_info", None)
    if not text_info:
        return
    enc = text_info["text"]
    click.echo(
        t(
            "cli.text.done",
            vocab=len(enc["vocab"]["tokens"]),
            max_len=enc["max_len"],
            train_cut=100 * text_info["truncated_share"]["train"],
            test_cut=100 * text_info["truncated_share"]["test"],
            train_empty=text_info["dropped_empty"]["train"],
            test_empty=text_info["dropped_empty"]["test"],
        )
    )


def predict_text(checkpoint: str, text: str, top: int, as_json: bool) -> bool:
    """``predict`` for a text model (the argument is the sentence); False for any other model."""
    from cnnlab.errors import CnnlabError
    from cnnlab.train import checkpoint as ckpt
    from cnnlab.train.text import is_text_checkpoint

    try:
        meta = ckpt.load(checkpoint).meta
    except CnnlabError:
        if not Path(text).exists():  # not a file either: the checkpoint is the problem to name
            raise
        return False  # the usual path reports it, in its usual order
    if not is_text_checkpoint(meta):
        return False
    from cnnlab.train import load_model
    from cnnlab.train.text import check_text_input, encoding_of, explain_prediction

    check_text_input(text)  # an empty text: refused before the model is built
    encoding = encoding_of(meta, checkpoint)
    loaded = load_model(checkpoint)
    pred = explain_prediction(loaded.model, encoding, text, loaded.classes)
    ranking = pred.ranking[:top]
    if as_json:
        click.echo(json.dumps({**pred.to_dict(), "top": ranking}, ensure_ascii=False))
        return True
    best = ranking[0]
    click.echo(
        t("cli.predict.result", cls=class_label(best["class"], meta), prob=100 * best["prob"])
    )
    for r in ranking:
        name = class_label(r["class"], meta)
        click.echo(f"  {r['index']:>2} {name}{_pad(name, 14)} {100 * r['prob']:6.2f}%")
    click.echo(
        t(
            "cli.text.contrib_header",
            cls=class_label(best["class"], meta),
            tokenizer=t(f"cli.text.tokenizer.{encoding.tokenizer}"),
            n=len(pred.tokens),
        )
    )
    for c in pred.contributions:
        tok = _show(c.token) + ("*" if c.unknown else "")
        gram = " ".join(_show(g) for g in c.ngram)
        where = (
            t("cli.text.contrib_filter", filter=c.filter, width=c.width, ngram=gram)
            if c.filter is not None
            else ""
        )
        click.echo(f"  {c.position:>3} {tok}{_pad(tok, 8)} {c.contribution:+8.3f}  {where}")
    click.echo(
        t(
            "cli.text.contrib_total",
            total=sum(c.contribution for c in pred.contributions),
            padding=pred.padding_contribution,
            bias=pred.bias,
            margin=pred.margin,
        )
    )
    if any(c.unknown for c in pred.contributions):
        click.echo(t("cli.text.unknown_note"))
    if pred.truncated:
        click.echo(t("cli.text.truncated", max_len=encoding.max_len))
    return True


def class_label(name: str, meta: dict[str, Any]) -> str:
    """NSMC's class names in the user's language; any other set's as they are."""
    if (meta.get("run") or {}).get("data") == "nsmc" and name in ("negative", "positive"):
        return t(f"cli.text.class.{name}")
    return name


def _show(token: str) -> str:
    return token.replace("▁", "␣")


def _pad(text: str, width: int) -> str:
    cols = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return " " * max(1, width - cols)


__all__ = [
    "text_options",
    "pop_text_options",
    "text_plan_notes",
    "text_run_notes",
    "predict_text",
    "class_label",
]
