"""Datasets: results from a store as a table, one row per design point, and its export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .backends.base import METRICS
from .errors import DseError
from .store import Store

UTILISATION = ("util_lut", "util_ff", "util_dsp", "util_bram")
LEADING = ("kernel", "backend", "fidelity", "target", "clock_ns")
TRAILING = ("status", *METRICS, *UTILISATION, "runtime_s", "error", "config_hash")


def results_frame(store: Store, **where: str) -> pd.DataFrame:
    """The results in the store (those whose columns equal ``where``): study columns, one
    column per knob, status and metrics."""
    records, knobs = [], {}
    for row in store.rows(**where):
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
