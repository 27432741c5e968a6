"""The ``stack`` parameter of ``receptive-field``: a short spec, one token per layer, parsed,
bounded and built into an ``nn.Sequential``::

    c3        Conv2d(k=3), stride 1, 'same' padding (PyTorch's split: total d·(k-1), the extra
              cell right/bottom), followed by ReLU; with a stride > 1 the left half of that total
              on both sides
    c3s2d2p0  Conv2d(k=3, stride=2, dilation=2, padding=0)
    m2 / a2   MaxPool2d(2) / AvgPool2d(2) (stride = kernel unless s… is given, padding p… default 0)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cnnlab.errors import ConfigError
from cnnlab.i18n import Msg
from cnnlab.resources import mem_available

TOKEN = re.compile(r"^(?P<op>[cma])(?P<k>\d+)(?:s(?P<s>\d+))?(?:d(?P<d>\d+))?(?:p(?P<p>\d+))?$")
MAX_LAYERS = 16
CHANNELS = 4  # channels of every conv of the real network (enough for a nonzero unit)
# Per-token limits: on a 28×28 digit a kernel, stride or padding past 32 (dilation past 16) only
# adds zeros and time; they also keep one layer's tensors small before the memory estimate.
TOKEN_LIMITS = {"kernel": 32, "stride": 32, "dilation": 16, "padding": 32}
MAX_BYTES = 2 << 30  # the gradient canvases are 3× the field; past 2 GiB a stack is not a lesson
KINDS = {"c": "Conv2d", "m": "MaxPool2d", "a": "AvgPool2d"}


@dataclass(frozen=True)
class LayerSpec:
    """One parsed token: ``padding`` is ``(left, right)`` as the layer applies it."""

    kind: str  # Conv2d | MaxPool2d | AvgPool2d
    kernel: int
    stride: int
    padding: tuple[int, int]
    dilation: int


def parse_spec(spec: str) -> list[LayerSpec]:
    """``"c3,m2,c3s2"`` → one :class:`LayerSpec` per token (no torch). ConfigError on a bad token,
    naming it and the grammar."""
    from cnnlab.geometry import same_padding

    tokens = [tok.strip().lower() for tok in spec.split(",") if tok.strip()]
    if not tokens or len(tokens) > MAX_LAYERS:
        raise ConfigError("lab.receptive_field.bad_count", n=len(tokens), max=MAX_LAYERS)
    layers: list[LayerSpec] = []
    for tok in tokens:
        m = TOKEN.match(tok)
        if (
            not m
            or int(m["k"]) < 1
            or (m["s"] is not None and int(m["s"]) < 1)
            or (m["d"] is not None and int(m["d"]) < 1)
        ):
            raise ConfigError("lab.receptive_field.bad_token", token=tok, spec=spec)
        k, d = int(m["k"]), int(m["d"] or 1)
        s = int(m["s"]) if m["s"] is not None else (1 if m["op"] == "c" else k)
        if m["p"] is not None:
            pad = (int(m["p"]),) * 2
        elif m["op"] == "c":
            same = same_padding(k, d)  # PyTorch's split of d·(k-1)
            pad = same if s == 1 else (same[0], same[0])  # 'same' exists at stride 1 only
        else:
            pad = (0, 0)
        if m["op"] == "a" and d != 1:
            raise ConfigError("error.pool_dilation", dilation=d)
        typed = {"kernel": k, "stride": s, "dilation": d, "padding": int(m["p"] or 0)}
        for what, value in typed.items():  # only what the user wrote: 'same' padding follows k, d
            if value > TOKEN_LIMITS[what]:
                raise ConfigError(
                    "lab.receptive_field.token_limit",
                    token=tok,
                    spec=spec,
                    what=Msg(f"bounds.what.{what}"),
                    value=value,
                    low=0 if what == "padding" else 1,
                    high=TOKEN_LIMITS[what],
                )
        layers.append(LayerSpec(KINDS[m["op"]], k, s, pad, d))
    return layers


def estimate_bytes(specs: list[LayerSpec], size: int = 28) -> int:
    """Peak bytes ``measure`` allocates for ``specs`` on a ``size × size`` image (an estimate).

    The largest part is the linearised check: for layer ``d`` a canvas ``max(size, 3·field_d)``
    wide, run through the prefix ``0..d`` in float32 (each layer's padded input and output, and
    their gradients, and autograd's copies: 4 × 4 bytes a cell), plus three float64 canvas copies.
    The real networks (``CHANNELS`` channels on the image itself) are counted the same way.
    Checked against the peak RSS growth of ``measure`` (seeds=1): ``c3s2``×8 + ``c3`` estimates
    456 MiB for 421 measured, ×9 1,823 MiB for 1,074 — an upper bound, within 2×.
    """
    from cnnlab.geometry import rf_chain

    fields = rf_chain((ls.kernel, ls.stride, ls.padding[0], ls.dilation) for ls in specs)
    peak = 0
    for depth, f in enumerate(fields):
        for side, channels in ((max(size, 3 * f.size), 1), (size, CHANNELS)):
            total = 3 * 8 * side * side if channels == 1 else 0
            n = side
            for ls, out in zip(
                specs[: depth + 1], out_sizes(specs[: depth + 1], side), strict=True
            ):
                padded = n + ls.padding[0] + ls.padding[1]
                total += 4 * 4 * channels * (padded * padded + out * out)
                n = out
            peak = max(peak, total)
    return peak


def check_stack(spec: str) -> None:
    """Refuse a stack before any work: bad tokens, per-token limits, and a memory estimate over
    ``MAX_BYTES`` or over half of the machine's available memory (both named in the message)."""
    specs = parse_spec(spec)
    need = estimate_bytes(specs)
    avail = mem_available()
    limit = MAX_BYTES if avail is None else min(MAX_BYTES, avail // 2)
    if need > limit:
        raise ConfigError(
            "lab.receptive_field.too_big",
            spec=spec,
            need=f"{need / 2**20:,.0f}",
            limit=f"{limit / 2**20:,.0f}",
            avail="?" if avail is None else f"{avail / 2**20:,.0f}",
        )


def parse_stack(spec: str, in_channels: int = 1) -> Any:
    """``"c3,m2,c3s2"`` → ``nn.Sequential`` (Conv2d+ReLU, MaxPool2d, AvgPool2d)."""
    import torch.nn as nn

    layers: list[nn.Module] = []
    c = in_channels
    for ls in parse_spec(spec):
        lo, hi = ls.padding
        if ls.kind == "Conv2d":
            pad: Any = lo if lo == hi else "same"  # uneven only at stride 1 ('same')
            layers += [nn.Conv2d(c, CHANNELS, ls.kernel, ls.stride, pad, ls.dilation), nn.ReLU()]
            c = CHANNELS
        elif ls.kind == "MaxPool2d":
            layers.append(nn.MaxPool2d(ls.kernel, ls.stride, lo, ls.dilation))
        else:
            layers.append(nn.AvgPool2d(ls.kernel, ls.stride, lo))
    return nn.Sequential(*layers)


def out_sizes(specs: list[LayerSpec], size: int) -> list[int]:
    """Output length (one axis) after each layer, by :mod:`cnnlab.geometry` (ShapeError if < 1)."""
    from cnnlab.geometry import out_size, pool_out_size

    sizes = []
    for ls in specs:
        lo, hi = ls.padding
        if ls.kind == "Conv2d":
            size = out_size(size, ls.kernel, ls.stride, lo if lo == hi else "same", ls.dilation).out
        else:
            size = pool_out_size(size, ls.kernel, ls.stride, lo, ls.dilation, ls.kind).out
        sizes.append(size)
    return sizes


__all__ = [
    "TOKEN",
    "MAX_LAYERS",
    "CHANNELS",
    "TOKEN_LIMITS",
    "MAX_BYTES",
    "KINDS",
    "LayerSpec",
    "parse_spec",
    "estimate_bytes",
    "check_stack",
    "parse_stack",
    "out_sizes",
]
