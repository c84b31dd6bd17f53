"""The ``dse`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

import os
import random

from .errors import DseError
from .frontend import read_kernel
from .ir import Kernel, kernel_record
from .kernels import bundled_kernels, resolve_kernel
from .paths import bundled
from .render import DIALECTS, render
from .space import Space, derive_space

DESCRIPTION = """\
Design-space exploration of HLS directives (hls-dse).

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


SPACE_HELP = """\
Derive a directive space from the kernel: unroll and pipeline (with II) on the inner
loops, partition type/factor/dim on the top function's arrays, inline on helper
functions, the clock period, and constraints (unroll factors divide trip counts,
partition factor >= unroll factor of the loops that index the array, no pipelining
inside a pipelined loop). The TOML it writes is meant to be edited: narrow or widen
the value lists, add [[constraints]] with expr = "..." (Python expression syntax over
knob names such as inner.unroll and facts such as inner.trip)."""


def load_space(args: argparse.Namespace, kernel: Kernel) -> Space:
    """--space FILE, else the bundled space of a bundled kernel, else a derived one."""
    if args.space:
        space = Space.load(args.space)
    else:
        default = bundled("pragmas") / f"{args.kernel}.toml"
        space = Space.load(default) if args.kernel in bundled_kernels() and default.is_file() \
            else derive_space(kernel, resolve_kernel(args.kernel).name)
    space.check_against(kernel)
    return space


def cmd_space(args: argparse.Namespace) -> int:
    kernel = load_kernel(args)
    source = resolve_kernel(args.kernel)
    relative = None
    if args.kernel not in bundled_kernels():
        base = Path(args.output).resolve().parent if args.output else Path.cwd()
        relative = os.path.relpath(source.path, base)
    space = derive_space(kernel, source.name, relative, clock_ns=args.clock_ns)
    text = space.to_toml()
    if args.output:
        try:
            Path(args.output).write_text(text)
        except OSError as error:
            raise DseError(f"{args.output}: cannot write ({error.strerror})") from None
    else:
        sys.stdout.write(text)
    print(f"{source.name}: {len(space.knobs)} knobs, {len(space.constraints)} constraints, "
          f"{space.count():,} legal configurations (of {space.raw_size():,} before constraints)",
          file=sys.stderr)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    kernel = load_kernel(args)
    space = load_space(args, kernel)
    if args.random is not None:
        config = space.sample(random.Random(args.random))
        if args.set:
            config = space.configuration({**config.as_dict(), **space.parse_assignments(args.set)})
    else:
        config = space.configuration(space.parse_assignments(args.set))
    for path in render(kernel, space, config, args.output, dialect=args.dialect):
        print(path)
    print(f"configuration {config.hash[:16]}: {config.canonical}", file=sys.stderr)
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

    space = commands.add_parser("space", help="write a default directive space (TOML)", description=SPACE_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_kernel_arguments(space)
    space.add_argument("-o", "--output", metavar="FILE", help="write here (default: standard output)")
    space.add_argument("--clock-ns", type=float, default=10.0, help="clock period in ns (default 10)")
    space.set_defaults(run=cmd_space)

    render_cmd = commands.add_parser(
        "render", help="render one configuration as pragma'd C and directives.tcl",
        description="Write the kernel source with #pragma HLS lines, a Vitis-style directives.tcl and "
                    "config.json for one configuration. Knobs not set take their first (neutral) value.")
    _add_kernel_arguments(render_cmd)
    render_cmd.add_argument("--space", metavar="FILE",
                            help="space file (default: the bundled one, else derived from the kernel)")
    render_cmd.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                            help="knob value, e.g. inner.unroll=4 or m1.partition=cyclic (repeatable)")
    render_cmd.add_argument("--random", type=int, metavar="SEED",
                            help="start from a uniformly random legal configuration (--set overrides)")
    render_cmd.add_argument("--dialect", choices=DIALECTS, default="vitis",
                            help="pragma syntax: vitis (2022.2+, type=cyclic) or vivado (older, positional)")
    render_cmd.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    render_cmd.set_defaults(run=cmd_render)
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
