"""Render the tour's results as one HTML page (figures beside it as files, no external assets)."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

from cnnlab import __version__
from cnnlab.i18n import t

if TYPE_CHECKING:
    from cnnlab.report.tour import TourEntry

CSS = """
:root { --fg: #1d2330; --muted: #5b6475; --accent: #2f6fde; --bg: #fafbfc; --card: #fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.6 "Noto Sans KR", "NanumGothic", "Apple SD Gothic Neo",
       "Malgun Gothic", system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 2rem 2rem 1rem; background: #11203b; color: #fff; }
header h1 { margin: 0 0 .3rem; font-size: 1.8rem; }
header p { margin: 0; color: #c7d2e6; }
nav { padding: .8rem 2rem; background: #fff; border-bottom: 1px solid #e3e7ee; position: sticky;
      top: 0; z-index: 1; display: flex; flex-wrap: wrap; gap: .4rem 1rem; font-size: .9rem; }
nav a { color: var(--accent); text-decoration: none; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem 2rem 3rem; }
section { background: var(--card); border: 1px solid #e3e7ee; border-radius: 10px;
          padding: 1.2rem 1.5rem; margin: 1.2rem 0; }
section h2 { margin-top: 0; font-size: 1.3rem; }
section .meta { color: var(--muted); font-size: .85rem; }
section ul { padding-left: 1.2rem; }
figure { margin: 1rem 0; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid #eef0f4; border-radius: 6px; }
details { margin-top: .6rem; }
pre { background: #f3f5f8; padding: .8rem; border-radius: 6px; overflow-x: auto; font-size: .8rem; }
footer { text-align: center; color: var(--muted); font-size: .85rem; padding-bottom: 2rem; }
"""


def _section(entry: TourEntry, files: dict[str, str], lang: str) -> str:
    name = entry.experiment.name
    title = html.escape(t(entry.experiment.title_key, lang))
    lines = "".join(
        f"<li><pre>{html.escape(text)}</pre></li>"
        if "\n" in text  # a table
        else f"<li>{html.escape(text)}</li>"
        for text in entry.result.lines(lang)
    )
    figures = "".join(
        f'<figure><img src="{html.escape(files[f"{fig}.png"])}" alt="{html.escape(name)}: '
        f'{html.escape(fig)}" loading="eager"><figcaption class="meta">{html.escape(fig)} · '
        f'<a href="{html.escape(files[f"{fig}.svg"])}">SVG</a></figcaption></figure>'
        for fig in _figure_names(files)
    )
    shown, _ = entry.result.split_numbers()  # large arrays appear as references into numbers.npz
    numbers = html.escape(json.dumps(shown, indent=2, ensure_ascii=False))
    meta = t("report.meta", lang, name=name, seconds=f"{entry.seconds:.1f}")
    return (
        f'<section id="{html.escape(name)}"><h2>{title}</h2><p class="meta">{html.escape(meta)}'
        f"</p><ul>{lines}</ul>{figures}<details><summary>{html.escape(t('report.numbers', lang))}"
        f"</summary><pre>{numbers}</pre></details></section>"
    )


def _figure_names(files: dict[str, str]) -> list[str]:
    """The figures an experiment's saved files hold, in the order they were written (``<fig>.png``
    roles): the page lists what is on disk without drawing anything again."""
    return [role.removesuffix(".png") for role in files if role.endswith(".png")]


def render(
    entries: list[TourEntry], files: dict[str, dict[str, str]], lang: str, rerendered: bool = False
) -> str:
    """The report page; ``rerendered``: built from a saved ``numbers.json`` (said in the
    subtitle)."""
    total = sum(e.seconds for e in entries)
    subtitle = t(
        "report.subtitle_saved" if rerendered else "report.subtitle",
        lang,
        n=len(entries),
        seconds=f"{total:.0f}",
    )
    nav = "".join(
        f'<a href="#{html.escape(e.experiment.name)}">{html.escape(e.experiment.name)}</a>'
        for e in entries
    )
    sections = "".join(_section(e, files[e.experiment.name], lang) for e in entries)
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(t("report.title", lang))}</title>
<style>{CSS}</style>
</head>
<body>
<header><h1>{html.escape(t("report.title", lang))}</h1>
<p>{html.escape(subtitle)}</p></header>
<nav>{nav}</nav>
<main>{sections}</main>
<footer>cnnlab {__version__} · <a href="numbers.json">numbers.json</a></footer>
</body>
</html>
"""


__all__ = ["render"]
