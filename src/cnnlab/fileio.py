"""Atomic file writes, output-directory checks and the one-run-per-folder lock.

Every file cnnlab writes (downloads, checkpoints, figures, reports) goes through a temporary file in
the destination's directory followed by :func:`os.replace`, so a reader — or a crash — never sees a
half-written file.

An output folder belongs to one run at a time: :func:`lock_output_dir` holds an OS advisory lock
(``flock``) on ``<dir>/.cnnlab.lock`` for the whole run, and a second run on the same folder is
refused at once with an :class:`~cnnlab.errors.OutputError` naming the process that holds it. The
kernel drops the lock when its holder exits, however it exits (crash, ``kill -9``), so a stale lock
file never blocks a later run.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cnnlab.errors import OutputError, os_reason
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
        raise OutputError("error.output_dir", path=str(out), reason=os_reason(exc)) from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError("error.output_dir", path=str(out), reason=Msg("error.reason.permission"))
    return out


LOCK_NAME = ".cnnlab.lock"


@dataclass(frozen=True)
class OutputLock:
    """A held lock on an output folder: the folder and the lock file inside it."""

    path: Path
    lock_file: Path


# Folders this process holds, with a nesting count: a run that locks its folder and then calls a
# helper that locks it again (a tour writing a lab result) must not refuse itself. flock locks
# belong to an open file description, so a second open() in the same process would conflict.
_held: dict[Path, tuple[int, int]] = {}  # resolved folder → (fd, depth)
_held_guard = threading.Lock()


HOLDER_WAIT = 0.5  # seconds a refused run waits for the holder to write its PID and command


def _holder(lock_file: Path) -> tuple[str, str]:
    """The PID and command written by the lock's holder ('?' if it has not written them yet).

    The holder writes them right after taking the lock, so a run refused in that instant reads an
    empty file: it waits up to ``HOLDER_WAIT`` for both lines before naming the holder '?'.
    """
    import time

    deadline = time.monotonic() + HOLDER_WAIT
    while True:
        try:
            lines = lock_file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            lines = []
        pid = lines[0].strip() if lines and lines[0].strip() else "?"
        command = lines[1].strip() if len(lines) > 1 and lines[1].strip() else "?"
        if (pid != "?" and command != "?") or time.monotonic() >= deadline:
            return pid, command
        time.sleep(0.01)


def _try_lock(lock_file: Path) -> int | None:
    """Open and flock ``lock_file`` without waiting; the fd, or None when another process holds it.

    A holder removes the lock file on release, so the file we opened may have been unlinked (or
    replaced) between open() and flock(): then the lock we got guards nothing, and we try again on
    the file that is there now.
    """
    import fcntl

    while True:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.stat(lock_file).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # releases the flock on the stale inode


@contextlib.contextmanager
def lock_output_dir(
    path: str | os.PathLike[str], command: str | None = None
) -> Iterator[OutputLock]:
    """Hold ``path`` for one run: ``with lock_output_dir(out) as lock: ...``.

    Takes an exclusive, non-blocking ``flock`` on ``<path>/.cnnlab.lock`` and writes the holder's
    PID and ``command`` (default: the process's command line) into it. A second process asking for
    the same folder gets :class:`OutputError` at once, naming the folder and the holder. The folder
    is created (with parents) only when missing, and removed again on release if the run left it
    empty, so a refused or failed run leaves nothing behind. The lock file is removed on release;
    after a crash or a kill the kernel releases the lock and the file left behind is reused by the
    next run. Re-entrant within one process.
    """
    out = Path(path).expanduser()
    if not str(path).strip():
        raise OutputError("error.output_dir", path=str(path), reason=Msg("error.reason.empty_path"))
    if out.exists() and not out.is_dir():
        raise OutputError(
            "error.output_dir", path=str(out), reason=Msg("error.reason.not_dir", path=str(out))
        )
    key = out.resolve()
    with _held_guard:
        if key in _held:
            held_fd, depth = _held[key]
            _held[key] = (held_fd, depth + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield OutputLock(out, out / LOCK_NAME)
        finally:
            with _held_guard:
                held_fd, depth = _held[key]
                _held[key] = (held_fd, depth - 1)
        return

    # The outermost folder this call creates: removed again on release if the run left it empty.
    created: Path | None = None
    for folder in [out, *out.parents]:
        if folder.exists():
            break
        created = folder
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError("error.output_dir", path=str(out), reason=os_reason(exc)) from exc
    lock_file = out / LOCK_NAME
    try:
        got = _try_lock(lock_file)
    except OSError as exc:
        _remove_empty(out, created)
        raise OutputError("error.output_dir", path=str(out), reason=os_reason(exc)) from exc
    if got is None:
        pid, holder_cmd = _holder(lock_file)
        raise OutputError("error.output_locked", path=str(out), pid=pid, command=holder_cmd)
    fd = got
    try:
        text = f"{os.getpid()}\n{command if command is not None else ' '.join(sys.argv)}\n"
        os.ftruncate(fd, 0)
        os.pwrite(fd, text.encode("utf-8", errors="replace"), 0)
        with _held_guard:
            _held[key] = (fd, 1)
        yield OutputLock(out, lock_file)
    finally:
        with _held_guard:
            _held.pop(key, None)
        # Unlink while still holding the lock, then close (which releases it): a process that
        # opened the old file meanwhile sees the inode change in _try_lock and retries.
        with contextlib.suppress(OSError):
            lock_file.unlink()
        os.close(fd)
        _remove_empty(out, created)


def _remove_empty(out: Path, created: Path | None) -> None:
    """Remove the folders from ``out`` up to ``created`` that this run made and left empty."""
    if created is None:
        return
    for folder in [out, *out.parents]:
        try:
            folder.rmdir()  # only an empty folder: anything the run wrote keeps it
        except OSError:
            return
        if folder == created:
            return


__all__ = [
    "LOCK_NAME",
    "OutputLock",
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_text",
    "ensure_out_dir",
    "lock_output_dir",
]
