"""Reports and plots: predicted against actual values of each metric, and the HTML report of a
search (Pareto front, ADRS against runs, knobs of the designs, predicted vs actual)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import Table
from .errors import DseError
from .objectives import Goals
from .pareto import adrs, pareto_mask
from .recommend import pareto_designs, shown_metrics
from .space import Configuration
from .study import observation


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _png(figure) -> str:
    """A figure as a base64 PNG for an <img> tag."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    _pyplot().close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _write_page(output: Path, title: str, sections: list[tuple[str, str]]) -> None:
    """A self-contained HTML page: per section a heading and either an image or HTML."""
    parts = [f"<!doctype html><meta charset='utf-8'><title>hls-dse: {html.escape(title)}</title>"
             f"<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}} table{{border-collapse:collapse}}"
             f" td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}</style><h1>{html.escape(title)}</h1>"]
    for heading, content in sections:
        body = content if content.startswith("<") else f"<img alt='{html.escape(heading)}' src='data:image/png;base64,{content}'>"
        parts.append(f"<h2>{html.escape(heading)}</h2>{body}")
    try:
        output.write_text("\n".join(parts) + "\n")
    except OSError as error:
        raise DseError(f"{output}: cannot write ({error.strerror or error})") from None


def _predictions_figure(model, table: Table):
    plt = _pyplot()
    metrics = [m for m in model.surrogates if m in table.frame]
    columns = min(3, len(metrics))
    rows = -(-len(metrics) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 4 * rows), squeeze=False)
    for axis, metric in zip(axes.flat, metrics):
        held = table.frame[table.frame[metric].notna()]
        actual = held[metric].to_numpy(float)
        for label, predictor, style in (("ours", model.surrogates[metric], "o"),
                                        ("baseline OLS", model.baselines[metric], "x")):
            axis.scatter(actual, np.asarray(predictor.predict(held), float), s=10, marker=style, alpha=0.6, label=label)
        low, high = max(actual.min(), 1e-3), actual.max()
        axis.plot([low, high], [low, high], color="black", linewidth=0.8)
        if low > 0 and high / low > 50:
            axis.set_xscale("log")
            axis.set_yscale("log")
        axis.set_title(f"{metric} ({model.report[metric]['model']})", fontsize=9)
        axis.set_xlabel("actual")
        axis.set_ylabel("predicted")
        axis.legend(fontsize=7)
    for axis in list(axes.flat)[len(metrics):]:
        axis.set_visible(False)
    figure.tight_layout()
    return figure


def plot_predictions(model, table: Table, output: str | Path) -> None:
    """One panel per metric: the surrogate's and the baseline's predictions against the
    table's values, on log axes, with the 1:1 line. ``.png``/``.svg``, or ``.html`` (the
    figure embedded in a page that needs nothing else)."""
    output = Path(output)
    if output.suffix not in (".png", ".svg", ".html"):
        raise DseError(f"{output}: use a .png, .svg or .html file name")
    figure = _predictions_figure(model, table)
    if output.suffix == ".html":
        _write_page(output, f"predicted vs actual: {table.source}", [("Predicted vs actual", _png(figure))])
        return
    try:
        figure.savefig(output, dpi=110)
    except OSError as error:
        raise DseError(f"{output}: cannot write ({error.strerror or error})") from None
    finally:
        _pyplot().close(figure)


def search_report(rows: list[dict], goals: Goals, output: str | Path, title: str,
                  reference: list[dict] | None = None, model=None) -> None:
    """The HTML report of the results ``rows`` (in the order they ran) under ``goals``."""
    output = Path(output)
    if output.suffix != ".html":
        raise DseError(f"{output}: the report is an .html file")
    if len(goals.objectives) != 2:
        raise DseError(f"the report plots two objectives; --objectives names {len(goals.objectives)}")
    found = [observation(Configuration.of(r["config"]), r["status"], r["metrics"], goals) for r in rows]
    measured = [o for o in found if o.measured(goals)]
    if not measured:
        raise DseError("no design has both objectives measured; nothing to plot")
    values, fits = goals.table(measured)
    front = pareto_designs(rows, goals)
    sections = [("Pareto front", _png(_front_figure(values, fits, front, goals, reference))),
                ("Pareto-optimal designs", _front_table(front, goals))]
    if reference:
        sections.append(("ADRS against runs", _png(_adrs_figure(found, reference, goals))))
    sections.append(("Knobs of the designs", _png(_knobs_figure(measured, values, goals))))
    if model is not None:
        frame = pd.DataFrame([{**o.config.as_dict(), **r["metrics"]} for o, r in zip(found, rows) if o.status == "ok"])
        table = Table(frame.reindex(columns=[*model.knobs, *frame.columns.difference(list(model.knobs))]),
                      list(model.knobs), list(model.surrogates), title)
        sections.append(("Predicted vs actual", _png(_predictions_figure(model, table))))
    statuses = pd.Series([o.status for o in found]).value_counts().to_dict()
    summary = (f"<p>{len(found)} designs ({', '.join(f'{n} {s}' for s, n in statuses.items())}); "
               f"{int(fits.sum())} meet the constraints; {goals.describe()}.</p>")
    _write_page(output, f"{title}", [("Summary", summary), *sections])


def _front_figure(values: np.ndarray, fits: np.ndarray, front: pd.DataFrame, goals: Goals, reference):
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 5))
    x, y = goals.objectives
    axis.scatter(values[~fits, 0], values[~fits, 1], s=8, color="#dddddd", label="misses a constraint")
    axis.scatter(values[fits, 0], values[fits, 1], s=8, color="#8fa8c8", label="meets the constraints")
    if reference:
        ref = pareto_designs(reference, goals)
        axis.step(ref[x], ref[y], where="post", color="black", linewidth=0.8, label="reference front")
    axis.step(front[x], front[y], where="post", color="#c0392b", linewidth=1.2)
    axis.scatter(front[x], front[y], s=24, color="#c0392b", label="Pareto front found", zorder=3)
    if values[:, 0].min() > 0 and values[:, 0].max() / values[:, 0].min() > 10:
        axis.set_xscale("log")
    axis.set_xlabel(x)
    axis.set_ylabel(y)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def _front_table(front: pd.DataFrame, goals: Goals) -> str:
    shown = shown_metrics(front, goals)
    header = "".join(f"<th>{html.escape(m)}</th>" for m in ["#", *shown, "configuration"])
    lines = []
    for rank, row in front.iterrows():
        cells = "".join(f"<td>{row[m]:,.4g}</td>" if row[m] == row[m] else "<td>-</td>" for m in shown)
        config = ", ".join(f"{k}={v}" for k, v in row["config"].as_dict().items())
        lines.append(f"<tr><td>{rank + 1}</td>{cells}<td style='text-align:left'>{html.escape(config)}</td></tr>")
    return f"<table><tr>{header}</tr>{''.join(lines)}</table>"


def _adrs_figure(found: list, reference: list[dict], goals: Goals):
    plt = _pyplot()
    ref = pareto_designs(reference, goals)[list(goals.objectives)].to_numpy(float)
    points, curve = [], []
    for observed in found:
        if observed.measured(goals) and goals.values(observed.values)[1] == 0:
            points.append([observed.values[m] for m in goals.objectives])
        curve.append(100 * adrs(ref, np.array(points, float).reshape(-1, len(goals.objectives))))
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(np.arange(1, len(curve) + 1), curve, color="#c0392b")
    axis.set_yscale("symlog", linthresh=1)
    axis.set_xlabel("runs")
    axis.set_ylabel("ADRS (%)")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def _knobs_figure(measured: list, values: np.ndarray, goals: Goals):
    """Parallel coordinates: one axis per knob (its values in order), a line per design,
    coloured by the first objective; the Pareto-optimal designs drawn on top."""
    plt = _pyplot()
    knobs = list(dict.fromkeys(k for o in measured for k in o.config.as_dict()))
    codes = np.full((len(measured), len(knobs)), np.nan)
    labels = []
    for j, knob in enumerate(knobs):
        seen = sorted({o.config.as_dict().get(knob) for o in measured} - {None}, key=lambda v: (str(type(v)), v))
        position = {v: i / max(1, len(seen) - 1) for i, v in enumerate(seen)}
        codes[:, j] = [position.get(o.config.as_dict().get(knob), np.nan) for o in measured]
        labels.append(knob)
    best = pareto_mask(values)
    colour = np.log1p(values[:, 0] - values[:, 0].min())
    colour = colour / max(colour.max(), 1e-9)
    figure, axis = plt.subplots(figsize=(max(7, 0.7 * len(knobs)), 4.5))
    for row in np.argsort(best):
        axis.plot(range(len(knobs)), codes[row], color="#c0392b" if best[row] else plt.cm.viridis(colour[row]),
                  alpha=0.9 if best[row] else 0.15, linewidth=1.6 if best[row] else 0.8)
    axis.set_xticks(range(len(knobs)))
    axis.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    axis.set_yticks([0, 1])
    axis.set_yticklabels(["first value", "last value"], fontsize=7)
    axis.set_title(f"red: Pareto-optimal; others coloured by {goals.objectives[0]} (dark: low)", fontsize=9)
    figure.tight_layout()
    return figure
