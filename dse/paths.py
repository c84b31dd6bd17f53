"""Where the bundled kernels and directive spaces live.

In a source checkout (or an editable install) they are the repository's
``kernels/`` and ``pragmas/``; a wheel carries them as ``dse/_bundled/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """Path of the bundled folder ``name`` (``kernels`` or ``pragmas``)."""
    inside_wheel = _PACKAGE / "_bundled" / name
    if inside_wheel.is_dir():
        return inside_wheel
    return _PACKAGE.parent / name
