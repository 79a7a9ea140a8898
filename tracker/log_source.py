"""The source a log record is about: while one video or stream is tracked among several (a `track batch` task, a
source of `track a.mp4 b.mp4`), each record of the tracker's loggers starts with the source's name
(`cam2: dropped 1 invalid detection(s) ...`), whichever module logged it (camera motion, ReID, gallery, a stream's
reconnects) and in whatever process (a batch worker's own). Nothing is kept between sources: `naming_source` adds
its filter to the handlers a tracker record reaches for as long as the source is tracked, and takes it off after.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["LIBRARY_LOGGER", "SOURCE_ATTRIBUTE", "is_library_record", "naming_source"]

LIBRARY_LOGGER = "tracker"  # the loggers whose records are named: this one and those below it (tracker.*)
SOURCE_ATTRIBUTE = "source"  # the record attribute holding the source's name (for a handler's own format)


def is_library_record(record: logging.LogRecord) -> bool:
    """Whether `record` comes from the tracker's own loggers (`LIBRARY_LOGGER` or one below it)."""
    return record.name == LIBRARY_LOGGER or record.name.startswith(f"{LIBRARY_LOGGER}.")


class _SourceFilter(logging.Filter):
    """Starts the message of each library record with `name: ` (once, however many handlers see the record) and
    sets its `source` attribute; other records pass as they are."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.source = name

    def filter(self, record: logging.LogRecord) -> bool:
        if is_library_record(record) and not hasattr(record, SOURCE_ATTRIBUTE):
            record.msg, record.args = f"{self.source}: {record.getMessage()}", ()
            setattr(record, SOURCE_ATTRIBUTE, self.source)
        return True


def _reached_handlers() -> list[logging.Handler]:
    """The handlers a record of the library's logger reaches: its own and its ancestors' up to the first that does
    not propagate, else Python's last-resort handler (a process that configured none: a batch worker)."""
    handlers: list[logging.Handler] = []
    logger: logging.Logger | None = logging.getLogger(LIBRARY_LOGGER)
    while logger is not None:
        handlers.extend(logger.handlers)
        logger = logger.parent if logger.propagate else None
    if not handlers and logging.lastResort is not None:
        handlers.append(logging.lastResort)
    return handlers


@contextmanager
def naming_source(name: str) -> Iterator[None]:
    """While inside, the library's log records (`tracker.*`) start with `name: ` (the source being tracked)."""
    named = _SourceFilter(name)
    handlers = _reached_handlers()
    for handler in handlers:
        handler.addFilter(named)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(named)
