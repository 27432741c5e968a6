"""``Result``: what every experiment returns — typed numbers, text as catalog keys, figures on
demand.

An experiment is data first (see :mod:`cnnlab.lab.registry`): ``measure`` returns a frozen dataclass
of numbers, ``explain`` turns it into catalog keys + parameters, ``draw`` turns it into figures in a
language. A Result holds the numbers and the messages and draws figures only when asked, once per
language — so the same Result reads in Korean or English (text *and* figures) without recomputing
anything, and a saved ``numbers.json`` can be rendered again (``cnnlab report``).

The CLI prints it, the report renders it, notebooks display it (``_repr_html_``).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlab.fileio import atomic_write_bytes, atomic_write_text, ensure_out_dir
from cnnlab.i18n import get_lang, t
from cnnlab.jsonable import to_jsonable

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

Message = tuple[str, dict[str, Any]]  # (catalog key, format parameters)
DrawFn = Callable[[Any, str], "dict[str, Figure]"]  # draw(numbers, lang) -> name → Figure


class Result:
    """Outcome of one experiment.

    name:     experiment name (registry key)
    data:     the typed numbers (a frozen dataclass; a plain dict for hand-made Results)
    messages: the explanation, as (catalog key, params) pairs rendered by :meth:`text`
    lang:     the default language of :attr:`figures` (English when no Hangul font is installed)
    text_lang: the default language of :meth:`text` (None: the language in force when called)
    draw:     ``draw(numbers, lang) -> {name: Figure}``; figures are drawn on first use per language
    """

    def __init__(
        self,
        name: str,
        data: Any,
        messages: list[Message] | None = None,
        *,
        lang: str = "en",
        draw: DrawFn | None = None,
        figures: dict[str, Figure] | None = None,
        text_lang: str | None = None,
    ) -> None:
        self.name = name
        self.data = data
        self.messages: list[Message] = list(messages or [])
        self.lang = lang
        self.text_lang = text_lang
        self._draw = draw
        self._figures: dict[str, dict[str, Figure]] = {}
        if figures is not None:
            self._figures[lang] = figures
        self._numbers: dict[str, Any] | None = None

    @property
    def numbers(self) -> dict[str, Any]:
        """The numbers as JSON types (tuples → lists, arrays → nested lists, NaN → None)."""
        if self._numbers is None:
            self._numbers = to_jsonable(self.data)
        return self._numbers

    @property
    def figures(self) -> dict[str, Figure]:
        """Figures in :attr:`lang` (drawn on first access)."""
        return self.figures_in(self.lang)

    def figures_in(self, lang: str | None = None) -> dict[str, Figure]:
        """Figures with their text in ``lang`` (default: the language in force), drawn once each."""
        code = get_lang(lang)
        if code not in self._figures:
            if self._draw is None:  # a hand-made Result with figures in one language only
                return next(iter(self._figures.values()), {})
            self._figures[code] = self._draw(self.data, code)
        return self._figures[code]

    def say(self, key: str, **params: Any) -> Result:
        """Append one line of explanation (a catalog key); returns self for chaining."""
        self.messages.append((key, params))
        return self

    def lines(self, lang: str | None = None) -> list[str]:
        """One rendered string per message (a table message keeps its line breaks)."""
        code = get_lang(lang or self.text_lang)
        return [t(key, code, **params) for key, params in self.messages]

    def text(self, lang: str | None = None) -> str:
        """The explanation in ``lang`` (default: :attr:`text_lang`, else the language in force)."""
        return "\n".join(self.lines(lang))

    def to_json(self, indent: int | None = 2) -> str:
        """All numbers as JSON, arrays inline (what ``--json`` prints)."""
        return json.dumps(self.numbers, indent=indent, ensure_ascii=False)

    def split_numbers(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The numbers as JSON with large arrays moved to a sidecar dict keyed
        ``<name>.<field>``."""
        arrays: dict[str, np.ndarray] = {}
        return to_jsonable(self.data, arrays, self.name), arrays

    def png_bytes(self, name: str, dpi: int = 120, lang: str | None = None) -> bytes:
        return _encode(self.figures_in(lang or self.lang)[name], "png", dpi)

    def save(
        self,
        out_dir: str | Path,
        formats: tuple[str, ...] = ("png", "svg"),
        lang: str | None = None,
    ) -> dict[str, Path]:
        """Write ``<name>.json`` (+ ``<name>.npz`` for large arrays), ``<name>.<lang>.txt`` and each
        figure (PNG, SVG) atomically; returns role → path.

        Files are named ``<experiment>_<figure>.<ext>`` so several results can share one folder (the
        tour's report).
        """
        code = get_lang(lang or self.text_lang)
        out = ensure_out_dir(out_dir)
        written: dict[str, Path] = {}
        numbers, arrays = self.split_numbers()
        written["numbers"] = atomic_write_text(
            out / f"{self.name}.json", json.dumps(numbers, indent=2, ensure_ascii=False) + "\n"
        )
        if arrays:
            written["arrays"] = atomic_write_bytes(out / f"{self.name}.npz", npz_bytes(arrays))
        written["text"] = atomic_write_text(out / f"{self.name}.{code}.txt", self.text(code) + "\n")
        for fig_name, fig in self.figures_in(code).items():
            engine = fig.get_layout_engine()
            try:
                for i, ext in enumerate(formats):
                    path = out / f"{self.name}_{fig_name}.{ext}"
                    written[f"{fig_name}.{ext}"] = atomic_write_bytes(path, _encode(fig, ext, 120))
                    if i == 0 and engine is not None:
                        # the first format placed every axis; the others reuse that layout rather
                        # than solving it again (a third of the SVG's cost in the tour)
                        fig.set_layout_engine("none")
            finally:
                if engine is not None and fig.get_layout_engine() is not engine:
                    fig.set_layout_engine(engine)
        return written

    def _repr_html_(self) -> str:
        parts = [f"<h3>{html.escape(self.name)}</h3>"]
        parts += [
            f"<pre>{html.escape(text)}</pre>" if "\n" in text else f"<p>{html.escape(text)}</p>"
            for text in self.lines()
        ]
        for fig_name in self.figures_in():
            data = base64.b64encode(self.png_bytes(fig_name, lang=get_lang())).decode("ascii")
            parts.append(f'<img alt="{html.escape(fig_name)}" src="data:image/png;base64,{data}"/>')
        parts.append(f"<pre>{html.escape(json.dumps(self.split_numbers()[0], indent=2))}</pre>")
        return "\n".join(parts)

    def __repr__(self) -> str:
        return f"Result({self.name!r}, {type(self.data).__name__}, {len(self.messages)} messages)"


def _encode(fig: Figure, fmt: str, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """``arrays`` as the bytes of an uncompressed ``.npz`` (written atomically by the caller)."""
    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` sidecar (no pickles), or ``{}`` when there is none."""
    import numpy as np

    p = Path(path)
    if not p.exists():
        return {}
    with np.load(p, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


__all__ = ["Result", "Message", "DrawFn", "npz_bytes", "load_npz"]
