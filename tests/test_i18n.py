"""Catalogs: every message exists in Korean and English with the same placeholders; language choice."""

from __future__ import annotations

import string

import pytest

from cnnlab.errors import ConfigError
from cnnlab.i18n import catalog, get_lang, set_lang, t
from cnnlab.i18n.particles import PARTICLES


def _fields(template: str) -> set[str]:
    """Placeholder names, without format specs or particle markers (``{n:,|을}`` → ``n``)."""
    return {name.partition("|")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def _markers(template: str) -> list[str]:
    """Particle markers in a template: ``{name|을}`` and ``{x:.2f|로}``."""
    found = []
    for _, name, spec, _ in string.Formatter().parse(template):
        for part in (name or "", spec or ""):
            if "|" in part and part.rpartition("|")[2] in PARTICLES:
                found.append(part)
    return found


@pytest.mark.parametrize("key", sorted(catalog()))
def test_every_key_in_both_languages(key: str) -> None:
    texts = catalog()[key]
    assert texts.get("en", "").strip() and texts.get("ko", "").strip(), key
    assert _fields(texts["en"]) == _fields(texts["ko"]), key
    assert not _markers(texts["en"]), f"{key}: particle markers belong in the Korean template only"


def test_korean_catalog_is_korean() -> None:
    hangul = sum(any("\uac00" <= ch <= "\ud7a3" for ch in v["ko"]) for v in catalog().values())
    assert hangul / len(catalog()) > 0.9


def test_language_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CNNLAB_LANG")
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert get_lang() == "en"  # fallback
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    assert get_lang() == "ko"  # locale
    monkeypatch.setenv("CNNLAB_LANG", "en")
    assert get_lang() == "en"  # env beats locale
    set_lang("ko")
    assert get_lang() == "ko"  # --lang beats env
    assert get_lang("en") == "en"  # explicit argument beats all


def test_unknown_language() -> None:
    with pytest.raises(ConfigError, match=r"Unknown language 'fr'. Valid: en, ko."):
        set_lang("fr")


def test_lookup_and_fallbacks() -> None:
    assert t("cli.error", "ko", message="x") == "오류: x"
    assert t("no.such.key") == "no.such.key"


def test_particle_marker_in_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(catalog(), "test.marker", {"en": "Training {model}", "ko": "{model|을} 학습"})
    assert t("test.marker", "ko", model="mlp") == "mlp를 학습"
    assert t("test.marker", "ko", model="cnn") == "cnn을 학습"
    assert t("test.marker", "en", model="cnn") == "Training cnn"
