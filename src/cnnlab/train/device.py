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


__all__ = ["available", "resolve_device"]
