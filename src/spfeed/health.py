"""Does a page still look like the listing we know? Pure checks run before anything is published."""

from __future__ import annotations

from collections.abc import Sequence

from spfeed.config import Source
from spfeed.model import Item, Listing


def problems(source: Source, listing: Listing, items: Sequence[Item]) -> list[str]:
    """What is wrong with *items* (the valid entries read from *listing*) by *source*'s health rules.

    The rules: at least ``min_items`` items; most blocks have a title and a link; at least
    ``min_dated_share`` of the items have a readable date. Each problem says what was expected,
    what was found, and which selector is to blame.
    """
    found: list[str] = []
    counts = dict(listing.selector_report)
    blocks = len(listing.items)
    broken = blocks - len(items)
    via = "generic detection" if listing.detected else None

    def selector(key: str) -> str:
        if via:
            return via
        value = getattr(source.selectors, key)
        return f"{source.key}.selectors.{key} {value!r}" if value else f"{source.key}.selectors.{key} (not set)"

    if blocks == 0:
        found.append(f"{selector('item')} matched nothing")
        return found
    if len(items) < source.min_items:
        missing = [k for k in ("title", "link") if counts.get(k, blocks) == 0]
        why = "; ".join(f"{selector(k)} matched nothing in them" for k in missing) or "they lack a title or a web link"
        found.append(
            f"{blocks} blocks matched {selector('item')} but only {len(items)} are usable items "
            f"(expected at least {source.min_items}): {why}"
        )
        return found
    if broken > len(items):
        found.append(f"{broken} of {blocks} blocks lack a title or a web link (expected most to have both)")
    dated = sum(1 for item in items if item.published is not None)
    if dated < source.min_dated_share * len(items):
        date_matches = counts.get("date", 0)
        found.append(
            f"only {dated} of {len(items)} items have a readable date, expected at least "
            f"{source.min_dated_share:.0%} ({selector('date')} matched {date_matches})"
        )
    return found
