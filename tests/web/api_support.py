"""Shared pieces of the API tests: an app per module (shipped models, a tiny training budget),
real digits, PNG bytes, an SSE reader. Not a conftest: the browser tests keep their own."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from cnnlab.web.app import create_app
from cnnlab.web.state import ServerConfig

TINY = ServerConfig(train_limit=256, train_max_epochs=2)


def make_app() -> Any:
    return create_app(TINY)


def make_client(app: Any) -> Iterator[TestClient]:
    """For a module fixture: ``yield from make_client(app)``."""
    with TestClient(app) as c:
        yield c


def digits(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The embedded sample's first ``n`` test digits as ``(n, 28, 28)`` in 0..1, and labels."""
    from cnnlab.data import get_dataset

    ds = get_dataset("mnist-sample", train=False)
    return ds.images[:n].astype(np.float64) / 255.0, np.asarray(ds.labels[:n])


def png(a: np.ndarray, mode: str = "L") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(a).convert(mode).save(buf, format="PNG")
    return buf.getvalue()


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """``event:``/``data:`` blocks of a text/event-stream body, comments skipped."""
    events = []
    for block in text.strip().split("\n\n"):
        kind, data = None, None
        for line in block.splitlines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        if kind is not None:
            events.append((kind, data or {}))
    return events


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    """The error body after checking status, shape and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"].strip()
    return dict(body["error"])
