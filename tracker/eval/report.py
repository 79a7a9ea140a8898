"""Tables, summary.json, CSV and a PNG chart of evaluation results (every file written atomically)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tracker.eval.scoring import METRICS
from tracker.io.atomic import atomic_write, open_binary
from tracker.io.mot import write_text_atomic
from tracker.io.names import shown_apart, shown_name
from tracker.io.strict_json import write_json_atomic, written_keys

__all__ = ["chart_figure", "format_table", "result_split", "write_chart", "write_csv", "write_summary"]

_CHART_METRICS = ("HOTA", "IDF1", "MOTA", "AssA")
_CHART_DPI = 120  # the chart's pixels per inch (a 6 x 4.5 in chart is 720 x 540 px)
_CHART_HEIGHT_IN = 4.5  # the chart's height, inches
_CHART_MIN_WIDTH_IN = 6.0  # the chart's width, inches, however few its groups of bars
_CHART_WIDTH_PER_GROUP_IN = 1.2  # inches a group of bars (a row of the table) adds to the chart's width
_CHART_MARGIN_IN = 2.0  # inches of the chart's width beside its groups (axis, labels)
_CHART_HEADROOM = 1.2  # the y axis reaches this times the tallest bar: room for the legend above the bars
_GRID_ALPHA = 0.3  # opacity of the chart's horizontal grid lines (faint: the bars are read, not the grid)
_GROUP_WIDTH = 0.8  # fraction of a category slot the bars of one group fill
_LABEL_LINE_CHARS = 12  # tick labels are wrapped to lines this many columns wide (a group is ~16; CJK takes 2)
_LABEL_GROUP_CHARS = 16  # a word wider than a group of bars (in columns) is cut into lines this wide
_LABEL_MAX_LINES = 5  # a longer label keeps its first lines and its end, joined by an ellipsis
_LABEL_WORD = r"[^-+]+[-+]*|[-+]+"  # a label's words: each ends at (and keeps) its '-' or '+'
_LABEL_FONT = "small"
_ELLIPSIS = "\u2026"  # starts the last line of a label cut short (the name's end)
_WIDE = ("W", "F")  # `unicodedata.east_asian_width` classes that take two columns (wide, full-width: CJK)
_MIN_NAME_WIDTH = 8  # the printed table's name column is at least this many columns wide
_CELL_WIDTH = 8  # each value column of the printed table is this many columns wide (right-aligned)
_HEADERS = {"ms_per_frame": "ms/frame"}
_NO_VALUE = "-"  # a table cell whose value is undefined (NaN: a rate with nothing to count, RevP without revivals)
# matplotlib warns, with its source line, for each character of a label its font lacks (a sequence named in CJK):
# the chart draws a box there, and the names are in the table, CSV and JSON as they are
_MISSING_GLYPH_WARNING = r"Glyph \d+ .* missing from font"


def format_table(rows: dict[str, dict[str, Any]], columns: Sequence[str] = METRICS) -> str:
    """A fixed-width text table: one row per name, one column per metric (`_cell`: integers shown as such, an
    undefined value, or one the row lacks, as `-`). A name that is not UTF-8 is shown (U+FFFD for each such byte),
    or where two would be shown alike, with its bytes as `\\xNN`, as the CSV and summary.json write it."""
    names = shown_apart(list(rows))  # (two sequences `caf\\xe9`, `caf\\xe8` were two rows alike)
    width = max([_width(name) for name in names] + [_MIN_NAME_WIDTH])  # (in columns: a CJK name's are twice)
    lines = [f"{'':<{width}} " + " ".join(f"{_HEADERS.get(c, c):>{_CELL_WIDTH}}" for c in columns)]
    for name, metrics in zip(names, rows.values(), strict=True):
        cells = [_cell(metrics.get(c, math.nan)) for c in columns]
        lines.append(name + " " * (width - _width(name) + 1) + " ".join(cells))
    return "\n".join(lines)


def _cell(value: float) -> str:
    """One table cell: an int as it is, a NaN as `_NO_VALUE` (RevP of a tracker with no revivals printed `nan`,
    which read as a fault; the CSV and JSON files keep NaN and null), else two decimals."""
    if isinstance(value, int):
        return f"{value:>{_CELL_WIDTH}d}"
    if math.isnan(value):
        return f"{_NO_VALUE:>{_CELL_WIDTH}}"
    return f"{value:>{_CELL_WIDTH}.2f}"


def write_summary(
    path: Path, combined: dict[str, Any], sequences: dict[str, Any], config: dict[str, Any], **extra: Any
) -> None:
    """summary.json: {"combined": metrics, "sequences": {name: metrics}, "config": {...}, **extra}."""
    summary = {"combined": combined, "sequences": sequences, "config": config, **extra}
    write_json_atomic(path, summary, indent=2)


def result_split(results: Path) -> str:
    """The `--split` ("train" or "val-half") of the `track eval` run that wrote the result file `results`
    (<out>/<tracker>/<sequence>.txt), as the summary.json beside its tracker folder records it; "train" where there is
    none or it says none (a result file of another origin, an older run): a val-half run's frames are numbered from 1
    at the val half's first frame (`sequences.val_half_frames`)."""
    try:
        summary = json.loads((results.parent.parent / "summary.json").read_text())
    except (OSError, ValueError):
        return "train"
    split = summary.get("split") if isinstance(summary, dict) else None
    return split if isinstance(split, str) else "train"


def write_csv(
    path: Path,
    rows: Mapping[str, Mapping[str, Any]] | Mapping[tuple[str, ...], Mapping[str, Any]],
    key: str | tuple[str, ...] = "name",
) -> None:
    """One line per row name; the metric columns first, in METRICS order (the table's), then the others by name.
    A tuple `key` names several key columns, each row's name then being a tuple of as many values (`variants.csv`
    of `track compare`: variant, tracker; one column "pan8 ours" could not be filtered by either)."""
    keys = key if isinstance(key, tuple) else (key,)
    columns = sorted(
        {c for metrics in rows.values() for c in metrics},
        key=lambda c: (METRICS.index(c), "") if c in METRICS else (len(METRICS), c),
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*keys, *columns])
    # a name that is not UTF-8 as our JSON writes it: shown, or where two would be shown alike, its bytes as `\xNN`
    names = [tuple(map(shown_name, n)) for n in rows] if isinstance(key, tuple) else written_keys(list(rows))
    for name, metrics in zip(names, rows.values(), strict=True):
        writer.writerow([*(name if isinstance(key, tuple) else (name,)), *(metrics.get(c, "") for c in columns)])
    write_text_atomic(path, buffer.getvalue())


def write_chart(path: Path, rows: dict[str, dict[str, Any]], title: str) -> None:
    """Grouped bars (matplotlib Agg): one group per row name, one bar per metric of _CHART_METRICS; a PNG at
    `path`, written atomically. Row names are the tick labels (long ones broken into lines, `_wrap_label`)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_MISSING_GLYPH_WARNING, category=UserWarning)
        fig = chart_figure(rows, title)
        with atomic_write(path, open_binary) as file:  # (`<path>.partial`, fsynced, renamed over `path`)
            fig.savefig(file, dpi=_CHART_DPI, format="png")


def _wrap_label(name: str) -> str:
    """`name` word-wrapped to lines at most `_LABEL_LINE_CHARS` columns wide (`_width`: a CJK character takes two),
    broken after a '-' or '+' (a word longer than a line keeps a line of its own, cut into lines of
    `_LABEL_GROUP_CHARS` columns where wider than its group): tracker names such as BoxMOT-ByteTrack-fps-t0.5 are
    wider than their group of bars, and side by side on one line they overlapped. Its own line breaks are kept. A
    label of more than `_LABEL_MAX_LINES` lines keeps its first ones and a last line ending as the name ends, after an
    ellipsis: two long sequence names alike in their beginnings still read apart, and the chart keeps its size (a
    250-character name made one line wider than the figure, so matplotlib could not lay it out). A name that is not
    UTF-8 is shown (U+FFFD for each such byte: matplotlib refused its lone surrogates with a TypeError)."""
    name = shown_name(name)
    lines = []
    for line in name.split("\n"):
        current = ""
        for word in re.findall(_LABEL_WORD, line):
            if current and _width(current + word.rstrip()) > _LABEL_LINE_CHARS:
                lines.append(current.rstrip())
                current = ""
            while _width(word.rstrip()) > _LABEL_GROUP_CHARS:
                cut = _fitting(word, _LABEL_GROUP_CHARS)
                lines.append(word[:cut])
                word = word[cut:]
            current += word
        lines.append(current.rstrip())
    if len(lines) > _LABEL_MAX_LINES:
        whole = name.replace("\n", "")
        end = whole[::-1][: _fitting(whole[::-1], _LABEL_GROUP_CHARS - _width(_ELLIPSIS))][::-1]
        lines = [*lines[: _LABEL_MAX_LINES - 1], _ELLIPSIS + end]
    return "\n".join(lines)


def _width(text: str) -> int:
    """The columns `text` takes in a label or a terminal: two for a wide or full-width character (a CJK one:
    `unicodedata.east_asian_width` W or F), one for any other; a 16-character CJK line is as wide as 32 Latin ones."""
    return sum(2 if unicodedata.east_asian_width(char) in _WIDE else 1 for char in text)


def _fitting(text: str, columns: int) -> int:
    """How many of `text`'s first characters fit in `columns` (`_width`), at least one (a line always advances)."""
    used = 0
    for count, char in enumerate(text):
        used += _width(char)
        if used > columns:
            return max(count, 1)
    return len(text)


def chart_figure(rows: dict[str, dict[str, Any]], title: str) -> Any:
    """The matplotlib Figure `write_chart` saves: one group of bars per row, each `_CHART_WIDTH_PER_GROUP_IN` wide,
    its name under it wrapped (`_wrap_label`). Drawn on its own Agg canvas, not through pyplot: the process's backend
    and pyplot's figures (a notebook's, a GUI's) are left as they were, and nothing needs closing."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = list(rows)
    labels = [_wrap_label(n) for n in shown_apart(names)]  # (two names shown alike: each with its bytes)
    x = np.arange(len(names))
    bar = _GROUP_WIDTH / len(_CHART_METRICS)
    width_in = max(_CHART_MIN_WIDTH_IN, _CHART_WIDTH_PER_GROUP_IN * len(names) + _CHART_MARGIN_IN)
    fig = Figure(figsize=(width_in, _CHART_HEIGHT_IN))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    tallest = 0.0
    for i, metric in enumerate(_CHART_METRICS):
        offset = (i - (len(_CHART_METRICS) - 1) / 2) * bar
        values = [float(rows[n].get(metric, float("nan"))) for n in names]
        tallest = max([tallest, *(v for v in values if v == v)])
        ax.bar(x + offset, values, bar, label=metric)
    ax.set_ylim(0, tallest * _CHART_HEADROOM or 1.0)  # room for the legend above the bars
    ax.set_xticks(x, labels, fontsize=_LABEL_FONT)
    ax.set_ylabel("%")
    ax.set_title(title, fontsize="medium")
    ax.legend(ncols=len(_CHART_METRICS), fontsize=_LABEL_FONT, loc="upper center")
    ax.grid(axis="y", alpha=_GRID_ALPHA)
    fig.tight_layout()
    return fig
