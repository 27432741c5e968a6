"""The Korean catalogs use the glossary's terms (src/cnnlab/i18n/glossary.json, from KOREAN.md).

Matching rules for an "avoid" entry, checked in every Korean catalog string:

* a plain string matches anywhere as a substring (파라미터, 에포크, 예제, 초기값, …);
* ``word_start``: only where it starts a word, i.e. not right after a Hangul syllable, so 창 alone
  or 창을 is caught but 팽창 is not;
* ``allow``: occurrences inside one of the listed phrases are fine (강의 노트, but not 노트 alone);
* ``prose``: an English word (stride, padding, FC) outside code, i.e. after removing ``{…}``
  placeholders and `backtick` spans, as a whole word, not glued to ``=``/``_``/``-``/``.``
  (``padding=1`` without backticks is prose and is caught);
* ``sense``: avoided only in one sense (배치 as layout, 준비 as warm-up), which a test cannot
  tell, so it is not checked.

A ``require`` term (unambiguous technical terms only): when the English text uses it as a word
(``en_pattern``, case-insensitive, outside placeholders and not part of an identifier such as
``max_padding`` or ``--epochs``), the Korean text must contain the Korean term, unless the Korean
text keeps that English word inside a `code` span (a formula shared by both languages).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest

MESSAGES = resources.files("cnnlab.i18n") / "messages"
FILES = sorted(p.name for p in MESSAGES.iterdir() if p.name.endswith(".json"))
TERMS: list[dict[str, Any]] = json.loads(
    (resources.files("cnnlab.i18n") / "glossary.json").read_text(encoding="utf-8")
)["terms"]
HANGUL = "\uac00-\ud7a3"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
CODE = re.compile(r"`[^`]*`")
# glued to one of these, a term is code: max_padding, --epochs, padding=
IDENT = r"[A-Za-z0-9_=.\-]"


def _catalog(name: str) -> dict[str, dict[str, str]]:
    return json.loads((MESSAGES / name).read_text(encoding="utf-8"))


def _avoid_hits(ko: str, rule: str | dict[str, Any]) -> list[str]:
    rule = {"text": rule} if isinstance(rule, str) else rule
    text = rule["text"]
    if "sense" in rule:
        return []
    if rule.get("prose"):
        prose = CODE.sub(" ", PLACEHOLDER.sub(" ", ko))
        found = re.search(rf"(?<!{IDENT}){re.escape(text)}(?!{IDENT})", prose, re.IGNORECASE)
        return [text] if found else []
    for allowed in rule.get("allow", []):
        ko = ko.replace(allowed, "")
    before = rf"(?<![{HANGUL}])" if rule.get("word_start") else ""
    return [text] if re.search(before + re.escape(text), ko) else []


def _avoided(name: str) -> list[str]:
    bad = []
    for key, texts in _catalog(name).items():
        for term in TERMS:
            for rule in term["avoid"]:
                hits = _avoid_hits(texts["ko"], rule)
                bad += [f"{key}: {hit!r} (use {term['ko']})" for hit in hits]
    return bad


def _missing(name: str) -> list[str]:
    bad = []
    for key, texts in _catalog(name).items():
        en = PLACEHOLDER.sub(" ", texts["en"])
        for term in TERMS:
            if not term.get("require"):
                continue
            pattern = rf"(?<!{IDENT}){term['en_pattern']}(?!{IDENT})"
            wanted = [w.strip() for w in term["ko"].split("/")]
            code = " ".join(CODE.findall(texts["ko"]))
            used = re.search(pattern, en, re.IGNORECASE)
            if (
                used
                and not re.search(pattern, code, re.IGNORECASE)
                and not any(w in texts["ko"] for w in wanted)
            ):
                bad.append(f"{key}: {term['en']!r} without {term['ko']!r}")
    return bad


@pytest.mark.parametrize("name", FILES)
def test_no_avoided_terms(name: str) -> None:
    assert not _avoided(name), "\n".join(_avoided(name))


@pytest.mark.parametrize("name", FILES)
def test_glossary_terms_used(name: str) -> None:
    assert not _missing(name), "\n".join(_missing(name))


def test_matching_rules() -> None:
    assert _avoid_hits("창을 밀면", {"text": "창", "word_start": True})
    assert not _avoid_hits("팽창 2", {"text": "창", "word_start": True})
    assert not _avoid_hits("강의 노트 3절", {"text": "노트", "allow": ["강의 노트"]})
    assert _avoid_hits("노트 3절", {"text": "노트", "allow": ["강의 노트"]})
    assert _avoid_hits("stride가 2이면", {"text": "stride", "prose": True})
    assert not _avoid_hits("`stride=2`이면 {stride}", {"text": "stride", "prose": True})
    assert not _avoid_hits("max_padding 값", {"text": "padding", "prose": True})
    assert not _avoid_hits("배치", {"text": "배치", "sense": "layout"})


def test_glossary_matches_korean_md_shape() -> None:
    assert all({"en", "ko", "avoid"} <= set(term) for term in TERMS)
    assert all("en_pattern" in term for term in TERMS if term.get("require"))
