"""A detection starts a track only in a shape this video's tracked people take: a lasting false detection of
another shape (TUD-Campus: a static 24x26-pixel "person" reported for 42 frames) gets no ID, while people
entering at a border, cut short by it, and people of the usual shape are still born."""

from __future__ import annotations

import numpy as np

from tracker import Tracker, load_config
from tracker.birth import BirthShapes
from tracker.testing import Walker, linear_path, render

FPS = 25
DIM = 64
NOISE = 0.03
FRAME = (480, 640)  # (height, width) pixels
PERSON = (50.0, 125.0)  # width/height 0.4, like TUD-Campus's walkers
OBJECT = (24.0, 26.0)  # width/height 0.92: TUD-Campus's static false detection
OBJECT_FROM = 12  # the false detection appears in this frame, when the people's shapes are known


def config(*overrides):
    return load_config(None, overrides=["device=cpu", *overrides])


def people(count: int) -> list[Walker]:
    """Walkers across the middle of the view, of widths 45, 50, 55... (width/height 0.36, 0.40, 0.44...)."""
    return [
        Walker(i, linear_path(120.0 + 110.0 * i, 250.0, vx=1.5), size=(45.0 + 5.0 * i, PERSON[1]), score=0.85)
        for i in range(count)
    ]


def run(walkers: list[Walker], frames: int, *overrides: str, pan: float = 0.0) -> list[dict[int, int]]:
    """{identity: track ID} of each frame's reported tracks; `pan`: the camera pans right by this many pixels a
    frame (every box moves left by as much, and the tracker is told the camera motion)."""
    tracker = Tracker(config(*overrides), frame_rate=FPS)
    identities = np.random.default_rng(1).normal(size=(len(walkers), DIM))
    rng = np.random.default_rng(2)
    shown = []
    for f in range(frames):
        det = render(walkers, f, identities, NOISE, rng)
        boxes = det.boxes_xyxy - np.array([pan * f, 0.0, pan * f, 0.0])
        motion = np.array([[1.0, 0.0, -pan], [0.0, 1.0, 0.0]]) if pan else None
        out = tracker.update_detections(
            boxes, det.scores, embeddings=det.embeddings, frame_size=FRAME, camera_motion=motion
        )
        shown.append({int(det.identities[o.detection_index]): o.track_id for o in out})
    return shown


def test_a_lasting_false_detection_of_another_shape_gets_no_track():
    walkers = people(4)
    thing = Walker(4, linear_path(70.0, 420.0), size=OBJECT, score=0.65, visible=lambda f: f >= OBJECT_FROM)
    shown = run([*walkers, thing], 40)
    assert not any(4 in frame for frame in shown), "the square static box was reported as a person"
    assert all(set(frame) == {0, 1, 2, 3} for frame in shown[2:]), "the people are still all tracked"
    without = run([*walkers, thing], 40, "association.birth_shape_quantile=0")
    assert sum(4 in frame for frame in without) > 20, "without the rule the box is tracked (the test can fail)"


def test_a_moving_person_of_another_shape_is_not_refused_for_good():
    """Four walkers teach a range of width/height 0.36-0.48; a person on a bicycle (0.77) riding across the middle
    of the view is refused at first, but the false detections the rule is for stand still, and the cyclist moves:
    once they have moved `birth_shape_release_heights` (0.5) box heights they get a track, and keep it."""
    cyclist = Walker(4, linear_path(150.0, 150.0, vx=3.0), size=(100.0, 130.0), score=0.85, visible=lambda f: f >= 12)
    shown = run([*people(4), cyclist], 125)
    tracked = [f for f, frame in enumerate(shown) if 4 in frame]
    born = 12 + round(0.5 * 130.0 / 3.0)  # 0.5 box heights at 3 px a frame
    assert tracked and born <= tracked[0] <= born + 3, tracked[:3]
    assert len(tracked) == len(shown) - tracked[0], "tracked in every frame from then on"
    held = run([*people(4), cyclist], 125, "association.birth_shape_release_heights=10")
    assert not any(4 in frame for frame in held), "refused while it has not moved far enough (the test can fail)"


def test_a_static_false_detection_stays_refused_while_the_camera_pans():
    """The camera pans 4 px a frame: the static box moves across the image, but not in the world (the tracker is
    told the camera motion), so it is still refused; the people are still tracked."""
    walkers = people(4)
    thing = Walker(4, linear_path(370.0, 420.0), size=OBJECT, score=0.65, visible=lambda f: f >= OBJECT_FROM)
    shown = run([*walkers, thing], 40, pan=4.0)
    assert not any(4 in frame for frame in shown), "the square static box was reported as a person"
    assert all(set(frame) == {0, 1, 2, 3} for frame in shown[2:]), "the people are still all tracked"


def test_people_of_the_usual_shape_and_newcomers_at_a_border_are_still_born():
    walkers = people(4)
    late = Walker(4, linear_path(400.0, 380.0, vx=-1.0), size=(52.0, 124.0), visible=lambda f: f >= OBJECT_FROM)
    # a person walking in at the bottom border, only their upper half in view: as wide as tall
    cut = Walker(5, linear_path(560.0, 450.0, vy=-0.5), size=(60.0, 60.0), visible=lambda f: f >= OBJECT_FROM)
    shown = run([*walkers, late, cut], 30)
    assert 4 in shown[OBJECT_FROM + 2], "a person of the usual shape appearing mid-view gets a track at once"
    assert 5 in shown[OBJECT_FROM + 2], "a box cut by the border may be anyone's: its shape is not judged"


def test_shape_range_is_learnt_per_class_and_only_from_whole_looks():
    shapes = BirthShapes(config("association.birth_shape_min_samples=10"), FPS)
    rng = np.random.default_rng(0)
    persons = np.array([[100.0, 100.0, 100.0 + w, 225.0] for w in rng.uniform(40.0, 60.0, 30)])
    at_border = np.array([[0.0, 100.0, 125.0, 225.0]] * 30)  # square, touching the left border: not learnt
    boxes = np.concatenate([persons, at_border])
    classes = np.zeros(len(boxes), dtype=np.int64)
    candidates = np.array([[300.0, 200.0, 350.0, 325.0], [300.0, 200.0, 420.0, 325.0], [300, 200, 320, 325.0]])
    assert shapes.allowed(candidates, np.zeros(3, np.int64), np.arange(3), FRAME).all(), "nothing learnt yet"
    shapes.learn(boxes, classes, np.arange(len(boxes)), FRAME, np.arange(len(boxes)))
    assert shapes.allowed(candidates, np.zeros(3, np.int64), np.arange(3), FRAME).tolist() == [True, False, False]
    car = np.ones(3, dtype=np.int64) * 2
    assert shapes.allowed(candidates, car, np.arange(3), FRAME).all(), "another class has its own (empty) range"
    off = BirthShapes(config("association.birth_shape_quantile=0"), FPS)
    off.learn(boxes, classes, np.arange(len(boxes)), FRAME, np.arange(len(boxes)))
    assert off.allowed(candidates, np.zeros(3, np.int64), np.arange(3), FRAME).all()


def test_a_few_looks_give_a_prediction_interval_not_their_extremes():
    """TUD-Campus zoom: with 28 looks of width/height 0.23-0.52 learnt, people at 0.56-0.58 were refused by the
    sample's own quantiles. The normal prediction interval of the looks lets them in and still refuses a square."""
    shapes = BirthShapes(config(), FPS)
    widths = np.linspace(0.23, 0.52, 28) * 125.0  # over a height of 125
    looks = np.array([[100.0, 100.0, 100.0 + w, 225.0] for w in widths])
    shapes.learn(looks, np.zeros(len(looks), np.int64), np.arange(len(looks)), FRAME, np.arange(len(looks)))
    # width/height 0.56, 0.58 (people) and 0.92 (the static false detection's shape)
    candidates = np.array([[300.0, 200.0, 370.0, 325.0], [300.0, 200.0, 372.5, 325.0], [300.0, 200.0, 415.0, 325.0]])
    assert shapes.allowed(candidates, np.zeros(3, np.int64), np.arange(3), FRAME).tolist() == [True, True, False]


def test_full_queues_learn_once_per_sampling_period():
    cfg = config("association.birth_shape_capacity=20", "appearance.calibration_sample_seconds=0.2")
    shapes = BirthShapes(cfg, FPS)  # a period of 5 frames
    looks = np.array([[100.0, 100.0, 150.0, 225.0]] * 10)
    classes, rows = np.zeros(10, np.int64), np.arange(10)
    shapes.learn(looks, classes, rows, FRAME, rows)
    shapes.learn(looks, classes, rows, FRAME, rows)  # two frames fill the FIFO of 20
    total = shapes._queues[0].total
    for _ in range(5):
        shapes.learn(looks, classes, rows, FRAME, rows)
    assert shapes._queues[0].total == total + 10, "one frame of five learnt once the FIFO is full"


def test_without_a_frame_size_no_shape_is_judged():
    """Borders unknown: a person cut by one cannot be told from a whole look, so nothing is refused."""
    shapes = BirthShapes(config(), FPS)
    looks = np.array([[100.0, 100.0, 100.0 + w, 225.0] for w in np.linspace(40.0, 60.0, 30)])
    square = np.array([[300.0, 200.0, 420.0, 325.0]])
    shapes.learn(looks, np.zeros(30, np.int64), np.arange(30), None, np.arange(30))
    assert not shapes._queues, "nothing learnt without borders"
    shapes.learn(looks, np.zeros(30, np.int64), np.arange(30), FRAME, np.arange(30))
    assert not shapes.allowed(square, np.zeros(1, np.int64), np.arange(1), FRAME)[0]
    assert shapes.allowed(square, np.zeros(1, np.int64), np.arange(1), None)[0]


def test_looks_of_one_or_two_people_refuse_no_birth():
    """However many looks one or two people give, their spread says little about the next person's build or
    stance: the range applies once the looks come from `birth_shape_min_tracks` different tracks."""
    shapes = BirthShapes(config("association.birth_shape_min_tracks=3"), FPS)
    widths = np.linspace(48.0, 52.0, 40)  # one walker's looks, width/height 0.38-0.42
    looks = np.array([[100.0, 100.0, 100.0 + w, 225.0] for w in widths])
    stocky = np.array([[300.0, 200.0, 370.0, 325.0]])  # width/height 0.56: a different build
    zeros = np.zeros(len(looks), np.int64)
    shapes.learn(looks, zeros, np.arange(len(looks)), FRAME, np.full(len(looks), 1))
    shapes.learn(looks, zeros, np.arange(len(looks)), FRAME, np.full(len(looks), 2))
    assert shapes.allowed(stocky, np.zeros(1, np.int64), np.arange(1), FRAME)[0]
    assert shapes.summary() == {}, "no range reported before it applies"
    shapes.learn(looks[:1], zeros[:1], np.arange(1), FRAME, np.full(1, 3))
    assert not shapes.allowed(stocky, np.zeros(1, np.int64), np.arange(1), FRAME)[0]
    assert list(shapes.summary()) == [0]


def test_narrowest_ratio_is_the_low_end_of_the_birth_range_once_it_applies():
    shapes = BirthShapes(config(), FPS)
    classes = np.zeros(3, dtype=np.int64)
    assert np.isnan(shapes.narrowest_ratio(classes)).all(), "nothing learnt: unknown"
    widths = np.array([40.0, 50.0, 62.5] * 4)  # width/height 0.32, 0.40, 0.50 over a height of 125
    looks = np.array([[100.0, 100.0, 100.0 + w, 225.0] for w in widths])
    shapes.learn(looks, np.zeros(len(looks), np.int64), np.arange(len(looks)), FRAME, np.arange(len(looks)))
    low = shapes.summary()[0][0]  # the lowest width/height that may start a track
    narrowest = shapes.narrowest_ratio(np.array([0, 0, 2]))
    np.testing.assert_allclose(narrowest[:2], [low, low], atol=5e-4)  # the summary rounds to 3 decimals
    assert np.isnan(narrowest[2]), "another class has its own (empty) range"
    assert 0.2 < low < 0.32, "below the narrowest look learnt, as a prediction interval is"
    off = BirthShapes(config("association.birth_shape_quantile=0"), FPS)
    off.learn(looks, np.zeros(len(looks), np.int64), np.arange(len(looks)), FRAME, np.arange(len(looks)))
    assert np.isnan(off.narrowest_ratio(classes)).all(), "the rule off: no shape is learnt"
