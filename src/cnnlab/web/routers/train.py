"""Training in the page: start, follow (server-sent events), stop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, StreamingResponse

from cnnlab.web.routers import WITH_LANG, errors
from cnnlab.web.schemas import TrainRequest, TrainStatus
from cnnlab.web.state import get_state

router = APIRouter(prefix="/train", tags=["train"], dependencies=WITH_LANG)
RunId = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
ERRORS = errors(404, 409, 422)
POLL_S = 0.1  # how often the stream looks for new events
HEARTBEAT_S = 10.0  # a comment line keeps proxies and the browser from closing an idle stream


@router.post("", status_code=202, response_model=TrainStatus, responses=ERRORS)
def start(body: TrainRequest, request: Request) -> JSONResponse:
    run = get_state(request).trainer.start(body.model, body.epochs, body.lr, body.seed)
    return JSONResponse(run.status(), status_code=202)


@router.get("/{run_id}", response_model=TrainStatus, responses=ERRORS)
def status(run_id: RunId, request: Request) -> dict[str, Any]:
    return get_state(request).trainer.get(run_id).status()


@router.post("/{run_id}/stop", response_model=TrainStatus, responses=ERRORS)
def stop(run_id: RunId, request: Request) -> dict[str, Any]:
    return get_state(request).trainer.stop(run_id).status()


@router.get(
    "/{run_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **ERRORS},
)
def events(run_id: RunId, request: Request) -> StreamingResponse:
    run = get_state(request).trainer.get(run_id)  # 404 before the stream starts

    async def stream() -> AsyncIterator[str]:
        sent, idle = 0, 0.0
        while True:
            new, finished = run.since(sent)
            for kind, data in new:
                yield f"event: {kind}\ndata: {json.dumps(data)}\n\n"
            sent += len(new)
            if finished and not run.since(sent)[0]:
                return
            if await request.is_disconnected():
                return
            idle = 0.0 if new else idle + POLL_S
            if idle >= HEARTBEAT_S:
                idle = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_S)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )
