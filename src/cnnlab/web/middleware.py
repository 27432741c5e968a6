"""Pure ASGI middleware: the request's language, a body-size limit, and server timing.

Pure ASGI (not ``BaseHTTPMiddleware``) so the language ContextVar set here is the one the route
and the exception handlers see, and a streamed (SSE) response is not buffered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from cnnlab.i18n import LANGS, get_lang, t, use_lang
from cnnlab.web.errors import BodyTooLarge, error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def request_lang(query: bytes, accept_language: str) -> str:
    """``?lang=`` if valid, else the first of ``ko``/``en`` in ``Accept-Language`` (by q), else
    the environment's language (``CNNLAB_LANG``, the locale, English)."""
    values = parse_qs(query.decode("latin-1")).get("lang", [])
    if values and values[-1].strip().lower() in LANGS:
        return values[-1].strip().lower()
    best: tuple[float, str] | None = None
    for i, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower()[:2]
        if code not in LANGS:
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if best is None or q > best[0]:
            best = (q - i * 1e-6, code)
    return best[1] if best else get_lang()


async def _send_json(send: Send, status: int, body: dict[str, Any], lang: str) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"content-language", lang.encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def host_name(host_header: str) -> str:
    """``"127.0.0.1:8000"`` → ``"127.0.0.1"``, ``"[::1]:8000"`` → ``"::1"``, lower-cased."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[1 : h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


class WebMiddleware:
    """Language per request, ``Content-Language``, ``Server-Timing`` and ``nosniff`` on every
    response, a 413 for a body over ``max_body`` bytes (by its Content-Length, or counted while
    reading), and — when ``allowed_hosts`` is set (a server bound to loopback) — a 421 for any
    other ``Host`` header: a web site the user visits cannot reach the page through a DNS name
    that resolves to 127.0.0.1 (DNS rebinding)."""

    def __init__(
        self, app: ASGIApp, max_body: int, allowed_hosts: tuple[str, ...] | None = None
    ) -> None:
        self.app, self.max_body, self.allowed_hosts = app, max_body, allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        lang = request_lang(scope.get("query_string", b""), headers.get("accept-language", ""))
        start = time.perf_counter()
        with use_lang(lang):
            if self.allowed_hosts is not None:
                host = host_name(headers.get("host", ""))
                if host not in self.allowed_hosts:
                    body = error_body("host", t("web.error.host", host=host[:80]))
                    await _send_json(send, 421, body, lang)
                    return
            too_large = error_body("too_large", t("web.error.body_too_large", limit=self.max_body))
            length = headers.get("content-length", "")
            if length.isdigit() and int(length) > self.max_body:
                await _send_json(send, 413, too_large, lang)
                return
            seen = 0
            started = False

            async def limited_receive() -> Message:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > self.max_body:
                        raise BodyTooLarge(self.max_body)
                return message

            async def timed_send(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                    ms = (time.perf_counter() - start) * 1000
                    extra = [
                        (b"content-language", lang.encode()),
                        (b"server-timing", f"app;dur={ms:.2f}".encode()),
                        (b"x-content-type-options", b"nosniff"),
                    ]
                    message["headers"] = list(message.get("headers", [])) + extra
                await send(message)

            try:
                await self.app(scope, limited_receive, timed_send)
            except BodyTooLarge:
                if not started:
                    await _send_json(send, 413, too_large, lang)


__all__ = ["WebMiddleware", "request_lang", "host_name"]
