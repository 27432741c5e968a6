"""Catalogs: every message in Korean and English with the same placeholders; language choice."""

from __future__ import annotations

import ast
import pickle
import re
import string
import threading
from functools import cache
from pathlib import Path

import pytest

from cnnlab.errors import ConfigError
from cnnlab.i18n import Msg, MsgList, catalog, get_lang, set_lang, t, use_lang
from cnnlab.i18n.particles import PARTICLES

SRC = Path(__file__).resolve().parents[1] / "src" / "cnnlab"
# Keys built in ways the scan below cannot see (a prefix held in a variable, a key from data):
# regexes, each with the reason. Keep this short; prefer literal keys or f"area.{x}" in code.
DYNAMIC_KEYS: tuple[str, ...] = ()


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
    texts = {"en": "Training {model}", "ko": "{model|을} 학습"}
    monkeypatch.setitem(catalog(), "test.marker", texts)
    assert t("test.marker", "ko", model="mlp") == "mlp를 학습"
    assert t("test.marker", "ko", model="cnn") == "cnn을 학습"
    assert t("test.marker", "en", model="cnn") == "Training cnn"


def test_use_lang_sets_and_restores() -> None:
    set_lang("en")
    with use_lang("ko") as lang:
        assert lang == "ko" and t("cli.error", message="x") == "오류: x"
        with use_lang("en"):
            assert get_lang() == "en"
        assert get_lang() == "ko"
    assert get_lang() == "en"
    with pytest.raises(ConfigError, match="Unknown language 'fr'"), use_lang("fr"):
        pass
    assert get_lang() == "en"


def test_each_thread_has_its_own_language() -> None:
    """Two threads render the same messages at the same time, one in Korean, one in English."""
    barrier = threading.Barrier(2, timeout=10)
    seen: dict[str, list[str]] = {}

    def render(lang: str) -> None:
        set_lang(lang)
        barrier.wait()  # both languages are now set before either renders
        out = [t("cli.error", message="x"), get_lang()]
        barrier.wait()  # and both render before either finishes
        with use_lang(lang):
            out.append(t("cli.error", message="y"))
        seen[lang] = out

    threads = [threading.Thread(target=render, args=(lang,)) for lang in ("ko", "en")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"ko": ["오류: x", "ko", "오류: y"], "en": ["Error: x", "en", "Error: y"]}
    assert get_lang() == "en"  # the main thread never changed


@cache
def _code_keys() -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """String literals in src/, and keys built from a constant prefix turned into patterns.

    ``f"lab.{name}.title"`` becomes ``lab\\.\\w+\\.title`` and ``"lab.x_" + suffix`` becomes
    ``lab\\.x_\\w+``, but only when the prefix starts with a catalog area (``lab.``, ``cli.``, …):
    ``f"{x}.title"`` could be anything and belongs in DYNAMIC_KEYS instead.
    """
    areas = "|".join(sorted({key.split(".")[0] for key in catalog()}))
    keyish = re.compile(rf"(?:{areas})\\\.")
    literals: set[str] = set()
    patterns: set[str] = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parts: set[int] = set()  # constants that are pieces of a built key, not keys themselves
        for node in ast.walk(tree):
            pieces: list[ast.expr] = []
            if isinstance(node, ast.JoinedStr):
                pieces = node.values
            elif (
                isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Add)
                and isinstance(node.left, ast.Constant)
                and isinstance(node.left.value, str)
            ):
                pieces = [node.left, node.right]
            if not pieces:
                continue
            parts.update(id(v) for v in pieces)
            pattern = "".join(
                re.escape(v.value) if isinstance(v, ast.Constant) else r"\w+" for v in pieces
            )
            if keyish.match(pattern) and isinstance(pieces[0], ast.Constant):
                patterns.add(pattern)
        literals.update(
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in parts
        )
    compiled = tuple(re.compile(p) for p in sorted(patterns) + list(DYNAMIC_KEYS))
    return frozenset(literals), compiled


def test_every_key_used_in_code_exists() -> None:
    """A literal that looks like a key of a catalog area (``lab.pool.x``) must be in the catalog."""
    literals, _ = _code_keys()
    areas = sorted({key.split(".")[0] for key in catalog()})
    looks_like_key = re.compile(rf"({'|'.join(areas)})(\.[a-z0-9_]+)+")
    missing = sorted(k for k in literals if looks_like_key.fullmatch(k) and k not in catalog())
    assert not missing, f"keys used in src/ but not in the catalogs: {missing}"


def test_every_dynamic_key_pattern_matches_a_key() -> None:
    _, patterns = _code_keys()
    dead = [p.pattern for p in patterns if not any(p.fullmatch(key) for key in catalog())]
    assert not dead, f"f-string keys in src/ that match no catalog key: {dead}"


def test_no_unused_keys() -> None:
    literals, patterns = _code_keys()
    unused = sorted(
        key
        for key in catalog()
        if key not in literals and not any(p.fullmatch(key) for p in patterns)
    )
    assert not unused, f"catalog keys used nowhere in src/: {unused}"


def test_nested_reason_follows_the_error_language(tmp_path: Path) -> None:
    """A reason made with Msg is re-rendered with its error: English when raised, Korean later."""
    from cnnlab.cli.common import check_out_dir
    from cnnlab.errors import OutputError

    blocker = tmp_path / "blocker"
    blocker.write_text("")
    with pytest.raises(OutputError, match="blocker is not a directory") as info:
        check_out_dir(blocker / "out")
    assert "blocker는 디렉터리가 아닙니다" in info.value.message("ko")
    with use_lang("ko"):
        assert "blocker는 디렉터리가 아닙니다" in info.value.message()
    assert pickle.loads(pickle.dumps(info.value.params["reason"])).key == "error.reason.not_dir"
    assert MsgList([Msg("cli.error", message="a"), "b."]) == "Error: a; b"


def test_errors_pickle_with_key_and_values() -> None:
    """A CnnlabError crosses a process boundary (the tour's workers) as itself: same class, key
    and values, so the parent renders it in any language."""
    from cnnlab.errors import CheckpointError, ConfigError

    for error in (
        ConfigError("error.train_choice", name="optimizer", value="lbfgs", valid="sgd, adamw"),
        CheckpointError("error.ckpt_config", path="/x/checkpoint.json", details="lr"),
    ):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and back.key == error.key and back.params == error.params
        assert back.message("ko") == error.message("ko") and str(back) == str(error)
