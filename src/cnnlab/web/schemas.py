"""Request and response shapes of the API (docs/web-api.md), with their valid ranges.

Every bounded number is declared with :func:`bounded`, which also records the whole range under
the field's name, so a 422 can say "shift: 12 is not valid; valid: -8 … 8" even though Pydantic
reports only the side that failed. Limits the page shows come from :data:`LIMITS`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

FRAME = 28
# Ranges: small on purpose — each bounds the work one request can cause.
LIMITS: dict[str, int] = {
    "max_body_bytes": 2 * 1024 * 1024,  # any request body (JSON or upload)
    "max_image_bytes": 2 * 1024 * 1024,  # an uploaded image file
    "max_image_side": 4096,  # width and height, read from the header before decoding
    "max_image_pixels": 4096 * 4096,  # width × height (Pillow's bomb limit is set to this)
    "shift_max": 8,
    "train_max_epochs": 5,
    "geometry_max_size": 512,
    "geometry_max_kernel": 31,
    "trace_max_patch": 12,
}
RANGES: dict[str, tuple[float, float]] = {}  # field name -> (lo, hi), filled by bounded()


def bounded(name: str, lo: float, hi: float, default: Any = ..., **kw: Any) -> Any:
    """``Field(default, ge=lo, le=hi)`` that also records ``name``'s range for error messages."""
    RANGES[name] = (lo, hi)
    return Field(default, ge=lo, le=hi, **kw)


class Body(BaseModel):
    """Base of every request body: unknown fields are an error (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid")


def pixels_array(pixels: list[Any]) -> np.ndarray:
    """``pixels`` (28 rows of 28, or 784 numbers in 0..1) as float32 ``(28, 28)``, validated.

    Raises PydanticCustomError (a 422 naming ``pixels``) for another shape or a value outside 0..1.
    """
    try:
        a = np.asarray(pixels, dtype=np.float32)
    except (ValueError, TypeError, OverflowError):
        raise PydanticCustomError("pixels_shape", "pixels: 28 rows of 28 numbers, or 784") from None
    if a.shape == (FRAME * FRAME,):
        a = a.reshape(FRAME, FRAME)
    if a.shape != (FRAME, FRAME):
        raise PydanticCustomError(
            "pixels_shape", "pixels: 28 rows of 28 numbers, or 784", {"shape": list(a.shape)}
        )
    if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
        raise PydanticCustomError("pixels_range", "pixels: every value in 0..1")
    return a


Pixels = Annotated[
    list[float | list[float]],
    Field(
        min_length=FRAME,
        max_length=FRAME * FRAME,
        description="28 rows of 28 numbers or 784 numbers, each 0..1 (1 = ink), row 0 at the top",
    ),
]
Shift = tuple[
    Annotated[int, bounded("shift", -LIMITS["shift_max"], LIMITS["shift_max"])],
    Annotated[int, bounded("shift", -LIMITS["shift_max"], LIMITS["shift_max"])],
]
ModelId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
LayerName = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.]+$")]


class Drawing(Body):
    pixels: Pixels
    shift: Shift = (0, 0)

    @field_validator("pixels")
    @classmethod
    def _pixels(cls, v: list[Any]) -> list[Any]:
        pixels_array(v)
        return v

    def array(self) -> np.ndarray:
        """``(28, 28)`` float32 in 0..1."""
        return pixels_array(self.pixels)


class PredictRequest(Drawing):
    cnn: ModelId = "cnn"
    mlp: ModelId = "mlp"
    maps: bool = True


class Q8(BaseModel):
    shape: list[int]
    min: float
    max: float
    data: str = Field(description="base64 of uint8, row-major; value = min + (max-min)*byte/255")


class Prediction(BaseModel):
    model: str
    probs: list[float]
    top: int
    classes: list[str]


class LayerMap(BaseModel):
    name: str
    kind: str
    map: Q8


class PredictResponse(BaseModel):
    input: Q8
    cnn: Prediction
    mlp: Prediction
    layers: list[LayerMap]
    kernels: Q8 | None


class ImageResponse(BaseModel):
    pixels: list[list[float]]
    inverted: bool
    ink: bool
    original: dict[str, Any]
    steps: list[dict[str, Any]]


class GeometryRequest(Body):
    size: int = bounded("size", 1, LIMITS["geometry_max_size"])
    kernel: int = bounded("kernel", 1, LIMITS["geometry_max_kernel"])
    padding: int | Literal["same", "valid"] = 0
    stride: int = bounded("stride", 1, 31, 1)
    dilation: int = bounded("dilation", 1, 16, 1)

    @field_validator("padding")
    @classmethod
    def _padding(cls, v: int | str) -> int | str:
        if isinstance(v, int) and not 0 <= v <= 31:
            raise PydanticCustomError("padding_range", "padding: 0 … 31, 'same' or 'valid'")
        return v


class GeometryResponse(BaseModel):
    ok: bool
    out: int | None
    formula: str | None
    padded: int | None = None
    span: int | None = None
    leftover: int | None = None
    pads: list[int] | None = None
    unseen: list[int] = []
    text: str


class TraceRequest(Body):
    pixels: Pixels | None = None
    top: int = bounded("top", 0, FRAME - 1, 10)
    left: int = bounded("left", 0, FRAME - 1, 10)
    patch: int = bounded("patch", 3, LIMITS["trace_max_patch"], 7)
    kernel: str = Field(
        "edge_v", pattern=r"^(edge_v|edge_h|blur|sharpen|guide|cnn:\d{1,3})$", max_length=8
    )
    kernel_size: int = bounded("kernel_size", 1, 5, 3)
    padding: int = bounded("trace_padding", 0, 4, 0)
    stride: int = bounded("trace_stride", 1, 4, 1)
    dilation: int = bounded("trace_dilation", 1, 3, 1)
    cnn: ModelId = "cnn"

    @field_validator("pixels")
    @classmethod
    def _pixels(cls, v: list[Any] | None) -> list[Any] | None:
        if v is not None:
            pixels_array(v)
        return v


class TraceStep(BaseModel):
    position: list[int]
    rows: list[int]
    cols: list[int]
    window: list[list[float]]
    is_padding: list[list[bool]]
    products: list[list[float]]
    total: float
    bias: float
    value: float


class TraceResponse(BaseModel):
    input: list[list[float]]
    kernel: list[list[float]]
    output: list[list[float]]
    geometry: dict[str, Any]
    source: dict[str, Any]
    steps: list[TraceStep]


class RFRequest(Body):
    model: ModelId = "cnn"
    layer: LayerName
    y: int = bounded("y", 0, 511)
    x: int = bounded("x", 0, 511)


class RFResponse(BaseModel):
    layer: str
    unit: list[int]
    box: dict[str, int]
    size: list[int]
    jump: list[int]
    image: list[int]


class PoolRequest(Drawing):
    cnn: ModelId = "cnn"
    layer: LayerName
    kernel: int = bounded("pool_kernel", 1, 4, 2)
    stride: int | None = bounded("pool_stride", 1, 4, None)


class PoolResponse(BaseModel):
    layer: str
    input: Q8
    max: Q8
    avg: Q8


class TrainRequest(Body):
    model: Literal["cnn", "mlp"] = "cnn"
    epochs: int = bounded("epochs", 1, LIMITS["train_max_epochs"], 2)
    lr: float | None = bounded("lr", 1e-4, 1.0, None)
    seed: int = bounded("seed", 0, 2**31 - 1, 0)


class TrainStatus(BaseModel):
    id: str
    state: str
    epochs: int
    events: int


class ErrorField(BaseModel):
    field: str
    message: str
    valid: str | None = None
    got: Any = None


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[ErrorField] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


__all__ = [
    "LIMITS",
    "RANGES",
    "bounded",
    "pixels_array",
    "PredictRequest",
    "PredictResponse",
    "ImageResponse",
    "GeometryRequest",
    "GeometryResponse",
    "TraceRequest",
    "TraceResponse",
    "RFRequest",
    "RFResponse",
    "PoolRequest",
    "PoolResponse",
    "TrainRequest",
    "TrainStatus",
    "ErrorResponse",
]
