"""Validation shared by the model constructors (user-facing values → ConfigError, never assert)."""

from __future__ import annotations

from collections.abc import Sequence

from cnnlab.errors import ConfigError
from cnnlab.geometry import check_positive


def check_channels(channels: Sequence[int], name: str = "channels") -> tuple[int, ...]:
    """A non-empty sequence of positive ints, returned as a tuple."""
    if isinstance(channels, int):
        channels = (channels,)
    values = tuple(channels)
    if not values:
        raise ConfigError("error.model_channels", name=name, value=channels)
    for v in values:
        check_positive(name, v)
    return values


def check_dropout(p: float) -> float:
    """Dropout probability in [0, 1)."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise ConfigError("error.model_dropout", value=p)
    return float(p)


__all__ = ["check_channels", "check_dropout"]
