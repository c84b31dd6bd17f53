"""Shared fixtures: bundled kernels compiled with gcc, the CLI run in-process."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest

from dse.kernels import bundled_kernels, machsuite_dir

REPO = Path(__file__).resolve().parent.parent
REPORTS = Path(__file__).resolve().parent / "fixtures" / "reports"
"""Real Vitis HLS and Bambu reports (provenance in its README.md), replayed by the fake tools."""


@pytest.fixture(scope="session")
def compiled_kernel(tmp_path_factory):
    """Compile a bundled kernel into a shared library and load it with ctypes."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    cache: dict[str, ctypes.CDLL] = {}
    out_dir = tmp_path_factory.mktemp("kernels")

    def load(name: str) -> ctypes.CDLL:
        if name not in cache:
            source = bundled_kernels()[name]
            library = out_dir / f"{name}.so"
            subprocess.run(
                ["gcc", "-O2", "-shared", "-fPIC", "-I", str(machsuite_dir() / "common"),
                 "-o", str(library), str(source.path)],
                check=True, capture_output=True, text=True,
            )
            cache[name] = ctypes.CDLL(str(library))
        return cache[name]

    return load


@pytest.fixture
def run_cli(capsys):
    """Run ``dse ARGS`` in-process; returns (exit code, stdout, stderr)."""
    from dse.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
