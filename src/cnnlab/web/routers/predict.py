"""``POST /api/predict`` (the hot path: one drawing → both nets, every map) and ``/api/pool``."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cnnlab.web import views
from cnnlab.web.routers import WITH_LANG, errors
from cnnlab.web.schemas import (
    PoolRequest,
    PoolResponse,
    PredictRequest,
    PredictResponse,
)
from cnnlab.web.state import get_state

router = APIRouter(tags=["draw"], dependencies=WITH_LANG)
ERRORS = errors(404, 413, 422)


@router.post("/predict", response_model=None, responses={200: {"model": PredictResponse}, **ERRORS})
async def predict(body: PredictRequest, request: Request) -> JSONResponse:
    # async on purpose: a few ms of CPU-bound work that holds the GIL anyway runs on the event loop
    # instead of hopping to a worker thread (less switching under 50 concurrent clients).
    # JSONResponse directly: the dict is already JSON types; re-validating it costs the hot path.
    start = time.perf_counter()
    result = views.predict(
        get_state(request), body.array(), body.shift, body.cnn, body.mlp, body.maps
    )
    response = JSONResponse(result)
    ms = (time.perf_counter() - start) * 1000
    response.headers["Server-Timing"] = f"predict;dur={ms:.2f}"  # the work alone (no parsing)
    return response


@router.post("/pool", response_model=PoolResponse, responses=ERRORS)
def pool(body: PoolRequest, request: Request) -> dict:
    return views.pool(
        get_state(request), body.array(), body.shift, body.cnn, body.layer, body.kernel, body.stride
    )
