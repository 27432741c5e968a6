"""Korean-capable fonts for matplotlib, found on the system, with a fallback for missing glyphs.

matplotlib's default DejaVu Sans has no Hangul: Korean labels become tofu boxes and "missing glyph"
warnings. :func:`setup_fonts` looks for an installed Hangul font (NanumGothic, Noto Sans CJK, …),
registers it with matplotlib even when matplotlib's font cache predates the install, and sets the
family list ``[<hangul font>, "DejaVu Sans"]`` so glyphs the Hangul font lacks (e.g. the minus sign)
fall back to DejaVu. With no such font it warns once with the fix and :func:`figure_lang` answers
``"en"`` so figures are drawn with English labels instead of boxes.
"""

from __future__ import annotations

import glob
import warnings
from functools import lru_cache

from cnnlab.i18n import get_lang, t

CANDIDATES = (
    "NanumGothic",
    "NanumBarunGothic",
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Source Han Sans KR",
    "UnDotum",
    "Baekmuk Gulim",
    "Malgun Gothic",
    "AppleGothic",
)
SEARCH_GLOBS = (
    "/usr/share/fonts/**/Nanum*.ttf",
    "/usr/share/fonts/**/NotoSansCJK*.tt[fc]",
    "/usr/share/fonts/**/NotoSansKR*.[ot]tf",
    "/usr/local/share/fonts/**/*.[ot]t[fc]",
)
FALLBACK = "DejaVu Sans"


@lru_cache(maxsize=1)
def hangul_font() -> str | None:
    """Name of an installed Hangul-capable font family, registering its files if needed."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    for name in CANDIDATES:
        if name in known:
            return name
    # The font may be installed after matplotlib built its cache: add the files directly.
    for pattern in SEARCH_GLOBS:
        for path in sorted(glob.glob(pattern, recursive=True)):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError):
                continue
    known = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CANDIDATES if name in known), None)


@lru_cache(maxsize=1)
def setup_fonts() -> str | None:
    """Set matplotlib's font family to the Hangul font + fallback. Returns the Hangul font or None.

    The backend is left alone (figures are built as ``matplotlib.figure.Figure`` objects, which need
    no GUI), so Jupyter's inline backend keeps working.
    """
    import matplotlib

    font = hangul_font()
    if font:
        matplotlib.rcParams["font.family"] = [font, FALLBACK]
    return font


_warned = False


def figure_lang(lang: str | None = None) -> str:
    """Language to draw figure text in: the requested one, or English when no Hangul font exists."""
    global _warned
    code = get_lang(lang)
    if code == "ko" and setup_fonts() is None:
        if not _warned:
            warnings.warn(t("viz.no_hangul_font", "en"), stacklevel=2)
            _warned = True
        return "en"
    setup_fonts()
    return code


__all__ = ["setup_fonts", "hangul_font", "figure_lang"]
