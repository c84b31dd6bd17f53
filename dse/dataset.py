"""Datasets: results from a store as a table, one row per design point, and its export."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .backends.base import METRICS
from .errors import DseError, did_you_mean
from .objectives import UTILISATION
from .store import Store

LEADING = ("kernel", "backend", "fidelity", "target", "clock_ns")
TRAILING = ("status", *METRICS, *UTILISATION, "runtime_s", "error", "config_hash")


def results_frame(store: Store, keys: set[str] | None = None, **where: str) -> pd.DataFrame:
    """The results in the store (those whose columns equal ``where``, and whose key is one of
    ``keys`` if given): study columns, one column per knob, status and metrics."""
    records, knobs = [], {}
    for row in store.rows(**where):
        if keys is not None and row["key"] not in keys:
            continue
        record = {column: row[column] for column in (*LEADING, "status", *METRICS, "runtime_s", "error",
                                                     "config_hash")}
        record.update({u: row["metrics"].get(u) for u in UTILISATION})
        record.update(row["config"])
        knobs.update(dict.fromkeys(row["config"]))
        records.append(record)
    columns = [*LEADING, *sorted(k for k in knobs if k not in LEADING), *TRAILING]
    return pd.DataFrame.from_records(records, columns=columns)


def export(store: Store, output: str | Path) -> int:
    """Write the store as CSV or Parquet (by the file's suffix); returns the number of rows."""
    output = Path(output)
    frame = results_frame(store)
    try:
        if output.suffix == ".csv":
            frame.to_csv(output, index=False)
        elif output.suffix == ".parquet":
            frame.to_parquet(output, index=False)
        else:
            raise DseError(f"{output}: use a .csv or .parquet file name")
    except OSError as error:
        raise DseError(f"{output}: cannot write ({error.strerror or error})") from None
    return len(frame)


PREDICTABLE = ("latency_cycles", "ii", "lut", "ff", "dsp", "bram", "clock_ns", "clock_ns_est", "fmax_mhz")
"""Metric columns a surrogate predicts by default, whichever a table has."""

_NOT_KNOBS = {*LEADING, *TRAILING, *UTILISATION, "feasible", "index_key", "config", "synth_time_s"}


@dataclass
class Table:
    """Design points for training or testing: knob columns and metric columns, one row per
    distinct configuration (duplicates merged by their mean), failed rows left out."""

    frame: pd.DataFrame
    knobs: list[str]
    metrics: list[str]
    source: str
    target: str | None = None
    kernel: str | None = None

    @property
    def hash(self) -> str:
        """A content hash of the knob and metric values."""
        data = self.frame[self.knobs + self.metrics].to_csv(index=False).encode()
        return hashlib.sha256(data).hexdigest()[:16]


def load_table(path: str | Path, knobs: list[str] | None = None, metrics: list[str] | None = None) -> Table:
    """A results database (``.sqlite``), an export, or any CSV/Parquet with knob and metric
    columns. Knobs default to the configuration columns of a sweep's export; other tables
    must name them. Metrics default to :data:`PREDICTABLE` columns present."""
    path = Path(path)
    if not path.is_file():
        raise DseError(f"{path}: no such file")
    try:
        if path.suffix in (".sqlite", ".db"):
            with Store(path) as store:
                frame = results_frame(store)
        elif path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise DseError(f"{path}: cannot read as a table ({error})") from None
    if knobs is None:
        if "config_hash" not in frame:
            raise DseError(f"{path}: name the knob columns with --knobs A,B,... or --knobs-file F (or --space S)")
        knobs = [c for c in frame.columns if c not in _NOT_KNOBS and c not in PREDICTABLE]
    if metrics is None:  # in a sweep's export, clock_ns is the requested clock: an input
        inputs = LEADING if "config_hash" in frame else ()
        metrics = [m for m in PREDICTABLE if m in frame and m not in inputs and frame[m].notna().any()]
    for name, kind in [*((k, "knob") for k in knobs), *((m, "metric") for m in metrics)]:
        if name not in frame:
            raise DseError(f"{path}: no {kind} column '{name}'{did_you_mean(name, frame.columns)}")
    if not metrics:
        raise DseError(f"{path}: no metric column (use --metrics)")
    for metric in metrics:
        if not pd.api.types.is_numeric_dtype(frame[metric]):
            raise DseError(f"{path}: metric column '{metric}' is not numeric")
    ok = pd.Series(True, index=frame.index)
    if "status" in frame:
        ok &= frame["status"] == "ok"
    if "feasible" in frame:
        ok &= frame["feasible"].astype(bool)
    frame = frame[ok]
    merged = (frame[knobs + metrics].astype({k: object for k in knobs}).fillna({k: _INACTIVE for k in knobs})
              .groupby(knobs, sort=False, dropna=False)[metrics].mean().reset_index()
              .replace({k: {_INACTIVE: None} for k in knobs}))
    single = lambda column: str(frame[column].iloc[0]) if column in frame and frame[column].nunique() == 1 else None
    return Table(merged, list(knobs), list(metrics), str(path), single("target"), single("kernel"))


_INACTIVE = "\x00inactive"
"""Stands for an empty knob cell (an inactive knob) while duplicates are merged."""
