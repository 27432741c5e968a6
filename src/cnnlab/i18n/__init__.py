"""Korean and English message catalogs with one lookup function, :func:`t`.

Catalogs live in ``i18n/messages/<area>.json`` as ``{"key": {"en": "...", "ko": "..."}}`` — both
languages side by side so a missing translation is visible in review and caught by a test. Each area
(core, data, engine, train, lab, …) owns one file.

The language is chosen by, in order: the explicit ``lang`` argument, :func:`set_lang`, the
``CNNLAB_LANG`` environment variable, the locale (``LC_ALL``/``LC_MESSAGES``/``LANG`` starting with
``ko``), and finally English. The language set by :func:`set_lang` or :func:`use_lang` lives in a
:class:`contextvars.ContextVar`, so threads (a web server's requests) and asyncio tasks each keep
their own.

Korean templates may put a particle marker after a placeholder — ``{name|을}``, ``{x:.2f|로}`` —
and :func:`t` appends the particle form that fits the rendered value (see
:mod:`cnnlab.i18n.particles`). English templates never carry markers.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from importlib import resources
from typing import Any

from cnnlab.i18n.particles import PARTICLES, attach

LANGS = ("en", "ko")
# None: not set, fall back to the environment. A ContextVar, not a module global, so one thread's
# set_lang does not change another's; a new thread starts from the default (None).
_current: ContextVar[str | None] = ContextVar("cnnlab_lang", default=None)


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    """All messages, merged from every area file. Duplicate keys across files are a bug."""
    merged: dict[str, dict[str, str]] = {}
    folder = resources.files("cnnlab.i18n") / "messages"
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".json"):
            continue
        for key, texts in json.loads(entry.read_text(encoding="utf-8")).items():
            if key in merged:
                raise RuntimeError(f"duplicate message key {key!r} in {entry.name}")
            merged[key] = texts
    return merged


def check_lang(lang: str) -> str:
    """Return ``lang`` normalised, or raise ConfigError naming the valid choices."""
    norm = lang.strip().lower()
    if norm not in LANGS:
        from cnnlab.errors import ConfigError

        raise ConfigError("error.lang", value=lang, valid=", ".join(LANGS))
    return norm


def _from_locale() -> str | None:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "ko" if value.lower().startswith("ko") else None
    return None


def get_lang(lang: str | None = None) -> str:
    """The language in force (see module docstring for the order)."""
    if lang:
        return check_lang(lang)
    current = _current.get()
    if current:
        return current
    env = os.environ.get("CNNLAB_LANG")
    if env:
        return check_lang(env)
    return _from_locale() or "en"


def set_lang(lang: str | None) -> None:
    """Set (or with ``None`` clear) the current context's language, e.g. from ``--lang``."""
    _current.set(check_lang(lang) if lang else None)


@contextmanager
def use_lang(lang: str | None) -> Iterator[str]:
    """Use ``lang`` inside the ``with`` block (``None``: the environment's), then restore.

    >>> with use_lang("ko"):
    ...     t("cli.error", message="x")
    '오류: x'
    """
    token = _current.set(check_lang(lang) if lang else None)
    try:
        yield get_lang()
    finally:
        _current.reset(token)


def t(key: str, lang: str | None = None, /, **params: Any) -> str:
    """Look up ``key`` in the chosen language and format it with ``params``.

    An unknown key returns the key itself (visible, never a crash); a missing language falls back to
    English.
    """
    texts = catalog().get(key)
    if texts is None:
        return key
    code = get_lang(lang)
    template = texts.get(code) or texts.get("en", key)
    if not params:
        return template
    with use_lang(code):  # a nested Msg in params renders in the same language
        return _FORMATTER.vformat(template, (), params)


class Msg(str):
    """A catalog message used as a parameter of another message, e.g. an error's ``reason``.

    It is a ``str`` (rendered when made, so it pickles, compares and goes into JSON as text), but
    formatting it into a template renders it again in the language in force then, so
    ``CnnlabError.message("ko")`` translates the reason too::

        OutputError("error.output_dir", path=p, reason=Msg("error.reason.not_dir", probe=p))
    """

    key: str
    params: dict[str, Any]

    def __new__(cls, key: str, /, **params: Any) -> Msg:
        self = super().__new__(cls, t(key, **params))
        self.key, self.params = key, params
        return self

    def __str__(self) -> str:
        return t(self.key, **self.params)

    def __format__(self, format_spec: str) -> str:
        return format(str(self), format_spec)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_msg, (self.key, self.params))


def _msg(key: str, params: dict[str, Any]) -> Msg:
    return Msg(key, **params)


class MsgList(str):
    """Messages joined by ``sep`` (each without its final period), re-rendered like :class:`Msg`."""

    items: tuple[str, ...]
    sep: str

    def __new__(cls, items: Sequence[str], sep: str = "; ") -> MsgList:
        self = super().__new__(cls, sep.join(str(i).rstrip(".") for i in items))
        self.items, self.sep = tuple(items), sep
        return self

    def __str__(self) -> str:
        return self.sep.join(str(i).rstrip(".") for i in self.items)

    def __format__(self, format_spec: str) -> str:
        return format(str(self), format_spec)

    def __reduce__(self) -> tuple[Any, ...]:
        return (MsgList, (self.items, self.sep))


class _Marked:
    """A field value still waiting for its particle (``{name|을}``)."""

    def __init__(self, value: Any, particle: str) -> None:
        self.value, self.particle = value, particle


class _ParticleFormatter(string.Formatter):
    """``str.format`` plus particle markers: ``{name|을}`` and ``{x:.2f|로}``.

    The value is formatted first, then :func:`cnnlab.i18n.particles.attach` appends the particle
    that fits how the rendered text is read aloud (``{n|을}`` → "128을", ``{model|을}`` → "mlp를").
    A ``|`` followed by anything but a known particle is left to ``format`` (e.g. a ``|`` fill
    char).
    """

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        name, bar, mark = field_name.rpartition("|")
        if bar and mark in PARTICLES:
            value, used = super().get_field(name, args, kwargs)
            return _Marked(value, mark), used
        return super().get_field(field_name, args, kwargs)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if isinstance(value, _Marked):
            return _Marked(super().convert_field(value.value, conversion), value.particle)
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> str:
        mark = None
        spec, bar, tail = format_spec.rpartition("|")
        if bar and tail in PARTICLES:
            format_spec, mark = spec, tail
        if isinstance(value, _Marked):
            value, mark = value.value, value.particle
        text = super().format_field(value, format_spec)
        return attach(text, mark) if mark else text


_FORMATTER = _ParticleFormatter()


__all__ = [
    "LANGS",
    "Msg",
    "MsgList",
    "catalog",
    "check_lang",
    "get_lang",
    "set_lang",
    "t",
    "use_lang",
]
