"""A real uvicorn on 127.0.0.1 (a free port, shut down cleanly), training over server-sent events,
and the `cnnlab serve` command's own checks."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient

from cnnlab.web.encode import q8_decode
from tests.web.api_support import digits, error_of, make_app, make_client, sse


@pytest.fixture(scope="module")
def app() -> Any:
    return make_app()


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[TestClient]:
    yield from make_client(app)


@pytest.fixture(scope="module")
def server(app: Any) -> Iterator[str]:
    """uvicorn serving ``app`` in a thread on 127.0.0.1:<free port>; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()
    assert not thread.is_alive()


def test_real_server_predicts_and_streams_training(server: str) -> None:
    img, label = digits(1)[0][0], int(digits(1)[1][0])
    with httpx.Client(base_url=server, timeout=30, trust_env=False) as http:
        meta = http.get("/api/meta", headers={"Accept-Language": "ko"}).json()
        assert meta["lang"] == "ko"
        r = http.post("/api/predict", json={"pixels": img.tolist()})
        assert r.status_code == 200 and r.json()["cnn"]["top"] == label
        timings = dict(re.findall(r"(\w+);dur=([\d.]+)", r.headers["server-timing"]))
        assert set(timings) == {"predict", "app"}
        assert 0 < float(timings["predict"]) <= float(timings["app"])
        r = http.post("/api/predict", json={"pixels": [[0.0] * 28] * 28, "shift": [99, 0]})
        assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "shift.0"

        run = http.post("/api/train", json={"model": "cnn", "epochs": 1, "seed": 1})
        assert run.status_code == 202, run.text
        run_id = run.json()["id"]
        busy = http.post("/api/train", json={"model": "mlp", "epochs": 1})
        assert busy.status_code in (202, 409)  # 409 unless the tiny run already ended
        with http.stream("GET", f"/api/train/{run_id}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = sse("".join(stream.iter_text()))
        kinds = [k for k, _ in events]
        assert kinds[0] == "start" and kinds[-1] == "end" and "step" in kinds and "epoch" in kinds
        steps = [d for k, d in events if k == "step"]
        assert all(np.isfinite(d["loss"]) and 0 <= d["accuracy"] <= 1 for d in steps)
        first, last = q8_decode(events[0][1]["kernels"]), q8_decode(steps[-1]["kernels"])
        assert first.shape == (8, 1, 3, 3) and not np.allclose(first, last)  # the kernels learned
        end = events[-1][1]
        assert end["state"] == "done" and end["model"] == run_id
        epoch = [d for k, d in events if k == "epoch"][-1]
        assert end["val_accuracy"] == pytest.approx(epoch["val_accuracy"])
        # the trained net is a model the page can use now
        r = http.post("/api/predict", json={"pixels": img.tolist(), "cnn": run_id})
        assert r.status_code == 200 and r.json()["cnn"]["model"] == run_id
        assert any(m["id"] == run_id for m in http.get("/api/meta").json()["models"])


def test_training_stop(client: TestClient, app: Any) -> None:
    trainer = app.state.cnnlab.trainer
    while any(r.state not in ("done", "stopped", "error") for r in trainer._runs.values()):
        time.sleep(0.1)  # the previous test's second run, if it started
    run = client.post("/api/train", json={"model": "mlp", "epochs": 2}).json()
    stopped = client.post(f"/api/train/{run['id']}/stop").json()
    assert stopped["state"] in ("stopping", "stopped", "done")
    with client.stream("GET", f"/api/train/{run['id']}/events") as stream:
        events = sse("".join(stream.iter_text()))
    assert events[-1][0] == "end" and events[-1][1]["state"] in ("stopped", "done")
    status = client.get(f"/api/train/{run['id']}").json()
    assert status["state"] in ("stopped", "done") and status["events"] == len(events)
    error_of(client.get("/api/train/run-999/events"), 404, "not_found")
    error_of(client.post("/api/train/run-999/stop"), 404, "not_found")


def test_serve_warns_for_a_public_host_and_refuses_a_busy_port(capsys) -> None:
    from cnnlab.cli import main
    from cnnlab.cli.serve_cmds import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        # 0.0.0.0 on a port 127.0.0.1 already listens on: the warning, then the port error
        assert main(["serve", "--host", "0.0.0.0", "--port", str(port)]) == 2
        err = capsys.readouterr().err
        assert "Warning: --host 0.0.0.0" in err and f"Port {port}" in err
        assert main(["--lang", "ko", "serve", "--port", str(port)]) == 2
        assert "이미 쓰이고" in capsys.readouterr().err
    assert main(["serve", "--checkpoint", "/no/such/dir"]) == 2
    assert "/no/such/dir" in capsys.readouterr().err


def test_a_loopback_page_answers_only_to_loopback_host_names() -> None:
    from cnnlab.cli.serve_cmds import LOOPBACK_HOSTS
    from cnnlab.web.app import create_app
    from cnnlab.web.middleware import host_name
    from cnnlab.web.state import ServerConfig

    assert host_name("127.0.0.1:8000") == "127.0.0.1" and host_name("[::1]:80") == "::1"
    assert host_name("LocalHost") == "localhost"
    app = create_app(ServerConfig(allowed_hosts=LOOPBACK_HOSTS))
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        r = c.get("/api/meta")
        assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff"
        assert c.get("/api/meta", headers={"Host": "localhost:8000"}).status_code == 200
        err = error_of(
            c.get("/api/meta?lang=ko", headers={"Host": "evil.example:8000"}), 421, "host"
        )
        assert "evil.example" in err["message"] and "127.0.0.1" in err["message"]
        # DNS rebinding is about reading answers: a POST is refused the same way
        r = c.post("/api/train", json={"epochs": 1}, headers={"Host": "rebind.example"})
        assert r.status_code == 421


@pytest.mark.slow  # a fresh interpreter importing torch: ~5-10 s
def test_cnnlab_serve_subprocess_starts_answers_and_stops_on_ctrl_c() -> None:
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "cnnlab", "--lang", "en", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        assert lines[0].startswith("Models: cnn (CNN), mlp (MLP)"), lines
        url = re.search(r"http://127\.0\.0\.1:\d+", lines[1])
        assert url, lines
        with httpx.Client(base_url=url.group(0), timeout=30, trust_env=False) as http:
            assert http.get("/api/meta").json()["models"][0]["id"] == "cnn"
            assert http.get("/").status_code == 200
        proc.send_signal(signal.SIGINT)  # Ctrl+C: uvicorn shuts down cleanly
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_concurrent_requests_keep_their_own_language(server: str) -> None:
    """The language is a ContextVar per request: 40 requests in two languages at once on a real
    server (sync routes in worker threads, the async predict on the event loop) never mix."""
    from concurrent.futures import ThreadPoolExecutor

    def ask(i: int) -> bool:
        lang = ("en", "ko")[i % 2]
        with httpx.Client(base_url=server, timeout=30, trust_env=False) as http:
            geo = http.post(f"/api/conv/geometry?lang={lang}", json={"size": 3, "kernel": 5})
            bad = http.post(
                "/api/predict",
                json={"pixels": [], "shift": [0, 0]},
                headers={"Accept-Language": lang},
            )
        texts = [geo.json()["text"], bad.json()["error"]["message"]]
        korean = [any("\uac00" <= ch <= "\ud7a3" for ch in text) for text in texts]
        return korean == [lang == "ko"] * 2 and geo.headers["content-language"] == lang

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(ask, range(40)))
