"""Korean particles (조사) chosen from how a rendered value is read aloud.

A Korean particle depends on the last syllable of the word before it: 모델을 but 배치를,
학습률로 but 합성곱으로. After a placeholder the word is only known once the value is formatted, so
catalog templates write ``{name|을}`` (or ``{x:.2f|로}``) and :func:`attach` picks the particle.

How a value is read (its last sound decides):

* Hangul: the last syllable's final consonant (받침); ㄹ is kept apart because it takes 로, not
  으로.
* Numbers in Sino-Korean: the last non-zero digit (영 일 이 삼 사 오 육 칠 팔 구) or, after trailing
  zeros, the unit read last (십 백 천 만 억 조 경): ``128`` 백이십팔 → ㄹ, ``10`` 십 → ㅂ,
  ``100000`` 십만 → ㄴ. Digits after a decimal point are read one by one: ``0.33`` → 삼 → ㅁ.
* A unit after a number is read in Korean: ``%`` 퍼센트, ``px`` 픽셀, ``s`` 초, ``ms`` 밀리초,
  ``x``/``×`` 배, ``KB``/``MB``/``GB`` 바이트.
* Latin letters. An acronym (all capitals, or no vowel letter: ``MLP``, ``cnn``, ``x``) is read
  letter by letter and its last letter's name decides: L 엘 and R 알 end in ㄹ, M 엠 and N 엔 in
  a consonant, every other letter name in a vowel. A word (``LeNet``, ``adam``, ``relu``) is read
  as an English loanword: ``-ng``/``-m``/``-n`` end in a consonant (아담, 패션), ``-l``/``-le`` in
  ㄹ (모델, 심플), ``-k``/``-p``/``-b`` after a vowel letter in a consonant (딥, 랩), the suffixes
  ``-net``/``-put``/``-out`` in ㅅ (르넷, 인풋, 드롭아웃); anything else in a vowel (토치, 렐루,
  필터, 디지트).
* Closing brackets, quotes, backticks and final punctuation are skipped. A value ending in a
  parenthesis with text before it follows that text (Korean attaches the particle to the word
  outside the parentheses: ``학습률(lr)을``); a value that is all parentheses follows its last item
  (``(1, 3, 26, 26)`` → 26 → 육 → 을).
* Anything else (empty, symbols, other scripts) is unknown and gets the neutral written form
  을(를), (으)로, ….
"""

from __future__ import annotations

import re
from typing import Literal

Sound = Literal["vowel", "rieul", "consonant"]

# particle → (after a consonant, after a vowel); ㄹ follows the consonant column except for 로.
_PAIRS: dict[str, tuple[str, str]] = {}
for _cons, _vow in (
    ("을", "를"),
    ("이", "가"),
    ("은", "는"),
    ("과", "와"),
    ("으로", "로"),
    ("이라", "라"),
    ("이다", "다"),
    ("이나", "나"),
    ("이면", "면"),
    ("이어야", "여야"),
):
    _PAIRS[_cons] = _PAIRS[_vow] = (_cons, _vow)
PARTICLES = frozenset(_PAIRS)

_DIGIT: dict[str, Sound] = {  # 영 일 이 삼 사 오 육 칠 팔 구
    "0": "consonant",
    "1": "rieul",
    "2": "vowel",
    "3": "consonant",
    "4": "vowel",
    "5": "vowel",
    "6": "consonant",
    "7": "rieul",
    "8": "rieul",
    "9": "vowel",
}
_SMALL_UNIT: dict[int, Sound] = {1: "consonant", 2: "consonant", 3: "consonant"}  # 십 백 천
_MYRIAD: dict[int, Sound] = {1: "consonant", 2: "consonant", 3: "vowel", 4: "consonant"}  # 만억조경
_UNITS: dict[str, Sound] = {  # after a number, lower-cased
    "%": "vowel",
    "px": "rieul",
    "s": "vowel",
    "ms": "vowel",
    "x": "vowel",
    "×": "vowel",
    "kb": "vowel",
    "mb": "vowel",
    "gb": "vowel",
}
_CLOSERS = " \t\n)]}>'\"`.,;:!?…"
_NUMBER = re.compile(r"(\d[\d,]*)(\.\d+)?$")
_UNIT = re.compile(r"\d\s*(%|px|ms|s|x|×|kb|mb|gb)$", re.IGNORECASE)
_LATIN = re.compile(r"[A-Za-z]+$")


def _hangul(ch: str) -> Sound | None:
    if not "\uac00" <= ch <= "\ud7a3":
        return None
    final = (ord(ch) - 0xAC00) % 28
    return "vowel" if final == 0 else "rieul" if final == 8 else "consonant"


def _number(text: str) -> Sound | None:
    m = _NUMBER.search(text)
    if m is None:
        return None
    if m.group(2):  # decimals are read digit by digit
        return _DIGIT[m.group(2)[-1]]
    digits = m.group(1).replace(",", "").lstrip("0")
    if not digits:
        return _DIGIT["0"]
    zeros = len(digits) - len(digits.rstrip("0"))
    if zeros == 0:
        return _DIGIT[digits[-1]]
    if zeros < 4:
        return _SMALL_UNIT[zeros]
    return _MYRIAD.get(zeros // 4)


def _latin(word: str) -> Sound:
    lower = word.lower()
    if (word.isupper() and len(word) > 1) or not set(lower) & set("aeiou"):
        last = lower[-1]  # letter by letter: the last letter's name
        return "rieul" if last in "lr" else "consonant" if last in "mn" else "vowel"
    if lower.endswith(("ng", "m", "n", "net", "put", "out")):
        return "consonant"
    if lower.endswith("l") or (lower.endswith("le") and lower[-3:-2] not in ("", *"aeiou")):
        return "rieul"
    if lower[-1] in "kpb" and lower[-2:-1] in tuple("aeiouc"):
        return "consonant"
    return "vowel"


def final_sound(value: str) -> Sound | None:
    """How ``value`` ends when read aloud in Korean: vowel, ㄹ, another consonant, or None."""
    text = value.rstrip(_CLOSERS)
    if value.rstrip(" \t\n.,;:!?…").endswith(")") and "(" in text:
        before = text[: text.rindex("(")].rstrip(_CLOSERS)
        if before:  # 학습률(lr) → 학습률
            return final_sound(before)
    if not text:
        return None
    if (sound := _hangul(text[-1])) is not None:
        return sound
    if (unit := _UNIT.search(text)) is not None:
        return _UNITS[unit.group(1).lower()]
    if text[-1].isdigit():
        return _number(text)
    if (latin := _LATIN.search(text)) is not None:
        return _latin(latin.group(0))
    return None


def particle(value: str, which: str) -> str:
    """The form of particle ``which`` (either form: 을 or 를, 으로 or 로, …) that fits ``value``.

    >>> particle("128", "을"), particle("mlp", "을"), particle("0.33", "로"), particle("128", "로")
    ('을', '를', '으로', '로')
    """
    if which not in _PAIRS:
        raise ValueError(f"unknown particle {which!r}; known: {', '.join(sorted(PARTICLES))}")
    cons, vow = _PAIRS[which]
    sound = final_sound(value)
    if sound is None:  # the neutral written form: 을(를), (으)로, (이)라
        return f"({cons[: -len(vow)]}){vow}" if cons.endswith(vow) else f"{cons}({vow})"
    if sound == "vowel" or (sound == "rieul" and cons == "으로"):
        return vow
    return cons


def attach(value: str, which: str) -> str:
    """``value`` and the fitting form of particle ``which``: ``attach("128", "를")`` → 128을."""
    return value + particle(value, which)


__all__ = ["PARTICLES", "attach", "final_sound", "particle"]
