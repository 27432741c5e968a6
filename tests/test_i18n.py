"""Catalogs: every message exists in Korean and English with the same placeholders; language choice."""

from __future__ import annotations

import string

import pytest

from cnnlab.errors import ConfigError
from cnnlab.i18n import catalog, get_lang, set_lang, t


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(catalog()))
def test_every_key_in_both_languages(key: str) -> None:
    texts = catalog()[key]
    assert texts.get("en", "").strip() and texts.get("ko", "").strip(), key
    assert _fields(texts["en"]) == _fields(texts["ko"]), key


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
