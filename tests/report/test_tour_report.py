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
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlab", "tour", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
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


@pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
    reason="Debian chromium not installed (CI installs it and never skips this)",
)
def test_report_opens_in_chromium(report: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto((report / "index.html").as_uri())
            page.wait_for_load_state("load")
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => ({src: e.getAttribute('src'), w: e.naturalWidth}))"
            )
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


# their numbers hold wall-clock timings (text-conv: its training seconds, next to round-off errors
# of a float32 check): a fresh run cannot repeat them exactly
TIMED = {"no-grad", "text-conv"}


@pytest.fixture(scope="module")
def rerendered(report: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Korean tour rendered again in English from its numbers.json, into another folder."""
    out = tmp_path_factory.mktemp("rerendered")
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlab", "report", str(report), "--lang", "en", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


KOREAN_DATA = {"text-conv"}  # experiments whose data (and so the tokens they quote) is Korean


def test_report_rerenders_saved_numbers_in_english(
    report: Path, rerendered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text equals a fresh English run with the same (quick, seeded) parameters; figures redrawn."""
    monkeypatch.setenv("CNNLAB_DATA", str(report / "cache"))
    page = (rerendered / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "Nothing was measured again" in page
    saved = json.loads((report / "numbers.json").read_text(encoding="utf-8"))
    again = json.loads((rerendered / "numbers.json").read_text(encoding="utf-8"))
    assert again["experiments"] == saved["experiments"]  # the numbers went through unchanged
    for name, exp in load_all().items():
        text = (rerendered / f"{name}.en.txt").read_text(encoding="utf-8").rstrip("\n")
        hangul = sum("\uac00" <= ch <= "\ud7a3" for ch in text)
        if name in KOREAN_DATA:  # its tokens are Korean reviews; the sentences around them are not
            assert text and hangul < 0.1 * sum(ch.isalpha() for ch in text), name
        else:
            assert text and hangul == 0, name
        assert (rerendered / f"{name}.ko.txt").exists() is False
        for png in report.glob(f"{name}_*.png"):
            assert (rerendered / png.name).stat().st_size > 1000
        if name in TIMED:
            continue
        fresh = exp(exp.make_params(**exp.quick), lang="en")
        assert text == fresh.text("en"), name


def test_report_refuses_a_folder_without_a_tour(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlab", "report", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"No saved tour here: {tmp_path / 'numbers.json'} does not exist" in proc.stderr
    (tmp_path / "numbers.json").write_text("{not json", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlab", "report", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Cannot read the saved tour" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["numbers.json"]  # nothing written


def test_figures_saved_by_worker_processes_equal_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """write_report's parallel path (one spawned process per core) writes the same files: the
    Results rebuilt from their numbers give the same text, JSON and PNG bytes."""
    from cnnlab.report import tour

    entries = tour.run_tour(lang="en", quick=True, only=["padding", "conv-steps", "shapes"])
    written = {}
    for workers in (1, 2):
        monkeypatch.setattr(tour, "render_workers", lambda workers=workers: workers)
        out = tmp_path / f"w{workers}"
        tour.write_report(entries, out, lang="en")
        written[workers] = {p.name: p.read_bytes() for p in out.iterdir()}
    assert written[1].keys() == written[2].keys()
    assert any(name.endswith(".svg") for name in written[2])
    for name, data in written[1].items():
        if not name.endswith(".svg"):  # an SVG holds the time it was written
            assert written[2][name] == data, name
    page = written[2]["index.html"].decode()
    assert page.count("<figure>") == sum(name.endswith(".png") for name in written[2]) > 0


CHEAP = ["padding", "conv-steps", "shapes", "receptive-field"]


def test_experiments_in_worker_processes_equal_one_process() -> None:
    """run_tour's parallel path (forked workers, one torch thread each) returns the entries in
    registry order with the same numbers and text as running them here, and forwards progress."""
    from cnnlab.report import tour

    events: list[dict] = []
    serial = tour.run_tour(lang="en", quick=True, only=CHEAP, workers=1)
    parallel = tour.run_tour(lang="en", quick=True, only=CHEAP, workers=2, callback=events.append)
    assert [e.experiment.name for e in parallel] == [e.experiment.name for e in serial] == CHEAP
    for a, b in zip(serial, parallel, strict=True):
        assert a.result.split_numbers()[0] == b.result.split_numbers()[0], a.experiment.name
        assert a.result.text("en") == b.result.text("en") and a.result.text("ko") == b.result.text(
            "ko"
        )
    started = [e for e in events if e["kind"] == "experiment"]
    assert sorted(e["name"] for e in started) == sorted(CHEAP)
    assert [e["index"] for e in started] == list(range(len(CHEAP)))
    assert events[-1] == {"kind": "done", "total": len(CHEAP)}


def test_jobs_keep_shared_fits_together_costliest_first() -> None:
    from cnnlab.lab.registry import load_all
    from cnnlab.report import tour

    planned = [(exp, None) for exp in load_all().values()]
    jobs = tour._jobs(planned)
    names = [[name for _, name, _ in job] for job in jobs]
    assert ["cnn-vs-fc", "translation"] in names  # they share trained networks: one process
    assert sorted(n for job in names for n in job) == sorted(load_all())
    costs = [sum(tour.RUN_COST.get(n, 1.0) for n in job) for job in names]
    assert costs == sorted(costs, reverse=True)


def test_an_error_in_a_worker_reaches_the_caller_whole(tmp_path: Path) -> None:
    """A DataError raised while a worker measures arrives as the same DataError (key and values,
    so it renders in any language), and no further experiment starts."""
    from cnnlab.errors import DataError
    from cnnlab.report import tour

    empty = {"data": "mnist", "data_dir": str(tmp_path)}  # a folder without MNIST's files
    with pytest.raises(DataError) as caught:
        tour.run_tour(lang="en", only=["pooling", "padding"], data=empty, workers=2)
    assert caught.value.key.startswith("data.")
    for lang in ("en", "ko"):
        assert "mnist" in caught.value.message(lang) and str(tmp_path) in caught.value.message(lang)
