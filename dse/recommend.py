"""Recommendations: the designs of a database (or of one search) on the Pareto front of the
objectives, within the constraints, and their directives written out ready to use."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DseError
from .ir import Kernel
from .objectives import Goals
from .pareto import pareto_mask
from .render import render
from .space import Configuration, Space
from .store import Store
from .study import observation

FORMATS = ("vitis", "pragma")


def designs(store: Store, study: str | None = None, kernel: str | None = None, fidelity: str | None = None
            ) -> tuple[list[dict], dict]:
    """The results to recommend from, and the study's settings (empty without a study): a
    study's trials at its most expensive fidelity, or every result of one kernel at one fidelity."""
    if study is not None:
        studies = store.studies()
        if study not in studies:
            raise DseError(f"{store.path}: no study '{study}' (studies: {', '.join(studies) or 'none'})")
        settings = studies[study]
        return [t for t in store.trials(study) if t["fidelity"] == settings["fidelities"][-1]], settings
    rows = list(store.rows(**({"kernel": kernel} if kernel else {})))
    if not rows:
        raise DseError(f"{store.path}: no results" + (f" for kernel '{kernel}'" if kernel else ""))
    for column, given in (("kernel", kernel), ("fidelity", fidelity), ("target", None)):
        values = sorted({row[column] for row in rows})
        if given is not None:
            rows = [row for row in rows if row[column] == given]
        elif len(values) > 1:
            raise DseError(f"{store.path}: results of several {column}s ({', '.join(values)}); name one with "
                           f"--{column}" + (" or --study" if column == "kernel" else ""))
    return rows, {}


def pareto_designs(rows: list[dict], goals: Goals, top: int | None = None) -> pd.DataFrame:
    """The designs that fit the constraints and are on the front of the objectives (of designs
    with equal objectives, the first found), best first objective first; with ``top``, that
    many spread evenly along the front."""
    records = []
    for row in rows:
        seen = observation(Configuration.of(row["config"]), row["status"], row["metrics"], goals)
        if seen.measured(goals) and goals.values(seen.values)[1] == 0:
            records.append({"config": seen.config, **{m: seen.values[m] for m in goals.metrics},
                            **{k: v for k, v in row["metrics"].items() if k not in goals.metrics}})
    if not records:
        return pd.DataFrame(columns=["config", *goals.metrics])
    frame = pd.DataFrame(records).drop_duplicates(list(goals.objectives)).reset_index(drop=True)
    front = frame[pareto_mask(frame[list(goals.objectives)].to_numpy(float))]
    front = front.sort_values(list(goals.objectives), kind="stable").reset_index(drop=True)
    if top is not None and len(front) > top:
        front = front.iloc[np.unique(np.linspace(0, len(front) - 1, top).round().astype(int))].reset_index(drop=True)
    return front


def shown_metrics(front: pd.DataFrame, goals: Goals) -> list[str]:
    """The columns worth showing of recommended designs: the goals' metrics, then latency and
    resources, those the designs have."""
    return [m for m in dict.fromkeys([*goals.metrics, "latency_cycles", "lut", "ff", "dsp", "bram"]) if m in front]


def emit(front: pd.DataFrame, folder: str | Path, fmt: str, kernel: Kernel | None, space: Space | None,
         study_name: str) -> list[Path]:
    """One folder per recommended design, ``NN_<hash>``: with ``vitis`` its directives.tcl, with
    ``pragma`` the kernel source with #pragma HLS lines, and config.json with the configuration
    and its predicted or measured metrics. Without the kernel (a replayed table) only config.json."""
    if fmt not in FORMATS:
        raise DseError(f"--format {fmt}: use {' or '.join(FORMATS)}")
    folder = Path(folder)
    written = []
    for rank, row in front.iterrows():
        config: Configuration = row["config"]
        out = folder / f"{rank + 1:02d}_{config.hash[:10]}"
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DseError(f"{out}: cannot create ({error.strerror})") from None
        if kernel is not None and space is not None:
            files = render(kernel, space, config, out)
            unwanted = [f for f in files if (f.name == "directives.tcl") != (fmt == "vitis") and f.suffix != ".json"]
            for path in unwanted:
                path.unlink()
            written += [f for f in files if f not in unwanted]
        record = json.loads((out / "config.json").read_text()) if (out / "config.json").is_file() else \
            {"config": config.as_dict(), "hash": config.hash}
        record.update({"study": study_name, "rank": rank + 1,
                       "metrics": {k: v for k, v in row.items() if k != "config" and v == v}})
        (out / "config.json").write_text(json.dumps(record, indent=2, default=float) + "\n")
        written.append(out / "config.json")
    return sorted(set(written))
