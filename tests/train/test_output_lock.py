"""The one-run-per-folder lock (:func:`cnnlab.fileio.lock_output_dir`) with real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnlab.errors import OutputError
from cnnlab.fileio import LOCK_NAME, lock_output_dir

# A holder process: takes the lock, says so on stdout, waits for a line on stdin, writes a file.
HOLDER = """
import sys
from cnnlab.fileio import lock_output_dir
with lock_output_dir(sys.argv[1], command="holder-run") as lock:
    print("locked", flush=True)
    sys.stdin.readline()
    (lock.path / "result.txt").write_text("done")
"""
# A second process: tries the lock and prints the message it got.
CONTENDER = """
import sys
from cnnlab.errors import OutputError
from cnnlab.fileio import lock_output_dir
try:
    with lock_output_dir(sys.argv[1]) as lock:
        (lock.path / "intruder.txt").write_text("x")
except OutputError as exc:
    print(exc.message(sys.argv[2]))
    sys.exit(2)
"""


def _start_holder(folder: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    return holder


def _contend(folder: Path, lang: str = "en") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CONTENDER, str(folder), lang],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_second_process_is_refused_and_first_completes(tmp_path: Path) -> None:
    folder = tmp_path / "run"  # does not exist yet: the holder creates it
    holder = _start_holder(folder)
    try:
        second = _contend(folder)
        second_ko = _contend(folder, "ko")
    finally:
        holder.communicate("go\n", timeout=60)
    assert second.returncode == 2, second.stderr
    assert f"'{folder}' is in use by another cnnlab run (PID {holder.pid}: holder-run)" in (
        second.stdout
    )
    assert f"PID {holder.pid}, 명령 holder-run" in second_ko.stdout
    assert holder.returncode == 0
    assert (folder / "result.txt").read_text() == "done"
    assert not (folder / "intruder.txt").exists()
    assert not (folder / LOCK_NAME).exists()  # removed on release


def test_refused_run_creates_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    holder = _start_holder(folder)
    try:
        before = sorted(p.name for p in folder.iterdir())
        assert _contend(folder).returncode == 2
        assert sorted(p.name for p in folder.iterdir()) == before == [LOCK_NAME]
    finally:
        holder.communicate("go\n", timeout=60)


def test_killed_holder_does_not_block_the_next_run(tmp_path: Path) -> None:
    holder = _start_holder(tmp_path)
    holder.kill()  # SIGKILL: no cleanup runs, the lock file stays behind
    holder.wait(timeout=60)
    assert (tmp_path / LOCK_NAME).exists()
    assert _contend(tmp_path).returncode == 0  # the kernel released the lock with the process
    assert (tmp_path / "intruder.txt").read_text() == "x"


def test_reentrant_in_one_process_and_released_after(tmp_path: Path) -> None:
    with lock_output_dir(tmp_path) as outer, lock_output_dir(tmp_path) as inner:
        assert outer.lock_file == inner.lock_file
        pid, command = [*outer.lock_file.read_text().splitlines(), ""][:2]
        assert pid == str(os.getpid()) and command
        assert _contend(tmp_path).returncode == 2  # still held while the outer block runs
    assert _contend(tmp_path).returncode == 0


def test_refused_paths(tmp_path: Path) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(OutputError, match=r"file\.txt is not a directory"), lock_output_dir(a_file):
        pass
    with (
        pytest.raises(OutputError, match=r"Cannot write to output directory '': the path is empty"),
        lock_output_dir(""),
    ):
        pass
    sub = a_file / "sub"
    with (
        pytest.raises(OutputError, match=r"Cannot write to output directory .*sub"),
        lock_output_dir(sub),
    ):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_lock_released_on_exception(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), lock_output_dir(tmp_path):
        raise RuntimeError("boom")
    start = time.monotonic()
    assert _contend(tmp_path).returncode == 0
    assert time.monotonic() - start < 60


def test_refused_run_waits_for_the_holder_to_name_itself(tmp_path: Path) -> None:
    """A run refused in the instant between the holder's flock and its write of PID and command
    reads an empty lock file: it waits for the two lines rather than naming the holder '?'."""
    import threading

    from cnnlab import fileio

    lock = tmp_path / LOCK_NAME
    lock.write_text("")
    writer = threading.Timer(0.05, lambda: lock.write_text("4242\ncnnlab train --out x\n"))
    writer.start()
    try:
        assert fileio._holder(lock) == ("4242", "cnnlab train --out x")
    finally:
        writer.join()
    # a holder that never writes is named '?' once the wait is over
    lock.write_text("")
    assert fileio._holder(lock) == ("?", "?")
