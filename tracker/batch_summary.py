"""What a whole `track batch` did, as `track_many` returns it and `track batch` prints it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tracker.batch_work import VideoResult, labels
from tracker.wording import count

__all__ = ["BatchSummary"]

REUSED = "outputs of an earlier run with the same inputs"  # what a reused video's folder holds


@dataclass
class BatchSummary:
    """The whole batch: one `VideoResult` per source (in the order given), wall time, engine, and with a
    gallery: the global ID of each video's tracks ({name: {track id: global ID}}) and the gallery file."""

    videos: list[VideoResult]
    seconds: float
    engine: str
    global_ids: dict[str, dict[int, int]] = field(default_factory=dict)
    gallery: Path | None = None
    gallery_identities: int = 0  # identities the gallery file holds after the reduce
    unsaved_identities: int = 0  # the batch's identities the gallery file does not hold (tracks too short for it)
    gallery_saved: bool = True  # False: no video was tracked to its end, so the gallery file was left as it was
    linked_before: int = 0  # videos whose sightings the gallery file held from an earlier run (not linked again)

    @property
    def ok(self) -> bool:
        """Every video done or reused, and the gallery (if any) saved: `track batch` exits 0 only then."""
        return not self.failed and self.gallery_saved

    @property
    def identities(self) -> set[int]:
        """The global IDs given across the batch (with a gallery; empty without)."""
        return {g for ids in self.global_ids.values() for g in ids.values()}

    @property
    def frames(self) -> int:
        """Frames tracked by the videos done in this batch."""
        return sum(v.frames for v in self.videos if v.status == "done")

    @property
    def fps(self) -> float:
        """Frames tracked per second of wall time, all videos together (reused ones not counted)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def failed(self) -> list[VideoResult]:
        """The videos that failed, in the batch's order."""
        return [v for v in self.videos if v.status == "failed"]

    def describe(self) -> str:
        """Lines for people: totals, then videos done, reused, retried and failed (with reasons); each video done or
        reused, and each failed one that kept outputs, names its folder."""
        done = [v for v in self.videos if v.status == "done"]
        reused = [v for v in self.videos if v.status == "reused"]
        retried = [v for v in self.videos if v.retried]
        label = dict(zip(map(id, self.videos), labels([(v.source, v.name) for v in self.videos]), strict=True))
        lines = [self._headline(done, reused)]
        lines += [f"  done     {label[id(v)]}: {_figures(v)}{_cut_short(v)}" for v in done]
        lines += [f"  reused   {label[id(v)]}: {_figures(v)} ({REUSED}){_cut_short(v)}" for v in reused]
        lines += [f"  retried  {label[id(v)]}: {count(v.attempts, 'attempt')}" for v in retried]
        lines += [f"  failed   {label[id(v)]}: {v.reason}{_kept(v)}" for v in self.failed]
        if self.gallery is not None and not self.gallery_saved:
            lines.append(f"no video was tracked, so the gallery {self.gallery} was not saved (it is as it was)")
        elif self.gallery is not None:
            unsaved = self.unsaved_identities
            note = f" ({unsaved} from tracks too short for the gallery)" if unsaved else ""
            held = count(self.gallery_identities, "identity", "identities")
            if self.linked_before and self.linked_before == len(self.global_ids):  # (nothing saved: nothing new)
                which = "every finished video" if self.failed else "every video"  # (a failed one was never linked)
                where = f"the gallery {self.gallery} holds them already ({held}): an earlier run linked {which}"
            else:
                earlier = (
                    f"; {count(self.linked_before, 'video')} linked by an earlier run" if self.linked_before else ""
                )
                where = f"gallery saved to {self.gallery} ({held}){earlier}"
            lines.append(f"{count(len(self.identities), 'identity', 'identities')} across the batch{note}; {where}")
            # each video's tracks searched the gallery as the batch began (its newcomers are linked at the end)
            recognised = sum(v.recognised for v in done + reused)
            lines.append(f"{count(recognised, 'person', 'people')} recognised from the gallery as the batch began")
        return "\n".join(lines)

    def _headline(self, done: list[VideoResult], reused: list[VideoResult]) -> str:
        """The first line: videos tracked of all, reused, failed, the engine and the rate. A batch that reused every
        video says so ("0 of 2 videos tracked" read as if nothing had been done); one with failures counts them ("0 of
        3 videos tracked, 2 reused" left the third to be found below)."""
        videos = len(self.videos)
        if reused and len(reused) == videos:
            every = "all " if videos > 1 else ""
            return f"{every}{count(videos, 'video')} reused ({self.engine}): nothing tracked, {REUSED}"
        also = f", {len(reused)} reused" if reused else ""
        also += f", {len(self.failed)} failed" if self.failed else ""
        rate = f": {count(self.frames, 'frame')} in {self.seconds:.1f} s ({self.fps:.1f} frames/s)" if done else ""
        return f"{len(done)} of {count(videos, 'video')} tracked{also} ({self.engine}){rate}"


def _figures(video: VideoResult) -> str:
    """ "N frames, M tracks -> OUT/name": what a video done or reused holds, and where."""
    return f"{count(video.frames, 'frame')}, {count(video.tracks, 'track')} -> {video.out_dir}"


def _kept(video: VideoResult) -> str:
    """ "; the outputs of the frames read before are in OUT/name" for a failed video that kept them (a stream that
    failed part-way, as `track` keeps them), else ""."""
    return f"; the outputs of the frames read before are in {video.out_dir}" if video.outputs else ""


def _cut_short(video: VideoResult) -> str:
    """ "; only N of the M frames ..." for a video whose data stopped before the frames its header announces (a file
    still being copied or uploaded: `track` says so, the batch said "done" alone), else ""."""
    if video.ended_early is None:
        return ""
    last, announced = video.ended_early
    return (
        f"; its frames stop being readable after frame {last} of the {announced} its header announces (cut short, "
        "damaged, or still being written: a re-run tracks it again once the file has changed)"
    )
