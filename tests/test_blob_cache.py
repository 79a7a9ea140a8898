"""Our cache of compiled OpenVINO models (`tracker.reid.blob_cache`) with a small real model: what a damaged blob
does."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from tracker.reid import blob_cache

SIZE = 256  # the small model's input and output width: a (SIZE, SIZE) fp32 weight matrix (256 KiB in the blob)


def _matmul_model(ov):
    """x (1, SIZE) -> x @ W, W fixed random weights: a model whose blob is mostly its weights."""
    from openvino import opset13 as ops

    x = ops.parameter([1, SIZE], np.float32, name="x")
    weights = ops.constant(np.random.default_rng(0).standard_normal((SIZE, SIZE)).astype(np.float32))
    return ov.Model([ops.matmul(x, weights, False, False)], [x], "matmul")


def test_a_blob_damaged_in_its_weights_is_compiled_again_not_run(tmp_path, caplog):
    """A blob whose weights were overwritten (a disk error, a copy gone wrong: 16 bytes a third of the way in) was
    imported by OpenVINO without complaint, and the model then gave outputs ~1e13 off (OSNet's embeddings alike),
    silently. The blob's checksum now finds it: compiled again (one warning naming the blob), the outputs right,
    and the blob rewritten so the next run loads it."""
    ov = pytest.importorskip("openvino")
    core, model, folder = ov.Core(), _matmul_model(ov), tmp_path / "blobs"
    settings = {"INFERENCE_PRECISION_HINT": "f32"}
    x = np.random.default_rng(1).standard_normal((1, SIZE)).astype(np.float32)
    compiled, loaded = blob_cache.load_or_compile(core, model, "CPU", settings, blob_cache.BlobCache(folder))
    expected = compiled.create_infer_request().infer(x)[0]
    assert not loaded
    (blob,) = folder.iterdir()
    data = bytearray(blob.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 16] = bytes(16 * [0x55])
    blob.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="tracker.reid.blob_cache"):
        compiled, loaded = blob_cache.load_or_compile(core, model, "CPU", settings, blob_cache.BlobCache(folder))
    assert not loaded
    np.testing.assert_array_equal(compiled.create_infer_request().infer(x)[0], expected)
    assert [r.getMessage() for r in caplog.records] == [
        f"could not load the compiled model {blob} (damaged: its checksum does not match): compiling it again"
    ]
    compiled, loaded = blob_cache.load_or_compile(core, model, "CPU", settings, blob_cache.BlobCache(folder))
    assert loaded, "the damaged blob was written again"
    np.testing.assert_array_equal(compiled.create_infer_request().infer(x)[0], expected)


def test_a_model_that_cannot_be_keyed_for_want_of_disk_space_is_compiled_without_the_cache(
    tmp_path, monkeypatch, caplog
):
    """An in-memory model is keyed by its serialized bytes, written to a temporary folder first: on a full disk
    that write failed (OSError, "No space left on device") and the ReID (and the detector's recompile) stopped
    before its first frame, though it could run without the cache, as it did with OpenVINO's own cache. It is
    compiled without the cache, with one warning naming the folder and the reason, and computes the same outputs."""
    import errno
    import tempfile

    ov = pytest.importorskip("openvino")
    core, model, folder = ov.Core(), _matmul_model(ov), tmp_path / "blobs"
    settings = {"INFERENCE_PRECISION_HINT": "f32"}
    x = np.random.default_rng(1).standard_normal((1, SIZE)).astype(np.float32)
    expected = core.compile_model(model, "CPU", settings).create_infer_request().infer(x)[0]

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", tempfile.gettempdir())

    monkeypatch.setattr(tempfile, "TemporaryDirectory", full_disk)
    cache = blob_cache.BlobCache(folder)
    with caplog.at_level(logging.WARNING, logger="tracker.reid.blob_cache"):
        for _ in range(2):  # (warned once by this cache)
            compiled, loaded = blob_cache.load_or_compile(core, model, "CPU", settings, cache)
            assert not loaded
            np.testing.assert_array_equal(compiled.create_infer_request().infer(x)[0], expected)
    assert [r.getMessage() for r in caplog.records] == [
        f"could not key the compiled OpenVINO models in {folder} ([Errno 28] No space left on device: "
        f"'{tempfile.gettempdir()}'): compiling them without the cache"
    ]
    assert not folder.exists()
