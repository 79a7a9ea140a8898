"""`track eval` / `track compare` outputs: the chart's labels and the CSV's columns."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import matplotlib
import pytest

from tracker.eval.cli import _PEER_SPECS
from tracker.eval.report import chart_figure, format_table, write_csv
from tracker.eval.runner import OURS
from tracker.eval.scoring import METRICS

matplotlib.use("Agg")


def _rows(names: list[str]) -> dict[str, dict[str, float]]:
    return {name: {"HOTA": 50.0, "IDF1": 60.0, "MOTA": 55.0, "AssA": 45.0} for name in names}


def test_every_tracker_of_a_compare_chart_is_named_without_overlapping_its_neighbours():
    """compare.png names each of its 26 groups as `track compare` labels them (tracker, then its ms/frame); the
    names sat on one line each, wider than their group: 'BoT-SORT+ReIDBoT-SORT+ReID+GMC', 'BoxMOT-DeepOC-SORT-noCMC'
    ran into their neighbours and could not be read. Each label's extent now ends before the next one starts."""
    names = [f"{name}\n{138.01:.2f} ms/frame" for name in [OURS, *_PEER_SPECS]]
    fig = chart_figure(_rows(names), "TUD-Campus: public detections, train")
    renderer = fig.canvas.get_renderer()
    labels = fig.axes[0].get_xticklabels()
    assert [label.get_text().replace("\n", "") for label in labels] == [n.replace("\n", "") for n in names]
    boxes = [label.get_window_extent(renderer) for label in labels]
    overlaps = [labels[i].get_text() for i in range(len(boxes) - 1) if boxes[i].x1 >= boxes[i + 1].x0]
    assert not overlaps, overlaps


def test_a_chart_leaves_the_process_s_matplotlib_backend_and_pyplot_figures_alone(tmp_path: Path):
    """write_chart switched the whole process to the Agg backend (`matplotlib.use`) and went through pyplot, so a
    notebook or GUI user calling `track eval`'s API lost their interactive backend; now it draws on its own canvas."""
    import matplotlib
    import matplotlib.pyplot as plt

    from tracker.eval.report import write_chart

    was = matplotlib.get_backend()
    matplotlib.use("svg")  # a backend of the user's other than Agg (a non-interactive one: this runs headless)
    try:
        figures = plt.get_fignums()
        write_chart(tmp_path / "c.png", _rows(["a", "b"]), "t")
        assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert matplotlib.get_backend() == "svg" and plt.get_fignums() == figures
    finally:
        matplotlib.use(was)


@pytest.mark.parametrize("key", ["tracker", "sequence"])
def test_the_csv_has_the_table_s_metric_columns_first_in_its_order(tmp_path: Path, key: str):
    """compare.csv / metrics.csv promised "the metric columns first, in METRICS order" (the table's: HOTA, DetA,
    AssA, MOTA, IDF1, ...) but sorted them alphabetically (AssA, DetA, FN, FP, HOTA, ...)."""
    metrics = dict.fromkeys(["fps", "RevP", *reversed(METRICS), "ms_per_frame"], 1.0)
    path = tmp_path / "out.csv"
    write_csv(path, {"a": metrics}, key=key)
    with path.open(newline="") as file:
        header = next(csv.reader(file))
    assert header[: len(METRICS) + 1] == [key, *METRICS]
    assert sorted(header[len(METRICS) + 1 :]) == ["RevP", "fps", "ms_per_frame"]
    assert format_table({"a": metrics}).split()[: len(METRICS)] == list(METRICS)


def test_an_undefined_rate_is_a_dash_in_the_table_and_nan_in_the_csv(tmp_path: Path):
    """`track compare` showed `nan` in RevP for a peer with no revivals (the rate has nothing to count): it read as a
    fault. The printed table shows `-` there, as the README's revival table says; figures and the CSV are as they
    were (NaN in the CSV, the other cells unchanged)."""
    rows = {"ours": {"HOTA": 50.834, "RevP": 0.6667, "Revivals": 3}, "ByteTrack": {"HOTA": 47.96, "RevP": math.nan}}
    lines = format_table(rows, ("HOTA", "RevP", "Revivals")).splitlines()
    assert lines[1].split() == ["ours", "50.83", "0.67", "3"]
    assert lines[2].split() == ["ByteTrack", "47.96", "-", "-"], lines
    assert len({len(line) for line in lines}) == 1, "the dash keeps the columns aligned"
    path = tmp_path / "compare.csv"
    write_csv(path, rows, key="tracker")
    assert path.read_text().splitlines()[2] == "ByteTrack,47.96,nan,", path.read_text()


def test_compares_variants_csv_has_a_variant_and_a_tracker_column(tmp_path: Path, capsys):
    """`track compare --variants` wrote variants.csv with one key column `variant` holding "pan8 ours": no reader
    could filter by variant or by tracker without splitting strings. It has a column each; eval's keeps `variant`."""
    from tracker.eval.cli import _report_variants

    rows = {"pan8": {"ours": {"HOTA": 50.0}, "ByteTrack": {"HOTA": 40.0}}, "jump": {"ours": {"HOTA": 45.0}}}
    _report_variants(tmp_path, rows, compare=True)
    with (tmp_path / "variants.csv").open(newline="") as file:
        table = list(csv.reader(file))
    assert [row[:3] for row in table] == [
        ["variant", "tracker", "HOTA"],
        ["pan8", "ours", "50.0"],
        ["pan8", "ByteTrack", "40.0"],
        ["jump", "ours", "45.0"],
    ]
    _report_variants(tmp_path, {"pan8": {"ours": {"HOTA": 50.0}}}, compare=False)
    assert (tmp_path / "variants.csv").read_text().splitlines()[:2] == ["variant,HOTA", "pan8,50.0"]
    assert "pan8 ByteTrack" not in (tmp_path / "variants.csv").read_text()
    capsys.readouterr()


def test_a_chart_of_sequences_named_with_250_characters_is_laid_out_and_tells_them_apart():
    """A sequence named with 250 characters made a tick label one line wider than the figure: matplotlib warned
    "Tight layout not applied" and the labels ran off the chart. Each label now fits its group, in at most
    `_LABEL_MAX_LINES` lines, and two names alike in their first 249 characters still end apart."""
    import warnings

    from tracker.eval.report import _LABEL_GROUP_CHARS, _LABEL_MAX_LINES

    names = ["W" * 249 + "A", "W" * 249 + "B", OURS]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = chart_figure(_rows(names), "long names")
    texts = [label.get_text() for label in fig.axes[0].get_xticklabels()]
    assert all(len(t.split("\n")) <= _LABEL_MAX_LINES for t in texts), texts
    assert all(len(line) <= _LABEL_GROUP_CHARS for t in texts for line in t.split("\n")), texts
    assert texts[0] != texts[1] and texts[0].endswith("A") and texts[1].endswith("B"), texts
    assert texts[2] == OURS


def test_the_table_and_chart_tell_apart_two_sequences_whose_names_differ_in_bytes_that_are_not_utf8():
    """Two sequences named in Latin-1 (`tud-caf\\xe9`, `tud-caf\\xe8`: lone surrogates in Python) were two rows alike
    in the printed table and two labels alike in the chart (`tud-caf` and U+FFFD), though the CSV and summary.json
    tell them apart. Where names are shown alike, each is shown with its bytes as `\\xNN` (as the CSV writes it);
    a name alone is shown with U+FFFD."""
    rows = _rows([os.fsdecode(b"tud-caf\xe9"), os.fsdecode(b"tud-caf\xe8"), os.fsdecode(b"d\xe9p"), "COMBINED"])
    assert [line.split()[0] for line in format_table(rows).splitlines()[1:]] == [
        "tud-caf\\xe9",
        "tud-caf\\xe8",
        "d\ufffdp",
        "COMBINED",
    ]
    labels = [label.get_text() for label in chart_figure(rows, "t").axes[0].get_xticklabels()]
    assert labels == ["tud-caf\\xe9", "tud-caf\\xe8", "d\ufffdp", "COMBINED"], labels


def test_a_cjk_name_is_wrapped_and_padded_by_the_columns_it_takes_not_its_characters():
    """A CJK character takes two columns: a 16-character CJK label line was as wide as 32 Latin characters, twice its
    group of bars, and a CJK name's row pushed the table's cells out of their columns. Label lines fit
    `_LABEL_GROUP_CHARS` columns (`unicodedata.east_asian_width` W and F count 2), and the table's cells line up."""
    import unicodedata

    from tracker.eval.report import _LABEL_GROUP_CHARS, _wrap_label

    def columns(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)

    name = "東京駅前交差点北口カメラ映像記録-cam2"
    lines = _wrap_label(name).split("\n")
    assert all(columns(line) <= _LABEL_GROUP_CHARS for line in lines), lines
    assert "".join(lines) == name, "nothing lost"
    table = format_table(_rows(["東京駅前", "MOT17-02", "COMBINED"]), ["HOTA"]).splitlines()
    assert len({columns(line) for line in table}) == 1, table
