"""`tracker.global_ids`: the MOT txt of a `--gallery` run gives each track the global ID it ended with."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tracker.global_ids import GlobalIdHistory
from tracker.types import TrackedObject, TrackState


def shown(track_id: int, global_id: int) -> TrackedObject:
    return TrackedObject(track_id, np.zeros(4), 0.9, 0, TrackState.TRACKED, 0, False, global_id)


def history_of(frames: list[list[tuple[int, int]]]) -> GlobalIdHistory:
    history = GlobalIdHistory()
    for number, objects in enumerate(frames, start=1):
        history.observe(number, [shown(t, g) for t, g in objects])
    return history


def txt_of(frames: list[list[tuple[int, int]]]) -> str:
    return "".join(
        f"{n},{g},1.00,2.00,3.00,4.00,0.9000,-1,-1,-1\n" for n, objs in enumerate(frames, 1) for _, g in objs
    )


def test_rows_before_a_late_gallery_match_take_the_final_id_unless_it_would_appear_twice_in_a_frame(tmp_path):
    """Track 2 (new ID 7) is matched to identity 1 at frame 4, after track 1 (ID 1) left at frame 2: all its rows
    become 1. Track 4 (new ID 8) is matched to identity 3 while track 3 (ID 3) was reported in its first frames:
    replacing would show ID 3 twice in frame 3, so it keeps its switch. Track 5 never changed."""
    frames = [
        [(1, 1), (3, 3), (5, 5)],
        [(1, 1), (3, 3), (5, 5)],
        [(2, 7), (3, 3), (4, 8), (5, 5)],
        [(2, 1), (4, 8), (5, 5)],
        [(2, 1), (4, 3), (5, 5)],
    ]
    history = history_of(frames)
    assert history.replacements() == {7: 1}
    txt = tmp_path / "cam.txt"
    txt.write_text(txt_of(frames))
    assert history.replace_in(txt) == {7: 1}
    ids = [[int(r.split(",")[1]) for r in txt.read_text().splitlines() if r.startswith(f"{n},")] for n in range(1, 6)]
    assert ids == [[1, 3, 5], [1, 3, 5], [1, 3, 8, 5], [1, 8, 5], [1, 3, 5]]
    assert txt.read_text().splitlines()[6] == "3,1,1.00,2.00,3.00,4.00,0.9000,-1,-1,-1"  # the rest of a row as it was
    assert [p.name for p in tmp_path.iterdir()] == ["cam.txt"]


def test_a_resumed_run_rebuilds_the_history_from_the_jsonl_before_its_checkpoint(tmp_path):
    frames = [[(1, 4)], [(1, 4), (2, 5)], [(1, 2), (2, 5)], [(1, 2)]]
    jsonl = tmp_path / "cam.jsonl"
    lines = [
        json.dumps({"frame": n, "tracks": [{"id": t, "global_id": g} for t, g in objs]})
        for n, objs in enumerate(frames, 1)
    ]
    jsonl.write_text("\n".join(lines) + "\n" + '{"frame": 5, "tra')  # a half line after the checkpoint
    checkpointed = sum(len(line) + 1 for line in lines[:3])
    resumed = GlobalIdHistory.from_jsonl(jsonl, checkpointed)
    resumed.observe(4, [shown(1, 2)])
    assert resumed.replacements() == history_of(frames).replacements() == {4: 2}
    assert GlobalIdHistory().replace_in(tmp_path / "absent.txt") == {}  # nothing to replace: the file is not touched


def test_a_history_kept_as_spans_gives_the_replacements_of_the_one_kept_and_refuses_a_damaged_span():
    """What a checkpoint keeps (`spans`, `kept_at`) rebuilds a history that goes on as the original: the same
    replacements (in the same order: summary.json lists them so) after the frames that follow. A span edited into
    something else is refused with a ValueError naming it, not taken as a history."""
    frames = [[(1, 4), (3, 6)], [(1, 4), (2, 5), (3, 6)], [(1, 2), (2, 5), (3, 6)], [(1, 2), (3, 9)]]
    whole = history_of(frames)
    kept = history_of(frames[:2])
    resumed = GlobalIdHistory.from_spans(kept.spans(), kept.kept_at)
    assert resumed.spans() == kept.spans() == [[1, 4, 1, 2], [3, 6, 1, 2], [2, 5, 2, 2]]
    for n, objs in enumerate(frames[2:], 3):
        resumed.observe(n, [shown(t, g) for t, g in objs])
    assert list(resumed.replacements().items()) == list(whole.replacements().items()) == [(4, 2), (6, 9)]
    for damaged in ([1, 4, 2], [1, 4, 3, 2], [1, 4, "1", 2], [1, 4, True, 2]):
        with pytest.raises(ValueError, match="span"):
            GlobalIdHistory.from_spans([damaged])


def _gallery_run(seed: int, frames: int, switch: float, window: int = 8):
    """A `--gallery` source's frames: tracks born at random, reported with gaps (lost, then back), each with a new
    global ID that may change once within `window` frames of its birth to a remembered one (an ended track's, or a live
    one's: the clash `replacements` refuses), probability `switch` a frame. Yields (frame, objects, live tracks ->
    whether their global ID may still change), what `track` gives `GlobalIdHistory.observe`."""
    rng = np.random.default_rng(seed)
    live: dict[int, list[int]] = {}  # track ID -> [global ID, born, changed, ends]
    remembered: list[int] = []
    next_track = next_global = 1
    for frame in range(1, frames + 1):
        for _ in range(int(rng.integers(0, 3))):
            live[next_track] = [next_global, frame, 0, frame + int(rng.integers(1, 60))]
            next_track, next_global = next_track + 1, next_global + 1
        objects = []
        for track, state in list(live.items()):
            if frame >= state[3]:
                remembered.append(state[0])
                del live[track]
                continue
            pool = remembered[-20:] + [s[0] for s in live.values()]
            if not state[2] and frame - state[1] <= window and rng.random() < switch and pool:
                state[0], state[2] = int(rng.choice(pool)), 1
            if rng.random() < 0.7:
                objects.append(shown(track, state[0]))
        yield frame, objects, {t: not s[2] and frame - s[1] <= window for t, s in live.items()}


def test_the_spans_forgotten_change_no_replacement():
    """A history told the live tracks (`observe(..., live)`) forgets the spans of tracks that ended, and gives the same
    replacements, in the same order, as one that keeps every span: over random runs where global IDs change often
    (tracks whose ended span clashes with a later replacement) and seldom."""
    for seed in range(40):
        for switch in (0.15, 0.01):
            kept, forgetting = GlobalIdHistory(), GlobalIdHistory()
            for frame, objects, live in _gallery_run(seed, 200, switch):
                kept.observe(frame, objects)
                forgetting.observe(frame, objects, lambda live=live: live)
            assert list(forgetting.replacements().items()) == list(kept.replacements().items()), (seed, switch)


def test_a_run_resumed_after_its_history_forgot_ends_with_the_replacements_of_an_uninterrupted_one(tmp_path):
    """A run whose history forgot ended tracks is checkpointed halfway and resumed: from the checkpoint's spans
    (`spans`, `kept_at`), and, a checkpoint written before those were kept, from the JSONL rows before it (every
    span, none forgotten). Both go on to the replacements of the uninterrupted run, in its order, over random runs
    where global IDs change often and seldom; the one from spans forgets as the uninterrupted one (same spans)."""
    forgot = replaced = 0
    for seed in range(20):
        for switch in (0.15, 0.01):
            whole = GlobalIdHistory()
            frames = list(_gallery_run(seed, 200, switch))
            rows = []
            for frame, objects, live in frames[:100]:
                whole.observe(frame, objects, lambda live=live: live)
                tracks = [{"id": o.track_id, "global_id": o.global_id} for o in objects]
                rows.append(json.dumps({"frame": frame, "tracks": tracks}) + "\n")
            jsonl = tmp_path / "cam.jsonl"
            jsonl.write_text("".join(rows))
            resumed = GlobalIdHistory.from_spans(whole.spans(), whole.kept_at)
            older = GlobalIdHistory.from_jsonl(jsonl, jsonl.stat().st_size)
            forgot += whole.kept < older.kept  # (the JSONL's history holds every span shown)
            for frame, objects, live in frames[100:]:
                for history in (whole, resumed, older):
                    history.observe(frame, objects, lambda live=live: live)
            assert resumed.spans() == whole.spans(), (seed, switch)
            assert list(older.replacements().items()) == list(whole.replacements().items()), (seed, switch)
            assert list(resumed.replacements().items()) == list(whole.replacements().items()), (seed, switch)
            replaced += bool(whole.replacements())
    assert forgot == 40 and replaced > 20, (forgot, replaced)  # the runs forgot before the checkpoint, and replaced


def test_a_run_of_days_keeps_the_spans_of_live_tracks_only():
    """The churn of a stream running for days, ~60 people in view and a newcomer every 5 frames: after 10 000 tracks
    the history holds about the live tracks' spans (at most twice them between two forgettings), not one per track
    it showed (~200 bytes each: 131 MB a day at 30 frames/s)."""
    history, in_view = GlobalIdHistory(), 60
    for frame in range(1, 5 * 10_000):
        if frame % 5:
            continue
        newest = frame // 5
        live = range(max(1, newest - in_view + 1), newest + 1)
        history.observe(frame, [shown(t, 1000 + t) for t in live], lambda live=live: dict.fromkeys(live, False))
    assert len(history._spans) <= 2 * in_view + 1
