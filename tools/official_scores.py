"""Score a `track eval` / `track compare` output folder as a user would with TrackEval's own MOTChallenge script, and
check that every figure is the one `track eval` reported.

    python tools/official_scores.py runs/eval                     # after track eval ... --out runs/eval
    python tools/official_scores.py runs/val --data ../shared/data/MOT17   # a --split val-half run
    python tools/official_scores.py runs/tud --trackeval-repo ~/TrackEval  # with a checkout of the official repo

The ground truth is laid out as TrackEval's MOTChallenge docs say, independently of `tracker.eval.scoring`:
`gt/<BENCH>-train/<seq>/{gt/gt.txt, seqinfo.ini}` copied as they are, a seqmap file, and every tracker's result
files under `trackers/<BENCH>-train/<tracker>/data/`; the evaluation is `scripts/run_mot_challenge.py`'s (default
dataset and eval configs, HOTA, CLEAR and Identity at threshold 0.5). A `--split val-half` run is scored against
gt made as ByteTrack's `tools/convert_mot17_to_coco.py` makes `gt_val_half.txt` (0-based frames [N//2+1, N-1],
renumbered from 1, integer boxes); a variant's against the gt `track eval` generated for it (`<cache>/variants/`).
A folder with `variants.json` is checked variant by variant, and its own summary.json too where a run without
--variants wrote one there.

Without `--trackeval-repo`, the installed `trackeval` package runs (PyPI's 1.3.0, the kovalp/TrackEval packaging,
differs from JonathonLuiten/TrackEval only by numpy-2 spellings: `float`/`int` for the removed `np.float`/`np.int`).
With it, that checkout's `scripts/run_mot_challenge.py` runs in a subprocess, `np.float`/`np.int` set back to the
builtins they aliased. Prints both scorers' figures side by side; exit status 1 where any differs.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import csv
import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.closed_pipe import run_tool  # noqa: E402
from tracker.eval.scoring import METRICS  # noqa: E402
from tracker.eval.sequences import Sequence, find_sequences  # noqa: E402
from tracker.eval.variants import NAME_SEPARATOR, default_variants_dir, variant_sequences  # noqa: E402

PERCENT_METRICS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1")  # TrackEval gives fractions; `track eval` percent
TOLERANCE = 1e-6  # percent points: the same boxes through the same metric code agree to rounding
CLASS = "pedestrian"
SPLIT = "train"
IOU_THRESHOLD = 0.5  # run_mot_challenge.py's default (CLEAR and Identity)
TRACKER_WIDTH = 22  # characters of the table's tracker column at least (a longer name widens it)
SEQUENCE_WIDTH = 26  # characters of its sequence column at least
_INTEGER_GT_COLUMNS = 8  # ByteTrack writes frame .. class as integers, then visibility as %.6f
_SCRIPT = Path("scripts") / "run_mot_challenge.py"  # in a TrackEval checkout
_COMBINED = "COMBINED_SEQ"  # TrackEval's name for the all-sequences row (its detailed csv: COMBINED)
# scripts/run_mot_challenge.py, with numpy >= 1.24 (np.float, np.int removed) and scipy imported before the aliases
_SHIM = (
    "import runpy, sys, numpy as np, scipy.optimize; np.float = float; np.int = int; "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)
_DETAILED = {"HOTA": "HOTA___AUC", "DetA": "DetA___AUC", "AssA": "AssA___AUC", "MOTA": "MOTA", "IDF1": "IDF1",
             "IDSW": "IDSW", "FP": "CLR_FP", "FN": "CLR_FN"}  # fmt: skip


def bytetrack_val_half(source: Path, folder: Path, length: int) -> None:
    """gt/gt.txt and seqinfo.ini of `source`'s val half in `folder`, made as ByteTrack's convert_mot17_to_coco.py
    makes gt_val_half.txt: 0-based frames [N // 2 + 1, N - 1], frame numbers minus N // 2 + 1, integer columns."""
    low, high = length // 2 + 1, length - 1
    gt = np.loadtxt(source / "gt" / "gt.txt", delimiter=",", ndmin=2)
    gt = gt[(gt[:, 0] - 1 >= low) & (gt[:, 0] - 1 <= high)]
    gt[:, 0] -= low
    (folder / "gt").mkdir(parents=True)
    integers = min(gt.shape[1], _INTEGER_GT_COLUMNS)
    np.savetxt(folder / "gt" / "gt.txt", gt, delimiter=",", fmt=["%d"] * integers + ["%.6f"] * (gt.shape[1] - integers))
    info = configparser.ConfigParser()
    info.optionxform = str
    info.read(source / "seqinfo.ini")
    info["Sequence"]["seqLength"] = str(high - low + 1)
    with (folder / "seqinfo.ini").open("w") as file:
        info.write(file, space_around_delimiters=False)


def lay_out(root: Path, sequences: list[Sequence], split: str, trackers: dict[str, Path]) -> tuple[Path, Path]:
    """The MOTChallenge folders TrackEval reads, in `root`: returns (GT_FOLDER, TRACKERS_FOLDER)."""
    bench = sequences[0].benchmark
    gt_folder, trackers_folder = root / "gt", root / "trackers"
    for seq in sequences:
        folder = gt_folder / f"{bench}-{SPLIT}" / seq.name
        source = seq.info.root
        if split == "val-half":
            bytetrack_val_half(source, folder, seq.info.length)
        else:
            (folder / "gt").mkdir(parents=True)
            shutil.copyfile(source / "gt" / "gt.txt", folder / "gt" / "gt.txt")
            shutil.copyfile(source / "seqinfo.ini", folder / "seqinfo.ini")
        for tracker, results in trackers.items():
            data = trackers_folder / f"{bench}-{SPLIT}" / tracker / "data"
            data.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(results / f"{seq.name}.txt", data / f"{seq.name}.txt")
    (gt_folder / "seqmaps").mkdir(parents=True)
    names = "".join(f"{seq.name}\n" for seq in sequences)
    (gt_folder / "seqmaps" / f"{bench}-{SPLIT}.txt").write_text(f"name\n{names}")
    return gt_folder, trackers_folder


def _config(gt_folder: Path, trackers_folder: Path, bench: str) -> dict[str, str]:
    return {"GT_FOLDER": str(gt_folder), "TRACKERS_FOLDER": str(trackers_folder), "BENCHMARK": bench,
            "SPLIT_TO_EVAL": SPLIT}  # fmt: skip


def score_installed(gt_folder: Path, trackers_folder: Path, bench: str) -> dict[str, dict[str, dict[str, float]]]:
    """{tracker: {sequence: metrics in percent}} from the installed `trackeval`, run_mot_challenge.py's configs."""
    import trackeval

    eval_config = trackeval.Evaluator.get_default_eval_config()
    eval_config.update(USE_PARALLEL=False, PRINT_RESULTS=False, PRINT_CONFIG=False, TIME_PROGRESS=False,
                       OUTPUT_SUMMARY=False, OUTPUT_DETAILED=False, PLOT_CURVES=False)  # fmt: skip
    dataset_config = trackeval.datasets.MotChallenge2DBox.get_default_dataset_config()
    dataset_config.update(_config(gt_folder, trackers_folder, bench), PRINT_CONFIG=False)
    metrics_config = {"METRICS": ["HOTA", "CLEAR", "Identity"], "THRESHOLD": IOU_THRESHOLD, "PRINT_CONFIG": False}
    metrics = [m(metrics_config) for m in (trackeval.metrics.HOTA, trackeval.metrics.CLEAR, trackeval.metrics.Identity)]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        evaluator = trackeval.Evaluator(eval_config)
        results, messages = evaluator.evaluate([trackeval.datasets.MotChallenge2DBox(dataset_config)], metrics)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for tracker, per_seq in results["MotChallenge2DBox"].items():
        if not isinstance(per_seq, dict):
            raise RuntimeError(f"TrackEval failed on {tracker}: {messages}")
        out[tracker] = {}
        for seq, res in per_seq.items():
            hota, clear, ident = res[CLASS]["HOTA"], res[CLASS]["CLEAR"], res[CLASS]["Identity"]
            values = {"HOTA": np.mean(hota["HOTA"]), "DetA": np.mean(hota["DetA"]), "AssA": np.mean(hota["AssA"]),
                      "MOTA": clear["MOTA"], "IDF1": ident["IDF1"], "IDSW": clear["IDSW"], "FP": clear["CLR_FP"],
                      "FN": clear["CLR_FN"]}  # fmt: skip
            out[tracker][seq] = _percent(values)
    return out


def score_repo(
    repo: Path, gt_folder: Path, trackers_folder: Path, bench: str
) -> dict[str, dict[str, dict[str, float]]]:
    """The same from a TrackEval checkout's scripts/run_mot_challenge.py (its pedestrian_detailed.csv files)."""
    args = [f"--{k}={v}" for k, v in _config(gt_folder, trackers_folder, bench).items()]
    script = repo / _SCRIPT
    options = ["--USE_PARALLEL", "False", "--PLOT_CURVES", "False", "--METRICS", "HOTA", "CLEAR", "Identity"]
    done = subprocess.run([sys.executable, "-c", _SHIM, str(script), *args, *options], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{script} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for detailed in sorted(trackers_folder.glob(f"{bench}-{SPLIT}/*/{CLASS}_detailed.csv")):
        with detailed.open() as file:
            rows = list(csv.DictReader(file))
        out[detailed.parent.name] = {
            _COMBINED if r["seq"] == "COMBINED" else r["seq"]: _percent({m: float(r[c]) for m, c in _DETAILED.items()})
            for r in rows
        }
    return out


def _percent(values: dict[str, float]) -> dict[str, float]:
    return {m: 100.0 * float(v) if m in PERCENT_METRICS else float(v) for m, v in values.items()}


def reported(summary: dict) -> dict[str, dict[str, dict[str, float]]]:
    """{tracker: {sequence (and COMBINED_SEQ): metrics}} as `track eval` / `track compare` wrote them."""
    out = {"ours": {**summary["sequences"], _COMBINED: summary["combined"]}}
    for peer, per_seq in summary.get("peer_sequences", {}).items():
        out[peer] = dict(per_seq)
    return out


def check_folder(folder: Path, data: Path | None, cache_dir: Path | None, seed: int | None, repo: Path | None) -> int:
    """Print both scorers' figures for one output folder; the number of figures that differ. `seed`: the variants'
    seed, None for the one summary.json records."""
    summary = json.loads((folder / "summary.json").read_text())
    ours = reported(summary)
    names = [n.split(NAME_SEPARATOR)[0] for n in summary["sequences"]]
    data = data or Path(summary["data"])
    split, variant = summary.get("split", "train"), summary.get("variant")
    sequences = find_sequences(data, split, names)
    if variant and variant != "original":  # the run's seed, as summary.json records it (0 before it did)
        seed = summary.get("variant_seed", 0) if seed is None else seed
        sequences = variant_sequences(sequences, variant, seed, default_variants_dir(cache_dir))
    trackers = {t: folder / t for t in ours if (folder / t).is_dir()}
    with tempfile.TemporaryDirectory(prefix="official_scores_") as tmp:
        gt_folder, trackers_folder = lay_out(Path(tmp), sequences, split, trackers)
        bench = sequences[0].benchmark
        label = f"{folder} ({data}, {split}{', ' + variant if variant else ''}; {bench})"
        try:
            if repo is None:
                official = score_installed(gt_folder, trackers_folder, bench)
            else:
                official = score_repo(repo, gt_folder, trackers_folder, bench)
        except Exception as exc:  # TrackEval's own exception class, or the script's failure
            print(f"{label}: TrackEval refused the result files: {str(exc).strip()}")
            return 1
    differ = 0
    rows = []
    for tracker, per_seq in ours.items():
        for seq, metrics in per_seq.items():
            theirs = official.get(tracker, {}).get(seq)
            if theirs is None:
                continue  # a peer's combined row: `track compare` reports it in compare.csv, not per sequence
            cells = []
            for m in METRICS:
                mine, other = float(metrics[m]), theirs[m]
                bad = abs(mine - other) > TOLERANCE
                differ += bad
                digits = 2 if m in PERCENT_METRICS else 0
                cells.append(f"{mine:.{digits}f}/{other:.{digits}f}{'*' if bad else ''}")
            rows.append((tracker, seq.replace(_COMBINED, "COMBINED"), cells))
    # (a name as long as its column ran into the next: `BoxMOT-ByteTrack-fps-t0.5MOT17-09-FRCNN`)
    tracker_width = max([TRACKER_WIDTH] + [len(row[0]) + 1 for row in rows])
    sequence_width = max([SEQUENCE_WIDTH] + [len(row[1]) + 1 for row in rows])
    print(f"{label}: track eval / official TrackEval")
    print(f"{'tracker':<{tracker_width}}{'sequence':<{sequence_width}}" + "".join(f"{m:>20}" for m in METRICS))
    for tracker, seq, cells in rows:
        print(f"{tracker:<{tracker_width}}{seq:<{sequence_width}}" + "".join(f"{c:>20}" for c in cells))
    return differ


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("out", type=Path, help="a `track eval` / `track compare` --out folder (with summary.json)")
    p.add_argument("--data", type=Path, help="the --data of that run (default: summary.json's, relative to here)")
    p.add_argument("--cache-dir", type=Path, help="the run's --cache-dir (where its variants are)")
    p.add_argument("--variant-seed", type=int, help="the run's --variant-seed (default: summary.json's)")
    p.add_argument("--trackeval-repo", type=Path, help="a checkout of JonathonLuiten/TrackEval to run instead")
    args = p.parse_args(argv)
    # a run with --variants writes each variant's summary.json under OUT/<variant>/, one without it OUT/summary.json:
    # an OUT used for both holds both, and each is checked
    folders = [args.out] if (args.out / "summary.json").is_file() or not (args.out / "variants.json").is_file() else []
    if (args.out / "variants.json").is_file():
        folders += [args.out / v for v in json.loads((args.out / "variants.json").read_text())]
    for folder in folders:
        if not (folder / "summary.json").is_file():
            p.error(f"no {folder / 'summary.json'}: OUT is the --out folder of a `track eval` or `track compare` run")
    if args.trackeval_repo is not None and not (args.trackeval_repo / _SCRIPT).is_file():
        p.error(f"no {args.trackeval_repo / _SCRIPT}: --trackeval-repo is a checkout of JonathonLuiten/TrackEval")
    try:
        differ = sum(
            check_folder(f, args.data, args.cache_dir, args.variant_seed, args.trackeval_repo) for f in folders
        )
    except (FileNotFoundError, ValueError) as exc:  # the run's data or variants are not where summary.json says
        p.error(f"{exc} (--data and --cache-dir name where the run's sequences are)")
    print("every figure agrees" if not differ else f"{differ} figure(s) differ (marked *) or were refused")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
