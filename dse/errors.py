"""User-facing errors: one clear line, exit code 2."""

from __future__ import annotations

import difflib


class DseError(Exception):
    """Bad input or a missing tool; the CLI prints ``str(self)`` alone and exits 2."""


def did_you_mean(name: str, choices) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or nothing."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class FrontendError(DseError):
    """C the front-end cannot read: ``FILE:LINE: message``."""

    def __init__(self, file: str, line: int | None, message: str):
        self.file, self.line, self.message = file, line, message
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {message}")
