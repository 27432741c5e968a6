"""The page in a real browser: Debian chromium driven by Python playwright against a real server.

One `cnnlab serve` on 127.0.0.1 (a free port) for the module; a fresh page per test. Screenshots go
to $CNNLAB_ARTIFACTS (else pytest's tmp dir). The stroke-to-screen time (pointer event → maps
painted) is measured by the page itself (window.__cnnlabTimings) and printed, never asserted.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium (CI installs it)"
)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as res:  # loopback only
        return json.loads(res.read())


def _post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as res:  # loopback only
        return json.loads(res.read())


@pytest.fixture(scope="module")
def _serving(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """`cnnlab serve` started (not yet answering): chromium launches while it imports torch."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cnnlab", "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        yield proc, f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser(_serving: Any) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(_serving: tuple[subprocess.Popen[bytes], str, Path], browser: Any) -> str:
    """The base URL once the server answers /api/meta."""
    proc, base, log = _serving
    deadline = time.monotonic() + 90
    while True:
        try:
            _get(base + "/api/meta?lang=en")
            return base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"cnnlab serve did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("CNNLAB_ARTIFACTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


# Controls a screen reader could not name: no text, no aria-label, no label around or for them.
UNNAMED_CONTROLS = """
[...document.querySelectorAll('button, input, select, [tabindex="0"]')]
  .filter((el) => !(el.textContent.trim() || el.getAttribute('aria-label') || el.closest('label')
                   || (el.id && document.querySelector(`label[for="${el.id}"]`))))
  .map((el) => el.outerHTML.slice(0, 80))
"""


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)


def _predictions(page: Any) -> int:
    return int(page.evaluate("Number(document.body.dataset.predictions || 0)"))


def _wait_prediction(page: Any, after: int) -> None:
    page.wait_for_function(
        f"Number(document.body.dataset.predictions || 0) > {after}", timeout=15_000
    )
    # let the last in-flight request settle (the page sends the newest drawing when one returns)
    page.wait_for_timeout(150)


def _draw_seven(page: Any) -> None:
    """A '7' stroke with the mouse: top bar, then the diagonal down."""
    box = page.locator("#pad").bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    before = _predictions(page)
    page.mouse.move(x + 0.25 * w, y + 0.22 * h)
    page.mouse.down()
    page.mouse.move(x + 0.75 * w, y + 0.22 * h, steps=12)
    page.mouse.move(x + 0.45 * w, y + 0.85 * h, steps=16)
    page.mouse.up()
    _wait_prediction(page, before)


def _hash(page: Any) -> dict[str, str]:
    from urllib.parse import parse_qsl

    page.wait_for_timeout(200)  # the page writes the hash debounced
    return dict(parse_qsl(page.evaluate("location.hash").lstrip("#")))


def _input_pixels(page: Any) -> list[int]:
    """The red channel of the 28×28 input canvas (what the server sent, painted)."""
    return page.evaluate(
        "Array.from(document.querySelector('#input28').getContext('2d')"
        ".getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))"
    )


def test_draw_predict_maps_receptive_field_shift(server: str, page: Any, artifacts: Path) -> None:
    elsewhere: list[str] = []  # offline: every request goes to the server itself
    page.on("request", lambda r: r.url.startswith(server) or elsewhere.append(r.url))
    _open(page, server + "/#lang=en")
    assert page.evaluate("window.__cnnlabMissingStrings") == []
    assert page.evaluate(UNNAMED_CONTROLS) == []
    _draw_seven(page)  # warm-up: the server's first requests import and allocate
    page.locator("#clear").click()
    page.evaluate("window.__cnnlabTimings.length = 0")
    _draw_seven(page)

    # a prediction on both sides, ten probabilities each, summing to 1
    for slot in ("cnn", "mlp"):
        col = page.locator(f"#probs [data-slot='{slot}']")
        assert col.locator(".bar").count() == 10
        pcts = [float(t.rstrip("%")) for t in col.locator(".pct").all_inner_texts()]
        assert abs(sum(pcts) - 100) < 1.0
    assert page.locator("#probs [data-slot='cnn'] .verdict").inner_text().strip()

    # every spatial layer of the CNN, with one canvas per channel
    meta = _get(server + "/api/meta?lang=en")
    layers = meta["layers"]["cnn"]
    assert page.locator("#maps .layer").count() == len(layers)
    first = page.locator("#maps .layer").first
    assert first.locator("canvas").count() == layers[0]["shape"][0]
    assert page.locator("#kernels canvas").count() == layers[0]["shape"][0]

    # stroke-to-screen, as the page measured it
    timings = page.evaluate("window.__cnnlabTimings")
    totals = [t["total"] for t in timings]
    servers = [t["server"] for t in timings if t["server"] is not None]
    print(
        f"\nstroke-to-screen over {len(totals)} updates: "
        f"median {statistics.median(totals):.1f} ms, "
        f"max {max(totals):.1f} ms; requests median "
        f"{statistics.median(t['fetch'] for t in timings):.1f} ms (server "
        f"{statistics.median(servers or [0]):.1f} ms), painting median "
        f"{statistics.median(t['render'] for t in timings):.1f} ms"
    )

    # hover a cell of a deeper layer: the receptive-field box is the API's box
    deep = next(i for i, info in reversed(list(enumerate(layers))) if info["rf"])
    layer = layers[deep]
    cell = page.locator("#maps .layer").nth(deep).locator(".map").first
    cell.scroll_into_view_if_needed()
    cb = cell.bounding_box()
    _, h, w = layer["shape"]
    y, x = h // 2, w // 3
    page.mouse.move(cb["x"] + (x + 0.5) * cb["width"] / w, cb["y"] + (y + 0.5) * cb["height"] / h)
    page.wait_for_selector("#rf-box:not([hidden])", timeout=5_000)
    rf = _post(server + "/api/rf?lang=en", {"model": "cnn", "layer": layer["name"], "y": y, "x": x})
    frame = page.locator(".input-wrap").bounding_box()
    got = page.locator("#rf-box").bounding_box()
    side = frame["width"] / 28
    assert got["x"] - frame["x"] == pytest.approx(rf["box"]["left"] * side, abs=1.5)
    assert got["y"] - frame["y"] == pytest.approx(rf["box"]["top"] * side, abs=1.5)
    assert got["width"] == pytest.approx(
        (rf["box"]["right"] - rf["box"]["left"] + 1) * side, abs=1.5
    )
    assert str(rf["size"][0]) in page.locator("#rf-text").inner_text()
    page.screenshot(path=str(artifacts / "draw-rf.png"))

    # shift right by 3 with the arrow keys: the input moves 3 columns, the URL records it
    before_pixels = _input_pixels(page)
    before = _predictions(page)
    page.evaluate("window.__cnnlabTimings.length = 0")
    page.locator("#pad").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(120)
    page.wait_for_function("location.hash.includes('dx=3')")
    page.wait_for_function(f"Number(document.body.dataset.predictions || 0) > {before}")
    page.wait_for_timeout(400)
    keys = [t["total"] for t in page.evaluate("window.__cnnlabTimings")]
    print(f"key-to-screen (one request, no preparation): median {statistics.median(keys):.1f} ms")
    after_pixels = _input_pixels(page)
    moved = [
        after_pixels[r * 28 + c] == before_pixels[r * 28 + c - 3]
        for r in range(28)
        for c in range(3, 28)
    ]
    assert sum(moved) / len(moved) > 0.99
    assert _hash(page)["dx"] == "3"
    assert elsewhere == []
    page.screenshot(path=str(artifacts / "draw-shifted.png"))


def test_upload_an_image(server: str, page: Any, tmp_path: Path) -> None:
    """A photo-like upload (dark ring on white) goes through the server's MNIST preparation."""
    from PIL import Image, ImageDraw

    path = tmp_path / "zero.png"
    image = Image.new("RGB", (200, 260), "white")
    ImageDraw.Draw(image).ellipse((40, 40, 160, 220), outline="black", width=18)
    image.save(path)
    _open(page, server + "/#lang=en")
    page.set_input_files("#upload", str(path))
    _wait_prediction(page, 0)
    assert page.locator("#probs [data-slot='cnn'] .verdict").get_attribute("data-top") == "0"
    assert len(_hash(page)["d"]) == 784  # the prepared input, shareable
    page.set_input_files("#upload", str(Path(__file__)))  # not an image: the server's sentence
    page.wait_for_function("document.querySelector('#status').textContent.length > 10")
    assert "image" in page.locator("#status").inner_text()


def test_padding_changes_the_output_size(server: str, page: Any, artifacts: Path) -> None:
    from cnnlab.geometry import out_size

    _open(page, server + "/#panel=conv&lang=en&size=7&kernel=3&padding=0")
    page.wait_for_function("document.querySelector('#out-size').textContent.includes('×')")
    assert page.locator("#out-size").inner_text() == f"{out_size(7, 3).out} × 5"
    page.locator("#conv-form input[name='padding']").fill("1")
    page.wait_for_function("document.querySelector('#out-size').textContent.startsWith('7')")
    assert page.locator("#out-size").inner_text() == f"{out_size(7, 3, padding=1).out} × 7"
    assert "7" in page.locator("#formula").inner_text()
    assert _hash(page)["padding"] == "1"

    # the step-by-step trace: the next step moves the window; the arithmetic comes from the engine
    page.wait_for_function("document.querySelector('#step-count').textContent.length > 0")
    first = page.locator("#step-count").inner_text()
    page.locator("#step-next").click()
    page.wait_for_function(f"document.querySelector('#step-count').textContent !== {first!r}")
    assert page.locator("#step-arith table").count() == 3
    page.screenshot(path=str(artifacts / "conv.png"), full_page=True)

    # an impossible combination is explained in words, with no output size
    page.locator("#conv-form input[name='size']").fill("3")
    page.locator("#conv-form input[name='kernel']").fill("7")
    page.locator("#conv-form input[name='padding']").fill("0")
    page.wait_for_function("document.querySelector('#conv-error').textContent.length > 10")
    assert page.locator("#out-size").inner_text() == "—"


def test_training_starts_and_stops(server: str, page: Any) -> None:
    _open(page, server + "/#panel=train&lang=en&epochs=1")
    page.locator("#train-start").click()
    page.wait_for_selector("body[data-train='running']")
    # the first streamed step arrives: progress text and kernels of the first layer
    page.wait_for_function(
        "document.querySelectorAll('#train-kernels canvas').length > 0", timeout=30_000
    )
    assert "loss" in page.locator("#train-status").inner_text()
    page.locator("#train-stop").click()
    page.wait_for_function(
        "['stopped', 'done'].includes(document.body.dataset.train)", timeout=30_000
    )
    assert page.locator("#train-start").is_enabled()


def test_language_toggle_and_shared_url(server: str, page: Any, browser: Any) -> None:
    _open(page, server + "/#lang=en")
    _draw_seven(page)
    verdict = page.locator("#probs [data-slot='cnn'] .verdict").get_attribute("data-top")
    page.locator("[data-lang='ko']").click()
    page.wait_for_function("document.documentElement.lang === 'ko'")
    ko = _get(server + "/api/meta?lang=ko")["strings"]
    assert page.locator("#tab-draw").inner_text() == ko["nav_draw"]
    assert page.locator("[data-i18n='maps_title']").inner_text() == ko["maps_title"]
    assert page.evaluate("window.__cnnlabMissingStrings") == []
    page.locator("#tab-conv").click()
    page.locator("#conv-form input[name='stride']").fill("2")
    page.wait_for_function("location.hash.includes('stride=2')")
    shared = page.url
    state = _hash(page)
    assert state["lang"] == "ko" and state["panel"] == "conv" and len(state["d"]) == 784

    # the link opens as it was: language, panel, knobs and the drawing (same CNN answer)
    other = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    try:
        pg = other.new_page()
        _open(pg, shared)
        assert pg.evaluate("document.documentElement.lang") == "ko"
        assert pg.locator("#panel-conv").is_visible()
        assert pg.locator("#conv-form input[name='stride']").input_value() == "2"
        pg.locator("#tab-draw").click()
        pg.wait_for_function("Number(document.body.dataset.predictions || 0) > 0")
        assert pg.locator("#probs [data-slot='cnn'] .verdict").get_attribute("data-top") == verdict
    finally:
        other.close()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_screenshots(server: str, browser: Any, artifacts: Path, lang: str) -> None:
    """The draw panel at 1280 and 390 px wide with a digit drawn and one receptive field shown
    (the README's pictures: docs/img/web-{en,ko}-{1280,390}.png are copies of these)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    try:
        pg = ctx.new_page()
        _open(pg, f"{server}/#lang={lang}")
        _draw_seven(pg)
        # shifted 5 pixels right: with this drawing the CNN still reads 7 and the MLP does not
        before = _predictions(pg)
        pg.locator("#pad").focus()
        for _ in range(5):
            pg.keyboard.press("ArrowRight")
        pg.wait_for_function("location.hash.includes('dx=5')")
        _wait_prediction(pg, before)
        pg.wait_for_timeout(300)
        # keyboard focus on a map shows its receptive field and survives scrolling back up
        pg.locator("#maps .layer").nth(3).locator(".map").nth(2).focus()
        pg.keyboard.press("ArrowRight")
        pg.wait_for_selector("#rf-box:not([hidden])")
        for width, height in ((1280, 1760), (390, 1640)):
            pg.set_viewport_size({"width": width, "height": height})
            pg.evaluate("window.scrollTo(0, 0)")
            pg.wait_for_timeout(150)
            assert pg.locator("#rf-box").is_visible()
            pg.screenshot(path=str(artifacts / f"web-{lang}-{width}.png"))
        # a phone's width: no panel scrolls sideways
        for panel in ("conv", "pool", "train", "lab", "draw"):
            pg.locator(f"#tab-{panel}").click()
            pg.wait_for_timeout(300)
            assert pg.evaluate("document.documentElement.scrollWidth") <= 390, panel
    finally:
        ctx.close()
