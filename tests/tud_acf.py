"""TUD-Campus with its public (ACF) boxes and OSNet looks of the shared weights, as `track eval --detections public`
makes them, tracked by the default tracker with one config override: the real scene of the part-of-a-person rules
(test_lost_pairs_plausible, test_ground_line; the `tud_acf` fixture of conftest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tracker import Tracker, load_config
from tracker.eval.inputs import load_inputs
from tracker.eval.sequences import find_sequences
from tracker.io.mot import read_mot_rows


@dataclass
class TudAcf:
    """The sequence, its tracker inputs, the config's overrides (the ReID weights) and the ground truth rows."""

    seq: Any
    inputs: Any
    overrides: list[str]
    gt: np.ndarray
    runs: dict[str, np.ndarray] = field(default_factory=dict)

    def results(self, override: str) -> np.ndarray:
        """(R, 10) MOT rows of the default tracker with `override` (KEY=VALUE) set (tracked once per override)."""
        if override not in self.runs:
            tracker = Tracker(load_config(overrides=[*self.overrides, override]), frame_rate=self.seq.info.frame_rate)
            size, rows = (self.seq.info.height, self.seq.info.width), []
            for number, frame in enumerate(self.inputs.frames, start=1):
                embed = None if frame.embeddings is None else frame.embeddings.__getitem__
                for o in tracker.update_detections(frame.boxes_xyxy, frame.scores, embed=embed, frame_size=size):
                    x1, y1, x2, y2 = o.xyxy
                    rows.append([number, o.track_id, x1, y1, x2 - x1, y2 - y1, o.score, -1, -1, -1])
            self.runs[override] = np.array(rows)
        return self.runs[override]


def load_tud_acf(shared: Path, cache: Path, variant: str | None = None) -> TudAcf:
    """Read TUD-Campus (or its `variant`, made beside `cache`, as `track eval --variants` makes it) and make its
    inputs into `cache` (a few seconds on 2 CPU cores); skips where absent."""
    from tracker.eval.variants import materialise

    root, reid = shared / "data" / "MOT15" / "train" / "TUD-Campus", shared / "weights" / "osnet_x0_25_msmt17.pth"
    missing = [str(path) for path in (root / "img1", root / "det" / "det.txt", reid) if not path.exists()]
    if missing:
        pytest.skip(f"absent: {', '.join(missing)}")
    seq = find_sequences(root)[0]
    if variant is not None:
        seq = materialise(seq, variant, 0, root=cache.parent / "variants")
    overrides = [f"reid.weights={reid}"]
    inputs = load_inputs(seq, "public", load_config(overrides=overrides), cache)
    assert inputs.appearance, "the run needs OSNet looks"
    return TudAcf(seq, inputs, overrides, read_mot_rows(seq.info.root / "gt" / "gt.txt"))
