"""Reports and plots: predicted against actual values of each metric."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np

from .dataset import Table
from .errors import DseError


def plot_predictions(model, table: Table, output: str | Path) -> None:
    """One panel per metric: the surrogate's and the baseline's predictions against the
    table's values, on log axes, with the 1:1 line. ``.png``/``.svg``, or ``.html`` (the
    figure embedded in a page that needs nothing else)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output = Path(output)
    if output.suffix not in (".png", ".svg", ".html"):
        raise DseError(f"{output}: use a .png, .svg or .html file name")
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
    try:
        if output.suffix == ".html":
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=110)
            image = base64.b64encode(buffer.getvalue()).decode()
            output.write_text(f"<!doctype html><meta charset='utf-8'><title>hls-dse: predicted vs actual</title>"
                              f"<h1>Predicted vs actual: {table.source}</h1>"
                              f"<img alt='predicted vs actual' src='data:image/png;base64,{image}'>\n")
        else:
            figure.savefig(output, dpi=110)
    except OSError as error:
        raise DseError(f"{output}: cannot write ({error.strerror or error})") from None
    finally:
        plt.close(figure)
