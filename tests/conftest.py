"""Shared test setup: an isolated data cache, English by default, a headless matplotlib."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees an empty cache and English unless it asks otherwise."""
    from cnnlab.i18n import set_lang

    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("CNNLAB_LANG", "en")
    set_lang(None)
    yield
    set_lang(None)
