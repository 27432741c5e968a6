"""The convolution playground: ``/api/conv/geometry`` and ``/api/conv/trace``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from cnnlab.web import views
from cnnlab.web.routers import WITH_LANG, errors
from cnnlab.web.schemas import (
    GeometryRequest,
    GeometryResponse,
    TraceRequest,
    TraceResponse,
    pixels_array,
)
from cnnlab.web.state import get_state

router = APIRouter(prefix="/conv", tags=["conv"], dependencies=WITH_LANG)
ERRORS = errors(404, 422)


@router.post("/geometry", response_model=GeometryResponse, responses=ERRORS)
def geometry(body: GeometryRequest) -> dict[str, Any]:
    return views.geometry(body.size, body.kernel, body.padding, body.stride, body.dilation)


@router.post("/trace", response_model=TraceResponse, responses=ERRORS)
def trace(body: TraceRequest, request: Request) -> dict[str, Any]:
    pixels = pixels_array(body.pixels) if body.pixels is not None else None
    return views.trace(
        get_state(request),
        pixels,
        body.top,
        body.left,
        body.patch,
        body.kernel,
        body.kernel_size,
        body.padding,
        body.stride,
        body.dilation,
        body.cnn,
    )
