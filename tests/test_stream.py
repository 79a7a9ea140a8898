"""`Tracker.stream`: detecting the next frame in a background thread changes nothing but the time."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest
import torch

from tracker import Tracker, TrackerConfig
from tracker.embedder import DetectorFeatureEmbedder
from tracker.testing import Walker, linear_path

SIZE = (240, 320)  # frame (height, width)
FRAMES = 40


def walkers() -> list[Walker]:
    """Three people crossing, two of them overlapping in the middle frames (appearance is consulted there)."""
    return [
        Walker(0, linear_path(20, 60, vx=6.0), size=(30.0, 60.0)),
        Walker(1, linear_path(260, 70, vx=-5.0), size=(30.0, 60.0)),
        Walker(2, linear_path(140, 170, vy=-1.0), size=(30.0, 60.0)),
    ]


def scene() -> list[np.ndarray]:
    """Each walker a box of its own colour on a dark frame."""
    colours = np.array([[240, 200, 60], [60, 220, 240], [200, 60, 200]], dtype=np.uint8)
    frames = []
    for f in range(FRAMES):
        image = np.full((*SIZE, 3), 30, np.uint8)
        for walker in walkers():
            x1, y1, x2, y2 = np.clip(np.round(walker.box_xyxy(f)).astype(int), 0, [SIZE[1], SIZE[0]] * 2)
            image[y1:y2, x1:x2] = colours[walker.identity]
        frames.append(image)
    return frames


class ScriptedDetector:
    """The walkers' boxes, from the frame's content; records which threads called it."""

    def __init__(self) -> None:
        self.threads: set[str] = set()

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.threads.add(threading.current_thread().name)
        bright = frame.max(axis=2) > 100
        boxes = []
        for colour in np.unique(frame[bright].reshape(-1, 3), axis=0):
            ys, xs = np.nonzero((frame == colour).all(axis=2))
            boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        boxes = np.array(boxes, dtype=np.float64).reshape(-1, 4)
        return boxes, np.full(len(boxes), 0.9), np.zeros(len(boxes), dtype=np.int64)


def colour_embedder(image: torch.Tensor, boxes_xyxy: np.ndarray) -> torch.Tensor:
    """(R, 3): the mean colour of each box, centred on grey and normalised."""
    rows = [image[y1:y2, x1:x2].reshape(-1, 3).float().mean(dim=0) - 128 for x1, y1, x2, y2 in boxes_xyxy.astype(int)]
    emb = torch.stack(rows) if rows else torch.zeros((0, 3))
    return torch.nn.functional.normalize(emb, dim=1)


def tracks(outputs) -> list[list[tuple[int, tuple[float, ...]]]]:
    return [[(o.track_id, tuple(np.round(o.xyxy, 6))) for o in objects] for objects in outputs]


def test_stream_gives_the_tracks_of_update_in_order():
    frames = scene()
    serial = Tracker(TrackerConfig(), 25.0, detector=ScriptedDetector(), embedder=colour_embedder)
    expected = tracks(serial.update(f) for f in frames)
    detector = ScriptedDetector()
    ahead = Tracker(TrackerConfig(), 25.0, detector=detector, embedder=colour_embedder)
    got = tracks(ahead.stream(iter(frames)))
    assert got == expected
    assert len({tid for objects in got for tid, _ in objects}) == 3, "the scene has three people"
    assert threading.current_thread().name not in detector.threads, "frames were detected in the background"
    ahead.reset()
    assert tracks(ahead.stream(frames, detect_ahead=False)) == expected


def test_stream_detects_in_the_loop_for_a_pytorch_detector_unless_asked():
    """A PyTorch detector's own threads already take every core: detecting ahead made `track` slower with
    yolov8n.pt (0.90-0.92x), so by default `stream` detects it in the loop; `detect_ahead=True` still overlaps."""
    frames = scene()
    expected = tracks(
        Tracker(TrackerConfig(), 25.0, detector=ScriptedDetector(), embedder=colour_embedder).stream(frames)
    )
    detector = ScriptedDetector()
    detector.is_pytorch = True
    tracker = Tracker(TrackerConfig(), 25.0, detector=detector, embedder=colour_embedder)
    assert tracks(tracker.stream(iter(frames))) == expected
    assert detector.threads == {threading.current_thread().name}, "a PyTorch detector ran in a background thread"
    tracker.reset()
    assert tracks(tracker.stream(iter(frames), detect_ahead=True)) == expected
    assert len(detector.threads) == 2, "detect_ahead=True did not detect in the background"


def test_stream_delivers_the_source_error_after_the_frames_before_it():
    frames = scene()

    def failing():
        yield from frames[:5]
        raise OSError("camera unplugged")

    tracker = Tracker(TrackerConfig(), 25.0, detector=ScriptedDetector(), embedder=colour_embedder)
    seen = []
    with pytest.raises(OSError, match="camera unplugged"):
        for objects in tracker.stream(failing()):
            seen.append(objects)
    assert len(seen) == 5


def test_stream_stops_its_thread_when_closed():
    tracker = Tracker(TrackerConfig(), 25.0, detector=ScriptedDetector(), embedder=colour_embedder)

    def endless():
        while True:
            yield scene()[0]

    outputs = tracker.stream(endless())
    next(outputs)
    outputs.close()
    assert not [t for t in threading.enumerate() if t.name == "tracker-prefetch"], "the background thread ended"


def test_stream_detects_in_the_loop_for_embedders_reading_the_detector(monkeypatch):
    """`reid.model=auto` pools the maps of the detector's last call: detecting ahead would hand it the next frame's."""
    detector = ScriptedDetector()
    embedder = DetectorFeatureEmbedder(detector, torch.device("cpu"))
    monkeypatch.setattr(
        DetectorFeatureEmbedder, "_call_prechecked", lambda self, image, boxes: colour_embedder(image, boxes)
    )
    tracker = Tracker(TrackerConfig(), 25.0, detector=detector, embedder=embedder)
    assert len(list(tracker.stream(scene()[:5]))) == 5
    assert detector.threads == {threading.current_thread().name}


@pytest.mark.parametrize("detect_ahead", [False, True])
def test_update_calls_the_library_models_past_the_checks_it_made_itself(monkeypatch, detect_ahead):
    """`update` and `stream` check the frame (`as_bgr`) and drop invalid and off-frame boxes before the detector and
    the ReID run: they call the library models' `_call_prechecked`, not their public calls, which check the same
    again (a few microseconds a frame each, for nothing), and give the same tracks."""
    from tracker.config import DetectorConfig, ReIDConfig
    from tracker.detector import UltralyticsDetector
    from tracker.embedder import OSNetEmbedder

    def refused(*_: object) -> None:
        raise AssertionError("the public call's checks ran again inside update")

    scripted = ScriptedDetector()
    monkeypatch.setattr(UltralyticsDetector, "__call__", refused)
    monkeypatch.setattr(UltralyticsDetector, "_call_prechecked", lambda self, frame: scripted(frame))
    monkeypatch.setattr(OSNetEmbedder, "__call__", refused)
    monkeypatch.setattr(OSNetEmbedder, "_call_prechecked", lambda self, image, boxes: colour_embedder(image, boxes))
    detector = UltralyticsDetector(object(), DetectorConfig(), torch.device("cpu"))
    embedder = OSNetEmbedder(torch.nn.Identity(), ReIDConfig(), torch.device("cpu"))  # (its network unused)
    tracker = Tracker(TrackerConfig(), 25.0, detector=detector, embedder=embedder)
    tracked = [[(o.track_id, o.detection_index) for o in objects] for objects in tracker.stream(scene(), detect_ahead)]
    plain = Tracker(TrackerConfig(), 25.0, detector=ScriptedDetector(), embedder=colour_embedder)
    assert tracked == [[(o.track_id, o.detection_index) for o in plain.update(frame)] for frame in scene()]
    assert len({track for objects in tracked for track, _ in objects}) == len(walkers())


def test_stream_needs_a_detector():
    """A generator, as its docstring says: the call itself returns, the first `next()` raises."""
    frames = Tracker(TrackerConfig(), 25.0).stream(scene())
    with pytest.raises(RuntimeError, match="no detector"):
        next(frames)


def test_a_frame_size_change_mid_video_is_warned_once_and_reset_starts_afresh(caplog):
    """Frames of another size in the middle of `update()` calls (two videos fed to one tracker without `reset()`)
    are tracked, with one warning naming both sizes; after `reset()` a new size is a new video, not warned."""
    small = scene()
    large = [np.pad(frame, ((0, 120), (0, 160), (0, 0)), constant_values=30) for frame in small]  # 360 x 480
    tracker = Tracker(TrackerConfig(), 25.0, detector=ScriptedDetector())

    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "frame size" in r.message]

    with caplog.at_level(logging.WARNING, logger="tracker.pipeline"):
        for frame in small[:5]:
            tracker.update(frame)
        tracker.reset()
        for frame in large[5:10]:
            assert tracker.update(frame), "a new video after reset() is tracked"
        assert warnings() == [], "reset() starts a new video: its size is no change"
        for frame in small[10:15] + large[15:20]:
            assert tracker.update(frame), "frames of another size are still tracked"
    assert len(warnings()) == 1, warnings()
    assert "360x480 to 240x320" in warnings()[0] and "reset()" in warnings()[0]


def test_a_read_only_frame_is_tracked_without_pytorchs_non_writable_warning():
    """Frames from np.frombuffer, PyAV or imageio are often read-only: uploading one made PyTorch warn that
    writing to it "will result in undefined behavior" (once per process)."""
    import warnings

    frames = scene()
    tracker = Tracker(TrackerConfig(), 25.0, detector=ScriptedDetector(), embedder=colour_embedder)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for frame in frames[:3]:
            frame = frame.copy()
            frame.setflags(write=False)
            assert tracker.update(frame), "read-only frames are tracked"
    assert not [w for w in caught if "not writable" in str(w.message)], [str(w.message) for w in caught]


def test_stream_gives_the_caller_back_its_torch_threads():
    """torch's thread count is process-wide and the detector's thread bounds it around its calls: work on that
    thread that leaves it lowered after the last frame was tracked (an unlucky interleaving of two threads'
    restores does the same) must not leave the caller's process, or threads it starts later, on one thread."""

    def source():
        yield from scene()[:5]
        time.sleep(0.3)  # (on the detector's thread) after the tracking of the last frame
        torch.set_num_threads(1)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        tracker = Tracker(TrackerConfig(), 25.0, detector=ScriptedDetector(), embedder=colour_embedder)
        assert len(list(tracker.stream(source()))) == 5
        seen = []  # a thread started later takes torch's process-wide count
        later = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        later.start()
        later.join()
        assert (torch.get_num_threads(), seen) == (2, [2])
    finally:
        torch.set_num_threads(before)


def test_close_releases_the_models_and_keeps_what_the_tracker_knows():
    """`with Tracker(...) as tracker:` (or `close()`) lets the detector and ReID go at once; the tracks stay, so a
    caller may go on with its own detections; `update` says the tracker was closed."""
    import weakref

    frames = scene()
    detector = ScriptedDetector()
    released = weakref.ref(detector)
    with Tracker(TrackerConfig(), 25.0, detector=detector, embedder=colour_embedder) as tracker:
        seen = [tracker.update(f) for f in frames[:10]]
    del detector
    assert released() is None, "close() kept the detector alive"
    assert tracker.detector is None and tracker.embedder is None
    with pytest.raises(RuntimeError, match="closed"):
        tracker.update(frames[10])
    with pytest.raises(RuntimeError, match="closed"):
        next(tracker.stream(frames[10:]))
    boxes, scores, classes = ScriptedDetector()(frames[10])
    after = tracker.update_detections(boxes, scores, classes)
    assert {o.track_id for o in after} == {o.track_id for o in seen[-1]} and len(after) == 3, "the tracks went on"
    tracker.close()  # idempotent


def test_close_during_a_stream_stops_it_at_the_next_frame():
    frames = scene()
    tracker = Tracker(TrackerConfig(), 25.0, detector=ScriptedDetector(), embedder=colour_embedder)
    running = tracker.stream(iter(frames))
    assert next(running) is not None and next(running) is not None
    tracker.close()
    with pytest.raises(RuntimeError, match="closed"):
        next(running)
    deadline = time.monotonic() + 5
    while any(t.name == "tracker-prefetch" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.name == "tracker-prefetch" for t in threading.enumerate()), "the detecting thread stayed"


@pytest.mark.parametrize("ahead", [True, False])
def test_a_stream_running_at_close_stops_at_its_next_frame_also_after_a_reopen(monkeypatch, ahead):
    """close() then reopen() between two frames of a running stream: with frames detected ahead, it went on
    detecting with the detector close() released (alive until the stream ended, beside the new one), without, on the
    new models; close() says a stream running meanwhile raises at its next frame. It does, either way; a new stream
    tracks on with the reopened models as the tracker would have without the close."""
    import tracker.detector
    import tracker.embedder
    import tracker.model_setup

    monkeypatch.setattr(tracker.model_setup, "require_model_files", lambda *args: None)
    monkeypatch.setattr(tracker.detector, "build_detector", lambda *args, **kwargs: ScriptedDetector())
    monkeypatch.setattr(tracker.embedder, "build_embedder", lambda *args, **kwargs: colour_embedder)
    frames = scene()
    reopened = Tracker.from_config(TrackerConfig(), 25.0)
    running = reopened.stream(iter(frames), detect_ahead=ahead)
    tracked = [next(running) for _ in range(3)]
    reopened.close()
    reopened.reopen()
    with pytest.raises(RuntimeError, match=r"^this Tracker was closed while this stream ran \(and reopened since\)"):
        next(running)
    tracked += reopened.stream(frames[3:], detect_ahead=ahead)
    reference = Tracker(TrackerConfig(), 25.0, detector=ScriptedDetector(), embedder=colour_embedder)
    assert tracks(tracked) == tracks(reference.stream(frames))


def test_a_deep_copy_shares_the_models_and_forks_the_tracks():
    import copy

    frames = scene()
    tracker = Tracker(TrackerConfig(), 25.0, detector=ScriptedDetector(), embedder=colour_embedder)
    for frame in frames[:15]:
        tracker.update(frame)
    fork = copy.deepcopy(tracker)
    assert fork.detector is tracker.detector and fork.embedder is colour_embedder
    rest = [tracks([tracker.update(f)]) for f in frames[15:]]
    assert [tracks([fork.update(f)]) for f in frames[15:]] == rest, "the fork goes on from the same state"
    fork.reset()
    assert tracker.core.frame_index == FRAMES and fork.core.frame_index == 0


def test_a_shallow_copy_is_refused_naming_deepcopy():
    """`copy.copy(tracker)` made a second Tracker sharing the first one's tracks with a lock of its own: each call on
    either advanced the one state (no fork, silently), and the two from two threads interleaved their writes."""
    import copy

    tracker = Tracker(TrackerConfig(), 25.0, detector=ScriptedDetector(), embedder=colour_embedder)
    frames = scene()
    tracker.update(frames[0])
    with pytest.raises(TypeError, match=r"copy\.copy\(tracker\) would share its tracks .* copy\.deepcopy\(tracker\)"):
        copy.copy(tracker)
    assert copy.deepcopy(tracker).core is not tracker.core


def _deep_copy(tracker: Tracker) -> Tracker:
    import copy

    return copy.deepcopy(tracker)


def _pickled(tracker: Tracker) -> Tracker:
    import pickle

    return pickle.loads(pickle.dumps(tracker))


@pytest.mark.parametrize(
    ("fork", "refusal"),
    [
        (_deep_copy, r"copy\.deepcopy\(tracker\) is refused while a call"),
        (_pickled, "a Tracker cannot be pickled while"),
    ],
)
def test_a_copy_or_pickle_taken_during_a_call_is_refused(fork, refusal):
    """A fork made while the tracker is in the middle of a frame (here from inside the frame's ReID callback, as
    another thread would: a service checkpointing a stream's tracker) would copy a half-made frame (the Kalman state
    moved on, the tracks not yet matched; a pickle was taken so): refused as any second call is, and taken after.
    The RuntimeError says what was refused and what to do: it said "Tracker.__reduce_ex__ called while another
    call", a method the user never called."""
    from tracker.testing import identity_embeddings

    looks = identity_embeddings(2, 16)
    boxes = np.array([[0, 0, 10, 20], [40, 0, 50, 20.0]])
    tracker = Tracker(TrackerConfig(), 25.0)
    refused = []

    def embed(rows):
        with pytest.raises(RuntimeError, match=refusal) as error:
            fork(tracker)
        assert "__" not in str(error.value) and "between calls" in str(error.value), error.value
        refused.append(True)
        return looks[rows]

    tracker.update_detections(boxes, [0.9, 0.8], embed=embed)
    assert refused, "the frame asked for no look"
    restored = fork(tracker)
    assert restored.core.frame_index == 1, "after the call, a copy is taken"
    assert [o.track_id for o in restored.update_detections(boxes, [0.9, 0.8], embeddings=looks)] == [1, 2]


def test_a_pickle_from_another_thread_while_update_runs_says_to_pickle_between_calls():
    """A service checkpointing a camera's tracker from its own thread while the camera's thread is in `update`: the
    pickle was refused with "Tracker.__reduce_ex__ called while another call on this tracker runs", a method the
    user never called; now one RuntimeError says the pickle is refused mid-call and to take it between calls."""
    import pickle

    from tracker.testing import identity_embeddings

    looks = identity_embeddings(2, 16)
    boxes = np.array([[0, 0, 10, 20], [40, 0, 50, 20.0]])
    tracker = Tracker(TrackerConfig(), 25.0)
    in_call, release = threading.Event(), threading.Event()

    def embed(rows):
        in_call.set()
        assert release.wait(10), "the pickling thread did not finish"
        return looks[rows]

    caller = threading.Thread(target=lambda: tracker.update_detections(boxes, [0.9, 0.8], embed=embed))
    caller.start()
    try:
        assert in_call.wait(10), "update_detections asked for no look"
        with pytest.raises(RuntimeError) as refused:
            pickle.dumps(tracker)
    finally:
        release.set()
        caller.join(10)
    message = str(refused.value)
    assert message.startswith("a Tracker cannot be pickled while a call on it runs"), message
    assert "take it between calls" in message and "__reduce_ex__" not in message, message
    assert pickle.loads(pickle.dumps(tracker)).core.frame_index == 1, "between calls it pickles"


def test_a_call_from_another_thread_cannot_change_the_tracker_while_a_pickle_of_it_is_taken(monkeypatch):
    """The pickle's guard held the tracker only while `__reduce_ex__` ran: pickle then wrote the state it returned
    (the core: tracks, banks, Kalman state) with the guard released, so a call another thread started meanwhile ran
    as the pickle went on, and the pickle held a half-made frame (the frame counted, its tracks not yet matched). A
    call started while the pickle is taken is refused (the clear RuntimeError), and the pickle is the state it
    started from, the tracker it restores going on as the original does."""
    import pickle

    from tracker.testing import identity_embeddings

    looks = identity_embeddings(3, 16)
    boxes = np.array([[0, 0, 10, 20], [40, 0, 50, 20.0], [80, 0, 90, 20]])
    tracker = Tracker(TrackerConfig(), 25.0)
    tracker.update_detections(boxes[:2], [0.9, 0.8], embeddings=looks[:2])
    in_call, release = threading.Event(), threading.Event()
    refused: list[BaseException] = []

    def embed(rows):
        in_call.set()
        release.wait(10)
        return looks[rows]

    def call() -> None:
        try:
            tracker.update_detections(boxes, [0.9, 0.8, 0.7], embed=embed)
        except RuntimeError as error:
            refused.append(error)

    caller = threading.Thread(target=call)

    def start_a_call(config: TrackerConfig, protocol: int) -> object:  # (pickling the state's first object)
        if not caller.is_alive() and not in_call.is_set() and not refused:  # (another thread's frame begins)
            caller.start()
            for _ in range(100):  # until it is in the middle of its frame, or refused
                if in_call.wait(0.05) or not caller.is_alive():
                    break
        return object.__reduce_ex__(config, protocol)

    monkeypatch.setattr(TrackerConfig, "__reduce_ex__", start_a_call, raising=False)
    try:
        pickled = pickle.dumps(tracker)
    finally:
        release.set()
        caller.join(10)
    assert refused and "called while another call on this tracker runs" in str(refused[0]), refused
    restored = pickle.loads(pickled)
    assert restored.core.frame_index == tracker.core.frame_index == 1
    assert len(restored.core.table.tracks) == len(tracker.core.table.tracks) == 2
    again = restored.update_detections(boxes, [0.9, 0.8, 0.7], embeddings=looks)
    assert [o.track_id for o in again] == [
        o.track_id for o in tracker.update_detections(boxes, [0.9, 0.8, 0.7], embeddings=looks)
    ]


def test_stream_of_a_reader_refilling_one_buffer_tracks_each_frame_as_it_was_read():
    """A source that yields one buffer filled anew for each frame (`ok, buf = cap.read(buf)`, a camera SDK's ring
    buffer): detecting ahead, the background thread read frame k + 1 into it while frame k was embedded, so frame
    k's boxes were embedded (and its camera motion estimated) on the next frame's pixels; `update` saw each frame
    as read. The embedder here waits until the source has filled the buffer again, as a slower ReID would."""
    frames = scene()
    config = TrackerConfig().replace(["appearance.lazy_embedding=false"])  # (the embedder sees every frame)
    seen: list[int] = []

    def recording(image: torch.Tensor, boxes_xyxy: np.ndarray) -> torch.Tensor:
        seen.append(int(image.sum()))
        return colour_embedder(image, boxes_xyxy)

    serial = Tracker(config, 25.0, detector=ScriptedDetector(), embedder=recording)
    expected = tracks(serial.update(f) for f in frames)
    expected_seen, seen[:] = list(seen), []
    filled = threading.Condition()
    read = [0]  # frames the source has written into its buffer

    def one_buffer():
        buffer = np.empty_like(frames[0])
        for frame in frames:
            with filled:
                buffer[...] = frame
                read[0] += 1
                filled.notify_all()
            yield buffer

    def after_the_next_read(image: torch.Tensor, boxes_xyxy: np.ndarray) -> torch.Tensor:
        with filled:  # (the last frame has no next: the wait ends at its timeout)
            filled.wait_for(lambda: read[0] > len(seen) + 1, timeout=0.5)
        return recording(image, boxes_xyxy)

    tracker = Tracker(config, 25.0, detector=ScriptedDetector(), embedder=after_the_next_read)
    assert tracks(tracker.stream(one_buffer())) == expected
    assert seen == expected_seen, "each frame was embedded on its own pixels"


@pytest.mark.parametrize("detect_ahead", [True, False])
def test_the_reid_runs_wide_batches_only_where_no_detector_runs_beside_it(shared_weights, detect_ahead):
    """`reid.wide_from` (2 by default): `update()` runs ReID batches of 2 crops or more on two threads, where the
    other core is idle after the detector's call (1080p `update()` 0.864 / 0.854 of detection-only frames/s against
    0.833 / 0.837 on one thread); `stream()` detecting ahead runs them on one, the next frame's detector having the
    other core (1080p `stream()` 0.965 / 0.955 against 0.923 / 0.886 with two); `stream()` detecting in the loop runs
    as `update()`. The tracks are the same either way."""
    pytest.importorskip("openvino")
    from tracker.config import load_config
    from tracker.embedder import build_embedder

    weights = shared_weights / "osnet_x0_25_msmt17.pth"
    cfg = load_config(None, overrides=[f"reid.weights={weights}", "reid.backend=openvino"])
    embedder = build_embedder(cfg.reid, torch.device("cpu"))
    streamed = Tracker(cfg, 25.0, detector=ScriptedDetector(), embedder=embedder)
    outputs = tracks(streamed.stream(scene(), detect_ahead))
    embedder.model.wait_compiled()  # (each size's wide copy compiles in a worker thread at its first call)
    assert (embedder.model.compiled_wide_batches == ()) == detect_ahead
    updated = Tracker(cfg, 25.0, detector=ScriptedDetector(), embedder=embedder)
    assert tracks(updated.update(frame) for frame in scene()) == outputs
    embedder.model.wait_compiled()
    assert embedder.model.compiled_wide_batches != ()
