"""``POST /api/rf``: the input box one feature-map cell sees (its receptive field)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from cnnlab.web import views
from cnnlab.web.routers import WITH_LANG, errors
from cnnlab.web.schemas import RFRequest, RFResponse
from cnnlab.web.state import get_state

router = APIRouter(tags=["draw"], dependencies=WITH_LANG)


@router.post("/rf", response_model=RFResponse, responses=errors(404, 422))
def receptive_field(body: RFRequest, request: Request) -> dict[str, Any]:
    return views.receptive_field(get_state(request), body.model, body.layer, body.y, body.x)
