"""The package says it is typed (`tracker/py.typed`, shipped as package data): a user's type checker reads its
annotations, so the public methods must keep theirs through the decorators they wear. `Tracker`'s one-call-at-a-time
guard was annotated `(method: Callable) -> Callable`, so mypy saw `update`, `update_detections`, `reset`, `close`
and `reopen` as `def (*Any, **Any) -> Any`: the returned tracks were `Any` and a misspelt keyword
(`frame_sise=`) passed the check. Read, not run: nothing here needs mypy installed."""

from __future__ import annotations

import importlib.util
import inspect
import textwrap
import tomllib
import typing
from pathlib import Path

import pytest

from tracker import Tracker, TrackerConfig
from tracker.detector import UltralyticsDetector
from tracker.embedder import DetectorFeatureEmbedder, OSNetEmbedder
from tracker.gallery import Gallery
from tracker.gallery_guard import locked
from tracker.pipeline import _one_call_at_a_time
from tracker.types import Detector, Embedder

ROOT = Path(__file__).resolve().parents[1]


def _runs_mypy(test):
    """Mark `test` as one that runs mypy: slow, and skipped where mypy is not installed (not a dependency)."""
    needs_mypy = pytest.mark.skipif(
        importlib.util.find_spec("mypy") is None, reason="mypy is not installed (not a dependency)"
    )
    return pytest.mark.slow(needs_mypy(test))


def test_the_package_ships_its_typed_marker():
    assert (ROOT / "tracker" / "py.typed").is_file()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["tracker"]


@pytest.mark.parametrize("decorator", [_one_call_at_a_time, locked], ids=["Tracker", "Gallery"])
def test_a_method_guard_is_typed_as_the_method_it_wraps(decorator):
    """A type checker gives a decorated method the decorator's return type: it must be the method's own type (one
    type variable for the argument and the result), not a bare `Callable`."""
    hints = typing.get_type_hints(decorator)
    assert isinstance(hints["method"], typing.TypeVar), hints
    assert hints["return"] is hints["method"], hints


@pytest.mark.parametrize(
    ("owner", "name"), [(Tracker, "update"), (Tracker, "update_detections"), (Tracker, "reset"), (Gallery, "match")]
)
def test_the_guarded_public_methods_keep_their_annotations(owner, name):
    """At run time too (`help()`, IDEs that introspect): the guard's wrapper carries the method's signature."""
    method = getattr(owner, name)
    assert hasattr(method, "__wrapped__"), f"{owner.__name__}.{name} is no longer guarded: this test needs updating"
    assert typing.get_type_hints(method) == typing.get_type_hints(method.__wrapped__)
    assert "return" in typing.get_type_hints(method)


def test_the_read_only_attributes_are_typed_as_their_values():
    """`tracker.config` and `tracker.frame_rate` are descriptors (assigning another value is refused): their
    `__get__` returned `Any`, so a type checker read `tracker.config.appearance` as `Any`. Generic in the value's
    type, the descriptor gives `TrackerConfig` and `float`."""
    hints = typing.get_type_hints(Tracker)
    assert typing.get_args(hints["config"]) == (TrackerConfig,), hints
    assert typing.get_args(hints["frame_rate"]) == (float,), hints
    on_instance = typing.get_overloads(type(Tracker.__dict__["config"]).__get__)
    assert len(on_instance) == 2, "__get__ on the class gives the descriptor, on a tracker its value"


def test_the_tracker_types_its_models_as_the_protocols_it_calls():
    """`Tracker(detector=, embedder=)` and `tracker.detector` / `tracker.embedder` were `Any`: a type checker let a
    model path (`detector="yolo11n.pt"`) or a detector of two results through, and read `tracker.detector(frame)`
    as `Any`. They are the `Detector` and `Embedder` protocols (what the tracker calls on them), or None."""
    hints = typing.get_type_hints(Tracker.__init__)
    assert hints["detector"] == Detector | None, hints["detector"]
    assert hints["embedder"] == Embedder | None, hints["embedder"]


def test_the_protocols_are_imported_from_the_package_top():
    """Users writing their own detector or embedder annotate it with the protocols; they were only in
    `tracker.types` (`from tracker import Detector` was an AttributeError). Now public names of the package, the
    same objects (a type checker reads them through `__all__`: the mypy test below imports them so)."""
    import tracker

    assert tracker.Detector is Detector and tracker.Embedder is Embedder, "tracker.types' own protocols"
    assert {"Detector", "Embedder"} <= set(tracker.__all__) and {"Detector", "Embedder"} <= set(dir(tracker))


def test_dir_of_the_package_lists_its_api_not_its_own_imports():
    """`dir(tracker)` (what a REPL's completion offers) listed `Any`, `TYPE_CHECKING`, `importlib` and `annotations`,
    the package module's own imports, beside the API. Now the public names, the dunders and its submodules."""
    import tracker
    import tracker.gallery  # (a submodule imported: listed, as `tracker.gallery` is there to use)

    listed = set(dir(tracker))
    assert set(tracker.__all__) | {"__version__", "gallery"} <= listed
    assert not {"Any", "TYPE_CHECKING", "importlib", "annotations"} & listed, sorted(listed)


@pytest.mark.parametrize(
    ("model", "protocol"),
    [(UltralyticsDetector, Detector), (OSNetEmbedder, Embedder), (DetectorFeatureEmbedder, Embedder)],
    ids=["UltralyticsDetector", "OSNetEmbedder", "DetectorFeatureEmbedder"],
)
def test_the_built_models_are_called_as_their_protocol_says(model, protocol):
    """The models `Tracker.from_config` builds take the protocol's positional arguments (read, not run: the
    protocol's are positional-only, so a plain function of any argument names is a detector too)."""

    def positional(function):
        parameters = list(inspect.signature(function).parameters.values())[1:]  # (self)
        return [p for p in parameters if p.default is p.empty and p.kind is not p.KEYWORD_ONLY]

    wanted = positional(protocol.__call__)
    assert all(p.kind is p.POSITIONAL_ONLY for p in wanted), "a user's function must not need our argument names"
    assert len(positional(inspect.unwrap(model.__call__))) == len(wanted)


_SATISFIED = """
    import numpy as np
    from tracker import Detector, Embedder, Tracker, TrackerConfig
    from tracker.detector import UltralyticsDetector
    from tracker.embedder import DetectorFeatureEmbedder, OSNetEmbedder

    def built(d: UltralyticsDetector, o: OSNetEmbedder, f: DetectorFeatureEmbedder) -> None:
        detector: Detector = d
        embedder: Embedder = o
        pooled: Embedder = f

    def detect(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        return np.zeros((0, 4)), np.zeros(0), None

    def embed(image, rows):
        return np.zeros((len(rows), 8), np.float32)

    tracker = Tracker(TrackerConfig(), 25.0, detector=detect, embedder=embed)
    if tracker.detector is not None:
        boxes, scores, classes = tracker.detector(np.zeros((8, 8, 3), np.uint8))
"""

_REFUSED = """
    import numpy as np
    from tracker import Tracker, TrackerConfig

    def two_results(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((0, 4)), np.zeros(0)

    def two_arguments(image: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, None]:
        return np.zeros((0, 4)), np.zeros(0), None

    Tracker(TrackerConfig(), 25.0, detector="yolo11n.pt")  # refused
    Tracker(TrackerConfig(), 25.0, detector=two_results)  # refused
    Tracker(TrackerConfig(), 25.0, embedder=two_results)  # refused
    Tracker(TrackerConfig(), 25.0, detector=two_arguments)  # refused
"""


@_runs_mypy
def test_a_type_checker_holds_detectors_and_embedders_to_the_protocols(tmp_path, request, monkeypatch):
    """What a user's mypy says: the models the tracker builds and plain functions of the right arguments pass; a
    model path, a detector of two results, one of two arguments, a detector given as the embedder are refused.
    ~20 s the first time (mypy reads torch and numpy), ~1 s once pytest's cache holds mypy's."""
    from mypy import api

    options = _mypy_options(request, tmp_path, monkeypatch)
    good, bad = tmp_path / "satisfied.py", tmp_path / "refused.py"
    good.write_text(textwrap.dedent(_SATISFIED))
    bad.write_text(textwrap.dedent(_REFUSED))
    report, errors, status = api.run([*options, str(good)])
    assert status == 0, report + errors
    report, errors, status = api.run([*options, str(bad)])
    refused = {int(line.split(":")[1]) for line in report.splitlines() if ": error:" in line}
    wanted = {n for n, line in enumerate(bad.read_text().splitlines(), 1) if "# refused" in line}
    assert refused == wanted, report + errors


GALLERY_PARTS = ["gallery", "gallery_save", "gallery_search", "gallery_live", "gallery_retention", "gallery_upkeep"]


@_runs_mypy
def test_the_gallery_s_parts_type_check(request, tmp_path, monkeypatch):
    """mypy on `Gallery` and its parts gave 68 errors: each part used the state `Gallery.__init__` sets and the
    other parts' methods, which it did not declare ("GallerySearch" has no attribute "_identities"), and `load` of
    a part returned a `Gallery`. They share `tracker.gallery_state.GalleryState` now: no error in these files."""
    report, errors, status = _mypy_on(GALLERY_PARTS, request, tmp_path, monkeypatch)
    assert status == 0 and not report.strip(), report + errors


def _mypy_on(modules, request, tmp_path, monkeypatch):
    """mypy's (report, errors, exit status) on `tracker/<module>.py` of each of `modules`, this checkout's (the
    modules they import read silently: only these files' errors are reported)."""
    from mypy import api

    options = _mypy_options(request, tmp_path, monkeypatch)
    return api.run([*options, *(f"tracker/{name}.py" for name in modules)])


def _mypy_options(request, tmp_path, monkeypatch) -> list[str]:
    """mypy's options for a test's run in this checkout (made the working folder: mypy reads this `tracker`, not
    another one installed): the modules the checked files import read silently, the cache kept in pytest's (~20 s
    the first time, mypy reading torch and numpy; ~1 s after), or in `tmp_path` where there is none
    (`-p no:cacheprovider`: a cold run)."""
    monkeypatch.chdir(ROOT)
    kept = getattr(request.config, "cache", None)
    cache = kept.mkdir("mypy") if kept is not None else tmp_path / "mypy_cache"
    return ["--follow-imports=silent", "--cache-dir", str(cache), "--no-error-summary"]


# The core and the modules its frame calls (`TrackerCore.update`'s path), each at 0 mypy errors.
CORE_PARTS = [
    "core",
    "frame_view",
    "association",
    "assignment",
    "bank",
    "kalman",
    "stage1",
    "track",
    "birth",
    "fast_numpy",
    "sweep",
    "tentative_resort",
    "truncation",
    "view_exit",
    "entry",
    "calibration",
    "calibration_samples",
    "classes",
    "frame_report",
    "measurement_noise",
    "ground_line",
    "report_aspect",
    "report_weight",
    "frame_rate",
    "core_checkpoint",
    "gallery_link",
    "types",
]


@_runs_mypy
def test_the_core_s_frame_path_type_checks(request, tmp_path, monkeypatch):
    """mypy on `TrackerCore` gave 18 errors, and its frame path (bank, kalman, stage 1, the report, the measurement
    noise, the ground line) 23 more: a `FramePairs` of a frame with pairs was read as if its arrays could be None
    (`frame_view.FramePairs` now types them as set; a frame without pairs is a `NoPairs`), and invariants mypy
    cannot see (the bank's width set with its storage, the Kalman S or its diagonal) are `typing.cast`. No error in
    these files."""
    report, errors, status = _mypy_on(CORE_PARTS, request, tmp_path, monkeypatch)
    assert status == 0 and not report.strip(), report + errors


# Beyond the core's frame path and the gallery's parts, each at 0 mypy errors: every other module of the package (the
# batch, the CLI, the pipeline, the `track` loop, the resume checkpoints, the run's summary, the detector, the ReID
# backends, the config files, the sources and the files written, the thread limits, the eval, the test scenes).
CHECKED_PARTS = [
    "__init__",
    "__main__",
    "arguments",
    "background_job",
    "batch",
    "batch_engines",
    "batch_keys",
    "batch_link",
    "batch_names",
    "batch_progress",
    "batch_repeats",
    "batch_summary",
    "batch_task",
    "batch_work",
    "camera_motion",
    "cli",
    "cli_args",
    "cli_gallery",
    "cli_logging",
    "closed_pipe",
    "config",
    "config_build",
    "config_keys",
    "config_load",
    "config_peer_files",
    "demo",
    "detector",
    "device",
    "embedder",
    "eval/__init__",
    "eval/__main__",
    "eval/boxmot_peers",
    "eval/cli",
    "eval/code_digest",
    "eval/identity",
    "eval/inputs",
    "eval/peers",
    "eval/report",
    "eval/revival",
    "eval/runner",
    "eval/scoring",
    "eval/sequences",
    "eval/variants",
    "extras",
    "file_errors",
    "frames",
    "gallery_assign",
    "gallery_checks",
    "gallery_export",
    "gallery_file",
    "gallery_format",
    "gallery_guard",
    "gallery_index",
    "gallery_merge",
    "gallery_prototypes",
    "gallery_records",
    "gallery_sources",
    "gallery_state",
    "global_ids",
    "io/__init__",
    "io/image_check",
    "io/image_depth",
    "io/jsonl",
    "io/line_sizes",
    "io/live_clock",
    "io/lock",
    "io/atomic",
    "io/mot",
    "io/mp4_index",
    "io/names",
    "io/opencv_files",
    "io/prefetch",
    "io/sources",
    "io/strict_json",
    "io/url_probe",
    "io/video",
    "log_source",
    "model_setup",
    "parent_watch",
    "pickled_state",
    "pipeline",
    "private_file",
    "progress_stream",
    "ray_engine",
    "reid/__init__",
    "reid/blob_cache",
    "reid/compile_worker",
    "reid/cuda_graph",
    "reid/openvino",
    "reid/thread_choice",
    "reid/osnet",
    "resume",
    "run",
    "run_config",
    "run_gallery",
    "run_folders",
    "run_outputs",
    "run_resume",
    "run_summary",
    "shown_ids",
    "signal_stack",
    "still",
    "stop_flag",
    "stream_clock",
    "testing",
    "threads",
    "weak_looks",
    "weights",
    "wording",
    "worker_log",
]


@_runs_mypy
def test_the_batch_summary_camera_motion_config_and_source_modules_type_check(request, tmp_path, monkeypatch):
    """mypy on these gave 69 errors: yaml and tqdm read as untyped (their stubs, `types-PyYAML` and `types-tqdm`, are
    in the test extra now), packages of no stubs at all (boxmot, TrackEval, scipy, ...: named in pyproject.toml's
    `[tool.mypy]`, read as Any), OpenCV's stubs (`cv2.ORB_create` and `cv2.VideoWriter_fourcc` are not in them:
    `cv2.ORB.create` and `cv2.VideoWriter.fourcc` are the same functions; `calcOpticalFlowPyrLK`'s overloads want the
    output array OpenCV makes when given None: called through a `Callable` of its results), a still-box summary typed
    `float` that holds None, a `batch.json` note inferred as all strings, a loop variable reused for another type,
    `listed` of a `list[object]` given a `list[int]` (a `Sequence` now), an image decoded at any depth read as the
    stubs' union that allows no `>>`, faiss' k-means centroids (None until trained), the eval's CSV rows
    keyed by a name or a tuple of names (a `Mapping` of either, its key type invariant). No error in these files."""
    report, errors, status = _mypy_on(CHECKED_PARTS, request, tmp_path, monkeypatch)
    assert status == 0 and not report.strip(), report + errors


def test_every_module_of_the_package_is_type_checked():
    """The three lists above hold every module of `tracker` (the 15 that had mypy errors, 42 of them, are at 0 and
    listed since stop 71): a new module left off them would not be checked, and its errors would go unnoticed."""
    listed = set(CORE_PARTS) | set(GALLERY_PARTS) | set(CHECKED_PARTS)
    modules = {
        path.relative_to(ROOT / "tracker").with_suffix("").as_posix() for path in (ROOT / "tracker").rglob("*.py")
    }
    assert modules - listed == set(), "modules mypy is not run on: add them to CHECKED_PARTS"
    assert listed - modules == set(), "listed modules that are gone"
