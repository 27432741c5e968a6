"""The main job end to end: `cnnlab tour` writes a report that real headless Chromium renders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.lab.registry import load_all

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tour")
    env = {**os.environ, "CNNLAB_LANG": "ko", "CNNLAB_DATA": str(out / "cache")}
    proc = subprocess.run([sys.executable, "-m", "cnnlab", "tour", "--quick", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "index.html" in proc.stderr
    return out


def test_report_files(report: Path) -> None:
    numbers = json.loads((report / "numbers.json").read_text(encoding="utf-8"))
    assert numbers["lang"] == "ko"
    assert set(numbers["experiments"]) == set(load_all())
    assert numbers["experiments"]["padding"]["padding_shape"] == [1, 3, 28, 28]
    page = (report / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ko">' in page and "측정으로 확인하는 CNN 강의" in page
    assert not list(report.glob("*.part"))


@pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                    reason="Debian chromium not installed (CI installs it and never skips this)")
def test_report_opens_in_chromium(report: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto((report / "index.html").as_uri())
            page.wait_for_load_state("load")
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => ({src: e.getAttribute('src'), w: e.naturalWidth}))")
            expected = sum(1 for _ in report.glob("*.png"))
            assert len(images) == expected > 0
            broken = [img["src"] for img in images if img["w"] == 0]
            assert broken == []
            sections = page.eval_on_selector_all("section h2", "els => els.map(e => e.textContent)")
            assert len(sections) == len(load_all())
            page.screenshot(path=str(report / "screenshot.png"), full_page=False)
        finally:
            browser.close()
    assert (report / "screenshot.png").stat().st_size > 10_000
