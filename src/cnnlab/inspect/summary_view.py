"""How a :class:`~cnnlab.inspect.summary.ModelSummary` looks: cells for a table (the CLI draws
them with rich), plain aligned text, and an HTML table for Jupyter. Facts stay in ``summary.py``.
"""

from __future__ import annotations

import html
import unicodedata
from typing import TYPE_CHECKING

from cnnlab.i18n import t

if TYPE_CHECKING:
    from cnnlab.inspect.summary import LayerField, ModelSummary

COLUMNS = ("layer", "kind", "shape", "params", "macs", "memory", "rf", "jump", "start", "method")
NUMERIC = frozenset({"params", "macs", "memory"})


def headers(lang: str | None = None) -> list[str]:
    return [t(f"summary.col.{c}", lang) for c in COLUMNS]


def count(n: int) -> str:
    return f"{n:,}"


def nbytes(n: int) -> str:
    """Bytes in binary units: 3,136 B → '3.1 KiB'."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # unreachable


def _axes(values: tuple[int, ...] | tuple[float, ...]) -> str:
    return "×".join(f"{v:g}" for v in values)


def field_cells(field: LayerField | None, lang: str | None = None) -> tuple[str, str, str, str]:
    """(size, jump, start, method) of a field as table cells."""
    if field is None:
        return "—", "—", "—", "—"
    size = ("≥" if field.clipped else "") + _axes(field.size)
    jump = _axes(field.jump) if field.jump is not None else "—"
    start = ", ".join(f"{v:g}" for v in field.start) if field.start is not None else "—"
    return size, jump, start, t(f"summary.method.{field.method}", lang)


def cells(s: ModelSummary, lang: str | None = None) -> list[list[str]]:
    """One list of cell texts per row, in :data:`COLUMNS` order."""
    out = []
    for row in s.layers:
        params = count(row.trainable + row.frozen)
        if row.frozen:
            params += " " + t("summary.frozen_part", lang, n=count(row.frozen))
        if row.reused:
            params = t("summary.reused", lang)
        shape = "×".join(map(str, row.output_shape)) if row.output_shape is not None else "—"
        out.append(
            [
                "  " * max(row.depth - 1, 0) + row.name,
                row.kind,
                shape,
                params,
                count(row.macs) if row.macs else "—",
                nbytes(row.activation_bytes),
                *field_cells(row.field, lang),
            ]
        )
    return out


def footer(s: ModelSummary, lang: str | None = None) -> list[str]:
    """The totals, one line each."""
    lines = [
        t(
            "summary.total.params",
            lang,
            total=count(s.params),
            trainable=count(s.trainable),
            frozen=count(s.frozen),
        ),
        t("summary.total.macs", lang, macs=count(s.macs)),
        t(
            "summary.total.memory",
            lang,
            input=nbytes(s.input_bytes),
            activations=nbytes(s.activation_bytes),
            params=nbytes(s.param_bytes),
        ),
    ]
    if s.field is not None:
        size, jump, _, method = field_cells(s.field, lang)
        lines.append(t("summary.total.field", lang, size=size, jump=jump, method=method))
    measured = any(r.field is not None and r.field.method == "gradient" for r in s.layers)
    if s.measure_error:
        lines.append(t("summary.measure_failed", lang, reason=s.measure_error))
    elif all(r.field is None for r in s.layers):
        lines.append(t("summary.no_fields", lang))
    elif s.chain and not measured:
        lines.append(t("summary.chain", lang))
    elif s.chain:
        lines.append(t("summary.chain_unknown", lang))
    else:
        lines.append(t("summary.branches", lang, n=s.merges))
    return lines


def title(s: ModelSummary, lang: str | None = None) -> str:
    shape = "×".join(map(str, s.input_shape))
    out = "×".join(map(str, s.output_shape)) if s.output_shape is not None else "—"
    return t("summary.title", lang, name=s.title, shape=shape, out=out)


def display_width(text: str) -> int:
    """Terminal columns of ``text`` (Hangul and other wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - display_width(text))
    return gap + text if right else text + gap


def to_text(s: ModelSummary, lang: str | None = None) -> str:
    """Plain aligned text (Korean counted as two columns wide)."""
    head = headers(lang)
    body = cells(s, lang)
    widths = [max(display_width(r[i]) for r in [head, *body]) for i in range(len(head))]
    right = [c in NUMERIC for c in COLUMNS]

    def line(row: list[str]) -> str:
        return "  ".join(_pad(c, w, r) for c, w, r in zip(row, widths, right)).rstrip()

    rule = "-" * max(display_width(line(r)) for r in [head, *body])
    parts = [title(s, lang), rule, line(head), rule, *map(line, body), rule, *footer(s, lang)]
    return "\n".join(parts)


def to_html(s: ModelSummary, lang: str | None = None) -> str:
    """An HTML table for Jupyter (``ModelSummary._repr_html_``)."""
    esc = html.escape
    right = [c in NUMERIC for c in COLUMNS]
    head = "".join(f"<th>{esc(h)}</th>" for h in headers(lang))
    rows = []
    for row in cells(s, lang):
        tds = "".join(
            f'<td style="text-align:{"right" if r else "left"};white-space:pre">{esc(c)}</td>'
            for c, r in zip(row, right)
        )
        rows.append(f"<tr>{tds}</tr>")
    foot = "".join(f"<div>{esc(line)}</div>" for line in footer(s, lang))
    return (
        f"<div><b>{esc(title(s, lang))}</b>"
        f'<table style="font-family:monospace"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>{foot}</div>"
    )


__all__ = [
    "COLUMNS",
    "display_width",
    "headers",
    "cells",
    "footer",
    "title",
    "to_text",
    "to_html",
    "nbytes",
]
