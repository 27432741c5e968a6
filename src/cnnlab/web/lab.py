"""Lab experiments for the page: run once with their quick parameters, then served from memory.

Numbers are measured once per experiment (the slow part: 0.5–25 s with the quick parameters on a
busy 2-core machine); the text is rendered per language from them, and the figures are drawn and
encoded to PNG once per language. One lock serialises measuring and drawing (experiments use the
CPU fully and matplotlib is not thread-safe); what is cached is served without waiting for it.
"""

from __future__ import annotations

import threading
from typing import Any

from cnnlab.i18n import get_lang, t
from cnnlab.web.errors import WebError


class LabCache:
    def __init__(self, overrides: dict[str, dict[str, Any]] | None = None) -> None:
        self._overrides = overrides or {}
        self._results: dict[str, Any] = {}
        self._pngs: dict[tuple[str, str], dict[str, bytes]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def experiments() -> dict[str, Any]:
        from cnnlab.lab.registry import load_all

        return load_all()

    def listing(self) -> list[dict[str, str]]:
        return [{"name": n, "title": t(e.title_key)} for n, e in self.experiments().items()]

    def _experiment(self, name: str) -> Any:
        found = self.experiments().get(name)
        if found is None:
            raise WebError(
                404,
                "not_found",
                "web.error.unknown_experiment",
                name=name[:60],
                valid=", ".join(self.experiments()),
            )
        return found

    def _result(self, name: str) -> Any:
        """The measured Result (caller holds the lock)."""
        if name not in self._results:
            exp = self._experiment(name)
            params = exp.make_params(**(exp.quick | self._overrides.get(name, {})))
            self._results[name] = exp.run(params)
        return self._results[name]

    def _figures(self, name: str, lang: str) -> dict[str, bytes]:
        """Every figure of ``name`` as PNG in ``lang`` (caller holds the lock)."""
        key = (name, lang)
        if key not in self._pngs:
            import matplotlib.pyplot as plt

            figures = self._result(name).figures_in(lang)
            pngs = {}
            for fig_name, fig in figures.items():
                import io

                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
                plt.close(fig)
                pngs[fig_name] = buf.getvalue()
            self._pngs[key] = pngs
        return self._pngs[key]

    def view(self, name: str) -> dict[str, Any]:
        exp = self._experiment(name)
        lang = get_lang()
        result, pngs = self._results.get(name), self._pngs.get((name, lang))
        if result is None or pngs is None:  # cached ones are served without waiting for the lock
            with self._lock:
                result = self._result(name)
                pngs = self._figures(name, lang)
        figures = list(pngs)
        return {
            "name": name,
            "title": t(exp.title_key),
            "text": result.lines(lang),
            "figures": figures,
        }

    def figure(self, name: str, figure: str) -> bytes:
        self._experiment(name)
        pngs = self._pngs.get((name, get_lang()))
        if pngs is None:
            with self._lock:
                pngs = self._figures(name, get_lang())
        if figure not in pngs:
            raise WebError(
                404,
                "not_found",
                "web.error.unknown_figure",
                name=name,
                figure=figure[:60],
                valid=", ".join(pngs),
            )
        return pngs[figure]


__all__ = ["LabCache"]
