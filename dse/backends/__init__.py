"""Backends: one module per HLS flow, all behind :class:`Backend`."""

from __future__ import annotations

from ..errors import DseError
from .base import METRICS, STATUSES, Backend, DesignPoint, Result
from .bambu import BambuBackend
from .builtin import BuiltinBackend
from .vitis import VitisBackend

BACKENDS: dict[str, type[Backend]] = {"builtin": BuiltinBackend, "vitis": VitisBackend, "bambu": BambuBackend}


def get_backend(name: str, tool_path: str | None = None) -> Backend:
    """A backend by name; ``tool_path``: where a tool backend finds its executable."""
    if name not in BACKENDS:
        raise DseError(f"unknown backend '{name}' (known: {', '.join(BACKENDS)})")
    return BACKENDS[name](tool_path) if tool_path else BACKENDS[name]()


__all__ = ["BACKENDS", "METRICS", "STATUSES", "Backend", "DesignPoint", "Result", "get_backend"]
