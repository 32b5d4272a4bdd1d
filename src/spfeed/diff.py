"""Sort a run's items against the history into new, updated, unchanged and gone. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from spfeed.model import Change, Diff, Item, StoredItem

#: The fields whose change upstream makes an item "updated" (and moves its Atom <updated>).
WATCHED = ("title", "summary", "label", "kind", "link")


def changed_fields(item: Item, before: StoredItem) -> tuple[str, ...]:
    """Names of the fields in which *item* differs from its stored version.

    A date the page no longer shows (or that cannot be read) is not a change: the item keeps the
    date it had. A date that moves is, unless it was read against the run's moment ("2 days ago"):
    such a date is fixed when the item is first stored.
    """
    fields = [name for name in WATCHED if getattr(item, name) != getattr(before, name)]
    if item.published is not None and not item.approximate and (not before.dated or item.published != before.published):
        fields.append("published")
    return tuple(fields)


def diff(items: Iterable[Item], known: Mapping[str, StoredItem], gone: Iterable[StoredItem] = ()) -> Diff:
    """*items* (this run's, de-duplicated) against *known* (their stored versions, where any).

    *gone* are the stored items that were listed at the previous run and are listed nowhere now;
    the caller works them out from the sources' presence, which depends on what was read.
    """
    new: list[Item] = []
    updated: list[Change] = []
    unchanged: list[Item] = []
    for item in items:
        before = known.get(item.id)
        if before is None:
            new.append(item)
            continue
        fields = changed_fields(item, before)
        if fields:
            updated.append(Change(item=item, before=before, fields=fields))
        else:
            unchanged.append(item)
    return Diff(new=tuple(new), updated=tuple(updated), unchanged=tuple(unchanged), gone=tuple(gone))


def placed(item: Item, position: int) -> Item:
    """*item* at *position* in its listing (a copy only when it moves: most items are in place)."""
    return item if item.position == position else replace(item, position=position)


def merge(listings: Iterable[Iterable[Item]]) -> list[Item]:
    """One list from several (sources in config order, pages in order): the first occurrence of an
    id wins, positions renumbered in that order."""
    seen: set[str] = set()
    merged: list[Item] = []
    for items in listings:
        for item in items:
            if item.id in seen:
                continue
            seen.add(item.id)
            merged.append(placed(item, len(merged)))
    return merged
