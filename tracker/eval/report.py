"""Tables, summary.json, CSV and a PNG chart of evaluation results (every file written atomically)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tracker.eval.scoring import METRICS
from tracker.io.mot import write_text_atomic
from tracker.io.strict_json import write_json_atomic

__all__ = ["format_table", "write_chart", "write_csv", "write_summary"]

_CHART_METRICS = ("HOTA", "IDF1", "MOTA", "AssA")
_CHART_DPI = 120
_CHART_HEIGHT_IN = 4.5
_CHART_MIN_WIDTH_IN = 6.0
_CHART_WIDTH_PER_GROUP_IN = 1.2
_CHART_MARGIN_IN = 2.0
_CHART_HEADROOM = 1.2
_GROUP_WIDTH = 0.8  # fraction of a category slot the bars of one group fill
_MIN_NAME_WIDTH = 8
_CELL_WIDTH = 8
_HEADERS = {"ms_per_frame": "ms/frame"}


def format_table(rows: dict[str, dict[str, Any]], columns: Sequence[str] = METRICS) -> str:
    """A fixed-width text table: one row per name, one column per metric (integers shown as such)."""
    width = max([len(name) for name in rows] + [_MIN_NAME_WIDTH])
    lines = [f"{'':<{width}} " + " ".join(f"{_HEADERS.get(c, c):>{_CELL_WIDTH}}" for c in columns)]
    for name, metrics in rows.items():
        cells = []
        for c in columns:
            value = metrics.get(c, float("nan"))
            cells.append(f"{value:>{_CELL_WIDTH}d}" if isinstance(value, int) else f"{value:>{_CELL_WIDTH}.2f}")
        lines.append(f"{name:<{width}} " + " ".join(cells))
    return "\n".join(lines)


def write_summary(
    path: Path, combined: dict[str, Any], sequences: dict[str, Any], config: dict[str, Any], **extra: Any
) -> None:
    """summary.json: {"combined": metrics, "sequences": {name: metrics}, "config": {...}, **extra}."""
    summary = {"combined": combined, "sequences": sequences, "config": config, **extra}
    write_json_atomic(path, summary, indent=2)


def write_csv(path: Path, rows: dict[str, dict[str, Any]], key: str = "name") -> None:
    """One line per row name; the metric columns first, in METRICS order."""
    columns = sorted({c for metrics in rows.values() for c in metrics}, key=lambda c: (c not in METRICS, c))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([key, *columns])
    for name, metrics in rows.items():
        writer.writerow([name, *(metrics.get(c, "") for c in columns)])
    write_text_atomic(path, buffer.getvalue())


def write_chart(path: Path, rows: dict[str, dict[str, Any]], title: str) -> None:
    """Grouped bars (matplotlib Agg): one group per row name, one bar per metric of _CHART_METRICS."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(rows)
    x = np.arange(len(names))
    bar = _GROUP_WIDTH / len(_CHART_METRICS)
    width_in = max(_CHART_MIN_WIDTH_IN, _CHART_WIDTH_PER_GROUP_IN * len(names) + _CHART_MARGIN_IN)
    fig, ax = plt.subplots(figsize=(width_in, _CHART_HEIGHT_IN))
    tallest = 0.0
    for i, metric in enumerate(_CHART_METRICS):
        offset = (i - (len(_CHART_METRICS) - 1) / 2) * bar
        values = [float(rows[n].get(metric, float("nan"))) for n in names]
        tallest = max([tallest, *(v for v in values if v == v)])
        ax.bar(x + offset, values, bar, label=metric)
    ax.set_ylim(0, tallest * _CHART_HEADROOM or 1.0)  # room for the legend above the bars
    ax.set_xticks(x, names, fontsize="small")
    ax.set_ylabel("%")
    ax.set_title(title, fontsize="medium")
    ax.legend(ncols=len(_CHART_METRICS), fontsize="small", loc="upper center")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".partial")
    fig.savefig(tmp, dpi=_CHART_DPI, format="png")
    plt.close(fig)
    os.replace(tmp, path)
