"""Running an installed HLS tool: finding its executable, asking its version, and running it
in a point's folder with its output logged. The tool runs in a process group of its own,
killed whole when the point runs out of time or the sweep is interrupted, so that no
synthesis outlives the point it belongs to."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

from ..errors import DseError


def find_tool(names: tuple[str, ...], tool_path: str | None, install_hint: str) -> Path:
    """The first of ``names`` found in ``tool_path`` (or its ``bin``), else on PATH."""
    search = os.pathsep.join([tool_path, str(Path(tool_path) / "bin")]) if tool_path else None
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return Path(found)
    where = f"in {tool_path}" if tool_path else "on PATH"
    raise DseError(f"{' or '.join(names)} not found {where}; {install_hint}")


def tool_version(executable: Path, flag: str, pattern: str) -> str:
    """The version ``executable flag`` prints (the first group of ``pattern``)."""
    try:
        done = subprocess.run([str(executable), flag], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DseError(f"{executable} {flag}: the tool did not answer ({error})") from None
    found = re.search(pattern, done.stdout + done.stderr)
    if not found:
        first = (done.stdout + done.stderr).strip().splitlines()[:1]
        raise DseError(f"{executable} {flag}: no version in its answer ({first[0] if first else 'nothing'}); "
                       "is this the right tool, and is its licence available?")
    return found.group(1)


def run_tool(argv: list[str], folder: Path, log: Path) -> int:
    """Run ``argv`` in ``folder`` with its standard output and error in ``log``; its exit code."""
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, cwd=folder, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            return process.wait()
        finally:
            if process.poll() is None:  # interrupted (time limit, Ctrl-C): the whole tool goes
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def error_line(log: Path, markers: tuple[str, ...]) -> str:
    """The first line of ``log`` that starts with one of ``markers``, else its last line."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return next((line for line in lines if line.startswith(markers)), lines[-1] if lines else "no output")
