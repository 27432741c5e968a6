"""Downloads into the cache: temp file → md5 → rename (:func:`cnnlab.fileio.atomic_open`), so a
failure leaves nothing behind.

The cache root is ``$CNNLAB_DATA`` or the user cache directory (``platformdirs``).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cnnlab.errors import ChecksumError, DownloadError
from cnnlab.fileio import atomic_open
from cnnlab.i18n import Msg, MsgList

Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None)
CHUNK = 1 << 16


def data_home() -> Path:
    """Cache root: ``$CNNLAB_DATA`` when set, else the platform's user cache dir + ``/cnnlab``."""
    env = os.environ.get("CNNLAB_DATA")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("cnnlab"))


DATA_PATH_ENV = "CNNLAB_DATA_PATH"


def data_path() -> list[Path]:
    """Folders named by ``$CNNLAB_DATA_PATH`` (``os.pathsep``-separated), searched after the cache
    for read-only shared copies (each may hold ``<dataset>/``), like an OS package's system folder.
    Empty entries are skipped; a folder that does not exist is simply not searched."""
    return [Path(p).expanduser() for p in os.environ.get(DATA_PATH_ENV, "").split(os.pathsep) if p]


def md5sum(path: str | os.PathLike[str]) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_blob_sha1(content: bytes) -> str:
    """Git's object id of a file: ``sha1(b"blob <size>\\0" + content)`` (what a repository
    publishes for each file, e.g. NSMC's ``ratings_train.txt``)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class _BlobHash:
    """A git-blob SHA-1 fed chunk by chunk (the size prefix needs the whole length: buffered)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def update(self, chunk: bytes) -> None:
        self.parts.append(chunk)

    def hexdigest(self) -> str:
        return git_blob_sha1(b"".join(self.parts))


def download(
    url: str,
    dest: str | os.PathLike[str],
    md5: str,
    *,
    timeout: float = 30.0,
    progress: Progress | None = None,
    algorithm: str = "md5",
) -> Path:
    """Fetch ``url`` to ``dest`` atomically, verifying its checksum before the final rename.

    ``md5`` is the expected digest of ``algorithm``: ``"md5"`` (the image sets) or ``"git-sha1"``
    (a git blob id, :func:`git_blob_sha1`). Raises DownloadError (network/HTTP failure, short read)
    or ChecksumError (checksum mismatch); in both cases no file is left at ``dest`` or beside it.
    """
    target = Path(dest)
    target.parent.mkdir(parents=True, exist_ok=True)
    h: Any = _BlobHash() if algorithm == "git-sha1" else hashlib.md5()
    got = 0
    # atomic_open removes the temp file on any exception, so a failed or corrupt download (the md5
    # is checked inside the block, before the rename) leaves nothing at dest or beside it.
    with atomic_open(target, "wb") as out:
        try:
            # registry mirrors are https URLs (urlopen would also follow file:// or ftp://)
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                total = resp.headers.get("Content-Length")
                total_n = int(total) if total and total.isdigit() else None
                for chunk in iter(lambda: resp.read(CHUNK), b""):
                    out.write(chunk)
                    h.update(chunk)
                    got += len(chunk)
                    if progress:
                        progress(got, total_n)
        except urllib.error.HTTPError as exc:
            raise DownloadError(
                "data.download.failed", url=url, reason=f"HTTP {exc.code} {exc.reason}"
            ) from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            raise DownloadError("data.download.failed", url=url, reason=str(reason)) from exc
        if total_n is not None and got != total_n:
            raise DownloadError(
                "data.download.failed",
                url=url,
                reason=Msg("data.download.closed", got=got, total=total_n),
            )
        actual = h.hexdigest()
        if actual != md5:
            key = "data.download.git_sha1" if algorithm == "git-sha1" else "data.download.md5"
            raise ChecksumError(key, url=url, expected=md5, actual=actual)
    return target


def fetch(
    filename: str,
    md5: str,
    mirrors: tuple[str, ...] | list[str],
    dest_dir: Path,
    *,
    timeout: float = 30.0,
    progress: Progress | None = None,
    algorithm: str = "md5",
) -> Path:
    """Try each mirror in turn for ``filename``; raise DownloadError listing every failure."""
    failures: list[str] = []  # Msg items: each re-renders in the error's language
    for base in mirrors:
        url = base.rstrip("/") + "/" + filename
        try:
            return download(
                url,
                dest_dir / filename,
                md5,
                timeout=timeout,
                progress=progress,
                algorithm=algorithm,
            )
        except (DownloadError, ChecksumError) as exc:
            failures.append(Msg(exc.key, **exc.params))
    raise DownloadError("data.download.all_failed", filename=filename, failures=MsgList(failures))


__all__ = [
    "data_home",
    "data_path",
    "DATA_PATH_ENV",
    "md5sum",
    "git_blob_sha1",
    "download",
    "fetch",
]
