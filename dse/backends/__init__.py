"""Backends: one module per HLS flow, all behind :class:`Backend`."""

from __future__ import annotations

from ..errors import DseError
from .base import METRICS, STATUSES, Backend, DesignPoint, Result
from .builtin import BuiltinBackend

BACKENDS: dict[str, type[Backend]] = {"builtin": BuiltinBackend}


def get_backend(name: str) -> Backend:
    try:
        return BACKENDS[name]()
    except KeyError:
        raise DseError(f"unknown backend '{name}' (known: {', '.join(BACKENDS)})") from None


__all__ = ["BACKENDS", "METRICS", "STATUSES", "Backend", "DesignPoint", "Result", "get_backend"]
