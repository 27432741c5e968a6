"""``POST /api/predict`` (the hot path: one drawing → both nets, every map) and ``/api/pool``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cnnlab.web import views
from cnnlab.web.routers import WITH_LANG
from cnnlab.web.schemas import (
    ErrorResponse,
    PoolRequest,
    PoolResponse,
    PredictRequest,
    PredictResponse,
)
from cnnlab.web.state import get_state

router = APIRouter(tags=["draw"], dependencies=WITH_LANG)
ERRORS = {
    404: {"model": ErrorResponse},
    413: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}


@router.post("/predict", response_model=None, responses={200: {"model": PredictResponse}, **ERRORS})
def predict(body: PredictRequest, request: Request) -> JSONResponse:
    # JSONResponse directly: the dict is already JSON types; re-validating it costs the hot path
    result = views.predict(
        get_state(request), body.array(), body.shift, body.cnn, body.mlp, body.maps
    )
    return JSONResponse(result)


@router.post("/pool", response_model=PoolResponse, responses=ERRORS)
def pool(body: PoolRequest, request: Request) -> dict:
    return views.pool(
        get_state(request), body.array(), body.shift, body.cnn, body.layer, body.kernel, body.stride
    )
