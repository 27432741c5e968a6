"""Every failure as one JSON shape, in the request's language (docs/web-api.md, "Errors")::

    {"error": {"code": "validation", "message": "…",
               "fields": [{"field", "message", "valid", "got"}]}}

- a body or query that does not fit its schema → 422 ``validation``, one entry per field, each
  with the field's whole valid range (:data:`cnnlab.web.schemas.RANGES`);
- :class:`WebError` raised by a route → its status and code;
- a :class:`cnnlab.errors.CnnlabError` from the library → 422 for a bad value (ConfigError), 400 for
  bad data or a checkpoint — the library's own sentence, re-rendered in the request's language;
- an unknown path → 404, a wrong method → 405; anything unexpected → 500 ``internal`` (a bug: the
  fuzz test asserts it never happens).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cnnlab.errors import CnnlabError, ConfigError
from cnnlab.i18n import t
from cnnlab.web.schemas import RANGES

log = logging.getLogger("cnnlab.web")


class BodyTooLarge(Exception):
    """Raised while reading a request body that grew past the limit (chunked uploads)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(limit)


class WebError(Exception):
    """A request the server refuses: HTTP ``status``, error ``code``, catalog ``key`` + params."""

    def __init__(self, status: int, code: str, key: str, **params: Any) -> None:
        self.status, self.code, self.key, self.params = status, code, key, params
        super().__init__(key)


def error_body(code: str, message: str, fields: list[dict[str, Any]] | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return {"error": body}


def error_response(status: int, code: str, message: str, **kw: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message, **kw), status_code=status)


# Pydantic error types we put in words; others keep Pydantic's (English) sentence.
_TYPES = {
    "missing": "web.error.field.missing",
    "extra_forbidden": "web.error.field.extra",
    "int_type": "web.error.field.int",
    "int_parsing": "web.error.field.int",
    "int_from_float": "web.error.field.int",
    "float_type": "web.error.field.number",
    "float_parsing": "web.error.field.number",
    "finite_number": "web.error.field.number",
    "bool_type": "web.error.field.bool",
    "bool_parsing": "web.error.field.bool",
    "string_type": "web.error.field.string",
    "list_type": "web.error.field.list",
    "tuple_type": "web.error.field.list",
    "dict_type": "web.error.field.object",
    "model_type": "web.error.field.object",
    "model_attributes_type": "web.error.field.object",
    "greater_than_equal": "web.error.field.range",
    "less_than_equal": "web.error.field.range",
    "greater_than": "web.error.field.range",
    "less_than": "web.error.field.range",
    "too_short": "web.error.field.length",
    "too_long": "web.error.field.length",
    "string_too_short": "web.error.field.length",
    "string_too_long": "web.error.field.length",
    "string_pattern_mismatch": "web.error.field.pattern",
    "literal_error": "web.error.field.choice",
    "json_invalid": "web.error.json",
    "pixels_shape": "web.error.pixels_shape",
    "pixels_range": "web.error.pixels_range",
    "padding_range": "web.error.padding_range",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    """``("body", "shift", 0)`` → ``"shift.0"``; union branch names (``"int"``) are dropped."""
    parts = [str(p) for p in loc[1:] if not (isinstance(p, str) and "[" in p)]
    return ".".join(parts) or str(loc[0] if loc else "body")


def _valid(err: dict[str, Any]) -> str | None:
    """The whole valid range (or choice) of the failed field, as text."""
    ctx = err.get("ctx") or {}
    names = [p for p in err.get("loc", ()) if isinstance(p, str)]
    for name in reversed(names):
        if name in RANGES:
            lo, hi = RANGES[name]
            return f"{lo:g} … {hi:g}"
        if name == "pixels":
            return "28×28 | 784, 0 … 1"
        if name == "padding":
            return "0 … 31, same, valid"
    if "expected" in ctx:
        return str(ctx["expected"])
    if "pattern" in ctx:
        return str(ctx["pattern"])
    if "min_length" in ctx or "max_length" in ctx:
        return f"{ctx.get('min_length', 0)} … {ctx.get('max_length', '∞')}"
    return None


def _got(value: Any) -> Any:
    """The offending value, when it is small enough to echo."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no inf/nan: echo it as text
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, str):
        return value[:40]
    return None


def validation_fields(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    fields = []
    for err in errors[:20]:  # a 784-pixel list can fail 784 times: the first few say enough
        name = _field_name(tuple(err.get("loc", ())))
        valid = _valid(err)
        key = _TYPES.get(str(err.get("type")))
        if key is None:
            message = str(err.get("msg", ""))
        else:
            message = t(key, field=name, valid=valid or "?")
        fields.append(
            {"field": name, "message": message, "valid": valid, "got": _got(err.get("input"))}
        )
    return fields


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = validation_fields(list(exc.errors()))
    head = "; ".join(f["message"] for f in fields[:3])
    return error_response(422, "validation", t("web.error.validation", details=head), fields=fields)


async def _on_web_error(request: Request, exc: WebError) -> JSONResponse:
    return error_response(exc.status, exc.code, t(exc.key, **exc.params))


async def _on_cnnlab_error(request: Request, exc: CnnlabError) -> JSONResponse:
    status, code = (422, "validation") if isinstance(exc, ConfigError) else (400, "bad_request")
    return error_response(status, code, exc.message())


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    cause = exc.__cause__
    if isinstance(cause, BodyTooLarge):  # FastAPI wraps a failed body read in a 400
        return error_response(413, "too_large", t("web.error.body_too_large", limit=cause.limit))
    if exc.status_code == 404:
        return error_response(404, "not_found", t("web.error.no_route", path=request.url.path[:80]))
    if exc.status_code == 405:
        return error_response(405, "method", t("web.error.method", method=request.method))
    return error_response(exc.status_code, "http", str(exc.detail))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", t("web.error.internal"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(WebError, _on_web_error)  # type: ignore[arg-type]
    app.add_exception_handler(CnnlabError, _on_cnnlab_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected)


__all__ = [
    "BodyTooLarge",
    "WebError",
    "install",
    "error_body",
    "error_response",
    "validation_fields",
]
