"""Arrays on the wire: uint8 quantisation with the range, base64 (``Q8`` in docs/web-api.md).

A 28×28 conv map of 8 channels is 6,272 floats: 25 KB as JSON numbers, 8.4 KB as Q8 base64. The
page only colours the maps, so 256 levels per layer lose nothing it can show::

    value ≈ min + (max - min) · byte / 255
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np


def q8(a: np.ndarray) -> dict[str, Any]:
    """``{"shape", "min", "max", "data"}`` for any real array (non-finite values become ``min``)."""
    a = np.asarray(a, dtype=np.float32)
    finite = np.isfinite(a)
    if not finite.all():
        a = np.where(finite, a, np.float32(np.nanmin(a[finite])) if finite.any() else 0.0)
    lo = float(a.min()) if a.size else 0.0
    hi = float(a.max()) if a.size else 0.0
    span = hi - lo
    if span > 0:
        b = np.rint((a - lo) * (255.0 / span)).astype(np.uint8)
    else:
        b = np.zeros(a.shape, np.uint8)
    return {
        "shape": list(a.shape),
        "min": lo,
        "max": hi,
        "data": base64.b64encode(b.tobytes()).decode("ascii"),
    }


def q8_decode(q: dict[str, Any]) -> np.ndarray:
    """The inverse of :func:`q8` (float32, up to half a level off): for tests and clients."""
    b = np.frombuffer(base64.b64decode(q["data"]), np.uint8).astype(np.float32)
    span = float(q["max"]) - float(q["min"])
    return (float(q["min"]) + b * (span / 255.0)).reshape(q["shape"])


__all__ = ["q8", "q8_decode"]
