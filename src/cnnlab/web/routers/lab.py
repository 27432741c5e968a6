"""The lab experiments from the registry: list, text + figure names, figures as PNG."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from cnnlab.web.routers import WITH_LANG, errors
from cnnlab.web.state import get_state

router = APIRouter(prefix="/lab", tags=["lab"], dependencies=WITH_LANG)
Name = Annotated[str, Path(max_length=60, pattern=r"^[A-Za-z0-9_-]+$")]
ERRORS = errors(400, 404, 422)


@router.get("", responses=ERRORS)
def listing(request: Request) -> dict[str, Any]:
    return {"experiments": get_state(request).lab.listing()}


@router.get("/{name}", responses=ERRORS)
def experiment(name: Name, request: Request) -> dict[str, Any]:
    return get_state(request).lab.view(name)


@router.get(
    "/{name}/figures/{figure}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **ERRORS},
)
def figure(name: Name, figure: Name, request: Request) -> Response:
    png = get_state(request).lab.figure(name, figure)
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})
