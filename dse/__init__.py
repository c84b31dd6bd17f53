"""hls-dse: design-space exploration of HLS directives.

Public API: read a kernel (:func:`read_kernel`), build or load its directive
space (:func:`derive_space`, :meth:`Space.load`), pick configurations
(:meth:`Space.configuration`, :meth:`Space.sample`, :meth:`Space.enumerate`) and
render them for an HLS tool (:func:`render`); estimate them (:class:`Estimator`),
keep results (:class:`Store`), load them as tables (:func:`load_table`) and learn
surrogates from them (:class:`Structure`, :class:`LinearSurrogate`, :class:`BlendSurrogate`,
:class:`GuidedSurrogate`, :class:`ConformalSurrogate`, :class:`SurrogateModel`).
"""

__version__ = "0.1.0"

from .errors import DseError, FrontendError
from .frontend import read_kernel
from .ir import Array, Function, Kernel, Loop, Op, kernel_record
from .kernels import KernelSource, bundled_kernels, resolve_kernel
from .render import Directive, annotate_source, directives, render, render_tcl
from .space import Configuration, Knob, Space, derive_space

_LAZY = {  # modules that load scikit-learn or the estimator only when used
    "Estimator": "estimate", "Store": "store", "load_table": "dataset", "KnobEncoder": "features",
    "LinearSurrogate": "surrogates", "BlendSurrogate": "surrogates", "GuidedSurrogate": "surrogates",
    "ConformalSurrogate": "surrogates", "SurrogateModel": "surrogates",
    "Structure": "structure",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'dse' has no attribute '{name}'")


__all__ = [
    *_LAZY, "Array", "Configuration", "Directive", "DseError", "FrontendError", "Function", "Kernel", "KernelSource",
    "Knob", "Loop", "Op", "Space", "annotate_source", "bundled_kernels", "derive_space", "directives",
    "kernel_record", "read_kernel", "render", "render_tcl", "resolve_kernel",
]
