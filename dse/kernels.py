"""Bundled MachSuite kernels and resolution of a KERNEL argument to a C file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import DseError
from .paths import bundled


@dataclass(frozen=True)
class KernelSource:
    """A kernel's C file with the name the tool knows it by."""

    name: str
    path: Path

    @property
    def directory(self) -> Path:
        return self.path.parent


def machsuite_dir() -> Path:
    return bundled("kernels") / "machsuite"


def bundled_kernels() -> dict[str, KernelSource]:
    """Every bundled kernel, by name (``<bench>_<variant>``)."""
    found = {}
    for folder in sorted(machsuite_dir().iterdir()):
        sources = sorted(folder.glob("*.c"))
        if len(sources) == 1:
            found[folder.name] = KernelSource(folder.name, sources[0])
    return found


def resolve_kernel(kernel: str) -> KernelSource:
    """A bundled kernel name or a path to a C file."""
    known = bundled_kernels()
    if kernel in known:
        return known[kernel]
    path = Path(kernel)
    if path.suffix == ".c" or path.exists():
        if not path.is_file():
            raise DseError(f"{kernel}: no such file")
        return KernelSource(path.stem, path.resolve())
    raise DseError(f"{kernel}: not a bundled kernel (known: {', '.join(known)}) nor a C file")
