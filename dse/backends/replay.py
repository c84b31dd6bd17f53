"""The replay backend: results recorded in a table (CSV or Parquet), looked up by configuration.

It makes searches reproducible offline and benchmarks them on real tool data: every
configuration of the table is a result; one the table lacks is ``unknown`` and costs nothing.
Knob columns are named (``--knobs``) or are the columns before the first metric column; the
space is the values each knob column takes, or a space file whose knobs are the columns (an
empty cell is an inactive knob). A ``fidelity`` column makes each of its values a
fidelity (ordered by the mean of ``runtime_s``/``synth_time_s`` when present, else as they
first appear); rows with ``feasible`` = 0 are failed runs.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DseError, did_you_mean
from ..space import DIRECTIVES, Space, knob_text
from .base import Backend, DesignPoint, Result

ALIASES = {"latency_cycles_est": "latency_cycles", "util_lut_pct": "util_lut", "util_ff_pct": "util_ff",
           "util_dsp_pct": "util_dsp", "util_bram_pct": "util_bram", "synth_time_s": "runtime_s",
           "clock_ns": "clock_ns_est"}
"""Column names of other tables -> the store's metric names (the original is kept too)."""
METRIC_ALIASES = {column: name for column, name in ALIASES.items() if name != "runtime_s"}
"""The aliases a row's metrics take on (a run time is the result's, not a metric)."""

BOOKKEEPING = {"fidelity", "feasible", "latency_undef", "status", "error", "config", "config_hash", "index_key",
               "kernel", "backend", "target", "runtime_s"}
RUNTIME = ("runtime_s", "synth_time_s")
SINGLE = "replay"


def _plain(value):
    """A table cell as a JSON-friendly knob value (numpy scalars become int/float/str)."""
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return int(value) if float(value).is_integer() else float(value)
    return str(value)


class ReplayBackend(Backend):
    name = "replay"
    targets = ()
    directives = frozenset(set().union(*map(set, DIRECTIVES.values())))

    def __init__(self, table: str | Path | None = None, knobs: list[str] | None = None):
        if table is None:
            raise DseError("the replay backend needs a recorded table (--table F.csv)")
        self.table = Path(table)
        if not self.table.is_file():
            raise DseError(f"{self.table}: no such table")
        try:
            frame = pd.read_parquet(self.table) if self.table.suffix == ".parquet" else pd.read_csv(self.table)
        except (ValueError, OSError, pd.errors.ParserError) as error:
            raise DseError(f"{self.table}: cannot read as a table ({' '.join(str(error).split())})") from None
        self.knobs = list(knobs) if knobs else self._leading_knobs(frame)
        for knob in self.knobs:
            if knob not in frame:
                raise DseError(f"{self.table}: no knob column '{knob}'{did_you_mean(knob, frame.columns)}")
        self.frame = frame
        targets = frame["target"].dropna().unique() if "target" in frame else []
        self.target: str | None = str(targets[0]) if len(targets) == 1 else None
        """The device the table's results were measured on, when it names one."""
        measured = [c for c in frame.columns if c not in self.knobs and c not in BOOKKEEPING
                    and pd.api.types.is_numeric_dtype(frame[c])]
        self.metrics = frozenset({*measured, *(METRIC_ALIASES[c] for c in measured if c in METRIC_ALIASES)})
        self.fidelities, self.costs = self._fidelities(frame)
        self._digest = hashlib.sha256(self.table.read_bytes()).hexdigest()[:12]
        self._rows: dict[tuple, dict] = {}
        for row in frame.to_dict("records"):
            key = (row.get("fidelity", SINGLE), *(knob_text(row[k]) for k in self.knobs))
            self._rows.setdefault(key, row)  # a repeated configuration: its first row

    def _leading_knobs(self, frame: pd.DataFrame) -> list[str]:
        metrics = {*ALIASES, *ALIASES.values(), "latency_cycles", "latency_ms", "lut", "ff", "dsp", "bram", "ii",
                   "fmax_mhz", *BOOKKEEPING}
        knobs = []
        for column in frame.columns:
            if column in metrics or column.startswith("util_"):
                break
            knobs.append(column)
        if not knobs:
            raise DseError(f"{self.table}: no knob columns before the metrics; name them with --knobs A,B,...")
        return knobs

    @staticmethod
    def _fidelities(frame: pd.DataFrame) -> tuple[tuple[str, ...], dict[str, float]]:
        """The fidelities, cheapest first, and each one's cost relative to the most expensive:
        by mean run time when the table has one, else in order of appearance at equal cost."""
        if "fidelity" not in frame:
            return (SINGLE,), {SINGLE: 1.0}
        order = list(dict.fromkeys(frame["fidelity"].astype(str)))
        runtime = next((c for c in RUNTIME if c in frame), None)
        if runtime is None:
            return tuple(order), dict.fromkeys(order, 1.0)
        means = frame.groupby(frame["fidelity"].astype(str))[runtime].mean()
        order.sort(key=means.get)
        return tuple(order), {f: float(means[f] / means.max()) for f in order}

    def space(self, name: str) -> Space:
        """The space the table covers: each knob column's values, in the order they first appear
        (a table with empty knob cells needs its space file: which knob is active when)."""
        empty = [k for k in self.knobs if self.frame[k].isna().any()]
        if empty:
            raise DseError(f"{self.table}: knob column '{empty[0]}' has empty cells (an inactive knob); "
                           f"give the space it was swept over with --space")
        return Space.of_columns(name, {k: [_plain(v) for v in pd.unique(self.frame[k])] for k in self.knobs})

    def version(self) -> str:
        return f"replay {self.table.name} {self._digest}"

    def accepts(self, target: str) -> bool:
        return True

    def run(self, point: DesignPoint, workdir: Path | None) -> Result:
        started = time.perf_counter()
        values = point.config.as_dict()
        row = self._rows.get((point.fidelity, *(knob_text(values.get(k)) for k in self.knobs)))
        if row is None:
            return Result("unknown", tool_version=self.version(), error=f"not in {self.table.name}")
        metrics = {}
        for column, value in row.items():
            if column in self.knobs or column in BOOKKEEPING or isinstance(value, str) or pd.isna(value):
                continue
            metrics[column] = float(value)
            if column in METRIC_ALIASES and METRIC_ALIASES[column] not in row:
                metrics[METRIC_ALIASES[column]] = float(value)
        if row.get("latency_undef") == 1:
            metrics.pop("latency_cycles", None)
        runtime = next((float(row[c]) for c in RUNTIME if c in row and not pd.isna(row[c])), 0.0)
        if "feasible" in row and row["feasible"] == 0:
            return Result("failed", tool_version=self.version(), runtime_s=runtime,
                          error=f"{self.table.name}: the tool failed or timed out on this configuration")
        return Result("ok", metrics, self.version(), runtime or time.perf_counter() - started)
