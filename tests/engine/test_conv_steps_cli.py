"""``cnnlab conv-steps``: the worked example's tables, both languages, real digits, and exit code 2
with the size formula for impossible hyperparameters."""

from __future__ import annotations

import re

import pytest

from cnnlab.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["conv-steps", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_default_example_is_5x5_by_3x3(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys)
    assert code == 0
    assert "Input 5×5, padding 0" in out and "Kernel 3×3" in out
    assert "H_out = (5 + 2*0 - 3) // 1 + 1 = 3" in out
    assert "sum = 3*0 + 2*1 + 2*2 + 0*2 + 0*2 + 0*0 + 2*0 + 3*1 + 2*2 = 13" in out
    assert out.count("Output (") == 9  # every cell of the 3×3 output is explained
    assert re.search(r"Output 3×3 .*\n  13 10 11\n  16 16 22\n  22 16 18", out)


def test_padding_stride_dilation_and_limit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "--input-size",
        "6",
        "--padding",
        "1",
        "--stride",
        "2",
        "--dilation",
        "2",
        "--limit",
        "1",
    )
    assert code == 0
    assert "H_out = (6 + 2*1 - 5) // 2 + 1 = 2" in out
    assert "rows -1..3, columns -1..3" in out  # dilation 2 spreads the 3×3 kernel over 5 rows
    assert "3 more output cells" in out
    code, out, _ = run(capsys, "--padding", "1", "--at", "0", "0")
    assert out.count("Output (") == 1 and "[0]" in out


def test_korean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--lang", "ko", "--limit", "1")
    assert code == 0
    assert "입력 5×5" in out and "원소별 곱" in out and "합 = " in out


def test_real_digit_patch(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--image", "mnist-sample", "--index", "3", "--input-size", "8", "--at", "2", "2"
    )
    assert code == 0
    assert "centre 8×8 patch of mnist-sample (test) image #3" in out
    assert "Output 6×6" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--kernel-size", "9"],
            r"kernel spans 9 cells .*padded input is only 5 .*Formula: out = \(in \+ 2\*padding",
        ),
        (
            ["--stride", "0"],
            r"stride=0 is invalid; it must be an integer >= 1.*out = \(in \+ 2\*padding",
        ),
        (["--dilation", "3"], r"kernel spans 7 cells \(kernel 3, dilation 3\)"),
        (["--image", "mnist-sample", "--index", "99999"], r"--index 99999 is out of range"),
        (
            ["--image", "mnist-sample", "--input-size", "40"],
            r"--input-size 40 is larger than the 28×28 image",
        ),
        (
            ["--at", "3", "0"],
            r"position \(0, 0, 3, 0\) is outside the output of shape \(1, 1, 3, 3\)",
        ),
        (["--image", "no-such-set"], r"no-such-set"),
    ],
)
def test_invalid_hyperparameters_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert re.search(message, err)
    assert "Traceback" not in err


def test_error_in_korean(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--lang", "ko", "--kernel-size", "9")
    assert code == 2
    assert "커널이 너무 큽니다" in err and "공식: out = " in err


def test_json_and_out(capsys: pytest.CaptureFixture[str], tmp_path, monkeypatch) -> None:
    import json

    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "--image", "mnist-sample", "--input-size", "6", "--json")
    assert code == 0 and list(tmp_path.iterdir()) == []  # prints only: no --out, no files
    numbers = json.loads(out)
    assert numbers["dataset"] == "mnist-sample" and len(numbers["output"]) == 4
    assert numbers["steps_match_output"] is True and numbers["torch_max_abs_diff"] == 0
    code, out, _ = run(capsys, "--limit", "1", "--out", str(tmp_path / "cs"))
    assert code == 0 and "sum = " in out
    assert sorted(p.name for p in (tmp_path / "cs").iterdir()) == [
        "conv-steps.en.txt",
        "conv-steps.json",
        "conv-steps_step.png",
        "conv-steps_step.svg",
    ]


def test_help_lists_the_old_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for option in (
        "--input-size",
        "--kernel-size",
        "--padding",
        "--stride",
        "--dilation",
        "--bias",
        "--image",
        "--index",
        "--limit",
        "--at I J",
        "--json",
        "--out",
    ):
        assert option in out
