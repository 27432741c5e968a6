"""One error hierarchy for everything a user can get wrong.

Every user-facing failure raises a :class:`CnnlabError` subclass whose message names the bad value
and what would be valid. Messages come from the ko/en catalogs (:mod:`cnnlab.i18n`), so an error
can be re-rendered in any language with :meth:`CnnlabError.message`. Faces map these errors to exit
code 2 (CLI) or HTTP 422 (web) — never a traceback.
"""

from __future__ import annotations

from typing import Any


class CnnlabError(Exception):
    """Base class. ``key`` is a catalog key; ``params`` fill its placeholders."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(self.message())

    def message(self, lang: str | None = None) -> str:
        from cnnlab.i18n import t

        return t(self.key, lang, **self.params)


class ConfigError(CnnlabError):
    """A bad hyperparameter or option value (kernel size, stride, index, language, …)."""


class ShapeError(ConfigError):
    """A tensor shape or size formula that cannot work (output size < 1, channel mismatch, …)."""


class DataError(CnnlabError):
    """Data that cannot be read: unknown dataset, missing files, corrupt IDX, bad image."""


class ChecksumError(DataError):
    """A file whose md5 does not match the registry."""


class DownloadError(DataError):
    """A download that failed on every mirror."""


class OutputError(CnnlabError):
    """An output location that cannot be written."""


class CheckpointError(CnnlabError):
    """A checkpoint that is corrupt or does not fit the model."""


__all__ = [
    "CnnlabError",
    "ConfigError",
    "ShapeError",
    "DataError",
    "ChecksumError",
    "DownloadError",
    "OutputError",
    "CheckpointError",
]
