"""scripts/readme_tables.py: the marked blocks are regenerated from a run_all JSON, the rest of the
file is untouched, and bad markers are errors naming the line."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _module():
    spec = importlib.util.spec_from_file_location(
        "readme_tables", ROOT / "scripts/readme_tables.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


DATA = {
    "started": "2026-12-02T10:00:00+0000",
    "load_avg_before": [0.4, 0.3, 0.2],
    "load_avg_after": [1.1, 0.5, 0.3],
    "environment": {"processor": "CPU", "cpus": 2, "python": "3.11", "torch": "2", "numpy": "2"},
    "benchmarks": {
        "engine": {
            "command": "python benchmarks/engine_vs_torch.py --threads 1",
            "load_avg_start": 0.4,
            "load_avg_end": 0.9,
            "wall_seconds": 40.0,
            "returncode": 0,
            "result": {
                "threads": 1,
                "dtype": "float32",
                "repeats": 30,
                "blas": [{"internal_api": "openblas", "version": "0.3", "architecture": "Haswell"}],
                "openblas_env": {},
                "cases": [
                    {
                        "case": "conv2d",
                        "engine_median_ms": 12.0,
                        "torch_median_ms": 9.0,
                        "ratio_median": 12 / 9,
                        "ratio_min": 1.2,
                    }
                ],
            },
        },
        "web": {"skipped": "benchmarks/serve_load.py not present"},
    },
}

MD = """# Title
intro stays
<!-- bench:engine -->
old table
<!-- /bench:engine -->
between stays
<!-- bench:web -->
<!-- /bench:web -->
<!-- bench:tour -->
<!-- /bench:tour -->
end stays
"""


def test_blocks_regenerated_rest_untouched(capsys):
    rt = _module()
    new, changed = rt.rewrite(MD, DATA, "README.md")
    assert changed == ["engine", "web", "tour"]
    assert "old table" not in new and "**1.33×**" in new and "openblas 0.3 kernel Haswell" in new
    assert "load average 0.40 → 0.90" in new
    assert "_skipped: benchmarks/serve_load.py not present_" in new
    assert "_not measured in this run" in new  # tour absent from this JSON
    for kept in ("# Title\nintro stays\n", "between stays", "end stays\n"):
        assert kept in new
    assert "-old table" in capsys.readouterr().out  # the diff is printed
    again, changed_again = rt.rewrite(new, DATA, "README.md")
    assert again == new and changed_again == []  # idempotent


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("<!-- bench:nope -->\n<!-- /bench:nope -->", r"README.md:1: unknown table bench:nope"),
        ("a\n<!-- bench:engine -->\n", r"README.md:2: bench:engine is never closed"),
        ("<!-- /bench:engine -->", r"README.md:1: /bench:engine closes nothing"),
    ],
)
def test_bad_markers(text, match):
    with pytest.raises(SystemExit, match=match):
        _module().rewrite(text, DATA, "README.md")


def test_cli_writes_file_and_check_mode(tmp_path):
    rt = _module()
    (tmp_path / "out.json").write_text(json.dumps(DATA))
    md = tmp_path / "README.md"
    md.write_text(MD)
    import sys

    argv = sys.argv
    try:
        sys.argv = ["readme_tables.py", str(tmp_path / "out.json"), str(md), "--check"]
        assert rt.main() == 1 and md.read_text() == MD  # --check changes nothing
        sys.argv = sys.argv[:3]
        assert rt.main() == 0 and "**1.33×**" in md.read_text()
        sys.argv = [*sys.argv, "--check"]
        assert rt.main() == 0  # up to date now
    finally:
        sys.argv = argv
