"""Resident memory of the current process, read from Linux's /proc."""

from __future__ import annotations

import resource
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_mb(field: str) -> float | None:
    try:
        text = _STATUS.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return None


def resident_mb() -> float | None:
    """Return the current resident set size in MiB, or None off Linux."""
    return _status_mb("VmRSS")


def reset_peak() -> bool:
    """Reset the kernel's record of peak resident memory to the current size.

    Writing 5 to ``/proc/self/clear_refs`` does this on Linux 4.0 and later. Returns
    False where it is not possible; `peak_mb` then includes everything since the
    process started.
    """
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_mb() -> float:
    """Return the peak resident memory in MiB since start or since `reset_peak`."""
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    # ru_maxrss is in KiB on Linux and cannot be reset.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
