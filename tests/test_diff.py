"""Sorting a run's items against the history."""

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from spfeed.diff import changed_fields, diff, merge
from spfeed.model import Item, StoredItem

T0 = datetime(2022, 6, 16, 10, 0, tzinfo=timezone.utc)


def item(n: int, **fields) -> Item:
    values = dict(id=f"https://x/{n}", link=f"https://x/{n}", title=f"T{n}", summary="S", label="L", kind=None,
                  published=T0, position=n)
    values.update(fields)
    return Item(**values)


def stored(n: int, dated: bool = True, **fields) -> StoredItem:
    values = dict(id=f"https://x/{n}", link=f"https://x/{n}", title=f"T{n}", summary="S", label="L", kind=None,
                  published=T0, dated=dated, updated=T0, first_seen=T0, last_seen=T0, changed_at=None, position=n,
                  source="https://x/")
    values.update(fields)
    return StoredItem(**values)


@pytest.mark.parametrize("now, before, fields", [
    (item(1), stored(1), ()),
    (item(1, title="New"), stored(1), ("title",)),
    (item(1, summary=None), stored(1), ("summary",)),
    (item(1, label="Other", kind="Press release"), stored(1), ("label", "kind")),
    (item(1, published=T0.replace(day=17)), stored(1), ("published",)),
    (item(1, published=None), stored(1), ()),  # an unreadable date is not a change
    (item(1), stored(1, dated=False, published=T0.replace(year=2026)), ("published",)),  # a date appears
    (item(1, published=T0.astimezone()), stored(1), ()),  # the same moment in another zone
])
def test_changed_fields(now, before, fields):
    assert changed_fields(now, before) == fields


def test_new_updated_unchanged_gone():
    result = diff([item(1), item(2, title="Changed"), item(3)], {s.id: s for s in (stored(2), stored(3))}, [stored(4)])
    assert [i.id for i in result.new] == ["https://x/1"]
    assert [(c.item.id, c.fields) for c in result.updated] == [("https://x/2", ("title",))]
    assert [i.id for i in result.unchanged] == ["https://x/3"]
    assert [s.id for s in result.gone] == ["https://x/4"]


def test_nothing_changed():
    result = diff([item(1)], {"https://x/1": stored(1)})
    assert (result.new, result.updated, result.gone, [i.id for i in result.unchanged]) == ((), (), (), ["https://x/1"])


def test_merge_keeps_the_first_of_each_id_and_renumbers():
    homepage = [item(1), item(2)]
    archive = [replace(item(2), summary="archive version"), item(3)]
    merged = merge([homepage, archive])
    assert [(i.id, i.summary, i.position) for i in merged] == [
        ("https://x/1", "S", 0), ("https://x/2", "S", 1), ("https://x/3", "S", 2)]
