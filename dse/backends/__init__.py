"""Backends: one module per HLS flow, all behind :class:`Backend`."""

from __future__ import annotations

from ..errors import DseError
from .base import METRICS, STATUSES, Backend, DesignPoint, Result
from .bambu import BambuBackend
from .builtin import BuiltinBackend
from .replay import ReplayBackend
from .vitis import VitisBackend

BACKENDS: dict[str, type[Backend]] = {"builtin": BuiltinBackend, "vitis": VitisBackend, "bambu": BambuBackend,
                                      "replay": ReplayBackend}


def get_backend(name: str, tool_path: str | None = None, **options) -> Backend:
    """A backend by name; ``tool_path``: where a tool backend finds its executable; ``options``:
    the backend's own (replay: ``table`` and ``knobs``)."""
    if name not in BACKENDS:
        raise DseError(f"unknown backend '{name}' (known: {', '.join(BACKENDS)})")
    if tool_path and name in ("builtin", "replay"):
        raise DseError(f"--tool-path is for the backends that run an installed tool (vitis, bambu), not {name}")
    if name == "replay":
        return ReplayBackend(**options)
    return BACKENDS[name](tool_path) if tool_path else BACKENDS[name]()


__all__ = ["BACKENDS", "METRICS", "STATUSES", "Backend", "DesignPoint", "ReplayBackend", "Result", "get_backend"]
