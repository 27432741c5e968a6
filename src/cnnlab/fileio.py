"""Atomic file writes and output-directory checks.

Every file cnnlab writes (downloads, checkpoints, figures, reports) goes through a temporary file in
the destination's directory followed by :func:`os.replace`, so a reader — or a crash — never sees a
half-written file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from cnnlab.errors import OutputError
from cnnlab.i18n import Msg


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on clean exit fsync and rename it over ``path``.

    On any exception the temp file is removed and ``path`` is left untouched.
    """
    dest = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        encoding = None if "b" in mode else "utf-8"  # text mode: always UTF-8, never the locale's
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def ensure_out_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and parents) and check it is a writable directory, before any work starts.

    Raises OutputError naming the path and the reason.
    """
    out = Path(path).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            "error.output_dir", path=str(out), reason=exc.strerror or str(exc)
        ) from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError("error.output_dir", path=str(out), reason=Msg("error.reason.permission"))
    return out


__all__ = ["atomic_open", "atomic_write_bytes", "atomic_write_text", "ensure_out_dir"]
