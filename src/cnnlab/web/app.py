"""The FastAPI app of ``cnnlab serve``: routers under ``/api``, the static page at ``/``.

    create_app(ServerConfig(checkpoint_dir=...))  →  FastAPI

Small on purpose: the routes live in :mod:`cnnlab.web.routers` (one per area), the request and
response shapes in :mod:`cnnlab.web.schemas`, the JSON of library results in
:mod:`cnnlab.web.views`, errors in :mod:`cnnlab.web.errors`.
"""

from __future__ import annotations

import importlib
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from cnnlab import __version__
from cnnlab.web import errors
from cnnlab.web.middleware import WebMiddleware
from cnnlab.web.routers import AREAS
from cnnlab.web.state import AppState, ServerConfig
from cnnlab.web.store import Served, Store, find_checkpoints, load_shipped

STATIC = Path(str(resources.files("cnnlab.web") / "static"))


def create_app(config: ServerConfig | None = None, models: list[Served] | None = None) -> FastAPI:
    """The app. ``models`` defaults to the shipped ones plus those under ``config.checkpoint_dir``
    (found once, here); the skipped checkpoints' reasons are in ``app.state.skipped``."""
    config = config or ServerConfig()
    skipped: list[str] = []
    if models is None:
        models = load_shipped()
        if config.checkpoint_dir is not None:
            found, skipped = find_checkpoints(config.checkpoint_dir)
            models += found
    app = FastAPI(
        title="cnnlab",
        version=__version__,
        description="The local page of cnnlab: docs/web-api.md.",
    )
    app.state.cnnlab = AppState(config, Store(models))
    app.state.skipped = skipped
    errors.install(app)
    for area in AREAS:
        app.include_router(
            importlib.import_module(f"cnnlab.web.routers.{area}").router, prefix="/api"
        )
    app.add_middleware(WebMiddleware, max_body=config.max_body, allowed_hosts=config.allowed_hosts)
    # the page last: every path the API does not match is a file of web/static
    app.mount("/", StaticFiles(directory=STATIC, html=True, check_dir=False), name="static")
    return app


__all__ = ["create_app", "ServerConfig"]
