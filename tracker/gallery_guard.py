"""One call at a time: `locked`, worn by each public `Gallery` method (`tracker.gallery`) and its parts'."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tracker.gallery import Gallery

__all__ = ["locked"]

_Method = TypeVar("_Method", bound=Callable[..., Any])


def locked(method: _Method) -> _Method:
    """`method` run holding the gallery's own lock: one Gallery may serve several Trackers in several threads (one
    per camera stream), whose searches, additions and saves would otherwise interleave (a dict changing size while
    another thread reads it, an index half rebuilt). Re-entrant: `link` calls `match` and `add`."""

    @functools.wraps(method)
    def guarded(self: Gallery, *args: Any, **kwargs: Any) -> Any:
        with self._guard:
            return method(self, *args, **kwargs)

    return guarded  # type: ignore[return-value]
