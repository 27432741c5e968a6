"""Click's own words follow ``--lang``: help pages and option-parsing errors in Korean, English
unchanged (cnnlab.cli.click_i18n)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cnnlab.cli import main
from cnnlab.cli.click_i18n import MSGIDS, ntranslate, translate
from cnnlab.i18n import catalog, use_lang

EXPERIMENTS = "basics, cnn-vs-fc, conv-steps"  # the start of the sorted list


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_page_in_korean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--lang", "ko", "shape", "--help")
    assert code == 0
    assert out.startswith("사용법: cnnlab shape [OPTIONS]")
    assert "\n옵션:\n" in out
    assert "[기본값: 28]" in out
    assert "이 도움말을 보여 주고 끝냅니다." in out
    for english in ("Usage:", "Options:", "default:", "Show this message"):
        assert english not in out


def test_group_help_in_korean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--lang", "ko", "--help")
    assert code == 0
    assert "\n명령:\n" in out and "\n옵션:\n" in out
    assert "버전을 보여 주고 끝냅니다." in out
    assert "Commands:" not in out and "Show the version" not in out


def test_help_page_in_english_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    # after a Korean run in the same process: the commands are rebuilt in English
    _run(capsys, "--lang", "ko", "shape", "--help")
    code, out, _ = _run(capsys, "--lang", "en", "shape", "--help")
    assert code == 0
    assert out.startswith("Usage: cnnlab shape [OPTIONS]")
    assert "\nOptions:\n" in out and "[default: 28]" in out
    assert "Show this message and exit." in out
    assert "사용법" not in out and "옵션" not in out


def test_version_in_korean(capsys: pytest.CaptureFixture[str]) -> None:
    from cnnlab import __version__

    assert _run(capsys, "--lang", "ko", "--version")[1] == f"cnnlab 버전 {__version__}\n"
    assert _run(capsys, "--lang", "en", "--version")[1] == f"cnnlab, version {__version__}\n"


@pytest.mark.parametrize(
    ("args", "en", "ko"),
    [
        (
            ["shape", "--input", "x"],
            "Error: Invalid value for '--input': 'x' is not a valid integer.",
            "오류: '--input'의 값이 올바르지 않습니다. 'x'는 올바른 정수가 아닙니다.",
        ),
        (
            ["lab", "pattern", "--noise", "abc"],
            "Error: Invalid value for '--noise': 'abc' is not a valid float.",
            "오류: '--noise'의 값이 올바르지 않습니다. 'abc'는 올바른 실수가 아닙니다.",
        ),
        (
            ["shape", "--bogus"],
            "Error: No such option '--bogus'.",
            "오류: 알 수 없는 옵션 '--bogus'입니다.",
        ),
        (
            ["shape", "--inpu", "3"],
            "Did you mean '--input'?",
            "'--input'을 뜻했나요?",
        ),
        (
            ["report"],
            "Error: Missing argument 'DIR'.",
            "오류: 필요한 인자가 빠졌습니다: 'DIR'.",
        ),
        (
            ["report", "a", "b"],
            "Error: Got unexpected extra argument (b)",
            "오류: 예상하지 못한 인자가 더 있습니다(b)",
        ),
        (
            ["shape", "--input"],
            "Error: Option '--input' requires an argument.",
            "오류: '--input' 옵션에는 값이 하나 필요합니다.",
        ),
        (
            ["conv-steps", "--at", "1"],
            "Error: Option '--at' requires 2 arguments.",
            "오류: '--at' 옵션에는 값이 2개 필요합니다.",
        ),
        (
            ["lab", "stride"],
            f"Error: No such command 'stride'. Valid: {EXPERIMENTS}",
            f"오류: 알 수 없는 명령 'stride'입니다. 가능한 명령은 {EXPERIMENTS}",
        ),
        (
            ["data", "bogus"],
            "Error: No such command 'bogus'. Valid: download, list.",
            "오류: 알 수 없는 명령 'bogus'입니다. 가능한 명령은 download, list입니다.",
        ),
        (
            ["bogus"],
            "Error: No such command 'bogus'. Valid: conv-steps, data",
            "오류: 알 수 없는 명령 'bogus'입니다. 가능한 명령은 conv-steps, data",
        ),
    ],
)
def test_parsing_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], en: str, ko: str
) -> None:
    code, _, err = _run(capsys, "--lang", "en", *args)
    assert code == 2 and en in err and "Traceback" not in err
    usage = "Usage: cnnlab" in err  # click shows the usage for most errors, not all
    assert usage == ("Try 'cnnlab" in err)
    code, _, err = _run(capsys, "--lang", "ko", *args)
    assert code == 2 and ko in err and "Traceback" not in err
    assert usage == ("사용법: cnnlab" in err) == ("도움말은 'cnnlab" in err)
    for english in ("Error:", "Usage:", "Try '", "Invalid value", "No such", "Missing"):
        assert english not in err


@pytest.mark.parametrize("args", [[], ["--lang", "ko"], ["lab"], ["data"]])
def test_bare_command_prints_help(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, err = _run(capsys, *args)
    assert code == 0 and err == ""
    assert "Usage: cnnlab" in out or "사용법: cnnlab" in out


def test_korean_in_a_fresh_process() -> None:
    """The real entry point, as a learner runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlab", "--lang", "ko", "padding", "--index", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "오류: '--index'의 값이 올바르지 않습니다. 'x'는 올바른 정수가 아닙니다." in proc.stderr
    assert "Traceback" not in proc.stderr


def test_translate_only_in_korean() -> None:
    with use_lang("en"):
        assert translate("Usage:") == "Usage:"
        assert ntranslate("a {x}", "b {x}", 2) == "b {x}"
    with use_lang("ko"):
        assert translate("Usage:") == "사용법:"
        assert translate("a msgid click never uses") == "a msgid click never uses"
        assert ntranslate("Got unexpected extra argument ({args})", "x", 1).format(args="a") == (
            "예상하지 못한 인자가 더 있습니다(a)"
        )
        template = translate("{value!r} is not a valid {number_type}.")
        assert template.format(value="12", number_type="integer") == (
            "'12'는 올바른 정수가 아닙니다."
        )
        assert template.format(value="삼", number_type="float") == "'삼'은 올바른 실수가 아닙니다."


def _click_msgids() -> set[str]:
    """Every string literal passed to ``_`` or ``ngettext`` in the installed click's source."""
    found: set[str] = set()
    for path in Path(click.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "ngettext")
            ):
                found.update(
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                )
    return found


def test_msgids_are_clicks_own() -> None:
    """Each msgid is copied from click's source (not guessed), and its English text is click's."""
    # "required" reaches ``_`` through a variable (``_(extra["required"])``), not as a literal
    missing = sorted(set(MSGIDS) - _click_msgids() - {"required"})
    assert not missing, f"not in the installed click: {missing}"
    for msgid, key in MSGIDS.items():
        if msgid in ("Got unexpected extra arguments ({args})",) or "were given" in msgid:
            continue  # a plural sharing the singular's key
        assert catalog()[key]["en"] == msgid, key


@pytest.mark.parametrize(
    ("exc", "en", "ko"),
    [
        (
            FileNotFoundError(2, "No such file or directory"),
            "No such file or directory",
            "파일이나",
        ),
        (PermissionError(13, "Permission denied"), "Permission denied", "권한이 없습니다"),
        (NotADirectoryError(20, "Not a directory"), "Not a directory", "디렉터리가 아닙니다"),
        (OSError(28, "No space left on device"), "No space left on device", "남은 공간이"),
        (
            ValueError("cannot identify image file 'x.png'"),
            "cannot identify image",
            "이미지 파일로",
        ),
    ],
)
def test_os_reasons_in_korean(exc: BaseException, en: str, ko: str) -> None:
    from cnnlab.errors import os_reason

    with use_lang("en"):
        reason = os_reason(exc)
        assert en in str(reason)
    with use_lang("ko"):
        assert ko in str(reason)  # the same Msg, rendered again in Korean


def test_unknown_os_reason_is_kept() -> None:
    from cnnlab.errors import os_reason

    assert os_reason(OSError(9999, "strange failure")) == "strange failure"
    assert os_reason(RuntimeError("")) == "RuntimeError"


def test_output_error_reason_in_korean(tmp_path: Path) -> None:
    """A real OS failure (a file where a folder should be) reads in Korean, errno and all."""
    from cnnlab.errors import OutputError
    from cnnlab.fileio import ensure_out_dir

    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="Not a directory") as info:
        ensure_out_dir(tmp_path / "file" / "sub")
    message = info.value.message("ko")
    assert "디렉터리가 아닙니다" in message and "Not a directory" not in message


def test_path_types_korean_in_messages_english_as_metavars(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    code, _, err = _run(capsys, "--lang", "ko", "lab", "padding", "--out", str(afile))
    assert code == 2
    assert f"'--out'의 값이 올바르지 않습니다. 디렉터리 '{afile}'" in err and "파일입니다." in err
    assert not (tmp_path / "cnnlab-out").exists()
    code, out, _ = _run(capsys, "--lang", "ko", "predict", "--help")
    assert "--checkpoint PATH " in out and "--save-input FILE " in out and "[필수]" in out


def test_korean_help_fits_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """Hangul takes two columns: Korean help wraps at the same width as English."""
    from cnnlab.cli.click_i18n import display_width

    assert display_width("abc") == 3 and display_width("사용법") == 6
    assert display_width("\033[1mab\033[0m") == 2
    for args in (["train", "--help"], ["lab", "pattern", "--help"], ["--help"]):
        widths = {}
        for lang in ("en", "ko"):
            out = _run(capsys, "--lang", lang, *args)[1]
            widths[lang] = max(display_width(line) for line in out.splitlines())
        assert widths["ko"] <= max(widths["en"], 80), (args, widths)
