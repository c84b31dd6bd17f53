"""The ``dse`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .errors import DseError
from .frontend import read_kernel
from .ir import Kernel, kernel_record
from .kernels import resolve_kernel

DESCRIPTION = """\
Design-space exploration of HLS directives.

  dse inspect KERNEL          what the front-end sees: top, arrays, loops, trip counts, ops
  dse space KERNEL -o S.toml  a default directive space for the kernel
  dse render KERNEL --space S --set knob=value ... -o DIR
                              one configuration as #pragma HLS source and directives.tcl

KERNEL is a bundled kernel name (e.g. gemm_ncubed) or a path to a C file."""


def _add_kernel_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kernel", metavar="KERNEL", help="bundled kernel name or path to a C file")
    parser.add_argument("--top", help="top function (default: the one function nothing else calls)")
    parser.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                        help="include directory (repeatable); MachSuite's common/ is found by itself")
    parser.add_argument("-D", dest="define", action="append", default=[], metavar="NAME[=VAL]",
                        help="preprocessor definition (repeatable)")


def load_kernel(args: argparse.Namespace) -> Kernel:
    source = resolve_kernel(args.kernel)
    return read_kernel(source.path, top=args.top, include_dirs=args.include, defines=args.define)


def _trip_text(loop) -> str:
    if loop.trip_count is not None:
        return str(loop.trip_count)
    if loop.trip_min is not None:
        return f"{loop.trip_min}..{loop.trip_max}"
    return "?"


def cmd_inspect(args: argparse.Namespace) -> int:
    kernel = load_kernel(args)
    if args.json:
        print(json.dumps(kernel_record(kernel), indent=2))
        return 0
    console = Console()
    console.print(f"[bold]{kernel.source}[/]  top: [bold]{kernel.top}[/]  "
                  f"functions: {', '.join(kernel.reachable_functions())}")
    arrays = Table("array", "function", "kind", "dims", "type", "access", title="Arrays", title_justify="left")
    for array in kernel.arrays:
        dims = "x".join("?" if d is None else str(d) for d in array.dims)
        arrays.add_row(array.name, array.function or "(global)", array.kind, dims,
                       f"{array.element.c_name} ({array.element.short})", array.access)
    console.print(arrays)
    loops = Table("loop", "function", "trip", "bound", "ops", "loads / stores", "carried",
                  title="Loops", title_justify="left")
    for loop in kernel.loops.values():
        ops = ", ".join(f"{n} {k}" for k, n in sorted(loop.op_counts().items()))
        memory = ", ".join(f"{a} {n}r" for a, n in loop.accesses("load").items())
        stores = ", ".join(f"{a} {n}w" for a, n in loop.accesses("store").items())
        loops.add_row("  " * (loop.depth - 1) + loop.name, loop.function, _trip_text(loop), loop.bound,
                      ops, "; ".join(filter(None, [memory, stores])), ", ".join(loop.carried_scalars))
    console.print(loops)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dse", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    inspect = commands.add_parser("inspect", help="show the kernel as the front-end reads it",
                                  description="Show the top function, arrays, loops (label, trip count, "
                                              "nesting) and the operations of each loop body.")
    _add_kernel_arguments(inspect)
    inspect.add_argument("--json", action="store_true", help="print JSON instead of tables")
    inspect.set_defaults(run=cmd_inspect)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except DseError as error:
        print(f"dse: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dse: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
