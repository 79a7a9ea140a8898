"""The compiled OpenVINO models' cache (`tracker.reid.blob_cache`): its warnings, each cache's own."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from tracker.reid.blob_cache import BlobCache, compile_cached

ov = pytest.importorskip("openvino")


def _tiny_model():
    """A one-layer `openvino.Model` (ReLU of a 1x3 input): compiled in milliseconds."""
    from openvino import opset13 as ops

    given = ops.parameter([1, 3], np.float32)
    return ov.Model([ops.relu(given)], [given])


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "tracker.reid.blob_cache"]


def test_two_caches_of_one_unusable_folder_each_warn_once(tmp_path, caplog):
    """A cache folder that cannot be used (a file where it goes) is said once a cache: the folders warned about were
    kept in one process-wide set, so a second tracker of the process (its ReID's own cache) said nothing of its own
    cache's failure, nor did a later test on that folder. Each cache warns once, however many models it compiles."""
    (tmp_path / "file").write_text("a file where the folder goes")
    folder = tmp_path / "file" / "blobs"
    model = _tiny_model()
    with caplog.at_level(logging.WARNING, logger="tracker.reid.blob_cache"):
        for _ in range(2):  # (two trackers of one process, each with its cache)
            cache = BlobCache(folder)
            for _ in range(3):  # (its models: each compiled, none kept)
                compile_cached(ov.Core(), model, "CPU", {}, cache)
    said = _warnings(caplog)
    assert [message.split(" (")[0] for message in said] == 2 * [
        f"could not read the compiled OpenVINO models in {folder}"
    ]
    assert not folder.exists()


def test_a_cache_keeps_and_loads_its_blobs(tmp_path):
    """A second cache of the same folder loads what the first compiled and kept (its own state is only its warning)."""
    from tracker.reid.blob_cache import load_or_compile

    model, folder = _tiny_model(), tmp_path / "blobs"
    assert not load_or_compile(ov.Core(), model, "CPU", {}, BlobCache(folder))[1]
    assert len(list(folder.glob("*.blob"))) == 1
    assert load_or_compile(ov.Core(), model, "CPU", {}, BlobCache(folder))[1]
    assert not load_or_compile(ov.Core(), model, "CPU", {}, BlobCache(None))[1]  # (no folder: compiled, not kept)
    assert not load_or_compile(ov.Core(), model, "CPU", {}, None)[1]
