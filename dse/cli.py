"""The ``dse`` command line."""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .backends import METRICS, Backend, get_backend
from .backends.vitis import import_solutions
from .dataset import LEADING, TRAILING, export, load_table, results_frame
from .errors import DseError
from .executor import make_executor
from .frontend import read_kernel, source_hash
from .ir import Kernel, kernel_record
from .kernels import bundled_kernels, resolve_kernel
from .objectives import UTILISATION, Goals
from .pareto import pareto_mask
from .parsers import parse_report, utilisation
from .paths import bundled
from .recommend import FORMATS, designs, emit, pareto_designs, shown_metrics
from .render import DIALECTS, render
from .targets import DEFAULT_TARGET
from .runner import design_points, run_points
from .scheduler import DEFAULT_BRACKETS, DEFAULT_ETA, MIN_ETA
from .searchers import SEARCHERS
from .study import STRATEGIES, Search, make_scheduler, make_searcher, warm_start
from .space import Space, derive_space, split_assignment
from .store import Store
from .targets import TARGETS

DESCRIPTION = """\
Design-space exploration of HLS directives (hls-dse).

  dse inspect KERNEL          what the front-end sees: top, arrays, loops, trip counts, ops
  dse space KERNEL -o S.toml  a default directive space for the kernel
  dse render KERNEL --space S --set knob=value ... -o DIR
                              one configuration as #pragma HLS source and directives.tcl
  dse sweep KERNEL --budget N --db results.sqlite
                              run many configurations through an HLS flow, in parallel
  dse sweep KERNEL --backend vitis|bambu [--fidelity F] [--tool-path DIR]
                              the same through Vitis HLS / Vivado HLS or PandA Bambu
  dse parse vitis|bambu FILE...
                              metrics of reports you already have
  dse import DIR --db results.sqlite
                              existing Vitis HLS solutions into a database
  dse export --db results.sqlite -o results.csv
                              one row per design point: knobs, status, metrics
  dse train --data results.sqlite -o model.joblib
                              fit surrogates that predict metrics from knobs
  dse predict --model model.joblib --set inner.unroll=4 ...
                              predicted metrics of configurations nobody synthesised
  dse search KERNEL --strategy bayes --budget N --constraint 'lut<=60%' --db results.sqlite
                              find the latency/area Pareto front with few runs
  dse search NAME --backend replay --table results.csv
                              the same over a recorded table of results
  dse recommend --db results.sqlite --emit DIR
                              the Pareto-optimal designs and their directive files
  dse report --db results.sqlite -o report.html
                              Pareto plot, ADRS curve, knobs, predicted vs actual

KERNEL is a bundled kernel name (e.g. gemm_ncubed) or a path to a C file."""


TRAIN_HELP = """\
Fit, per metric, a family of linear surrogates (ridge and Bayesian ridge, on log or raw
targets, with interactions between knobs of one loop nest or array, and with structural
features of the kernel when it is known) and keep the one with the best cross-validated R².
The seed paper's model (OLS on one-hot knobs) is scored beside it. Failed rows and empty
metric cells are left out; duplicate configurations are merged."""


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


SWEEP_HELP = """\
Run configurations of the kernel's directive space through an HLS flow and keep every
result in a SQLite database. Each result is keyed by a hash of (kernel source,
configuration, backend and version, target, clock, fidelity): re-running the same
command reuses what is there, so a sweep that was interrupted (even killed) resumes
where it stopped and ends with exactly --budget points. A point whose flow crashes
or runs out of time is recorded with that status and its error; the sweep goes on.

Samplers: random (uniform over legal configurations), lhs (Latin hypercube over the
same), grid (every configuration, or evenly spaced ones when --budget is smaller).
Targets: """ + ", ".join(f"{t.name} ({t.part})" for t in TARGETS.values())


def _flow(args: argparse.Namespace, fidelities) -> tuple[Kernel, Space, Backend, tuple[str, ...], dict]:
    """What sweep and search share: the kernel, its space as the backend runs it, the backend,
    the fidelities ``fidelities(backend)`` gives (checked), and the fields every design point has."""
    kernel = load_kernel(args)
    space = load_space(args, kernel)
    if args.clock_ns is not None:
        space = space.with_clock(args.clock_ns)
    backend = get_backend(args.backend, args.tool_path)
    rungs = fidelities(backend)
    target = args.target or DEFAULT_TARGET
    for fidelity in rungs:
        backend.check(target, fidelity)
    backend.version()  # a missing tool stops here, before any point runs
    space, fixed = backend.adapt(space)
    if fixed:
        print(f"{backend.name} cannot apply {', '.join(fixed)}: held at their neutral values", file=sys.stderr)
    source = resolve_kernel(args.kernel)
    fields = dict(kernel=source.name, source=str(source.path), source_hash=source_hash(source.path, args.include,
                                                                                        args.define),
                  top=kernel.top, include_dirs=tuple(args.include), defines=tuple(args.define), target=target,
                  clock_ns=10.0)
    return kernel, space, backend, rungs, fields


def _check_counts(args: argparse.Namespace) -> None:
    for name, value in (("--budget", args.budget), ("--jobs", args.jobs),
                        ("--max-concurrent", getattr(args, "max_concurrent", None))):
        if value is not None and value < 1:
            raise DseError(f"{name} must be at least 1")


@contextmanager
def _progress(description: str, total: float):
    """A progress bar on a terminal (nothing otherwise); yields ``advance(result, completed=None)``
    (one more result, or ``completed`` so far) and ``finish()`` (the bar full)."""
    console = Console(stderr=True)
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f}"),
               TextColumn("{task.fields[ok]}"), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=total, ok="")
        counts = {"ok": 0, "other": 0}

        def advance(result, completed: float | None = None) -> None:
            counts["ok" if result.status == "ok" else "other"] += 1
            bar.update(task, advance=1 if completed is None else None, completed=completed,
                       ok=f"ok {counts['ok']}, not ok {counts['other']}")

        yield advance, lambda: bar.update(task, completed=total)


def cmd_sweep(args: argparse.Namespace) -> int:
    _, space, backend, (fidelity,), fields = _flow(args, lambda backend: (args.fidelity or backend.fidelities[0],))
    _check_counts(args)
    budget = args.budget or min(space.count(), 100)
    configs = SEARCHERS[args.sampler](space, seed=args.seed).propose(budget)
    points = design_points(configs, fidelity=fidelity, **fields)
    with Store(args.db) as store, make_executor(args.executor, args.jobs) as executor:
        with _progress(f"{fields['kernel']} {backend.name}/{fidelity}", len(points)) as (advance, finish):
            summary = run_points(points, backend, store, executor, timeout=args.timeout,
                                 workdir=args.workdir or f"{Path(args.db).with_suffix('')}.runs", progress=advance)
            finish()
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(summary.statuses.items())) or "nothing new"
        print(f"{fields['kernel']}: {summary.proposed} points, {summary.reused} already in {args.db}, "
              f"{summary.ran} run ({statuses}) in {summary.seconds:.1f} s with {executor.jobs} job(s)",
              file=sys.stderr)
        frame = results_frame(store, kernel=fields["kernel"], backend=backend.name, fidelity=fidelity,
                              target=fields["target"])
    frame = frame[frame.config_hash.isin({c.hash for c in configs})]
    _print_summary(frame, space, fields["target"])
    return 0


def _print_summary(frame, space: Space, target: str) -> None:
    """The fastest design that fits the device, the smallest, and the latency/area Pareto
    front between them, with the directives that differ from the neutral configuration."""
    ok = frame[frame.status == "ok"]
    console = Console(width=None if Console().is_terminal else 160)
    measured = ok.dropna(subset=["latency_cycles", *UTILISATION])
    if ok.empty:
        statuses = ", ".join(f"{n} {s}" for s, n in frame.status.value_counts().items())
        console.print(f"no design has results ({statuses}: see dse export for the errors)")
        return
    if measured.empty:
        console.print(f"{len(ok)} designs ran; this flow stage reports no latency or no utilisation for them "
                      "(see dse export for what it reports)")
        return
    fits = measured[(measured[list(UTILISATION)] <= 100).all(axis=1)]
    if fits.empty:
        console.print(f"none of the {len(ok)} designs fits {target}")
        return
    table = Table("", "latency", "LUT", "FF", "DSP", "BRAM", "clock ns", "directives",
                  title=f"{len(fits)} of {len(ok)} designs fit {target}", title_justify="left")
    pareto = _pareto(fits)
    picks = {"fastest": pareto.index[0],
             "smallest": (fits.util_lut + fits.util_ff + fits.util_dsp + fits.util_bram).idxmin()}
    for index in pareto.index:
        if index not in picks.values() and len(picks) < 7:
            picks[f"pareto {len(picks) - 1}"] = index
    for label, index in sorted(picks.items(), key=lambda item: frame.loc[item[1]].latency_cycles):
        row = frame.loc[index]
        table.add_row(label, f"{int(row.latency_cycles):,}", f"{int(row.lut):,}", f"{int(row.ff):,}",
                      str(int(row.dsp)), str(int(row.bram)), f"{row.clock_ns_est:.2f}",
                      _directive_text(row, space))
    console.print(table)
    console.print(f"Pareto front (latency vs utilisation of LUT+FF+DSP+BRAM): {len(pareto)} designs")


def _directive_text(row, space: Space) -> str:
    """``middle: unroll 16, pipeline II 2 | m1: cyclic 16`` for the knobs off their neutral value."""
    groups: dict[str, list[str]] = {}
    for name, knob in space.knobs.items():
        value = row.get(name)
        if value != value or value is None or value == knob.default or knob.directive in ("ii", "factor", "dim"):
            continue
        text = {"unroll": f"unroll {value}", "inline": f"inline {value}", "period_ns": f"{value} ns"}.get(
            knob.directive, str(value))
        if knob.directive == "pipeline":
            ii = row.get(f"{knob.target}.ii")
            text = "pipeline" if ii is None or ii != ii else f"pipeline II {int(ii)}"
        elif knob.directive == "partition" and value in ("cyclic", "block"):
            text += f" {int(row[f'{knob.target}.factor'])}"
            if f"{knob.target}.dim" in row and row[f"{knob.target}.dim"] == row[f"{knob.target}.dim"]:
                text += f" dim {int(row[f'{knob.target}.dim'])}"
        groups.setdefault(knob.target, []).append(text)
    return " | ".join(f"{target}: {', '.join(texts)}" for target, texts in groups.items()) or "(none)"


def _pareto(frame):
    """The designs of ``frame`` on the latency/area Pareto front, fastest first; of designs with
    the same latency and area, the first stands for them."""
    area = frame.util_lut + frame.util_ff + frame.util_dsp + frame.util_bram
    order = frame.assign(area=area).sort_values(["latency_cycles", "area"], kind="stable")
    distinct = order.drop_duplicates(["latency_cycles", "area"])
    return distinct[pareto_mask(distinct[["latency_cycles", "area"]].to_numpy())].drop(columns="area")


def cmd_export(args: argparse.Namespace) -> int:
    with Store.existing(args.db) as store:
        rows = export(store, args.output)
    print(f"{args.output}: {rows} design points", file=sys.stderr)
    return 0


def cmd_parse(args: argparse.Namespace) -> int:
    reports = {str(path): parse_report(args.tool, path) for path in args.files}
    if args.json:
        print(json.dumps({path: {"metrics": {m: report.metrics.get(m) for m in METRICS},
                                 "utilisation": utilisation(report.metrics, report.available),
                                 "error": report.error, "details": report.details}
                          for path, report in reports.items()}, indent=2))
        return 0
    table = Table("report", *METRICS, "status")
    for path, report in reports.items():
        cells = ["-" if report.metrics.get(m) is None else f"{report.metrics[m]:,}" for m in METRICS]
        table.add_row(path, *cells, "failed" if report.error else "ok")
    Console(width=None if Console().is_terminal else 200).print(table)
    for path, report in reports.items():
        if report.error:
            print(f"{path}: {report.error}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    if args.backend != "vitis":
        raise DseError(f"dse import reads Vitis/Vivado HLS solution trees (--backend vitis), not {args.backend}")
    count = 0
    with Store(args.db) as store:
        for point, result in import_solutions(args.folder, args.kernel):
            store.put(point.key("vitis", result.tool_version), point, "vitis", result)
            count += 1
    print(f"{args.db}: {count} results imported from {args.folder}", file=sys.stderr)
    return 0


def _knob_list(args: argparse.Namespace) -> list[str] | None:
    """--knobs A,B, --knobs-file F (one per line) or the knobs of --space S; None: from the table."""
    if args.knobs:
        return [k.strip() for k in args.knobs.split(",") if k.strip()]
    if args.knobs_file:
        try:
            return [line.strip() for line in Path(args.knobs_file).read_text().splitlines() if line.strip()]
        except OSError as error:
            raise DseError(f"{args.knobs_file}: cannot read ({error.strerror})") from None
    if args.space:
        return [k for k, knob in Space.load(args.space).knobs.items() if len(knob.values) > 1]
    return None


def cmd_train(args: argparse.Namespace) -> int:
    from .report import plot_predictions
    from .surrogates import train  # scikit-learn loads only for the commands that need it

    knobs = _knob_list(args)
    metrics = args.metrics.split(",") if args.metrics else None
    table = load_table(args.data, knobs, metrics)
    test = load_table(args.test, table.knobs, None) if args.test else None
    if test is not None:
        test.metrics = [m for m in table.metrics if m in test.frame]
    kernel_name = args.kernel or (table.kernel if table.kernel in bundled_kernels() else None)
    kernel = read_kernel(resolve_kernel(kernel_name).path) if kernel_name else None
    with Progress(TextColumn("training {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True,
                  disable=args.json or not sys.stderr.isatty()) as bar:
        task = bar.add_task(f"{len(table.frame)} rows", total=len(table.metrics))
        model = train(table, kernel, args.target, args.folds, test, progress=lambda _: bar.advance(task))
    model.save(args.output)
    keys = ("cv_r2", "cv_mape", "test_r2", "test_mape", "baseline_cv_r2", "baseline_test_r2")
    if args.json:
        print(json.dumps({"metrics": {m: {k: r[k] for k in keys if k in r} for m, r in model.report.items()}},
                         indent=2))
    else:
        table_out = Table(title=f"{table.source}: {len(table.frame)} configurations, {len(table.knobs)} knobs"
                                + (f", kernel features of {kernel_name}" if kernel else ""))
        for column in ("metric", "model", "CV R²", "CV MAPE", *(("test R²", "test MAPE") if test else ()),
                       "baseline CV R²", *(("baseline test R²",) if test else ())):
            table_out.add_column(column, justify="left" if column in ("metric", "model") else "right")
        for metric, r in model.report.items():
            cells = [f"{r['cv_r2']:.3f}", f"{100 * r['cv_mape']:.1f}%"]
            if test:
                cells += [f"{r.get('test_r2', float('nan')):.3f}", f"{100 * r.get('test_mape', float('nan')):.1f}%"]
            cells.append(f"{r['baseline_cv_r2']:.3f}")
            if test:
                cells.append(f"{r.get('baseline_test_r2', float('nan')):.3f}")
            table_out.add_row(metric, r["model"], *cells)
        Console().print(table_out)
    if args.plot:
        plot_predictions(model, test or table, args.plot)
    print(f"{args.output}: surrogates for {', '.join(model.surrogates)}", file=sys.stderr)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .surrogates import SurrogateModel

    model = SurrogateModel.load(args.model)
    if args.configs:
        try:
            frame = pd.read_csv(args.configs)
        except (OSError, ValueError) as error:
            raise DseError(f"{args.configs}: cannot read as CSV ({error})") from None
        results = {*LEADING, *TRAILING}  # an export's other columns
        frame = frame[[c for c in frame.columns if c in model.knobs or c not in results]]
    elif args.set:
        frame = pd.DataFrame([dict(split_assignment(text) for text in args.set)])
    else:
        raise DseError("give --set KNOB=VALUE ... or --configs F.csv")
    predicted = model.predict(frame)
    target = TARGETS.get(model.target) if model.target else None
    records = []
    for index, row in predicted.iterrows():
        record = {"config": {k: frame.at[index, k] if k in frame else None for k in model.knobs}}
        for metric in model.surrogates:
            record[metric] = {"mean": row[metric], "low": row[f"{metric}_low"], "high": row[f"{metric}_high"]}
        if target is not None:
            util = {m: 100 * row[m] / c for m, c in target.capacity.items() if m in model.surrogates}
            record["utilisation_pct"] = util
            record["fits"] = all(u <= 100 for u in util.values())
        records.append(record)
    if args.json:
        print(json.dumps(records, indent=2, default=str))
        return 0
    out = Table(title=f"predicted by {args.model} (90% intervals)" + (f" on {target.name}" if target else ""))
    out.add_column("#", justify="right")
    for metric in model.surrogates:
        out.add_column(metric, justify="right")
    if target is not None:
        out.add_column("fits", justify="center")
    for position, record in enumerate(records):
        cells = [f"{record[m]['mean']:,.0f} [{record[m]['low']:,.0f}, {record[m]['high']:,.0f}]"
                 + (f" ({record['utilisation_pct'][m]:.1f}%)" if target is not None and m in record["utilisation_pct"]
                    else "") for m in model.surrogates]
        out.add_row(str(position), *cells, *((("yes" if record["fits"] else "no"),) if target is not None else ()))
    Console().print(out)
    return 0


SEARCH_HELP = """\
Find the best directive sets with few runs. A searcher proposes configurations (random, grid,
lhs, or bayes: the predictor's Bayesian ridge surrogates with expected hypervolume improvement
for two objectives, or expected improvement of random scalarisations for more, times the
probability of meeting the constraints); halving and bayes-halving add asynchronous successive
halving over the backend's fidelities (e.g. vitis csynth -> syn -> impl: many candidates at the
cheap stage, the best 1/eta promoted, eta being how many times the next stage costs; once
nothing new is left to try, the best not promoted yet go on; --brackets B > 1 runs
asynchronous Hyperband, whose B brackets start new candidates at the first B stages, in case
the cheapest stage ranks designs poorly). Every run is stored in --db as a trial of the study (--study, default
KERNEL-STRATEGY-sSEED): run the same command again and an interrupted search resumes, or a
larger --budget continues it. --budget counts runs of the most expensive fidelity; a cheaper
one costs its share, and the search ends where its next run would pass the budget.

With --backend replay --table F.csv, results come from a recorded table (knob columns first,
or --knobs) and KERNEL only names the study; a configuration the table lacks costs nothing.
When the --space file says which loop or array each column's pragma texts act on
([columns.L1] on = "loop_i"), the kernel it names is read, and bayes starts from the designs
the kernel's structure predicts best (its operators costed at --clock-ns, the clock the table
was recorded at; default 10) and calibrates that prediction as results come in.

Objectives are minimised: latency_cycles, lut, ff, dsp, bram, area (mean utilisation of LUT,
FF, DSP and BRAM in %), or any metric the backend reports. Constraints: 'lut<=60%' (of the
target), 'dsp<=100', 'latency_cycles<=50000'."""


def _rungs(args: argparse.Namespace, backend) -> tuple[str, ...]:
    """The fidelities a search uses, cheapest first."""
    if args.fidelity:
        return tuple(f.strip() for f in args.fidelity.split(","))
    return backend.fidelities if args.strategy.endswith("halving") else backend.fidelities[:1]


def _search_setup(args: argparse.Namespace):
    """(backend, space, kernel IR or None, fidelities, fields every design point shares)."""
    if args.backend != "replay":
        kernel, space, backend, rungs, fields = _flow(args, lambda backend: _rungs(args, backend))
        return backend, space, kernel, rungs, fields
    if not args.table:
        raise DseError("--backend replay needs --table F.csv (a recorded table of results)")
    space = Space.load(args.space) if args.space else None
    knobs = _knob_list(args) if (args.knobs or args.knobs_file) else (list(space.knobs) if space else None)
    backend = get_backend("replay", table=args.table, knobs=knobs)
    space = space or backend.space(args.kernel)
    if args.clock_ns is not None:  # the clock the table was recorded at, which bayes' prior costs operators at
        space = space.with_clock(args.clock_ns)
    rungs = _rungs(args, backend)
    target = args.target or backend.target or DEFAULT_TARGET  # the device of utilisation in % and of the prior
    for fidelity in rungs:
        backend.check(target, fidelity)
    fields = dict(kernel=args.kernel, source=str(Path(args.table).resolve()), source_hash=backend.version(),
                  top=None, include_dirs=(), defines=(), target=target, clock_ns=args.clock_ns or 10.0)
    return backend, space, _table_kernel(space), rungs, fields


def _table_kernel(space: Space) -> Kernel | None:
    """The kernel whose loops and arrays a table's pragma-text columns act on (the search's prior,
    the recommended designs' directives), or None if its columns do not say."""
    return read_kernel(resolve_kernel(space.source or space.kernel).path, top=space.top) \
        if space.pragma_columns else None


def cmd_search(args: argparse.Namespace) -> int:
    backend, space, kernel, rungs, point = _search_setup(args)
    goals = Goals.parse(args.objectives, args.constraint, point["target"])
    goals.check(backend.metrics, args.table if args.backend == "replay" else f"the {backend.name} backend's results")
    _check_counts(args)
    budget = args.budget or min(space.count(), 100)
    name = args.study or f"{point['kernel']}-{args.strategy}-s{args.seed}"
    settings = {"kernel": point["kernel"], "source": point["source"], "top": point["top"], "backend": backend.name,
                "target": point["target"], "fidelities": list(rungs), "objectives": list(goals.objectives),
                "constraints": [limit.text for limit in goals.limits], "strategy": args.strategy, "seed": args.seed,
                "budget": budget, "space": str(Path(args.space).resolve()) if args.space else None}
    if args.strategy.endswith("halving"):  # kept when not the default, so that studies stored before resume
        settings.update({setting: value for setting, value, default in (("eta", args.eta, DEFAULT_ETA),
                                                                        ("brackets", args.brackets, DEFAULT_BRACKETS))
                         if value != default})
    warm = []
    if args.warm_start:
        warm = warm_start(args.warm_start, goals, space, kernel=point["kernel"], backend=backend.name,
                          fidelity=rungs[-1], target=point["target"])
    search = Search(name, space, backend, make_searcher(args.strategy, space, args.seed, budget, goals, kernel),
                    make_scheduler(args.strategy, rungs, goals, args.eta, args.brackets, backend.costs),
                    goals, budget, point, warm)
    with Store(args.db) as store, make_executor(args.executor, args.jobs) as executor:
        store.open_study(name, settings)
        with _progress(f"{name} {backend.name}/{'→'.join(rungs)}", budget) as (advance, _):
            summary = search.run(store, executor, timeout=args.timeout, time_limit=args.time_limit,
                                 max_concurrent=args.max_concurrent,
                                 workdir=args.workdir or f"{Path(args.db).with_suffix('')}.runs",
                                 progress=lambda spent, result: advance(result, spent))
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(summary.statuses.items())) or "nothing new"
        print(f"{name}: {summary.trials} trials costing {summary.spent:g} of {budget:g}; {summary.ran} run ({statuses}), "
              f"{summary.reused} found in {args.db}; {summary.seconds:.1f} s with {executor.jobs} job(s)",
              file=sys.stderr)
        rows = [t for t in store.trials(name) if t["fidelity"] == rungs[-1]]
    _print_recommendations(pareto_designs(rows, goals, args.show), goals, space, f"{name}: {goals.describe()}")
    return 0


def _print_recommendations(front, goals: Goals, space: Space | None, title: str) -> None:
    console = Console(width=None if Console().is_terminal else 180)
    if front.empty:
        console.print(f"{title}: no design meets the constraints yet" if goals.limits else f"{title}: no results")
        return
    shown = shown_metrics(front, goals)
    table = Table("#", *shown, "directives", title=f"{title}: {len(front)} Pareto-optimal designs",
                  title_justify="left")
    for rank, row in front.iterrows():
        config = row["config"].as_dict()
        directives = _directive_text(config, space) if space is not None and all(
            k.kind != "columns" for k in space.knobs.values()) else ", ".join(f"{k}={v}" for k, v in config.items())
        table.add_row(str(rank + 1), *("-" if row[m] != row[m] else f"{row[m]:,.4g}" if row[m] < 1000
                                       else f"{row[m]:,.0f}" for m in shown), directives)
    console.print(table)


def _recommend_space(settings: dict, backend: str | None, kernel_name: str | None, space_path: str | None):
    """The kernel IR and space of recommended designs, when they can be known: for a replayed
    table, its space file's, whose columns say what the kernel's loops and arrays are given."""
    if backend == "replay":
        path = space_path or settings.get("space")
        space = Space.load(path) if path else None
        return (_table_kernel(space) if space else None), space
    source = settings.get("source") or (str(resolve_kernel(kernel_name).path) if kernel_name else None)
    if source is None:
        return None, None
    kernel = read_kernel(source, top=settings.get("top"))
    name = settings.get("kernel") or kernel_name
    path = space_path or settings.get("space") or bundled("pragmas") / f"{name}.toml"
    space = Space.load(path) if Path(path).is_file() else derive_space(kernel, name)
    return kernel, space


def _results(args: argparse.Namespace) -> tuple[list[dict], dict, Goals]:
    """The designs ``--db``/``--study``/``--kernel``/``--fidelity`` name, the study's settings,
    and the goals: ``--objectives``/``--constraint``, else the study's."""
    with Store.existing(args.db) as store:
        rows, settings = designs(store, args.study, args.kernel, args.fidelity)
    objectives = args.objectives or ",".join(settings.get("objectives", ["latency_cycles", "area"]))
    goals = Goals.parse(objectives, args.constraint or settings.get("constraints", []),
                        settings.get("target") or (rows[0]["target"] if rows else None))
    if rows:
        goals.check({metric for row in rows for metric in row["metrics"]}, args.db)
    return rows, settings, goals


def cmd_recommend(args: argparse.Namespace) -> int:
    rows, settings, goals = _results(args)
    front = pareto_designs(rows, goals, args.top)
    kernel_name = settings.get("kernel") or (rows[0]["kernel"] if rows else None)
    backend = settings.get("backend") or (rows[0]["backend"] if rows else None)
    kernel, space = _recommend_space(settings, backend, kernel_name if kernel_name in bundled_kernels() else None,
                                     args.space)
    _print_recommendations(front, goals, space, args.study or kernel_name)
    if args.emit:
        written = emit(front, args.emit, args.format, kernel, space, args.study or kernel_name)
        what = "directives" if kernel is not None else "configurations (config.json; no kernel source to annotate)"
        print(f"{args.emit}: {len(front)} designs' {what}, {len(written)} files", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import search_report

    rows, settings, goals = _results(args)
    reference = None
    if args.reference:
        with Store.existing(args.reference, "--reference") as store:
            reference, _ = designs(store, kernel=args.kernel or settings.get("kernel"), fidelity=args.fidelity)
    model = None
    if args.model:
        from .surrogates import SurrogateModel
        model = SurrogateModel.load(args.model)
    search_report(rows, goals, args.output, title=args.study or rows[0]["kernel"], reference=reference, model=model)
    print(f"{args.output}: report on {len(rows)} designs", file=sys.stderr)
    return 0


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that run design points (sweep, search)."""
    parser.add_argument("--space", metavar="FILE",
                        help="space file (default: the bundled one, else derived from the kernel; replay: "
                             "inferred from the table)")
    parser.add_argument("--db", default="results.sqlite", metavar="FILE",
                        help="SQLite results database, created if missing (default: results.sqlite)")
    parser.add_argument("--backend", default="builtin",
                        help="HLS flow: builtin (default, always there), vitis (Vitis HLS or Vivado HLS), bambu, "
                             "replay (a recorded table; search only)")
    parser.add_argument("--target", help=f"device (default: {DEFAULT_TARGET}; replay: the table's target column)")
    parser.add_argument("--clock-ns", type=float, metavar="NS",
                        help="clock period; fixes the space's clock knob (default: the space's, else 10)")
    parser.add_argument("--jobs", type=int, metavar="J", help="worker processes (default: all cores)")
    parser.add_argument("--executor", metavar="SPEC",
                        help="'local' (default) or dask://HOST:PORT for a Dask distributed scheduler")
    parser.add_argument("--timeout", type=float, metavar="S",
                        help="time limit per point in seconds; a point that timed out with less is run again")
    parser.add_argument("--seed", type=int, default=0, help="sampler seed (default: 0)")
    parser.add_argument("--workdir", metavar="DIR",
                        help="where backends that run tools keep each point's files (default: DB.runs next to --db)")
    parser.add_argument("--tool-path", metavar="DIR",
                        help="folder of the vitis_hls/vivado_hls or bambu executable (default: found on PATH)")


def _add_results_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that read the results of a database (recommend, report)."""
    parser.add_argument("--db", required=True, metavar="FILE", help="results database")
    parser.add_argument("--study", metavar="NAME", help="one search's trials (default: every result)")
    parser.add_argument("--kernel", metavar="NAME", help="the kernel, when the database has several")
    parser.add_argument("--fidelity", metavar="F", help="the fidelity, when the database has several")
    parser.add_argument("--objectives", metavar="A,B", help="default: the study's, else latency_cycles,area")
    parser.add_argument("--constraint", action="append", default=[], metavar="EXPR",
                        help="e.g. 'lut<=60%%' (repeatable; default: the study's)")


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

    sweep = commands.add_parser("sweep", help="run many configurations through an HLS flow into a database",
                                description=SWEEP_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_kernel_arguments(sweep)
    _add_run_arguments(sweep)
    sweep.add_argument("--fidelity", help="flow stage (default: the backend's cheapest): builtin estimate, synth (Yosys); "
                                          "vitis csynth, syn, impl; bambu estimate, simulate, evaluation")
    sweep.add_argument("--sampler", choices=sorted(SEARCHERS), default="random",
                       help="how points are chosen (default: random)")
    sweep.add_argument("--budget", type=int, metavar="N",
                       help="number of distinct configurations (default: 100, or all if fewer)")
    sweep.set_defaults(run=cmd_sweep)

    export_cmd = commands.add_parser("export", help="write a results database as CSV or Parquet",
                                     description="One row per design point: kernel, backend, fidelity, target, "
                                                 "clock_ns, one column per knob, status, metrics, utilisation "
                                                 "(% of the target), runtime_s, config_hash.")
    export_cmd.add_argument("--db", required=True, metavar="FILE", help="SQLite results database")
    export_cmd.add_argument("-o", "--output", required=True, metavar="FILE", help="out.csv or out.parquet")
    export_cmd.set_defaults(run=cmd_export)

    parse_cmd = commands.add_parser(
        "parse", help="read Vitis HLS or Bambu reports you already have",
        description="Print the metrics of tool reports under the names the results database uses "
                    "(missing values as - or null). vitis: csynth.xml / <top>_csynth.xml, <top>_csynth.rpt or "
                    "csynth.rpt, export_syn.xml / export_impl.xml; bambu: its log (standard output) or "
                    "bambu_results_*.xml.")
    parse_cmd.add_argument("tool", choices=("vitis", "bambu"), help="which tool wrote the reports")
    parse_cmd.add_argument("files", nargs="+", metavar="FILE", help="report files")
    parse_cmd.add_argument("--json", action="store_true", help="print JSON, with each report's details")
    parse_cmd.set_defaults(run=cmd_parse)

    import_cmd = commands.add_parser(
        "import", help="store existing Vitis HLS solutions in a results database",
        description="Find every solution with a syn/report/<top>_csynth.xml under FOLDER and store it as a "
                    "result (and its syn/impl results when export_design ran), with the configuration its "
                    "directives.tcl sets. Imported results can be exported, trained on and searched like a sweep's.")
    import_cmd.add_argument("folder", metavar="FOLDER", help="a folder of Vitis or Vivado HLS projects")
    import_cmd.add_argument("--backend", default="vitis", help="the tool that wrote them (vitis)")
    import_cmd.add_argument("--db", default="results.sqlite", metavar="FILE", help="results database (created if missing)")
    import_cmd.add_argument("--kernel", metavar="NAME", help="study name (default: each report's top function)")
    import_cmd.set_defaults(run=cmd_import)

    train_cmd = commands.add_parser("train", help="fit surrogates that predict metrics from knobs",
                                    description=TRAIN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    train_cmd.add_argument("--data", required=True, metavar="FILE",
                           help="a sweep database (.sqlite), an export, or any CSV/Parquet of knobs and metrics")
    train_cmd.add_argument("--knobs", metavar="A,B,...", help="knob columns (default: a sweep's configuration)")
    train_cmd.add_argument("--knobs-file", metavar="FILE", help="knob columns, one name per line")
    train_cmd.add_argument("--space", metavar="FILE", help="take the knob columns from a space file")
    train_cmd.add_argument("--metrics", metavar="A,B,...",
                           help="metric columns (default: latency_cycles, ii, lut, ff, dsp, bram, clock_ns, "
                                "fmax_mhz, whichever the table has)")
    train_cmd.add_argument("--kernel", metavar="KERNEL",
                           help="bundled kernel or C file: adds structural features from its IR "
                                "(default: the sweep's kernel when it is bundled)")
    train_cmd.add_argument("--target", help="device the metrics were measured on (default: the table's)")
    train_cmd.add_argument("--test", metavar="FILE", help="a separate table to score the models on")
    train_cmd.add_argument("--folds", type=int, default=5, help="cross-validation folds (default: 5)")
    train_cmd.add_argument("--plot", metavar="FILE", help="predicted vs actual per metric: .png, .svg or .html")
    train_cmd.add_argument("--json", action="store_true", help="print the scores as JSON")
    train_cmd.add_argument("-o", "--output", required=True, metavar="FILE", help="model file (model.joblib)")
    train_cmd.set_defaults(run=cmd_train)

    predict_cmd = commands.add_parser("predict", help="predict metrics of configurations with a trained model",
                                      description="Predicted metrics with 90% intervals, utilisation of the "
                                                  "model's target and whether the design fits it. Knobs not "
                                                  "given take their first value.")
    predict_cmd.add_argument("--model", required=True, metavar="FILE", help="written by dse train")
    predict_cmd.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                             help="knob value of the configuration (repeatable)")
    predict_cmd.add_argument("--configs", metavar="FILE.csv", help="one configuration per row, knobs as columns")
    predict_cmd.add_argument("--json", action="store_true", help="print JSON")
    predict_cmd.set_defaults(run=cmd_predict)

    search_cmd = commands.add_parser("search", help="search for the best directives with few runs (Bayesian, "
                                                    "successive halving)",
                                     description=SEARCH_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_kernel_arguments(search_cmd)
    _add_run_arguments(search_cmd)
    search_cmd.add_argument("--strategy", choices=STRATEGIES, default="bayes", help="(default: bayes)")
    search_cmd.add_argument("--objectives", default="latency_cycles,area", metavar="A,B",
                            help="metrics to minimise: latency_cycles, lut, ff, dsp, bram, area (mean utilisation "
                                 "in %%), area(lut=1,dsp=4) (weighted), ... (default: latency_cycles,area)")
    search_cmd.add_argument("--constraint", action="append", default=[], metavar="EXPR",
                            help="e.g. 'lut<=60%%' or 'dsp<=100' (repeatable)")
    search_cmd.add_argument("--budget", type=int, metavar="N",
                            help="runs at the most expensive fidelity (default: 100, or the space if smaller)")
    search_cmd.add_argument("--fidelity", metavar="F[,F...]",
                            help="flow stage, or for halving the stages cheapest first (default: the backend's "
                                 "cheapest; for halving all of them)")
    search_cmd.add_argument("--eta", type=int, default=DEFAULT_ETA,
                            help=f"successive halving keeps the best 1/eta of each fidelity (default: how many "
                                 f"times the next fidelity costs, at least {MIN_ETA}: builtin estimate -> synth 100, "
                                 f"vitis csynth -> syn -> impl 4, 3)")
    search_cmd.add_argument("--max-concurrent", type=int, metavar="N",
                            help="at most N runs at once (default: one per worker); fewer let each proposal "
                                 "learn from more results")
    search_cmd.add_argument("--brackets", type=int, default=DEFAULT_BRACKETS, metavar="B",
                            help="halving: Hyperband brackets, entering at the first B fidelities (default 1: ASHA)")
    search_cmd.add_argument("--study", metavar="NAME", help="study name (default: KERNEL-STRATEGY-sSEED)")
    search_cmd.add_argument("--time-limit", type=float, metavar="S",
                            help="stop proposing after S seconds (running points finish)")
    search_cmd.add_argument("--warm-start", metavar="DB", help="learn from the results of another database too")
    search_cmd.add_argument("--show", type=int, metavar="K", help="show at most K designs of the front")
    search_cmd.add_argument("--table", metavar="F.csv", help="replay: the recorded table")
    search_cmd.add_argument("--knobs", metavar="A,B,...", help="replay: the table's knob columns")
    search_cmd.add_argument("--knobs-file", metavar="FILE", help="replay: knob columns, one per line")
    search_cmd.set_defaults(run=cmd_search)

    recommend_cmd = commands.add_parser(
        "recommend", help="the Pareto-optimal designs of a database, and their directives",
        description="Print the designs on the Pareto front of the objectives that meet the constraints "
                    "(configuration, metrics, utilisation), of one study or of all results of a kernel, and "
                    "with --emit write each one's directives: --format vitis (directives.tcl) or pragma (the "
                    "kernel source with #pragma HLS lines), with config.json.")
    _add_results_arguments(recommend_cmd)
    recommend_cmd.add_argument("--top", type=int, metavar="K", help="at most K designs, spread along the front")
    recommend_cmd.add_argument("--space", metavar="FILE", help="space file (default: the study's or the bundled one)")
    recommend_cmd.add_argument("--emit", metavar="DIR", help="write each design's directives into DIR/NN_<hash>/")
    recommend_cmd.add_argument("--format", choices=FORMATS, default="vitis", help="directive files (default: vitis)")
    recommend_cmd.set_defaults(run=cmd_recommend)

    report_cmd = commands.add_parser(
        "report", help="an HTML report of a search or sweep: Pareto front, ADRS, knobs",
        description="Write one self-contained HTML page: the latency vs area plot with the Pareto front, the "
                    "ADRS against the number of runs when --reference gives the true front (e.g. an exhaustive "
                    "sweep), a parallel-coordinates view of the knobs, and predicted vs actual with --model.")
    _add_results_arguments(report_cmd)
    report_cmd.add_argument("--reference", metavar="DB", help="a database holding the reference front")
    report_cmd.add_argument("--model", metavar="FILE", help="a model from dse train: predicted vs actual")
    report_cmd.add_argument("-o", "--output", required=True, metavar="FILE.html")
    report_cmd.set_defaults(run=cmd_report)
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
