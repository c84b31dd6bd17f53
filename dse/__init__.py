"""hls-dse: design-space exploration of HLS directives.

Public API: read a kernel (:func:`read_kernel`), build or load its directive
space (:func:`derive_space`, :meth:`Space.load`), pick configurations
(:meth:`Space.configuration`, :meth:`Space.sample`, :meth:`Space.enumerate`) and
render them for an HLS tool (:func:`render`).
"""

__version__ = "0.1.0"

from .errors import DseError, FrontendError
from .frontend import read_kernel
from .ir import Array, Function, Kernel, Loop, Op, kernel_record
from .kernels import KernelSource, bundled_kernels, resolve_kernel
from .render import Directive, annotate_source, directives, render, render_tcl
from .space import Configuration, Knob, Space, derive_space

__all__ = [
    "Array", "Configuration", "Directive", "DseError", "FrontendError", "Function", "Kernel", "KernelSource",
    "Knob", "Loop", "Op", "Space", "annotate_source", "bundled_kernels", "derive_space", "directives",
    "kernel_record", "read_kernel", "render", "render_tcl", "resolve_kernel",
]
