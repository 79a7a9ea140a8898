"""Shared fixtures: where ../shared is, and skips with a reason where it or CUDA is absent."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # as the `track` command does: no native FFmpeg chatter

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def shared_root() -> Path | None:
    """../shared beside the project, or $TRACKER_SHARED."""
    env = os.environ.get("TRACKER_SHARED")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT.parent / "shared")
    for path in candidates:
        if path.is_dir():
            return path.resolve()
    return None


@pytest.fixture
def track_boxes_video(tmp_path: Path):
    """`track`'s run of a blank 800 x 480 video whose detector gives `boxes_at(frame)` ((N, 4) xyxy, score 0.9,
    class 0), appearance off: `run(boxes_at, frames, fps, *overrides)` -> (the RunSummary, summary.json's dict)."""
    import json

    import numpy as np

    from tracker import Tracker, load_config, run_summary
    from tracker import run as track_run
    from tracker.io import sources

    def run(boxes_at, frames: int, fps: float, *overrides: str):
        def detector(_image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            boxes = np.asarray(boxes_at(detector.frame), dtype=np.float64)
            detector.frame += 1
            return boxes, np.full(len(boxes), 0.9), np.zeros(len(boxes), dtype=np.int64)

        detector.frame = 0
        blank = np.zeros((480, 800, 3), np.uint8)
        frames_of = lambda _s: ((n, blank) for n in range(frames))  # noqa: E731
        source = sources.FrameSource("walk", "video", fps, frames, _frames=frames_of)
        cfg = load_config(None, overrides=["appearance.enabled=false", "device=cpu", *overrides])
        tracker = Tracker(cfg, fps, detector=detector, embedder=None)
        summary = track_run.track_source(tracker, source, tmp_path, save_video=False, progress=False)
        return summary, json.loads((tmp_path / run_summary.SUMMARY_NAME).read_text())

    return run


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared data folder; skips the test where it is absent."""
    root = shared_root()
    if root is None:
        pytest.skip("../shared (or $TRACKER_SHARED) is absent: real weights, videos and MOT data are not available")
    return root


@pytest.fixture(scope="session")
def shared_weights(shared: Path) -> Path:
    return shared / "weights"


@pytest.fixture(scope="session")
def tud_acf(shared: Path, tmp_path_factory: pytest.TempPathFactory):
    """TUD-Campus with its public ACF boxes and OSNet looks (`tud_acf.TudAcf`), made once per session."""
    from tud_acf import load_tud_acf

    return load_tud_acf(shared, tmp_path_factory.mktemp("acf") / "cache")


@pytest.fixture(scope="session", autouse=True)
def openvino_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Converted ReID models go to a temporary folder, not ~/.cache (subprocesses inherit the variable)."""
    from tracker.reid.openvino import CACHE_ENV

    folder = tmp_path_factory.mktemp("openvino-cache")
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(folder)
    yield folder
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before


@pytest.fixture(autouse=True)
def ultralytics_log_unquieted():
    """Each test starts without `quiet_ultralytics`' filter on ultralytics' logger and leaves the logger as it found
    it. The filter (`track -q`, `track eval -q`, batch tasks run in this process, the tools) stays for the rest of a
    process, as a user's process wants; left by an earlier test or a module's fixture it silenced a later test's
    expected "Loading ..." line (test_eval's unquiet run after its quiet one, in CI)."""
    import logging

    from tracker.detector import _BelowWarningDropped as Quieting

    log = logging.getLogger("ultralytics")
    level, filters = log.level, list(log.filters)
    log.filters[:] = [kept for kept in filters if not isinstance(kept, Quieting)]
    yield
    log.setLevel(level)
    log.filters[:] = filters


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if item.get_closest_marker("gpu"):  # the marker, not a keyword: a test whose id says "gpu" is no GPU test
            item.add_marker(skip_gpu)
