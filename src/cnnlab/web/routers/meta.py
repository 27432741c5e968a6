"""``GET /api/meta``: what the page needs before it draws anything."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from cnnlab.i18n import LANGS, catalog, get_lang, t
from cnnlab.web import views
from cnnlab.web.routers import WITH_LANG
from cnnlab.web.schemas import LIMITS
from cnnlab.web.state import get_state

router = APIRouter(tags=["meta"], dependencies=WITH_LANG)


def ui_strings() -> dict[str, str]:
    """Every ``web.ui.*`` catalog message in the language in force, keyed without the prefix."""
    names = [key.removeprefix("web.ui.") for key in catalog() if key.startswith("web.ui.")]
    return {name: t(f"web.ui.{name}") for name in names}


@router.get("/meta")
def meta(request: Request) -> dict[str, Any]:
    state = get_state(request)
    models = state.store.all()
    return {
        "lang": get_lang(),
        "langs": list(LANGS),
        "models": [m.describe() for m in models],
        "layers": {m.id: views.layers(state, m) for m in models if m.spatial},
        "experiments": state.lab.listing(),
        "strings": ui_strings(),
        "limits": dict(
            LIMITS,
            train_max_epochs=state.config.train_max_epochs,
            max_body_bytes=state.config.max_body,
        ),
    }
