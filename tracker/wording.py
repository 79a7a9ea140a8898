"""Wording of the summaries the commands print: counts with the noun in the right number ("1 track", "2 tracks")."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["LISTED_MOST", "count", "listed"]

LISTED_MOST = 20  # `listed`: the items a one-line message names before "and N more"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and `noun`, singular for exactly one, else `plural` (default: `noun` + "s"): "1 identity", "0 identities".

    Args:
        n: how many.
        noun: the singular ("track", "video").
        plural: the plural where it is not `noun` + "s" ("identities").
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def listed(items: Sequence[object], most: int = LISTED_MOST, *, sentence: bool = False) -> str:
    """The first `most` of `items`, comma-separated, then how many more: "3, 5, 8 and 39989 more" (a command's
    one-line answer stays one readable line however many IDs it names). One item past `most` is named, not
    counted: "and 1 more" is longer than the ID it hides. `sentence`: the last of all-named items joined with
    "and", as prose reads ("5, 98 and 99"; default "5, 98, 99", a list in brackets)."""
    if len(items) > most + 1:
        return f"{', '.join(map(str, items[:most]))} and {len(items) - most} more"
    if sentence and len(items) > 1:
        return f"{', '.join(map(str, items[:-1]))} and {items[-1]}"
    return ", ".join(map(str, items))
