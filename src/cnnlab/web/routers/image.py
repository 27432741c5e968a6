"""``POST /api/image``: an uploaded image → the 28×28 input, as ``cnnlab predict`` prepares it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile

from cnnlab.web import views
from cnnlab.web.routers import WITH_LANG, errors
from cnnlab.web.schemas import LIMITS, ImageResponse

router = APIRouter(tags=["draw"], dependencies=WITH_LANG)
ERRORS = errors(413, 415, 422)


@router.post("/image", response_model=ImageResponse, responses=ERRORS)
def image(request: Request, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    data = file.file.read(LIMITS["max_image_bytes"] + 1)  # one byte more tells "too large"
    return views.image(data, LIMITS)
