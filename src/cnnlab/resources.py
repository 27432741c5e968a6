"""What the machine has to give: memory available to a new allocation.

Options whose cost depends on memory (a receptive-field stack, a model's channels) estimate their
bytes before allocating and compare them with :func:`mem_available`, so a run that cannot fit is
refused with both numbers instead of failing minutes later.
"""

from __future__ import annotations


def mem_available() -> int | None:
    """Bytes available to a new allocation (Linux ``MemAvailable``); None where it is unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the file gives kB
    except (OSError, ValueError, IndexError):
        return None
    return None


__all__ = ["mem_available"]
