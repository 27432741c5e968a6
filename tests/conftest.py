"""Shared test setup: an isolated data cache, English by default, a headless matplotlib, one
thread."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test sees an empty cache and English unless it asks otherwise."""
    from cnnlab.i18n import set_lang

    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("CNNLAB_LANG", "en")
    set_lang(None)
    yield
    set_lang(None)


@pytest.fixture(autouse=True, scope="session")
def _single_thread() -> Iterator[None]:
    """One torch thread and one BLAS thread for every in-process test.

    The tests' tensors are small and gain nothing from two threads, and on a shared 2-core machine
    OpenMP/BLAS threads that spin-wait on a descheduled neighbour slow small GEMMs 30–100× (measured
    in LocallyConnected2d and the engine). Results do not depend on the thread count.
    """
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1, user_api="blas"):
        yield
    torch.set_num_threads(before)
