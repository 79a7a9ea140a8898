"""`tracker.global_ids`: the MOT txt of a `--gallery` run gives each track the global ID it ended with."""

from __future__ import annotations

import json

import numpy as np

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
