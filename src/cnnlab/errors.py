"""One error hierarchy for everything a user can get wrong.

Every user-facing failure raises a :class:`CnnlabError` subclass whose message names the bad value
and what would be valid. Messages come from the ko/en catalogs (:mod:`cnnlab.i18n`), so an error
can be re-rendered in any language with :meth:`CnnlabError.message`. Faces map these errors to exit
code 2 (CLI) or HTTP 422 (web) — never a traceback.
"""

from __future__ import annotations

import errno
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

    def __reduce__(self) -> tuple[Any, ...]:
        # key and params, not the rendered text: an error raised in a worker process (the tour's)
        # reaches the parent whole, and renders in any language there
        return (_rebuild, (type(self), self.key, self.params))


def _rebuild(cls: type[CnnlabError], key: str, params: dict[str, Any]) -> CnnlabError:
    return cls(key, **params)


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


# OS error numbers whose reason has a catalog message: the reason reads in the user's language
# instead of the C library's English (``strerror``).
_ERRNO_KEYS: dict[int, str] = {
    errno.ENOENT: "error.os.not_found",
    errno.EACCES: "error.os.permission",
    errno.EPERM: "error.os.not_permitted",
    errno.ENOTDIR: "error.os.not_dir",
    errno.EISDIR: "error.os.is_dir",
    errno.EEXIST: "error.os.exists",
    errno.ENOSPC: "error.os.no_space",
    errno.EDQUOT: "error.os.no_space",
    errno.EROFS: "error.os.read_only",
    errno.ENAMETOOLONG: "error.os.name_too_long",
    errno.ELOOP: "error.os.loop",
    errno.EBUSY: "error.os.busy",
    errno.ENOMEM: "error.os.no_memory",
    errno.ECONNREFUSED: "error.os.connection_refused",
    errno.ECONNRESET: "error.os.connection_reset",
    errno.ETIMEDOUT: "error.os.timed_out",
    errno.EHOSTUNREACH: "error.os.unreachable",
    errno.ENETUNREACH: "error.os.unreachable",
}
# Library messages (Pillow's, mostly) recognised by a fragment of their English text.
_LIBRARY_KEYS: tuple[tuple[str, str], ...] = (
    ("cannot identify image file", "error.os.not_an_image"),
    ("image file is truncated", "error.os.truncated_image"),
)


def os_reason(exc: BaseException) -> str:
    """The reason of an OS or library error as text for an error message's ``reason``.

    A known ``errno`` or library message becomes a catalog :class:`~cnnlab.i18n.Msg` (so it is
    rendered again in the user's language); anything else is the error's own text.

    >>> from cnnlab.i18n import use_lang
    >>> with use_lang("ko"):
    ...     str(os_reason(FileNotFoundError(2, "No such file or directory")))
    '파일이나 디렉터리가 없습니다'
    """
    from cnnlab.i18n import Msg

    code = getattr(exc, "errno", None)
    if isinstance(exc, OSError) and isinstance(code, int) and code in _ERRNO_KEYS:
        return Msg(_ERRNO_KEYS[code])
    text = str(exc)
    for fragment, key in _LIBRARY_KEYS:
        if fragment in text:
            return Msg(key)
    strerror = exc.strerror if isinstance(exc, OSError) else None
    return strerror or text or type(exc).__name__


__all__ = [
    "os_reason",
    "CnnlabError",
    "ConfigError",
    "ShapeError",
    "DataError",
    "ChecksumError",
    "DownloadError",
    "OutputError",
    "CheckpointError",
]
