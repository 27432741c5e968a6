"""Any image file → the 28×28 grayscale input the MNIST-family models expect, step by step.

The steps follow MNIST's own preparation (LeCun et al.): digits are light on dark, fit in a 20×20
box with their aspect ratio kept, and are centred by centre of mass in a 28×28 frame::

    open (any size, mode) → EXIF-rotate → flatten alpha onto white → grayscale "L"
      → invert if the background is light → crop to the ink's bounding box
      → resize longest side to 20 px → paste into 28×28 centred on the centre of mass

Each intermediate image is kept in :class:`Prepared.steps` so faces can show or save them. Opening
is guarded: not-an-image, unreadable, and decompression-bomb files raise DataError before any pixel
buffer is allocated.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnlab.errors import DataError, os_reason
from cnnlab.models.flip import predict_logits

FRAME = 28  # MNIST canvas
BOX = 20  # MNIST's digit box inside the canvas
INK_THRESHOLD = 30  # pixel values above this (after inversion) count as ink for the bounding box


@dataclass
class Prepared:
    """The model input ``pixels`` (uint8 ``(28, 28)``) and the named intermediate images."""

    pixels: np.ndarray
    steps: list[tuple[str, Image.Image]] = field(default_factory=list)
    inverted: bool = False
    original_size: tuple[int, int] = (0, 0)
    original_mode: str = ""
    ink: bool = True  # False: no pixel darker than the paper (blank, uniform or 1×1 image)

    def describe(self) -> list[dict[str, Any]]:
        """``[{"step": name, "size": [w, h], "mode": mode}, …]`` — JSON-able."""
        return [
            {"step": name, "size": list(img.size), "mode": img.mode} for name, img in self.steps
        ]

    def ascii(self, width: int = FRAME) -> str:
        """The 28×28 result as text (two rows per line keeps the aspect ratio in a terminal)."""
        ramp = " .:-=+*#%@"
        rows = self.pixels.reshape(FRAME // 2, 2, FRAME).mean(axis=1)  # (14, 28)
        return "\n".join(
            "".join(ramp[min(int(v) * len(ramp) // 256, len(ramp) - 1)] for v in row)
            for row in rows
        )


def open_image(path: str | os.PathLike[str]) -> Image.Image:
    """Open and fully decode ``path``, turning every failure into a DataError.

    PIL checks ``Image.MAX_IMAGE_PIXELS`` from the header before decoding; we also promote its
    warning (between 1× and 2× the limit) to an error, so no oversized buffer is ever allocated.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError("error.image_missing", path=str(p))
    return _decode(p, str(p))


def open_image_bytes(
    data: bytes, name: str, max_side: int | None = None, max_pixels: int | None = None
) -> Image.Image:
    """:func:`open_image` for bytes in memory (a web upload named ``name``), with optional
    tighter limits: width and height ≤ ``max_side`` and width·height ≤ ``max_pixels``, both read
    from the header before any pixel is decoded (DataError ``error.image_too_big``)."""
    return _decode(io.BytesIO(data), name, max_side, max_pixels)


def _decode(
    source: Path | io.BytesIO,
    label: str,
    max_side: int | None = None,
    max_pixels: int | None = None,
) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as img:
                w, h = img.size
                if (max_side is not None and max(w, h) > max_side) or (
                    max_pixels is not None and w * h > max_pixels
                ):
                    raise DataError(
                        "error.image_too_big",
                        path=label,
                        size=f"{w}×{h}",
                        side=max_side or "-",
                        pixels=f"{max_pixels or 0:,}",
                    )
                img.load()
                return img.copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        pixels = _header_pixels(source)
        raise DataError(
            "error.image_bomb", path=label, pixels=pixels, limit=Image.MAX_IMAGE_PIXELS
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError("error.image_invalid", path=label, reason=os_reason(exc)) from exc


def _header_pixels(path: Path | io.BytesIO) -> str:
    """Width×height from the header only (bomb check disabled just for reading the size)."""
    saved = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = None
        if isinstance(path, io.BytesIO):
            path.seek(0)
        with Image.open(path) as img:
            return f"{img.width}×{img.height} = {img.width * img.height:,}"
    except Exception:  # the size is only decoration for the message
        return "?"
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def prepare(img: Image.Image, invert: bool | None = None) -> Prepared:
    """Run the MNIST preparation on ``img``; ``invert=None`` decides from the border brightness."""
    prep = Prepared(
        np.zeros((FRAME, FRAME), np.uint8), original_size=img.size, original_mode=img.mode
    )
    prep.steps.append(("original", img))
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)  # transparent = paper, not black ink
    gray = img.convert("L")
    prep.steps.append(("grayscale", gray))
    a = np.asarray(gray, dtype=np.uint8)
    if invert is None:
        # the border is background: a light border means dark ink on paper → invert to MNIST's
        border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
        invert = float(border.mean()) > 127
    if invert:
        a = 255 - a
        prep.steps.append(("inverted", Image.fromarray(a)))
    prep.inverted = bool(invert)
    ys, xs = np.nonzero(a > INK_THRESHOLD)
    prep.ink = bool(len(ys))
    if len(ys):
        a = a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]  # (h, w) tight box around the ink
        prep.steps.append(("cropped", Image.fromarray(a)))
    h, w = a.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(a).resize(size, Image.Resampling.LANCZOS), dtype=np.float64)
    prep.steps.append(("resized", Image.fromarray(small.astype(np.uint8))))
    total = small.sum()
    if total > 0:  # centre of mass → frame centre, as MNIST does
        cy = (small.sum(1) * np.arange(small.shape[0])).sum() / total
        cx = (small.sum(0) * np.arange(small.shape[1])).sum() / total
    else:
        cy, cx = (small.shape[0] - 1) / 2, (small.shape[1] - 1) / 2
    top = int(np.clip(round(FRAME / 2 - 0.5 - cy), 0, FRAME - small.shape[0]))
    left = int(np.clip(round(FRAME / 2 - 0.5 - cx), 0, FRAME - small.shape[1]))
    frame = np.zeros((FRAME, FRAME), np.float64)
    frame[top : top + small.shape[0], left : left + small.shape[1]] = small
    prep.pixels = np.clip(frame, 0, 255).round().astype(np.uint8)
    prep.steps.append(("centered 28x28", Image.fromarray(prep.pixels)))
    return prep


@torch.no_grad()
def predict(
    model: torch.nn.Module, preprocess: Any, prepared: Prepared, classes: list[str]
) -> list[dict[str, Any]]:
    """Class probabilities for one prepared image, best first: ``[{"class", "index", "prob"}]``."""
    x = torch.from_numpy(prepared.pixels).to(torch.float32).div_(255.0).view(1, 1, FRAME, FRAME)
    return ranked_classes(model, preprocess, x, classes)


@torch.no_grad()
def ranked_classes(
    model: torch.nn.Module, preprocess: Any, x: torch.Tensor, classes: list[str]
) -> list[dict[str, Any]]:
    """The model's class probabilities for one image ``x (1, C, H, W)`` in [0, 1], best first:
    ``[{"class", "index", "prob"}]`` — standardised as in training, flip-averaged for a model
    marked ``test_flip`` (:mod:`cnnlab.models.flip`). Leaves the model in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    logits = predict_logits(model, preprocess.apply(x).to(device))
    probs = torch.softmax(logits.float(), dim=1)[0].cpu()
    names = classes or [str(i) for i in range(len(probs))]
    return [
        {"class": names[i] if i < len(names) else str(i), "index": i, "prob": float(probs[i])}
        for i in probs.argsort(descending=True).tolist()
    ]


__all__ = [
    "Prepared",
    "open_image",
    "open_image_bytes",
    "prepare",
    "predict",
    "ranked_classes",
    "FRAME",
]
