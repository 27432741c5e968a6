"""Library results → the JSON of docs/web-api.md. Nothing is computed here that the library does
not compute: shifts come from ``lab.translation``, forward passes and maps from ``inspect.probe``,
receptive fields from ``inspect.receptive_field``, output sizes from ``geometry``, the step-by-step
convolution from the engine's trace, pooling from the engine, image preparation from
``train.predict``. This module only picks, converts and rounds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.errors import CnnlabError
from cnnlab.i18n import t
from cnnlab.web.encode import q8
from cnnlab.web.errors import WebError
from cnnlab.web.schemas import FRAME

if TYPE_CHECKING:
    import torch
    from torch import nn

    from cnnlab.web.state import AppState
    from cnnlab.web.store import Served


def drawing_tensor(pixels: np.ndarray, shift: tuple[int, int]) -> torch.Tensor:
    """``(28, 28)`` in 0..1 → ``(1, 1, 28, 28)`` float32, moved ``dx`` right and ``dy`` down."""
    import torch

    from cnnlab.lab.translation import shift_images

    x = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)).view(1, 1, FRAME, FRAME)
    dx, dy = shift
    return shift_images(x, dy, dx) if (dx or dy) else x


def _run(served: Served, x: torch.Tensor, with_maps: bool) -> Any:
    from cnnlab.inspect.probe import probe

    with served.lock:  # hooks on a shared module: one forward at a time per model
        return probe(served.model, served.preprocess.apply(x), with_maps=with_maps)


def _prediction(served: Served, probs: np.ndarray) -> dict[str, Any]:
    return {
        "model": served.id,
        "probs": [round(float(p), 5) for p in probs],
        "top": int(np.argmax(probs)),
        "classes": served.classes,
    }


def predict(
    state: AppState,
    pixels: np.ndarray,
    shift: tuple[int, int],
    cnn_id: str,
    mlp_id: str,
    maps: bool,
) -> dict[str, Any]:
    cnn = state.model(cnn_id, "cnn")
    mlp = state.model(mlp_id)
    x = drawing_tensor(pixels, shift)
    p_cnn = _run(cnn, x, maps)
    p_mlp = _run(mlp, x, False)
    return {
        "input": q8(x[0, 0].numpy()),
        "cnn": _prediction(cnn, p_cnn.probs),
        "mlp": _prediction(mlp, p_mlp.probs),
        "layers": [{"name": m.name, "kind": m.kind, "map": q8(m.values)} for m in p_cnn.maps],
        "kernels": q8(p_cnn.kernels) if p_cnn.kernels is not None else None,
    }


def layer_map(state: AppState, served: Served, x: torch.Tensor, layer: str) -> Any:
    """The map ``(C, H, W)`` of ``layer`` for input ``x`` (404 naming the valid layers)."""
    maps = _run(served, x, True).maps
    for m in maps:
        if m.name == layer:
            return m
    raise WebError(
        404,
        "not_found",
        "web.error.unknown_layer",
        layer=layer,
        valid=", ".join(m.name for m in maps),
    )


def pool(
    state: AppState,
    pixels: np.ndarray,
    shift: tuple[int, int],
    cnn_id: str,
    layer: str,
    kernel: int,
    stride: int | None,
) -> dict[str, Any]:
    from cnnlab.engine.pool import avg_pool2d, max_pool2d

    served = state.model(cnn_id, "cnn")
    m = layer_map(state, served, drawing_tensor(pixels, shift), layer)
    x = m.values[None].astype(np.float64)  # (1, C, H, W)
    return {
        "layer": layer,
        "input": q8(m.values),
        "max": q8(max_pool2d(x, kernel, stride)[0]),
        "avg": q8(avg_pool2d(x, kernel, stride)[0]),
    }


def conv_stack(model: nn.Module) -> tuple[str, Any] | None:
    """``(prefix, nn.Sequential)`` of the model's conv stack — its ``features`` — or None."""
    from torch import nn

    stack = getattr(model, "features", None)
    return ("features.", stack) if isinstance(stack, nn.Sequential) else None


def layer_fields(model: nn.Module) -> dict[str, Any]:
    """Qualified layer name → LayerRF of the last geometric layer at or before it (element-wise
    layers keep the field of the layer before them)."""
    from cnnlab.inspect.receptive_field import receptive_fields

    found = conv_stack(model)
    if found is None:
        return {}
    prefix, stack = found
    try:
        rows = receptive_fields(stack, (FRAME, FRAME))
    except CnnlabError:
        return {}  # a stack with layers that have no field in this sense (Linear, ceil_mode)
    by_index = {r.index: r for r in rows}
    out, current = {}, None
    for i in range(len(stack)):
        current = by_index.get(i, current)
        if current is not None:
            out[f"{prefix}{i}"] = current
    return out


def layers(state: AppState, served: Served) -> list[dict[str, Any]]:
    """Every spatial layer of ``served`` (name, kind, ``[C, H, W]``, has a receptive field)."""
    import torch

    fields = state.fields(served)
    maps = _run(served, torch.zeros(1, 1, FRAME, FRAME), True).maps
    return [
        {"name": m.name, "kind": m.kind, "shape": list(m.values.shape), "rf": m.name in fields}
        for m in maps
    ]


def receptive_field(state: AppState, model_id: str, layer: str, y: int, x: int) -> dict[str, Any]:
    served = state.model(model_id, "cnn")
    fields = state.fields(served)
    if layer not in fields:
        raise WebError(
            404, "not_found", "web.error.unknown_layer", layer=layer, valid=", ".join(fields)
        )
    rf = fields[layer]
    h, w = rf.out
    if not (0 <= y < h and 0 <= x < w):
        raise WebError(
            422,
            "validation",
            "web.error.unit_outside",
            layer=layer,
            y=y,
            x=x,
            h=h,
            w=w,
            hmax=h - 1,
            wmax=w - 1,
        )
    top, bottom, left, right = rf.box((y, x), (FRAME, FRAME))
    return {
        "layer": layer,
        "unit": [y, x],
        "box": {"top": top, "bottom": bottom, "left": left, "right": right},
        "size": list(rf.size),
        "jump": list(rf.jump),
        "image": [FRAME, FRAME],
    }


def geometry(
    size: int, kernel: int, padding: int | str, stride: int, dilation: int
) -> dict[str, Any]:
    """Output size with its formula, or — for a combination that cannot work — the library's
    sentence saying why (``ok: false``)."""
    from cnnlab.geometry import out_size, unseen_pixels

    try:
        ar = out_size(size, kernel, stride, padding, dilation)
    except CnnlabError as exc:
        return {"ok": False, "out": None, "formula": None, "text": exc.message()}
    unseen = unseen_pixels(ar)
    text = t("web.geometry.ok", out=ar.out, size=size, formula=ar.formula())
    if unseen:
        text += " " + t("web.geometry.unseen", n=len(unseen))
    return {
        "ok": True,
        "out": ar.out,
        "formula": ar.formula(),
        "padded": ar.padded,
        "span": ar.span,
        "leftover": ar.leftover,
        "pads": list(ar.pads),
        "unseen": unseen,
        "text": text,
    }


SAMPLE_INDEX = 3  # the embedded sample's test digit 3 (a "3": index i holds class i % 10)


def _rounded(a: np.ndarray) -> Any:
    return np.round(np.asarray(a, dtype=np.float64), 4).tolist()


def trace(
    state: AppState,
    pixels: np.ndarray | None,
    top: int,
    left: int,
    patch: int,
    kernel_name: str,
    kernel_size: int,
    padding: int,
    stride: int,
    dilation: int,
    cnn_id: str,
) -> dict[str, Any]:
    """The engine's step-by-step convolution over a ``patch×patch`` piece of a real digit."""
    from cnnlab.engine import explain

    if pixels is None:
        from cnnlab.data import get_dataset

        ds = get_dataset("mnist-sample", train=False)
        image = ds.images[SAMPLE_INDEX].astype(np.float64) / 255.0
        source = {
            "kind": "sample",
            "dataset": "mnist-sample",
            "split": "test",
            "index": SAMPLE_INDEX,
            "label": int(ds.labels[SAMPLE_INDEX]),
        }
    else:
        image = pixels.astype(np.float64)
        source = {"kind": "drawing"}
    top, left = min(top, FRAME - patch), min(left, FRAME - patch)
    piece = image[top : top + patch, left : left + patch]
    source.update(top=top, left=left, patch=patch)
    if kernel_name.startswith("cnn:"):
        kernel = _cnn_kernel(state, cnn_id, int(kernel_name.split(":")[1]))
    else:
        kernel = named_kernel(kernel_name, kernel_size)
    example = explain.Example(piece, kernel, stride, padding, dilation)
    tr = example.trace()  # ShapeError (→ 422 with the formula) for a kernel larger than the patch
    steps = [explain.Step.from_trace(step) for step in tr]  # type: ignore[arg-type]
    out = tr.output[0, 0]  # (Ho, Wo)
    return {
        "input": _rounded(piece),
        "kernel": _rounded(kernel),
        "output": _rounded(out),
        "geometry": {
            "out": list(out.shape),
            "formula": explain_formula(patch, kernel.shape[0], stride, padding, dilation),
        },
        "source": source,
        "steps": [
            {
                "position": list(s.position),
                "rows": list(s.rows),
                "cols": list(s.cols),
                "window": _rounded(s.window),
                "is_padding": np.asarray(s.is_padding, bool).tolist(),
                "products": _rounded(s.products),
                "total": round(float(s.total), 4),
                "bias": round(float(s.bias), 4),
                "value": round(float(s.value), 4),
            }
            for s in steps
        ],
    }


def named_kernel(name: str, k: int) -> np.ndarray:
    """``(k, k)`` kernels of the playground: the engine's edge detector (and its transpose), the
    convolution-arithmetic guide's kernel, the pooling experiment's binomial blur, and sharpen =
    2·identity − blur (so a flat patch stays flat)."""
    from cnnlab.engine import explain
    from cnnlab.lab.pooling import binomial

    if name == "edge_v":
        return explain.edge_kernel(k)
    if name == "edge_h":
        return explain.edge_kernel(k).T.copy()
    if name == "guide":
        return explain.default_kernel(k)
    row = binomial((k + 1) // 2) if k % 2 else np.full(k, 1.0 / k)  # (k,), sums to 1
    blur: np.ndarray = np.outer(row, row)
    if name == "blur":
        return blur
    sharpen = -blur
    sharpen[k // 2, k // 2] += 2.0
    return sharpen


def _cnn_kernel(state: AppState, cnn_id: str, c: int) -> np.ndarray:
    """Channel ``c`` of the served CNN's first conv layer, ``(k, k)`` (input channel 0)."""
    from cnnlab.inspect.probe import first_conv

    served = state.model(cnn_id, "cnn")
    conv = first_conv(served.model)  # a "cnn" slot model has one
    tensor: torch.Tensor = conv.weight  # type: ignore[union-attr,assignment]
    weight = tensor.detach().double().numpy()  # (C_out, C_in, k, k)
    if c >= weight.shape[0]:
        raise WebError(
            422, "validation", "web.error.kernel_channel", value=c, hi=weight.shape[0] - 1
        )
    kernel: np.ndarray = weight[c, 0]
    return kernel


def explain_formula(size: int, kernel: int, stride: int, padding: int, dilation: int) -> str:
    from cnnlab.geometry import out_size

    return out_size(size, kernel, stride, padding, dilation).formula()


def image(data: bytes, limits: dict[str, int]) -> dict[str, Any]:
    """An uploaded image → MNIST's 28×28 (``train.predict.prepare``), guarded before decoding."""
    from cnnlab.train.predict import open_image_bytes, prepare

    if len(data) > limits["max_image_bytes"]:
        raise WebError(
            413,
            "too_large",
            "web.error.image_bytes",
            size=len(data),
            limit=limits["max_image_bytes"],
        )
    if not data:
        raise WebError(415, "not_image", "web.error.image_empty")
    try:
        img = open_image_bytes(data, "upload", limits["max_image_side"], limits["max_image_pixels"])
    except CnnlabError as exc:
        if exc.key in ("error.image_bomb", "error.image_too_big"):
            raise WebError(413, "too_large", "web.error.image", reason=exc.message()) from exc
        raise WebError(415, "not_image", "web.error.image", reason=exc.message()) from exc
    prepared = prepare(img)
    return {
        "pixels": np.round(prepared.pixels.astype(np.float64) / 255.0, 4).tolist(),
        "inverted": prepared.inverted,
        "ink": prepared.ink,
        "original": {"width": img.width, "height": img.height, "mode": img.mode},
        "steps": prepared.describe(),
    }


__all__ = [
    "drawing_tensor",
    "predict",
    "pool",
    "layers",
    "layer_fields",
    "receptive_field",
    "geometry",
    "trace",
    "image",
]
