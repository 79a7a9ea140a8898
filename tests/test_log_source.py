"""`tracker.log_source.naming_source`: the library's log records name the source being tracked, and only while it
is tracked."""

from __future__ import annotations

import logging

from tracker.log_source import naming_source


def test_library_records_name_the_source_only_while_it_is_tracked(caplog):
    caplog.set_level(logging.INFO)
    library, other = logging.getLogger("tracker.camera_motion"), logging.getLogger("someone.else")
    with naming_source("cam2"):
        library.warning("estimate failed at frame %d", 7)
        other.warning("not ours")
    library.warning("after the video")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["cam2: estimate failed at frame 7", "not ours", "after the video"]
    assert caplog.records[0].source == "cam2" and not hasattr(caplog.records[2], "source")
    assert not any(h.filters for h in logging.getLogger().handlers), "a filter was left on a handler after the source"
