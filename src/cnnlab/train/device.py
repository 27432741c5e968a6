"""Device choice: ``auto`` → cuda, then mps, then cpu; an explicit request that cannot run is an
error."""

from __future__ import annotations

import torch

from cnnlab.errors import ConfigError


def available() -> list[str]:
    """Device types usable in this process, best first (``cpu`` always last)."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return [*found, "cpu"]


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` | ``mps`` → a torch.device that exists here."""
    if name == "auto":
        return torch.device(available()[0])
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(
            "error.train_device", value=name, valid=", ".join(["auto", *available()])
        ) from exc
    if device.type not in available():
        raise ConfigError("error.train_device", value=name, valid=", ".join(["auto", *available()]))
    if (
        device.type == "cuda"
        and device.index is not None
        and device.index >= torch.cuda.device_count()
    ):
        raise ConfigError("error.train_device", value=name, valid=", ".join(["auto", *available()]))
    return device


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 natively (so autocast to it is faster, not emulated):
    a CPU with AVX512-BF16 or AMX, a CUDA GPU that supports bfloat16."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    if device.type == "cpu":
        cpu = torch.cpu
        return any(
            bool(getattr(cpu, probe, lambda: False)())
            for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        )
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """What ``precision`` (``fp32`` | ``bf16`` | ``auto``) computes in on ``device``: ``fp32`` or
    ``bf16``."""
    if precision == "bf16" or (precision == "auto" and native_bf16(device)):
        return "bf16"
    return "fp32"


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The dtype a training step autocasts to for ``precision`` on ``device``; None = float32."""
    return torch.bfloat16 if resolve_precision(precision, device) == "bf16" else None


__all__ = ["autocast_dtype", "available", "native_bf16", "resolve_device", "resolve_precision"]
