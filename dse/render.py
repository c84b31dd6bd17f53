"""Templating: a configuration becomes the files an HLS tool consumes.

From one configuration we write (a) the kernel source with ``#pragma HLS``
lines at the top of each loop body and of each function body (or after a local
array's declaration), and (b) a ``directives.tcl`` of ``set_directive_*``
commands. Loops without a label get their generated name as a label in (a), so
that the Tcl directives of (b) can address them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jinja2

from .errors import DseError
from .ir import Kernel
from .paths import bundled
from .space import Configuration, Space

DIALECTS = ("vitis", "vivado", "bambu")


@dataclass(frozen=True)
class Directive:
    """One HLS directive, in the terms both the pragma and the Tcl forms need."""

    kind: str  # unroll, pipeline, array_partition, inline
    function: str
    loop: str | None = None
    array: str | None = None
    factor: int | None = None
    ii: int | None = None
    type: str | None = None
    dim: int | None = None
    off: bool = False


def directives(kernel: Kernel, config: Configuration) -> list[Directive]:
    """The directives a configuration asks for; neutral values (unroll 1, pipeline off,
    partition none) give none."""
    values = config.as_dict()
    found = []
    for loop in kernel.loops.values():
        unroll = values.get(f"{loop.name}.unroll", 1)
        if unroll > 1:
            complete = unroll == loop.trip_count
            found.append(Directive("unroll", loop.function, loop=loop.name, factor=None if complete else unroll))
        if values.get(f"{loop.name}.pipeline") == "on":
            found.append(Directive("pipeline", loop.function, loop=loop.name,
                                   ii=values.get(f"{loop.name}.ii", 1)))  # a space without an ii knob: the tool's default
    for name in dict.fromkeys(n.rsplit(".", 1)[0] for n in values if n.endswith(".partition")):
        partition = values[f"{name}.partition"]
        if partition != "none":
            array = kernel.partitionable_array(name)
            found.append(Directive("array_partition", array.function, array=name, type=partition,
                                   factor=values.get(f"{name}.factor"), dim=values.get(f"{name}.dim", 1)))
    for function in kernel.functions:
        inline = values.get(f"{function}.inline")
        if inline is not None:
            found.append(Directive("inline", function, off=inline == "off"))
    return found


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(bundled("pragmas") / "templates"),
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined, autoescape=False)


def _indent_of(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def _skip_literal_or_comment(text: str, i: int) -> int:
    """Index after the comment or literal starting at ``i``, or ``i`` if none starts there."""
    if text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end < 0 else end + 2
    if text[i] in "\"'":
        j = i + 1
        while j < len(text) and text[j] != text[i]:
            j += 2 if text[j] == "\\" else 1
        return j + 1
    return i


def body_brace(text: str, start: int, has_header: bool = True) -> int | None:
    """Offset of the ``{`` opening the body of the statement (or function) at ``start``:
    the first one after its parenthesised header; None if the body has no braces."""
    depth, header_done, i = 0, not has_header, start
    while i < len(text):
        after = _skip_literal_or_comment(text, i)
        if after != i:
            i = after
            continue
        char = text[i]
        if not header_done:
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                header_done = depth == 0
        elif not char.isspace():
            return i if char == "{" else None
        i += 1
    return None


def annotate_source(kernel: Kernel, config: Configuration, dialect: str = "vitis") -> str:
    """The kernel's own source text with the configuration's pragmas (and loop labels) in place."""
    source = Path(kernel.source)
    text = source.read_text()
    lines = text.splitlines(keepends=True)
    line_starts = [0]
    for line in lines:
        line_starts.append(line_starts[-1] + len(line))
    template = _environment().get_template("hls_pragmas.c.j2")
    inserts: list[tuple[int, str, int]] = []  # (offset, text, characters of blank replaced)

    def offset_of(line: int, column: int) -> int:
        return line_starts[line - 1] + column - 1

    def indent_after(offset: int) -> str:
        line = next(n for n in range(len(lines)) if line_starts[n + 1] > offset)
        following = lines[line + 1] if line + 1 < len(lines) else ""
        return _indent_of(following) if following.strip() and following.strip() != "}" \
            else _indent_of(lines[line]) + "  "

    def pragmas_at(offset: int, chosen: list[Directive], trip: int | None = None):
        lines_text = template.render(directives=chosen, indent=indent_after(offset), dialect=dialect, trip=trip)
        rest = text[offset:text.find("\n", offset) if "\n" in text[offset:] else len(text)]
        tail = "" if not rest.strip() else "\n" + indent_after(offset)  # code after the brace: own line
        blank = len(rest) - len(rest.lstrip()) if rest.strip() else 0
        inserts.append((offset, "\n" + lines_text.rstrip("\n") + tail, blank))

    def in_main_file(what: str, file_is_main: bool):
        if not file_is_main:
            raise DseError(f"{what} is not in {source}; place its directives with directives.tcl")

    chosen = directives(kernel, config)
    for loop in kernel.loops.values():
        mine = [d for d in chosen if d.loop == loop.name]
        if not mine:
            continue
        in_main_file(f"loop {loop.name}", kernel.functions[loop.function].in_main_file)
        start = offset_of(loop.line, loop.column)
        if dialect == "bambu":  # its compilers' loop pragmas precede the loop, on lines of their own
            indent = _indent_of(lines[loop.line - 1])
            pragmas = template.render(directives=mine, indent=indent, dialect=dialect, trip=loop.trip_count)
            inserts.append((start, "\n" + pragmas + indent, 0))
            continue
        brace = body_brace(text, start, has_header=loop.statement != "do")
        if brace is None:
            raise DseError(f"{source}:{loop.line}: loop {loop.name} has no braces around its body; "
                           "add { } to place pragmas in it")
        pragmas_at(brace + 1, mine)
        if loop.label is None:
            inserts.append((start, f"{loop.name}: ", 0))
    for function in kernel.functions.values():
        mine = [d for d in chosen if d.function == function.name and d.loop is None]
        at_entry = [d for d in mine if d.array is None or kernel.array(d.array, function.name).kind == "argument"]
        if mine:
            in_main_file(f"function {function.name}", function.in_main_file)
        if at_entry:
            brace = body_brace(text, offset_of(function.line, function.column))
            pragmas_at(brace + 1, at_entry)
        for directive in mine:
            if directive not in at_entry:  # a local array: after its declaration
                declaration = offset_of(kernel.array(directive.array, function.name).line, 1)
                pragmas_at(text.index(";", declaration) + 1, [directive])

    for offset, piece, blank in sorted(inserts, reverse=True):
        text = text[:offset] + piece + text[offset + blank:]
    return text


def render_template(name: str, **values) -> str:
    """One of the bundled templates (``pragmas/templates``) filled in with ``values``."""
    return _environment().get_template(name).render(**values)


def render_tcl(kernel: Kernel, config: Configuration, name: str, acting: Configuration | None = None) -> str:
    """directives.tcl of ``config``; ``acting``: the directive knobs it stands for, if not its own."""
    return _environment().get_template("directives.tcl.j2").render(
        kernel=name, top=kernel.top, hash=config.hash, canonical=config.canonical,
        directives=directives(kernel, acting or config))


def acting_directives(kernel: Kernel, space: Space, config: Configuration) -> Configuration:
    """``config`` as directive knobs: with the directives its pragma-text columns name on the
    kernel's loops and arrays (a recorded table's), else itself."""
    if not space.pragma_columns:
        return config
    trips = {name: loop.trip_count for name, loop in kernel.loops.items()}
    return Configuration.of(space.with_directives(config.as_dict(), trips))


def render(kernel: Kernel, space: Space, config: Configuration, out_dir: str | Path,
           dialect: str = "vitis") -> list[Path]:
    """Write the annotated source, directives.tcl and config.json into ``out_dir`` (a configuration
    of pragma-text columns as the directives they name)."""
    if dialect not in DIALECTS:
        raise DseError(f"unknown pragma dialect '{dialect}' (known: {', '.join(DIALECTS)})")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DseError(f"{out}: cannot create the output folder ({error.strerror})") from None
    annotated = out / Path(kernel.source).name
    if annotated.resolve() == Path(kernel.source).resolve():
        raise DseError(f"{out}: is the kernel's own folder; choose another output folder")
    acting = acting_directives(kernel, space, config)
    written = {
        annotated: annotate_source(kernel, acting, dialect),
        out / "directives.tcl": render_tcl(kernel, config, space.kernel, acting),
        out / "config.json": json.dumps({"kernel": space.kernel, "source": kernel.source, "top": kernel.top,
                                         "config": config.as_dict(), "hash": config.hash}, indent=2) + "\n",
    }
    for path, text in written.items():
        path.write_text(text)
    return list(written)
