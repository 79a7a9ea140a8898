"""OSNet embeddings: identity separation on real crops, the on-device crop path, weights handling."""

from __future__ import annotations

import gc
import logging
import shutil
import sys
import threading
import weakref
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from tool_scripts import load_tool

from tracker import load_config
from tracker.detector import build_detector
from tracker.embedder import build_embedder, crop_boxes, cut_crops
from tracker.io.mot import read_mot_rows, read_sequence_info, tlwh_to_xyxy
from tracker.reid import osnet_x0_25
from tracker.reid.openvino import CACHE_ENV, COMPILED_FOLDER, EXACT_BATCH, split_sizes, static_batches
from tracker.reid.osnet import IMAGENET_MEAN, IMAGENET_STD

MIN_VISIBILITY = 0.6  # MOT17 gt visibility for a clean crop
MIN_HEIGHT = 50  # pixels; tiny crops carry no identity
FRAME_STRIDE = 10  # TUD/PETS: frames sampled this far apart


def roc_auc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    scores = np.concatenate([positives, negatives])
    ranks = np.argsort(np.argsort(scores, kind="mergesort"), kind="mergesort") + 1.0
    for value in np.unique(scores):  # average ranks of ties
        tie = scores == value
        ranks[tie] = ranks[tie].mean()
    n_pos, n_neg = len(positives), len(negatives)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def gt_crops(seq_root: Path, max_frames: int, stride: int, mot17: bool):
    """(frame image, boxes_xyxy, identities) for frames with images, from gt."""
    info = read_sequence_info(seq_root)
    gt = read_mot_rows(seq_root / "gt" / "gt.txt")
    frames = range(1, min(info.frames_with_images(), max_frames) + 1, stride)
    for frame in frames:
        rows = gt[gt[:, 0] == frame]
        if mot17:
            rows = rows[(rows[:, 6] == 1) & (rows[:, 7] == 1) & (rows[:, 8] >= MIN_VISIBILITY)]
        rows = rows[rows[:, 5] >= MIN_HEIGHT]
        if len(rows):
            yield cv2.imread(str(info.image_path(frame))), tlwh_to_xyxy(rows[:, 2:6]), rows[:, 1].astype(int)


def osnet(weights_dir: Path, *overrides: str):
    """The shared OSNet-x0.25 MSMT17 embedder on the CPU, with config overrides."""
    cfg = load_config(None, overrides=[f"reid.weights={weights_dir / 'osnet_x0_25_msmt17.pth'}", *overrides])
    return build_embedder(cfg.reid, torch.device("cpu"))


@pytest.fixture(scope="module")
def embedder(shared_weights):
    return osnet(shared_weights)


def pair_similarities(shared: Path, embedder) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarities of same-identity pairs (across frames) and different-identity pairs on ../shared."""
    data = shared / "data"
    sources = [(p, 8, 1, True) for p in sorted((data / "MOT17" / "train").glob("*-FRCNN"))]
    sources += [(data / "MOT15" / "train" / "TUD-Campus", 71, FRAME_STRIDE, False)]
    sources += [(data / "PETS09-S3-MF1", 107, FRAME_STRIDE, False)]
    positives, negatives = [], []
    for root, max_frames, stride, mot17 in sources:
        feats, ids, frames = [], [], []
        for f, (image, boxes, identities) in enumerate(gt_crops(root, max_frames, stride, mot17)):
            feats.append(embedder(torch.from_numpy(image), boxes))
            ids.append(identities)
            frames.append(np.full(len(identities), f))
        if not feats:
            continue
        emb = torch.cat(feats).numpy()
        ids_arr, frames_arr = np.concatenate(ids), np.concatenate(frames)
        sim = emb @ emb.T
        same = ids_arr[:, None] == ids_arr[None, :]
        other_frame = frames_arr[:, None] != frames_arr[None, :]
        upper = np.triu(np.ones_like(same), k=1)
        positives.append(sim[same & other_frame & upper])
        negatives.append(sim[~same & upper])
    return np.concatenate(positives), np.concatenate(negatives)


def pair_auc(shared: Path, embedder) -> float:
    return roc_auc(*pair_similarities(shared, embedder))


def test_osnet_separates_identities_on_shared_data(shared, embedder):
    pos, neg = pair_similarities(shared, embedder)
    assert len(pos) > 100 and len(neg) > 1000
    auc = roc_auc(pos, neg)
    print(f"ReID ROC AUC {auc:.4f} on {len(pos)} same / {len(neg)} different pairs")
    assert auc >= 0.95
    assert np.median(pos) > np.median(neg) + 0.2


def test_roc_auc_helper():
    assert roc_auc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert roc_auc(np.array([0.1]), np.array([0.9])) == 0.0
    assert roc_auc(np.array([0.5]), np.array([0.5])) == 0.5


def test_openvino_backend_agrees_with_torch_and_is_cached(shared, shared_weights, openvino_cache, monkeypatch):
    pytest.importorskip("openvino")
    import openvino

    image, boxes, _ = next(gt_crops(shared / "data" / "PETS09-S3-MF1", 1, 1, mot17=False))
    frame = torch.from_numpy(image)

    def embed(backend, half):
        return osnet(shared_weights, f"reid.backend={backend}", f"reid.half={half}")

    torch_embedder = embed("torch", "true")
    reference = torch_embedder(frame, boxes)
    exact, fast = embed("openvino", "false")(frame, boxes), embed("openvino", "true")(frame, boxes)
    assert exact.shape == fast.shape == reference.shape == (len(boxes), 512)
    # OpenVINO is fed uint8 crops cut by OpenCV and normalised inside the model: fed the same crops, the torch
    # network gives the same embeddings (fp32); against torch's own float crops they differ by the crop path only.
    same_crops = torch.from_numpy(cut_crops(image, boxes, (256, 128))).permute(0, 3, 1, 2)[:, [2, 1, 0]] / 255.0
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (IMAGENET_MEAN, IMAGENET_STD))
    with torch.inference_mode():
        same_network = torch.nn.functional.normalize(torch_embedder.model((same_crops - mean) / std), dim=1)
    assert (exact * same_network).sum(dim=1).min() > 0.9999  # fp32: the same network
    assert (exact * reference).sum(dim=1).min() > 0.999  # OpenCV's uint8 crops vs torch's float ones
    assert (fast * reference).sum(dim=1).min() > 0.99  # bf16 where the CPU has it
    assert list(openvino_cache.glob("*.xml")) and list(openvino_cache.glob("*.bin"))
    assert not list(openvino_cache.glob("*.tmp.*"))

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again instead of reading the cache")

    monkeypatch.setattr(openvino, "convert_model", no_conversion)
    torch.testing.assert_close(embed("openvino", "false")(frame, boxes), exact)
    monkeypatch.undo()
    for cached in openvino_cache.glob("*.xml"):  # a damaged cache is converted again, not a crash
        cached.write_text("<not a model")
    torch.testing.assert_close(embed("openvino", "false")(frame, boxes), exact)


def test_openvino_backend_errors_are_clear(shared_weights, monkeypatch):

    weights = shared_weights / "osnet_x0_25_msmt17.pth"
    cfg = load_config(None, overrides=[f"reid.weights={weights}", "reid.backend=openvino"])
    with pytest.raises(ValueError, match="runs on the CPU"):
        build_embedder(cfg.reid, torch.device("cuda"))
    monkeypatch.setitem(sys.modules, "openvino", None)  # as without the [openvino] extra
    with pytest.raises(ImportError, match=r"pip install -e '\.\[openvino\]'"):
        build_embedder(cfg.reid, torch.device("cpu"))
    with pytest.raises(ImportError, match=r"reid.int8 needs the \[openvino\] extra"):  # (not "runs on the CPU")
        build_embedder(cfg.replace(["reid.backend=auto", "reid.int8=true"]).reid, torch.device("cpu"))
    auto = build_embedder(cfg.replace(["reid.backend=auto"]).reid, torch.device("cpu"))
    assert isinstance(auto.model, torch.nn.Module), "auto falls back to torch without openvino"


CROP_TOLERANCE = 1.5 / 255  # mean absolute difference vs cv2.resize, in [0, 1] units


def test_batched_crops_match_cv2_resize():
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), (5, 5), 0)
    boxes = np.array([[10, 20, 74, 148], [100, 50, 140, 210], [200, 0, 310, 233]], dtype=np.float64)
    crops = crop_boxes(torch.from_numpy(frame), boxes, (256, 128))
    assert crops.shape == (3, 3, 256, 128)
    for crop, (x1, y1, x2, y2) in zip(crops, boxes.astype(int), strict=True):
        ref = cv2.resize(frame[y1:y2, x1:x2], (128, 256), interpolation=cv2.INTER_LINEAR)[:, :, ::-1] / 255.0
        diff = np.abs(crop.permute(1, 2, 0).numpy() - ref)
        assert diff.mean() < CROP_TOLERANCE, f"mean |diff| {diff.mean() * 255:.2f}/255"


def test_batched_crops_equal_roi_align():
    """grid_sample is used for its CPU speed; it samples exactly where roi_align(sampling_ratio=1, aligned) does."""
    from torchvision.ops import roi_align

    rng = np.random.default_rng(1)
    frame = torch.from_numpy(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))
    x1y1 = rng.uniform(0, 500, (40, 2))
    boxes = np.concatenate([x1y1, x1y1 + rng.uniform(5, 300, (40, 2))], axis=1)  # some run off the frame
    ours = crop_boxes(frame, boxes, (256, 128))
    clipped = torch.as_tensor(np.minimum(boxes, [640, 480, 640, 480]), dtype=torch.float32)
    rois = torch.cat([torch.zeros((40, 1)), clipped], dim=1)
    image = frame.permute(2, 0, 1).unsqueeze(0).float()
    ref = roi_align(image, rois, (256, 128), spatial_scale=1.0, sampling_ratio=1, aligned=True)[:, [2, 1, 0]] / 255
    assert (ours - ref).abs().max() < 0.1 / 255
    for i in range(0, 40, 7):  # alone, a box is cut from a smaller region of the frame: the same pixels
        assert (crop_boxes(frame, boxes[i : i + 1], (256, 128)) - ours[i]).abs().max() < 0.05 / 255


@pytest.mark.parametrize("count", [0, 1, 300])
def test_crop_counts(count):
    frame = torch.zeros((120, 160, 3), dtype=torch.uint8)
    boxes = np.tile([[10.0, 10.0, 50.0, 100.0]], (count, 1))
    assert crop_boxes(frame, boxes, (64, 32)).shape == (count, 3, 64, 32)


def test_boxes_partly_outside_are_clipped():
    frame = np.zeros((100, 100, 3), dtype=np.uint8)
    frame[:, :50] = 255  # left half white
    inside = crop_boxes(torch.from_numpy(frame), np.array([[0.0, 0.0, 50.0, 100.0]]), (32, 16))
    outside = crop_boxes(torch.from_numpy(frame), np.array([[-50.0, -20.0, 50.0, 130.0]]), (32, 16))
    torch.testing.assert_close(inside, outside)
    assert inside.min() > 0.99
    beyond = crop_boxes(torch.from_numpy(frame), np.array([[150.0, 150.0, 190.0, 230.0]]), (32, 16))
    assert torch.isfinite(beyond).all(), "a box wholly outside collapses onto the edge, finite"


def test_opencv_crops_sample_where_the_batched_crops_do():
    """The OpenVINO path cuts uint8 crops with cv2.warpAffine: the same sample points as `crop_boxes`, clipped the
    same way, within OpenCV's fixed-point interpolation weights."""
    rng = np.random.default_rng(2)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (3, 3), 0)
    x1y1 = rng.uniform(-50, 550, (30, 2))
    boxes = np.concatenate([x1y1, x1y1 + rng.uniform(5, 300, (30, 2))], axis=1)  # some run off the frame
    ours = cut_crops(frame, boxes, (256, 128))
    assert ours.shape == (30, 256, 128, 3) and ours.dtype == np.uint8
    batched = crop_boxes(torch.from_numpy(frame), boxes, (256, 128)).permute(0, 2, 3, 1).numpy()[..., ::-1] * 255
    diff = np.abs(ours - batched)
    assert diff.max() < 4.0 and diff.mean() < 0.5, f"max {diff.max():.2f}/255, mean {diff.mean():.3f}/255"
    assert cut_crops(frame, np.zeros((0, 4)), (64, 32)).shape == (0, 64, 32, 3)
    beyond = cut_crops(frame, np.array([[700.0, 500.0, 760.0, 620.0]]), (32, 16))
    np.testing.assert_array_equal(beyond, np.broadcast_to(frame[-1, -1], beyond.shape))  # collapsed on the corner


@pytest.mark.parametrize(
    ("count", "largest", "exact", "sizes"),
    [
        (0, 64, 0, []),
        (1, 64, 0, [1]),
        (7, 64, 0, [4, 2, 1]),
        (8, 8, 0, [8]),
        (130, 64, 0, [64, 64, 2]),
        (19, 16, 0, [16, 2, 1]),
        (7, 64, 8, [7]),
        (19, 16, 8, [16, 3]),
        (45, 64, 8, [32, 8, 5]),
        (7, 4, 8, [4, 3]),  # no exact batch beyond the largest
    ],
)
def test_static_batches(count, largest, exact, sizes):
    assert static_batches(count, largest, exact) == sizes
    assert sum(sizes) == count and all(size <= largest for size in sizes)


def test_openvino_compiles_static_batches(shared_weights):
    """Any crop count runs on static models (no re-preparation per count): one of its own size up to
    `EXACT_BATCH`, power-of-two chunks above, with the results of one crop at a time; crops of another shape or
    type are refused."""
    pytest.importorskip("openvino")
    embedder = osnet(shared_weights, "reid.backend=openvino", "reid.half=false", "reid.batch_size=16")
    up_front = tuple(range(1, EXACT_BATCH + 1))
    assert embedder.model.compiled_batches == up_front  # compiled up front: no stall in the middle of a video
    crops = np.random.default_rng(3).integers(0, 256, (19, 256, 128, 3), dtype=np.uint8)
    out = embedder.model(crops)
    assert out.shape == (19, 512) and out.dtype == np.float32
    assert embedder.model.compiled_batches == (*up_front, 16)  # 19 = 16 + 3, 16 compiled on first use
    np.testing.assert_allclose(embedder.model(crops[:7]), out[:7], atol=1e-4)  # one batch of 7
    singles = np.concatenate([embedder.model(crops[i : i + 1]) for i in range(19)])
    np.testing.assert_allclose(out, singles, atol=1e-4)
    for bad in (crops.astype(np.float32), crops[:, :128]):
        with pytest.raises(ValueError, match="uint8 of shape"):
            embedder.model(bad)


@pytest.mark.parametrize(
    ("count", "requests", "limit", "parts"),
    [
        (0, 2, 8, [0]),
        (1, 2, 8, [1]),  # one crop: nothing to split
        (2, 2, 8, [1, 1]),
        (5, 2, 8, [3, 2]),
        (16, 2, 8, [8, 8]),
        (17, 2, 8, [17]),  # a part would exceed the limit: one call, as with one request
        (7, 3, 8, [3, 2, 2]),
        (2, 4, 8, [1, 1]),  # never an empty part
        (9, 1, 8, [9]),
    ],
)
def test_split_sizes(count, requests, limit, parts):
    assert split_sizes(count, requests, limit) == parts
    assert sum(parts) == count and parts == sorted(parts, reverse=True)


def pets_crowd(shared: Path, count: int) -> tuple[torch.Tensor, np.ndarray]:
    """PETS09-S3-MF1's frame 50 as a tensor and `count` boxes on its people, each a little different."""
    seq = shared / "data" / "PETS09-S3-MF1"
    frame = cv2.imread(str(read_sequence_info(seq).image_path(50)))
    rows = read_mot_rows(seq / "gt" / "gt.txt")
    people = tlwh_to_xyxy(rows[rows[:, 0] == 50][:, 2:6])
    picks = np.random.default_rng(7).integers(0, len(people), count)
    return torch.from_numpy(frame), people[picks] + np.random.default_rng(8).uniform(-6, 6, (count, 4))


def test_openvino_split_requests_give_the_one_request_embeddings_bit_for_bit(shared, shared_weights):
    """`reid.requests=2` runs the halves of a call at the same time (one on the calling thread, one as an
    asynchronous request of a second compiled copy) and gives every crop the embedding one request gives it, bit for
    bit, in the same order: real crops of a PETS09 frame, 1 to 17 of them (17: one call, beyond the split limit)."""
    pytest.importorskip("openvino")
    image, boxes = pets_crowd(shared, 17)
    one = osnet(shared_weights, "reid.backend=openvino", "reid.half=true")
    two = osnet(shared_weights, "reid.backend=openvino", "reid.half=true", "reid.requests=2")
    assert (one.model.requests, two.model.requests) == (1, 2)
    for count in range(1, len(boxes) + 1):
        torch.testing.assert_close(two(image, boxes[:count]), one(image, boxes[:count]), rtol=0, atol=0)
    with pytest.raises(ValueError, match="requests must be >= 1"):
        weights = shared_weights / "osnet_x0_25_msmt17.pth"
        type(one.model)(torch_model(shared_weights), weights, (256, 128), True, requests=0)


def test_openvino_compiled_models_are_cached(shared_weights, tmp_path, monkeypatch, caplog):
    """The compiled models are kept as blobs (`blob_cache`): a second embedder loads them all instead of compiling,
    with the same outputs; damaged or truncated blobs are compiled again and rewritten, not a crash; a cache folder
    that cannot be made costs the cache only (one warning)."""
    pytest.importorskip("openvino")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    crops = np.random.default_rng(5).integers(0, 256, (EXACT_BATCH, 256, 128, 3), dtype=np.uint8)

    def build():
        embedder = osnet(shared_weights, "reid.backend=openvino", "reid.half=true")
        out = embedder.model(crops)
        embedder.model.wait_compiled()  # (the wide copy of 8 it asked for: compiled in a worker thread)
        return embedder.model, out

    first, expected = build()
    assert first.loaded_from_cache == ()
    blobs = sorted((tmp_path / "cache" / COMPILED_FOLDER).iterdir())
    assert len(blobs) == EXACT_BATCH + 1  # (the narrow copies of 1-8, the wide one of 8)
    second, out = build()
    assert second.loaded_from_cache == tuple(range(1, EXACT_BATCH + 1))
    np.testing.assert_array_equal(out, expected)  # (the same embeddings from the blobs as compiled)
    other = osnet(shared_weights, "reid.backend=openvino", "reid.half=true", "reid.threads=3")
    assert other.model.loaded_from_cache == ()  # (another setting: other blobs)
    for i, blob in enumerate(blobs):  # damaged: garbage, or cut short as by a full disk or a killed writer
        blob.write_bytes(b"not a compiled model" if i % 2 else blob.read_bytes()[: blob.stat().st_size // 2])
    with caplog.at_level(logging.WARNING, logger="tracker.reid.blob_cache"):
        third, out = build()
    assert third.loaded_from_cache == ()
    np.testing.assert_array_equal(out, expected)
    assert all(blob.stat().st_size > 1000 for blob in blobs), "damaged blobs are written again"
    warned = [record.getMessage() for record in caplog.records if record.name == "tracker.reid.blob_cache"]
    assert len(warned) == len(blobs) and all("compiling it again" in message for message in warned)
    caplog.clear()
    shutil.rmtree(tmp_path / "cache" / COMPILED_FOLDER)
    (tmp_path / "cache" / COMPILED_FOLDER).write_text("a file where the folder goes")
    with caplog.at_level(logging.WARNING, logger="tracker.reid.blob_cache"):
        _, out = build()
    np.testing.assert_array_equal(out, expected)
    assert [r.getMessage().split(" (")[0] for r in caplog.records if r.name == "tracker.reid.blob_cache"] == [
        f"could not read the compiled OpenVINO models in {tmp_path / 'cache' / COMPILED_FOLDER}"
    ]


@pytest.mark.parametrize("threads", [1, 2])
def test_openvino_compile_settings_reach_the_compiled_model(shared_weights, threads):
    """The ReID is compiled for latency, unpinned (it shares the cores with the detector), with `reid.threads`
    threads and fp32 when `reid.half` is off: OpenVINO reports back what it was asked."""
    pytest.importorskip("openvino")
    embedder = osnet(shared_weights, "reid.backend=openvino", "reid.half=false", f"reid.threads={threads}")
    settings = embedder.model.compiled_settings()
    assert settings["ENABLE_CPU_PINNING"] == "False"
    assert settings["PERFORMANCE_HINT"] == "LATENCY"
    assert settings["INFERENCE_NUM_THREADS"] == str(threads)
    assert "float32" in settings["INFERENCE_PRECISION_HINT"]


@pytest.mark.parametrize("amx", [False, True])
def test_reid_half_computes_in_bf16_only_where_the_cpu_has_amx(shared_weights, monkeypatch, amx):
    """`reid.half` (the default) on OpenVINO: OpenVINO's own precision (bf16 where the CPU has BF16) only where the
    CPU has AMX, its fast bf16 path; fp32 elsewhere (on an AVX512-BF16 Xeon without AMX bf16 took 1.35-1.67x fp32's
    time, and an AVX2-only CPU computes fp32 anyway). AMX is reported present or absent here, whatever this CPU has."""
    ov = pytest.importorskip("openvino")
    from tracker.reid import openvino as reid_openvino

    monkeypatch.setattr(reid_openvino, "cpu_has_amx", lambda: amx)
    embedder = osnet(shared_weights, "reid.backend=openvino", "reid.half=true")
    for batch in (1, 3):
        precision = embedder.model.compiled_settings(batch)["INFERENCE_PRECISION_HINT"]
        default = str(ov.Core().get_property("CPU", "INFERENCE_PRECISION_HINT"))
        assert precision == (default if amx else str(ov.Type.f32))


@pytest.mark.parametrize("probe", ["missing", "failing"])
def test_reid_half_where_pytorch_cannot_tell_whether_the_cpu_has_amx_computes_fp32_and_says_why(
    shared_weights, monkeypatch, caplog, probe
):
    """A PyTorch without `torch.cpu._is_amx_tile_supported` (older or newer than the tracker's), or one whose check
    fails: the ReID computes fp32 (unknown counts as absent), and the log line says the precision and that AMX is
    unknown, and why: it said "no AMX on this CPU" (on an AMX CPU too), and a check failing otherwise than with a
    RuntimeError (a missing binding's AttributeError) stopped the run."""
    ov = pytest.importorskip("openvino")

    def fails():
        raise AttributeError("module 'torch._C._cpu' has no attribute '_is_amx_tile_supported'")

    if probe == "missing":
        monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    else:
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", fails, raising=False)
    with caplog.at_level(logging.INFO, logger="tracker.reid.openvino"):
        embedder = osnet(shared_weights, "reid.backend=openvino", "reid.half=true")
    assert embedder.model.compiled_settings(1)["INFERENCE_PRECISION_HINT"] == str(ov.Type.f32)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ReID on OpenVINO")]
    why = (
        "this PyTorch has no torch.cpu._is_amx_tile_supported"
        if probe == "missing"
        else "PyTorch's check failed: AttributeError: module 'torch._C._cpu' has no attribute '_is_amx_tile_supported'"
    )
    assert said == [f"ReID on OpenVINO (CPU, fp32: reid.half, AMX unknown: {why})"], said


@pytest.mark.parametrize("half", ["true", "false"])
def test_openvino_wide_batches_run_on_more_threads_with_the_same_embeddings(shared, shared_weights, half):
    """`reid.wide_from=K`: static batches of K crops or more are compiled with `reid.wide_threads` inference threads,
    smaller ones with `reid.threads` (OpenVINO reports back what each was asked); every crop's embedding is the
    one-thread embedding bit for bit, below, at and above K (1 to 17 crops: exact batches, then 16 + 1)."""
    pytest.importorskip("openvino")
    image, boxes = pets_crowd(shared, 17)
    base = ("reid.backend=openvino", f"reid.half={half}", "reid.threads=1", "reid.wide_from=0")
    one = osnet(shared_weights, *base)
    always = ("reid.wide_from=3", "reid.wide_threads=2", "reid.batch_size=16", "reid.wide_recheck_after=0")
    wide = osnet(shared_weights, *base, *always)
    threads = {size: wide.model.compiled_settings(size)["INFERENCE_NUM_THREADS"] for size in (1, 2, 3, 8, 16)}
    assert threads == {1: "1", 2: "1", 3: "2", 8: "2", 16: "2"}
    assert {one.model.compiled_settings(size)["INFERENCE_NUM_THREADS"] for size in (1, 3, 8)} == {"1"}  # 0: off
    for count in range(1, len(boxes) + 1):  # (the first call of a size asks for its wide copy: see them run below)
        wide(image, boxes[:count])
    wide.model.wait_compiled()
    for count in range(1, len(boxes) + 1):
        torch.testing.assert_close(wide(image, boxes[:count]), one(image, boxes[:count]), rtol=0, atol=0)
    assert all(set(wide.model.thread_choice.measured(size)) == {"wide"} for size in (3, 8, 16))  # (they ran wide)
    weights = shared_weights / "osnet_x0_25_msmt17.pth"
    for bad in ({"wide_from": -1}, {"wide_threads": -2}):
        with pytest.raises(ValueError, match=f"{next(iter(bad))} must be >= 0"):
            type(one.model)(torch_model(shared_weights), weights, (256, 128), True, **bad)


def compiles_seen(monkeypatch, hold: threading.Event | None = None) -> list[tuple[int, bool, bool]]:
    """(batch, wide, on the thread that called) of each model OpenVINOForward compiles from now on; with `hold`, each
    wide compile waits for it to be set first."""
    from tracker.reid.openvino import OpenVINOForward

    seen: list[tuple[int, bool, bool]] = []
    compile = OpenVINOForward._compile
    caller = threading.current_thread()

    def watched(self: OpenVINOForward, batch: int, wide: bool) -> object:
        seen.append((batch, wide, threading.current_thread() is caller))
        if wide and hold is not None:
            hold.wait()
        return compile(self, batch, wide)

    monkeypatch.setattr(OpenVINOForward, "_compile", watched)
    return seen


def test_openvino_wide_copies_compile_in_a_worker_thread_and_stay_unused_beside_a_detector(
    shared, shared_weights, monkeypatch
):
    """By default (`reid.wide_from` 2, `reid.wide_threads` 2) batches of 2 crops or more may run on two threads, except
    within `detector_beside` (`stream()` detecting the next frame ahead on the other core), where they run on
    `reid.threads`. The first call that could run wide compiled every wide copy (batches 2 to 8) on the calling
    thread: 0.5 s of one frame on a quiet machine, 1.4-2 s at load 5 (a live camera drops them). Now the wide copy of
    a size is compiled in a worker thread at the first call of that size outside `detector_beside` (none for a tracker
    that only streams), which runs on the narrow copy (`ThreadChoice` sees no copy that is not there); every crop's
    embedding is the same either way."""
    pytest.importorskip("openvino")
    from tracker.reid.openvino import detector_beside
    from tracker.reid.thread_choice import FIRST_CALLS

    seen = compiles_seen(monkeypatch)
    embedder = osnet(shared_weights, "reid.backend=openvino")
    image, boxes = pets_crowd(shared, 3)
    with detector_beside():
        narrow = embedder(image, boxes)
    embedder.model.wait_compiled()
    assert embedder.model.compiled_wide_batches == ()
    torch.testing.assert_close(embedder(image, boxes), narrow, rtol=0, atol=0)
    assert embedder.model.thread_choice.measured(3) == {}  # (ran narrow, unmeasured: the wide copy is compiling)
    embedder.model.wait_compiled()
    assert embedder.model.compiled_wide_batches == (3,)
    assert [(batch, on_caller) for batch, wide, on_caller in seen if wide] == [(3, False)]  # (in the worker)
    for _ in range(2 * FIRST_CALLS):
        torch.testing.assert_close(embedder(image, boxes), narrow, rtol=0, atol=0)
    assert set(embedder.model.thread_choice.measured(3)) == {"narrow", "wide"}  # (both ran, measured)
    assert {embedder.model.compiled_settings(size)["INFERENCE_NUM_THREADS"] for size in (2, 3, 8)} == {"2"}
    narrow_threads = {embedder.model.compiled_settings(size, wide=False)["INFERENCE_NUM_THREADS"] for size in (1, 3)}
    assert narrow_threads == {"1"} and embedder.model.compiled_settings(1)["INFERENCE_NUM_THREADS"] == "1"


def test_a_wide_copy_compiling_leaves_the_other_threads_text_encoding_alone(shared, shared_weights):
    """OpenVINO sets the whole process's C locale while it reads or writes its model cache: with the wide copies
    compiled from that cache in the worker thread, every other thread's default text encoding was ASCII for the
    compile (in the full suite, a docs file read meanwhile failed with UnicodeDecodeError). The wide copies skip the
    cache, so a thread polling the encoding while they compile sees only its own."""
    pytest.importorskip("openvino")
    import locale

    embedder = osnet(shared_weights, "reid.backend=openvino")
    image, _ = pets_crowd(shared, 1)
    own = locale.getpreferredencoding(False)
    seen = set()
    for count in range(2, 9):  # (each size asks the worker for its wide copy)
        _, boxes = pets_crowd(shared, count)
        embedder(image, boxes)
        while embedder.model._wide_worker.thread is not None:
            seen.add(locale.getpreferredencoding(False))
    embedder.model.wait_compiled()
    assert embedder.model.compiled_wide_batches == tuple(range(2, 9))
    assert seen <= {own}, seen


def test_a_model_built_from_a_warm_cache_leaves_the_other_threads_locale_alone(
    shared, shared_weights, tmp_path, monkeypatch
):
    """OpenVINO's own model cache (`CACHE_DIR`) set the whole process's C locale while it loaded a blob: a second
    embedder, its narrow copies loaded from that cache, made every other thread's default text encoding ASCII for
    ~0.4 s a model (any text file read meanwhile: UnicodeDecodeError). Loaded from our blobs (`blob_cache`), a thread
    polling the encoding and the locale while the embedder is built from a warm cache and its wide copies load sees
    only its own."""
    pytest.importorskip("openvino")
    import locale

    own = (locale.getpreferredencoding(False), locale.setlocale(locale.LC_ALL))
    if own[0].lower().replace("-", "") != "utf8" or own[1] == "C":
        pytest.skip(f"the process's own locale is {own}: a switch to C could not be told apart")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    image, boxes = pets_crowd(shared, 8)

    def build():
        embedder = osnet(shared_weights, "reid.backend=openvino")
        for count in range(2, 9):  # (each size asks the worker for its wide copy)
            embedder(image, boxes[:count])
        embedder.model.wait_compiled()
        return embedder.model

    build()  # (the cache made)
    seen, done = set(), threading.Event()

    def poll():
        while not done.is_set():
            try:
                seen.add((locale.getpreferredencoding(False), locale.setlocale(locale.LC_ALL)))
            except (ValueError, UnicodeDecodeError) as exc:  # (read while another thread set it: garbage)
                seen.add(("unreadable", type(exc).__name__))

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        model = build()
    finally:
        done.set()
        poller.join()
    assert model.loaded_from_cache == tuple(range(1, EXACT_BATCH + 1))
    assert seen == {own}, seen


def test_openvino_wide_compiles_stop_once_the_model_is_released(shared, shared_weights, monkeypatch):
    """A model released while its wide copies compile (`Tracker.close()`, the last tracker sharing it gone) leaves no
    worker thread running: the compile under way ends, the ones asked after it are dropped (none compiled for nobody),
    and the model's memory goes."""
    pytest.importorskip("openvino")
    hold = threading.Event()
    seen = compiles_seen(monkeypatch, hold)
    embedder = osnet(shared_weights, "reid.backend=openvino")
    image, boxes = pets_crowd(shared, 3)
    embedder(image, boxes)  # (asks for the wide copy of 3, held in the worker)
    embedder(image, boxes[:2])  # (and of 2, behind it)
    (worker,) = [thread for thread in threading.enumerate() if thread.name == "reid-wide-compile"]
    model = weakref.ref(embedder.model)
    del embedder
    gc.collect()
    hold.set()
    worker.join(timeout=60)
    assert not worker.is_alive() and model() is None
    assert [batch for batch, wide, _ in seen if wide] == [3]


@pytest.mark.parametrize("requests", [1, 2])
def test_openvino_reid_runs_from_two_threads_at_once(shared, shared_weights, requests):
    """Two trackers sharing one embedder (`copy.deepcopy(tracker)`, or `stream()` in one thread and `update()` in
    another) called one compiled model's single infer request at the same time: RuntimeError "Infer Request is
    busy". Each thread has infer requests of its own now (its wide copies compiling meanwhile), with the embeddings
    of one thread bit for bit."""
    pytest.importorskip("openvino")
    image, boxes = pets_crowd(shared, 5)
    embedder = osnet(shared_weights, "reid.backend=openvino", f"reid.requests={requests}")
    expected = osnet(shared_weights, "reid.backend=openvino", "reid.wide_from=0")(image, boxes)
    together = threading.Barrier(2)
    errors: list[BaseException] = []

    def calls() -> None:
        try:
            for _ in range(30):
                together.wait()  # (each call at once with the other thread's)
                torch.testing.assert_close(embedder(image, boxes), expected, rtol=0, atol=0)
        except BaseException as exc:
            errors.append(exc)
            together.abort()

    threads = [threading.Thread(target=calls) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    embedder.model.wait_compiled()
    assert errors == [], errors[0]


def test_openvino_runs_each_batch_on_the_copy_its_calls_measured_faster(shared, shared_weights, monkeypatch):
    """`reid.wide_recheck_after` (10): a batch that may run wide runs on the copy whose recent calls took less wall
    time (`ThreadChoice`), the other after every 10 calls: where the second core is taken (the wide copy's calls
    measured 3x slower here) the narrow copy runs, with the same embeddings; 0 runs the wide copy always."""
    pytest.importorskip("openvino")
    from tracker.reid.thread_choice import FIRST_CALLS, ThreadChoice

    ran: list[tuple[int, bool]] = []
    record = ThreadChoice.record

    def busy_second_core(self: ThreadChoice, batch: int, wide: bool, seconds: float) -> None:
        ran.append((batch, wide))
        record(self, batch, wide, seconds * (3.0 if wide else 1.0))

    monkeypatch.setattr(ThreadChoice, "record", busy_second_core)
    image, boxes = pets_crowd(shared, 3)
    measured = osnet(shared_weights, "reid.backend=openvino")
    always = osnet(shared_weights, "reid.backend=openvino", "reid.wide_recheck_after=0")
    one = osnet(shared_weights, "reid.backend=openvino", "reid.wide_from=0")
    expected = one(image, boxes)
    for forward in (measured, always):  # (the first call asks for the wide copy and runs narrow, unmeasured)
        torch.testing.assert_close(forward(image, boxes), expected, rtol=0, atol=0)
        forward.model.wait_compiled()
    assert ran == []
    calls = 2 * FIRST_CALLS + 11
    for _ in range(calls):
        torch.testing.assert_close(measured(image, boxes), expected, rtol=0, atol=0)
    assert ran[: 2 * FIRST_CALLS] == [(3, False), (3, True)] * FIRST_CALLS  # (each measured in turn)
    assert ran[2 * FIRST_CALLS :].count((3, True)) == 1 and len(ran) == calls  # (then narrow, one recheck)
    ran.clear()
    for _ in range(5):
        torch.testing.assert_close(always(image, boxes), expected, rtol=0, atol=0)
    assert ran == [(3, True)] * 5
    assert one(image, boxes[:1]) is not None and ran == [(3, True)] * 5  # (wide_from 0: nothing to choose)


def test_openvino_split_calls_run_wide_only_where_their_calls_measured_faster(shared, shared_weights, monkeypatch):
    """`reid.requests=2` with the default `reid.wide_from` 2: every split call ran its parts of 2 crops or more on
    `wide_threads` whatever they measured (the parts run at once: 2 x 2 threads on a 2-core machine, which stop 38
    measured slower), while an unsplit batch runs wide only where that measures faster (`ThreadChoice`). A split
    call is now measured as one (keyed by its parts): where its wide runs took 3x the time, its parts run on
    `reid.threads`, with the same embeddings, one recheck in 11."""
    pytest.importorskip("openvino")
    from tracker.reid.thread_choice import FIRST_CALLS, ThreadChoice

    ran: list[tuple[object, bool]] = []
    record = ThreadChoice.record

    def busy_second_core(self: ThreadChoice, batch: object, wide: bool, seconds: float) -> None:
        ran.append((batch, wide))
        record(self, batch, wide, seconds * (3.0 if wide else 1.0))  # type: ignore[arg-type]

    monkeypatch.setattr(ThreadChoice, "record", busy_second_core)
    image, boxes = pets_crowd(shared, 5)
    split = osnet(shared_weights, "reid.backend=openvino", "reid.requests=2")
    split(image, boxes)  # (asks for the wide copies of the parts, 3 and 2 on its lane, and runs narrow, unmeasured)
    split.model.wait_compiled()
    assert ran == []
    on_wide: list[bool] = []  # (the copies each split call's parts ran on)
    split_call = type(split.model)._split_call
    monkeypatch.setattr(
        type(split.model),
        "_split_call",
        lambda self, crops, parts, wide: on_wide.append(wide) or split_call(self, crops, parts, wide),
    )
    expected = osnet(shared_weights, "reid.backend=openvino", "reid.wide_from=0")(image, boxes)
    calls = 2 * FIRST_CALLS + 11
    for _ in range(calls):
        torch.testing.assert_close(split(image, boxes), expected, rtol=0, atol=0)
    assert len(ran) == calls, ran  # (each split call measured once)
    assert [wide for _, wide in ran[2 * FIRST_CALLS :]].count(True) == 1, ran  # (then narrow, one recheck)
    assert on_wide == [wide for _, wide in ran], on_wide  # (each ran on the copies chosen)


@pytest.mark.parametrize("backend", ["torch", "openvino"])
def test_embeddings_are_unit_norm_and_batched(shared_weights, backend):
    if backend == "openvino":
        pytest.importorskip("openvino")
    embedder = osnet(shared_weights, f"reid.backend={backend}", "reid.half=false")
    frame = torch.from_numpy(np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8))
    boxes = np.array([[0, 0, 100, 250], [50, 20, 150, 290], [300, 10, 390, 200]], dtype=np.float64)
    out = embedder(frame, boxes)
    assert out.shape == (3, 512)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(3))
    one_by_one = torch.cat([embedder(frame, boxes[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(out, one_by_one, atol=1e-4, rtol=1e-4)
    assert embedder(frame, np.zeros((0, 4))).shape == (0, 512)


@pytest.mark.parametrize("backend", ["torch", "openvino"])
def test_gray_bgra_and_numpy_frames_embed_as_their_bgr_frame_on_both_backends(shared_weights, backend):
    """The embedder called directly takes the frames `Tracker.update` takes, with the same embeddings on both
    backends (PyTorch raised a permute error for gray; OpenVINO embedded uninitialised crops); a channels-first or
    float frame is one ValueError naming the shapes it takes."""
    if backend == "openvino":
        pytest.importorskip("openvino")
    embedder = osnet(shared_weights, f"reid.backend={backend}", "reid.half=false")
    gray = np.random.default_rng(1).integers(0, 255, (200, 160), dtype=np.uint8)
    bgr = np.repeat(gray[:, :, None], 3, axis=2)
    boxes = np.array([[0, 0, 60, 150], [70, 20, 150, 190]], dtype=np.float64)
    expected = embedder(torch.from_numpy(bgr), boxes)
    bgra = np.dstack([bgr, np.full_like(gray, 255)])
    for frame in (gray, gray[:, :, None], bgra, bgr):
        for given in (torch.from_numpy(frame), frame):
            torch.testing.assert_close(embedder(given, boxes), expected, atol=1e-5, rtol=1e-5)
    for bad in (torch.from_numpy(bgr).permute(2, 0, 1), torch.from_numpy(bgr).float()):
        with pytest.raises(ValueError, match=r"frame must (have shape \(H, W, 3\) BGR|be uint8)"):
            embedder(bad, boxes)


@pytest.mark.parametrize("backend", ["torch", "openvino"])
def test_boxes_given_directly_are_checked_and_those_without_a_crop_get_zero_rows(shared_weights, backend, caplog):
    """`tracker.embedder(frame, boxes)` called directly: one box of shape (4,) is one ValueError naming boxes_xyxy and
    the shape to give (it was "zip() argument 2 is shorter than argument 1" on OpenVINO); a NaN, inverted, empty or
    wholly off-frame box has no crop, so its row is zero (the tracker's "no look"; it was a unit row of edge pixels
    or NaN), warned once per embedder, and the other rows are those of the good boxes alone."""
    if backend == "openvino":
        pytest.importorskip("openvino")
    embedder = osnet(shared_weights, f"reid.backend={backend}", "reid.half=false")
    frame = np.random.default_rng(2).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    good = np.array([[0, 0, 100, 250], [-50, 20, 150, 290]], dtype=np.float64)  # (the second partly outside)
    one_box = r"boxes_xyxy must have shape \(N, 4\), got \(4,\) \(one box: boxes_xyxy\[None\]"
    with pytest.raises(ValueError, match=one_box):
        embedder(frame, good[0])
    bad = [[np.nan, 0, 100, 250], [100, 0, 0, 250], [10, 10, 10, 100], [500, 0, 600, 250], [0, -90, 100, -10]]
    mixed = np.array([bad[0], good[0], bad[1], bad[2], good[1], bad[3], bad[4]])
    with caplog.at_level(logging.WARNING, logger="tracker.embedder"):
        out = embedder(frame, mixed)
        embedder(frame, mixed)
    said = [r.getMessage() for r in caplog.records if "no crop" in r.getMessage()]
    assert len(said) == 1 and "5 of 7 boxes_xyxy have no crop" in said[0] and "300x400 frame" in said[0]
    assert out.shape == (7, 512) and torch.isfinite(out).all()
    torch.testing.assert_close(out.norm(dim=1), torch.tensor([0.0, 1, 0, 0, 1, 0, 0]))
    torch.testing.assert_close(out[[1, 4]], embedder(frame, good), atol=1e-5, rtol=1e-5)
    assert embedder(frame, torch.tensor(bad)).abs().sum() == 0  # (a tensor of boxes: none with a crop)


def test_torch_backend_folds_batchnorm_and_keeps_the_features(shared, shared_weights):
    """The PyTorch OSNet runs with every BN folded into its convolution (fewer kernels): same features as the
    network as trained (unfolded), on real person crops."""
    embedder = osnet(shared_weights, "reid.backend=torch")
    assert not [m for m in embedder.model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    trained = osnet_x0_25()
    trained.load_torchreid(torch.load(shared_weights / "osnet_x0_25_msmt17.pth", map_location="cpu"))
    trained.eval()
    frame, boxes, _ = max(gt_crops(shared / "data" / "PETS09-S3-MF1", 200, 50, mot17=False), key=lambda f: len(f[1]))
    crops = crop_boxes(torch.from_numpy(frame), boxes, (256, 128))
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.inference_mode():
        expected = torch.nn.functional.normalize(trained((crops - mean) / std), dim=1)
    got = embedder(torch.from_numpy(frame), boxes)
    assert len(boxes) >= 3 and (got * expected).sum(dim=1).min() > 0.9999


def test_folding_batchnorm_makes_no_subnormal_weights(shared_weights):
    """Folding scales each output channel's weights by gamma / sqrt(var + eps); a tiny gamma makes subnormal
    weights (the Market-1501 OSNet-x0.25 gets 5), which slow CPU convolutions as a checkpoint's own do."""
    model = osnet_x0_25().eval()
    with torch.no_grad():
        model.conv1.bn.weight[0] = 1e-38  # every weight of output channel 0 becomes ~1e-40 once folded
    assert model.fold_batchnorm().flush_subnormals() == 0
    market = f"reid.weights={shared_weights / 'osnet_x0_25_market1501.pth'}"
    embedder = build_embedder(load_config(None, overrides=[market, "reid.backend=torch"]).reid, torch.device("cpu"))
    assert embedder.model.flush_subnormals() == 0


def test_missing_reid_weights_names_the_file(tmp_path):
    cfg = load_config(None, overrides=[f"reid.weights={tmp_path / 'osnet_missing.pth'}"])
    with pytest.raises(FileNotFoundError, match=r"osnet_missing\.pth.*torchreid"):
        build_embedder(cfg.reid, torch.device("cpu"))


def test_missing_reid_weights_are_named_before_the_detector_loads_or_downloads(tmp_path, monkeypatch):
    """Offline, a default `yolo11n.pt` download failed first and hid the missing ReID file behind it: the user
    fixed one error only to meet the next. `Tracker.from_config` names the missing ReID weights before it builds
    (or downloads) the detector."""
    import tracker.detector
    from tracker import Tracker

    def must_not_run(*args, **kwargs):
        raise AssertionError("the detector was built (or downloaded) before the ReID weights were checked")

    monkeypatch.setattr(tracker.detector, "build_detector", must_not_run)
    cfg = load_config(None, overrides=["detector.model=yolo11n.pt", f"reid.weights={tmp_path / 'osnet_missing.pth'}"])
    with pytest.raises(FileNotFoundError, match=r"osnet_missing\.pth.*reid\.weights"):
        Tracker.from_config(cfg)


def test_wrong_state_dict_fails_strictly(tmp_path):
    bad = osnet_x0_25().state_dict()
    bad.pop("conv5.conv.weight")
    bad["extra.weight"] = torch.zeros(1)
    path = tmp_path / "bad.pth"
    torch.save(bad, path)
    cfg = load_config(None, overrides=[f"reid.weights={path}"])
    with pytest.raises(ValueError, match=r"missing.*unexpected"):
        build_embedder(cfg.reid, torch.device("cpu"))


@pytest.mark.parametrize("content", [b"", b"not a checkpoint\n", b"\x08\x01onnx"])
def test_a_file_that_is_no_checkpoint_is_one_clear_error(tmp_path, content):
    path = tmp_path / "weights.pth"
    path.write_bytes(content)
    cfg = load_config(None, overrides=[f"reid.weights={path}"])
    with pytest.raises(ValueError, match=r"weights\.pth cannot be read as a PyTorch checkpoint") as info:
        build_embedder(cfg.reid, torch.device("cpu"))
    assert "get it again from torchreid's model zoo" in str(info.value)  # where a good copy comes from


@pytest.mark.parametrize("name", ["osnet.onnx", "osnet.xml", "OSNET.ONNX"])
def test_an_exported_network_given_as_weights_is_named_as_such(tmp_path, name):
    """An ONNX / OpenVINO export is not a damaged checkpoint: the error says which file reid.weights takes."""
    path = tmp_path / name
    path.write_bytes(b"\x08\x01onnx")
    cfg = load_config(None, overrides=[f"reid.weights={path}"])
    with pytest.raises(ValueError, match=r"is an exported .* network; reid.weights takes a torchreid \.pth") as info:
        build_embedder(cfg.reid, torch.device("cpu"))
    assert "damaged" not in str(info.value)


def test_weights_of_another_osnet_width_are_one_clear_error(tmp_path):
    path = tmp_path / "x0_25.pth"
    torch.save(osnet_x0_25().state_dict(), path)
    cfg = load_config(None, overrides=[f"reid.weights={path}", "reid.model=osnet_x1_0"])
    with pytest.raises(
        ValueError, match=r"x0_25\.pth: .*another shape.*these are osnet_x0_25 weights: set reid\.model=osnet_x0_25"
    ):
        build_embedder(cfg.reid, torch.device("cpu"))


def test_weights_of_no_osnet_width_say_so(tmp_path):
    """A state dict of OSNet's keys that fits no width names the configured model and suggests no other."""
    state = {k: v[..., :1] if v.ndim else v for k, v in osnet_x0_25().state_dict().items()}
    path = tmp_path / "odd.pth"
    torch.save(state, path)
    cfg = load_config(None, overrides=[f"reid.weights={path}"])
    with pytest.raises(ValueError, match=r"reid\.model is osnet_x0_25, and no other OSNet here takes these weights"):
        build_embedder(cfg.reid, torch.device("cpu"))


def test_checkpoint_subnormals_are_flushed(shared_weights):
    """Subnormal weights slow CPU convolutions on flat crops ~10x; loading zeroes them."""
    embedder = osnet(shared_weights, "reid.backend=torch")
    assert embedder.model.flush_subnormals() == 0
    frame = torch.zeros((200, 200, 3), dtype=torch.uint8)
    out = embedder(frame, np.array([[0.0, 0.0, 60.0, 150.0], [500.0, 500.0, 600.0, 700.0]]))
    assert torch.isfinite(out).all()


def test_auto_pools_detector_features(shared_weights):
    from ultralytics.utils import ASSETS

    cfg = load_config(None, overrides=[f"detector.model={shared_weights / 'yolov8n.pt'}", "reid.model=auto"])
    detector = build_detector(cfg.detector, torch.device("cpu"))
    embedder = build_embedder(cfg.reid, torch.device("cpu"), detector)
    assert embedder.dim == 448  # YOLOv8n neck: 64 + 128 + 256 channels
    image = cv2.imread(str(ASSETS / "bus.jpg"))
    boxes, _, _ = detector(image)
    out = embedder(torch.from_numpy(image), boxes)
    assert out.shape == (len(boxes), 448) and len(boxes) >= 4
    torch.testing.assert_close(out.norm(dim=1), torch.ones(len(boxes)))
    sim = (out @ out.T).numpy()
    assert sim[np.triu_indices(len(boxes), 1)].max() < 0.9, "different people must not look identical"
    shifted = embedder(torch.from_numpy(image), boxes + 2.0)
    assert (out * shifted).sum(dim=1).min() > 0.9, "a box moved by 2 px describes the same person"


def test_auto_refuses_exported_detectors(shared_weights):
    cfg = load_config(
        None, overrides=[f"detector.model={shared_weights / 'yolov8n_int8_openvino_model'}", "reid.model=auto"]
    )
    detector = build_detector(cfg.detector, torch.device("cpu"))
    with pytest.raises(ValueError, match=r"\.pt"):
        build_embedder(cfg.reid, torch.device("cpu"), detector)


def test_reid_none_builds_nothing():
    assert build_embedder(load_config(None, overrides=["reid.model=none"]).reid, torch.device("cpu")) is None


@pytest.mark.gpu
def test_cuda_fp16_embeddings_match_cpu(shared_weights):
    cfg = load_config(None, overrides=[f"reid.weights={shared_weights / 'osnet_x0_25_msmt17.pth'}"])
    cpu = build_embedder(cfg.reid, torch.device("cpu"))
    gpu = build_embedder(cfg.reid, torch.device("cuda"))
    assert gpu.half and next(gpu.model.parameters()).dtype == torch.float16
    frame = torch.from_numpy(np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8))
    boxes = np.array([[0, 0, 100, 250], [50, 20, 150, 290]], dtype=np.float64)
    out = gpu(frame.cuda(), boxes)
    assert out.device.type == "cuda" and out.dtype == torch.float32
    assert (out.cpu() * cpu(frame, boxes)).sum(dim=1).min() > 0.99


@pytest.mark.gpu
def test_cuda_huge_batch_is_chunked(shared_weights):
    weights = shared_weights / "osnet_x0_25_msmt17.pth"
    cfg = load_config(None, overrides=[f"reid.weights={weights}", "reid.batch_size=64"])
    gpu = build_embedder(cfg.reid, torch.device("cuda"))
    frame = torch.zeros((1080, 1920, 3), dtype=torch.uint8, device="cuda")
    boxes = np.tile([[10.0, 10.0, 110.0, 300.0]], (1000, 1))
    assert gpu(frame, boxes).shape == (1000, 512)


@pytest.mark.gpu
def test_cuda_graphs_give_the_eager_embeddings(shared_weights):
    """reid.cuda_graphs: every batch size (padded to a power of two, or chunked past batch_size) gives the eager
    forward's embeddings, and a replay never returns an earlier call's rows."""
    weights = f"reid.weights={shared_weights / 'osnet_x0_25_msmt17.pth'}"
    eager = build_embedder(load_config(None, overrides=[weights, "reid.batch_size=16"]).reid, torch.device("cuda"))
    cfg = load_config(None, overrides=[weights, "reid.batch_size=16", "reid.cuda_graphs=true"])
    graphed = build_embedder(cfg.reid, torch.device("cuda"))
    rng = np.random.default_rng(0)
    for count in (1, 3, 8, 5, 16, 21, 3):
        frame = torch.from_numpy(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)).cuda()
        x1, y1 = rng.uniform(0, 500, count), rng.uniform(0, 200, count)
        boxes = np.stack([x1, y1, x1 + rng.uniform(30, 130, count), y1 + rng.uniform(80, 270, count)], axis=1)
        want, got = eager(frame, boxes), graphed(frame, boxes)
        assert got.shape == (count, 512) and (got * want).sum(dim=1).min() > 0.999, count
    assert graphed._graphed.enabled and sorted(graphed._graphed._graphs) == [1, 4, 8, 16]


def test_cuda_graphs_need_cuda_and_pad_to_powers_of_two(shared_weights, caplog):
    from tracker.reid.cuda_graph import padded_batch

    assert [padded_batch(n, 16) for n in (1, 2, 3, 5, 8, 9, 16)] == [1, 2, 4, 8, 8, 16, 16]
    assert padded_batch(9, 12) == 12
    with pytest.raises(ValueError, match="outside"):
        padded_batch(0, 16)
    for backend in ("torch", "openvino"):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="tracker.embedder"):
            embedder = osnet(shared_weights, f"reid.backend={backend}", "reid.cuda_graphs=true")
        assert embedder._graphed is None  # on the CPU the setting is ignored: there is nothing to capture
        assert "reid.cuda_graphs ignored" in caplog.text and "on cpu" in caplog.text  # and the log says so


INT8_AUC_TOLERANCE = 0.005  # the bound: ROC AUC of the INT8 network within this of fp32


@pytest.mark.slow
def test_int8_osnet_keeps_roc_auc_within_0_005_of_fp32(shared, shared_weights, openvino_cache, capsys):
    """NNCF INT8 quantisation (tools/quantize_reid.py) on crops of frames the pair test does not score."""
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    tool = load_tool("quantize_reid")
    with pytest.raises(FileNotFoundError, match="quantize_reid"):
        osnet(shared_weights, "reid.backend=openvino", "reid.int8=true")
    fp32 = osnet(shared_weights, "reid.backend=openvino", "reid.half=false")
    batches = tool.calibration_batches(shared / "data", (256, 128), 96)
    from tracker.reid.openvino import save_int8

    path = save_int8(torch_model(shared_weights), shared_weights / "osnet_x0_25_msmt17.pth", (256, 128), batches)
    assert path.is_file() and path.with_suffix(".bin").is_file()
    int8 = osnet(shared_weights, "reid.backend=openvino", "reid.int8=true")
    auc_fp32, auc_int8 = pair_auc(shared, fp32), pair_auc(shared, int8)
    with capsys.disabled():
        print(f"\nReID ROC AUC fp32 {auc_fp32:.4f}, INT8 {auc_int8:.4f}")
    assert abs(auc_int8 - auc_fp32) <= INT8_AUC_TOLERANCE


def test_int8_needs_openvino(shared_weights):
    with pytest.raises(ValueError, match=r"reid\.int8 runs through OpenVINO"):
        osnet(shared_weights, "reid.backend=torch", "reid.int8=true")


def torch_model(weights_dir: Path) -> torch.nn.Module:
    return osnet(weights_dir, "reid.backend=torch").model.eval()


def test_an_openvino_cache_folder_that_cannot_take_the_converted_model_costs_the_cache_only(tmp_path, caplog):
    """`TRACKER_OPENVINO_CACHE` on a read-only mount: OpenVINO's `save_model` raised a RuntimeError ("Can't open
    bin file"), not the OSError `_save` caught, and `track` stopped with a traceback before the first frame. Here the
    temporary .bin's name is taken by a folder, which fails the same way as a read-only folder does (as root too)."""
    ov = pytest.importorskip("openvino")
    import os

    from openvino import opset13 as ops

    from tracker.reid.openvino import _save

    crops = ops.parameter([1, 4], np.float32, name="x")
    ir = ov.Model([ops.relu(crops)], [crops], "tiny")
    path = tmp_path / "model.xml"
    (tmp_path / f"model.{os.getpid()}.tmp.bin").mkdir()
    with caplog.at_level(logging.WARNING, logger="tracker.reid.openvino"):
        _save(ov, ir, path)
    assert "could not cache the OpenVINO model" in caplog.text and "bin file" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"model.{os.getpid()}.tmp.bin"], "no half-written files"


def test_requests_on_the_pytorch_forward_is_logged_as_ignored(shared_weights, caplog):
    """reid.requests splits calls over OpenVINO requests only; on the PyTorch forward the log says it does nothing."""
    for backend, said in (("torch", True), ("openvino", False)):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="tracker.embedder"):
            osnet(shared_weights, f"reid.backend={backend}", "reid.requests=2")
        assert ("reid.requests=2 ignored" in caplog.text) is said, backend


@pytest.mark.parametrize("setting", ["reid.threads=2", "reid.wide_from=3"])
def test_threads_on_the_pytorch_forward_is_logged_as_ignored(shared_weights, caplog, setting):
    """reid.threads and reid.wide_from size OpenVINO inferences only; on the PyTorch forward reid.threads did nothing
    without a word, where reid.requests was said to be ignored. The log says so."""
    for backend, said in (("torch", True), ("openvino", False)):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="tracker.embedder"):
            osnet(shared_weights, f"reid.backend={backend}", setting)
        assert (f"{setting} ignored" in caplog.text) is said, backend


def test_a_cuda_out_of_memory_is_warned_once_per_embedder_not_per_batch(shared_weights, caplog):
    """A GPU short of memory splits most batches of a run: "CUDA out of memory embedding N crops: splitting the
    batch" was warned at every split of every batch (each frame's, and each half's again). Once per embedder now,
    the later ones at DEBUG; the embeddings are those of the unsplit batches. (The OOM is simulated on the CPU: the
    forward raises it for any batch of more than one crop, as a full GPU does.)"""
    embedder = osnet(shared_weights, "reid.backend=torch", "reid.half=false")
    frame = torch.from_numpy(np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8))
    boxes = np.array([[0, 0, 100, 250], [50, 20, 150, 290], [300, 10, 390, 200]], dtype=np.float64)
    whole = embedder(frame, boxes)
    forward = embedder.model

    def short_of_memory(crops: torch.Tensor) -> torch.Tensor:
        if len(crops) > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return forward(crops)

    embedder.model = short_of_memory
    with caplog.at_level(logging.DEBUG, logger="tracker.embedder"):
        for _ in range(2):  # two frames' batches, each split twice (3 crops, then 2)
            torch.testing.assert_close(embedder(frame, boxes), whole, atol=1e-4, rtol=1e-4)
    said = [(r.levelno, r.getMessage()) for r in caplog.records if "out of memory" in r.getMessage()]
    assert said[0] == (logging.WARNING, "CUDA out of memory embedding 3 crops: splitting the batch"), said
    assert len(said) == 4 and {level for level, _ in said[1:]} == {logging.DEBUG}, said
