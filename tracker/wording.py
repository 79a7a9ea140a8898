"""Wording of the summaries the commands print: counts with the noun in the right number ("1 track", "2 tracks")."""

from __future__ import annotations

__all__ = ["count"]


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and `noun`, singular for exactly one, else `plural` (default: `noun` + "s"): "1 identity", "0 identities".

    Args:
        n: how many.
        noun: the singular ("track", "video").
        plural: the plural where it is not `noun` + "s" ("identities").
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
