"""One router per area of the page; each route calls :mod:`cnnlab.web.views` (library results →
JSON) or the library directly. ``ROUTERS`` is the order they are mounted under ``/api``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Query

LangQuery = Annotated[
    Literal["en", "ko"] | None,
    Query(description="language of every text in the response (default: Accept-Language)"),
]


def lang_param(lang: LangQuery = None) -> str | None:
    """Validates ``?lang=`` (422 listing en, ko); the middleware already applied it."""
    return lang


WITH_LANG = [Depends(lang_param)]


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries: these status codes answer with the error shape."""
    from cnnlab.web.schemas import ErrorResponse

    return {code: {"model": ErrorResponse} for code in codes}


AREAS = ("meta", "predict", "image", "conv", "rf", "train", "lab")

__all__ = ["WITH_LANG", "lang_param", "errors", "AREAS"]
