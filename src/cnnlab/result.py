"""``Result``: what every experiment returns — numbers, figures and text that know how to show themselves.

The CLI prints it, the report renders it, the web page serves it, Jupyter displays it
(``_repr_html_``). Text is stored as catalog keys + parameters, so one Result can be read in Korean or
English; figures are drawn once, in the language the experiment ran in.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlab.fileio import atomic_write_bytes, atomic_write_text, ensure_out_dir
from cnnlab.i18n import get_lang, t

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Message = tuple[str, dict[str, Any]]  # (catalog key, format parameters)


def _jsonable(value: Any) -> Any:
    """Numbers for JSON: tuples → lists, NumPy/torch scalars → Python, NaN/inf → None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays/scalars, torch tensors
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class Result:
    """Outcome of one experiment.

    name:     experiment name (registry key)
    numbers:  JSON-able measurements (shapes as lists, counts, accuracies, …)
    figures:  name → matplotlib Figure
    messages: the explanation, as (catalog key, params) pairs rendered by :meth:`text`
    lang:     language the figures were drawn in
    """

    name: str
    numbers: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    lang: str = "en"

    def say(self, key: str, **params: Any) -> Result:
        """Append one line of explanation (a catalog key); returns self for chaining."""
        self.messages.append((key, params))
        return self

    def text(self, lang: str | None = None) -> str:
        """The explanation in ``lang`` (default: the language in force)."""
        code = get_lang(lang)
        return "\n".join(t(key, code, **params) for key, params in self.messages)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(_jsonable(self.numbers), indent=indent, ensure_ascii=False)

    def png_bytes(self, name: str, dpi: int = 120) -> bytes:
        buf = io.BytesIO()
        self.figures[name].savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        return buf.getvalue()

    def save(self, out_dir: str | Path, formats: tuple[str, ...] = ("png", "svg")) -> dict[str, Path]:
        """Write ``numbers.json``, ``<name>.<lang>.txt`` and each figure (PNG, SVG) atomically.

        Returns role → path. Files are named ``<experiment>_<figure>.<ext>`` so several results can
        share one folder (the tour's report).
        """
        out = ensure_out_dir(out_dir)
        written: dict[str, Path] = {}
        written["numbers"] = atomic_write_text(out / f"{self.name}.json", self.to_json() + "\n")
        written["text"] = atomic_write_text(out / f"{self.name}.{get_lang()}.txt", self.text() + "\n")
        for fig_name, fig in self.figures.items():
            for ext in formats:
                buf = io.BytesIO()
                fig.savefig(buf, format=ext, dpi=120, bbox_inches="tight")
                path = out / f"{self.name}_{fig_name}.{ext}"
                written[f"{fig_name}.{ext}"] = atomic_write_bytes(path, buf.getvalue())
        return written

    def _repr_html_(self) -> str:
        parts = [f"<h3>{html.escape(self.name)}</h3>"]
        parts += [f"<p>{html.escape(line)}</p>" for line in self.text().splitlines()]
        for fig_name in self.figures:
            data = base64.b64encode(self.png_bytes(fig_name)).decode("ascii")
            parts.append(f'<img alt="{html.escape(fig_name)}" src="data:image/png;base64,{data}"/>')
        parts.append(f"<pre>{html.escape(self.to_json())}</pre>")
        return "\n".join(parts)


__all__ = ["Result", "Message"]
