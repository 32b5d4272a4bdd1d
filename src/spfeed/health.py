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
    counts = dict(listing.selector_report)
    blocks = len(listing.items)

    def selector(key: str) -> str:
        value = getattr(source.selectors, key)
        return f"{source.key}.selectors.{key} {value!r}" if value else f"{source.key}.selectors.{key} (not set)"

    if blocks == 0:
        tried = "; generic detection found no repeated blocks with a link and a date either" if source.detect else ""
        return [f"{selector('item')} matched nothing{tried}"]
    if listing.detected_as:
        found_by = f"generic detection (blocks like {listing.detected_as!r}, as {selector('item')} matched nothing)"
    else:
        found_by = selector("item")
    found: list[str] = []
    if len(items) < source.min_items:
        missing = [k for k in ("title", "link") if not listing.detected_as and counts.get(k, blocks) == 0]
        why = "; ".join(f"{selector(k)} matched nothing in them" for k in missing)
        if not why and counts.get("link") and not any(raw.link for raw in listing.items):
            why = "their links are not http(s) links (a saved page with relative links needs the source's base_url)"
            if listing.base_url.startswith("file:"):
                setting = "--base-url URL" if source.key == "check" else f"{source.key}.base_url"
                why += f": set {setting} to the page's web address"
        why = why or "they lack a title or a web link"
        found.append(f"{blocks} blocks found by {found_by}, but only {len(items)} usable items "
                     f"(expected at least {source.min_items}): {why}")
        return found
    broken = blocks - len(items)
    if broken > len(items):
        found.append(f"{broken} of {blocks} blocks found by {found_by} lack a title or a web link (expected most to have both)")
    dated = sum(1 for item in items if item.published is not None)
    if dated < source.min_dated_share * len(items):
        matched = f"; {selector('date')} matched {counts.get('date', 0)}" if not listing.detected_as else ""
        found.append(f"only {dated} of {len(items)} items found by {found_by} have a readable date, "
                     f"expected at least {source.min_dated_share:.0%}{matched}")
    return found
