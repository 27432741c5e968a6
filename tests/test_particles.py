"""Korean particles after placeholders: chosen from how the rendered value is read aloud."""

from __future__ import annotations

import pytest

from cnnlab.i18n import _FORMATTER
from cnnlab.i18n.particles import attach, final_sound, particle


@pytest.mark.parametrize(
    ("value", "eul", "ro"),
    [
        # numbers, read in Sino-Korean: the last digit or the unit after trailing zeros
        ("128", "을", "로"),  # 팔: ㄹ takes 로
        ("7", "을", "로"),  # 칠
        ("1", "을", "로"),  # 일
        ("3", "을", "으로"),  # 삼
        ("6", "을", "으로"),  # 육
        ("2", "를", "로"),  # 이
        ("4", "를", "로"),  # 사
        ("5", "를", "로"),  # 오
        ("9", "를", "로"),  # 구
        ("0", "을", "으로"),  # 영
        ("10", "을", "으로"),  # 십
        ("100", "을", "으로"),  # 백
        ("1000", "을", "으로"),  # 천
        ("10000", "을", "으로"),  # 만
        ("100000", "을", "으로"),  # 십만
        ("1000000000000", "를", "로"),  # 조
        ("4,000", "을", "으로"),  # 사천
        ("60,002", "를", "로"),  # 육만 이
        ("0.33", "을", "으로"),  # 영 점 삼삼
        ("0.25", "를", "로"),  # … 오
        ("1e-05", "를", "로"),
        ("-3", "을", "으로"),
        ("50%", "를", "로"),  # 퍼센트
        ("4px", "을", "로"),  # 픽셀
        ("12.5s", "를", "로"),  # 초
        ("2.0×", "를", "로"),  # 배
        # shapes and brackets: the last item inside, or the word before the parenthesis
        ("(1, 3, 26, 26)", "을", "으로"),
        ("[28, 28]", "을", "로"),
        ("'mlp'", "를", "로"),
        ("`conv1`", "을", "로"),
        ("학습률(lr)", "을", "로"),
        ("lenet5", "를", "로"),
        # Latin acronyms letter by letter, words as loanwords
        ("mlp", "를", "로"),  # 엠엘피
        ("MLP", "를", "로"),
        ("cnn", "을", "으로"),  # 씨엔엔
        ("SGD", "를", "로"),  # 에스지디
        ("CIFAR", "을", "로"),  # read letter by letter: 알
        ("x", "를", "로"),  # 엑스
        ("n", "을", "으로"),  # 엔
        ("LeNet", "을", "으로"),  # 르넷
        ("adam", "을", "으로"),  # 아담
        ("relu", "를", "로"),  # 렐루
        ("model", "을", "로"),  # 모델
        ("torch", "를", "로"),  # 토치
        ("deep", "을", "으로"),  # 딥
        ("dropout", "을", "으로"),  # 드롭아웃
        # Hangul: the last syllable's final consonant
        ("모델", "을", "로"),
        ("배치", "를", "로"),
        ("합성곱", "을", "으로"),
        ("특징 맵", "을", "으로"),
        ("3에폭", "을", "으로"),
    ],
)
def test_particle_follows_reading(value: str, eul: str, ro: str) -> None:
    assert particle(value, "을") == particle(value, "를") == eul
    assert particle(value, "로") == particle(value, "으로") == ro


def test_other_pairs() -> None:
    assert attach("128", "가") == "128이" and attach("mlp", "이") == "mlp가"
    assert attach("cnn", "는") == "cnn은" and attach("배치", "은") == "배치는"
    assert attach("10", "와") == "10과" and attach("2", "과") == "2와"
    assert attach("mlp", "이라") == "mlp라" and attach("cnn", "라") == "cnn이라"
    assert attach("128", "이다") == "128이다" and attach("4", "이다") == "4다"
    assert attach("(N, C, H, W)", "이어야") == "(N, C, H, W)여야"
    assert attach("(N, C, H, W, L)", "여야") == "(N, C, H, W, L)이어야"
    assert attach("?", "여야") == "?이어야(여야)"


def test_unknown_reading_gives_the_neutral_form() -> None:
    assert final_sound("") is None and final_sound("→") is None
    assert attach("?", "을") == "?을(를)"
    assert attach("?", "로") == "?(으)로"
    assert attach("?", "이라") == "?(이)라"
    assert attach("?", "가") == "?이(가)"
    with pytest.raises(ValueError, match="unknown particle '의'"):
        particle("x", "의")


def test_template_markers() -> None:
    def fmt(template: str, **params: object) -> str:
        return _FORMATTER.vformat(template, (), params)

    assert fmt("{model|을} 학습합니다", model="mlp") == "mlp를 학습합니다"
    assert fmt("배치 크기 {n|을}", n=128) == "배치 크기 128을"
    assert fmt("{x:.2f|로} 줄었습니다", x=1 / 3) == "0.33으로 줄었습니다"
    assert fmt("{n:,|이}", n=4000) == "4,000이"
    assert fmt("{s!r:|은}", s="cnn") == "'cnn'은"
    assert fmt("{n:|>4}|", n=3) == "|||3|"  # a '|' fill char is not a marker
    assert fmt("{{n|을}} {n}", n=1) == "{n|을} 1"  # escaped braces stay literal
