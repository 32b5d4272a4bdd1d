"""The decide step, pure: every time a run gives an item, without SQLite, HTTP or files."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from spfeed.decide import decide, new_slugs, slugify
from spfeed.model import Item, StoredItem

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
SRC = "https://www.ilo.org/secsoc/"
ZURICH_NOON = datetime.fromisoformat("2022-06-16T12:00:00+02:00")


def item(n: int, published=ZURICH_NOON, **fields) -> Item:
    values = dict(id=f"https://www.ilo.org/{n}", link=f"https://www.ilo.org/{n}", title=f"Title {n}", summary=None,
                  label=None, kind=None, published=published, position=n)
    values.update(fields)
    return Item(**values)


def stored(new: Item, **fields) -> StoredItem:
    values = dict(id=new.id, link=new.link, title=new.title, summary=new.summary, label=new.label, kind=new.kind,
                  published=new.published, dated=True, updated=new.published, first_seen=NOW, last_seen=NOW,
                  changed_at=None, position=new.position, source=SRC)
    values.update(fields)
    return StoredItem(**values)


def plan_for(items, known=(), taken=(), now=NOW, slugs=None):
    origin = {i.id: (SRC, "Europe/Zurich", "en") for i in items}
    return decide("f", items, {s.id: s for s in known}, (), origin, taken, slugs or {}, now)


def test_items_on_one_date_get_distinct_updated_times_the_top_one_latest():
    plan = plan_for([item(n) for n in range(4)])
    times = [s.updated for s in plan.new]
    assert [s.position for s in plan.new] == [0, 1, 2, 3]  # page order
    assert times == sorted(times, reverse=True) and len(set(times)) == 4
    assert min(times) == ZURICH_NOON and all(s.published == ZURICH_NOON for s in plan.new)


def test_a_time_taken_by_the_history_is_not_given_again():
    taken = [int(ZURICH_NOON.timestamp()), int(ZURICH_NOON.timestamp()) + 1]
    [new] = plan_for([item(1)], taken=taken).new
    assert new.updated == ZURICH_NOON + timedelta(seconds=2)


def test_thousands_of_items_on_one_date_stay_linear():
    """A cursor per start time: 3,000 items on one date probe each second about once."""
    items = [item(n) for n in range(3000)]
    plan = plan_for(items, taken=range(int(ZURICH_NOON.timestamp()), int(ZURICH_NOON.timestamp()) + 500))
    times = {int(s.updated.timestamp()) for s in plan.new}
    assert len(times) == 3000 and min(times) == int(ZURICH_NOON.timestamp()) + 500


def test_an_undated_item_is_published_when_first_seen_in_the_source_zone():
    [new] = plan_for([item(1, published=None)]).new
    assert new.published == NOW and not new.dated and new.published.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize("now, expected", [
    (NOW, NOW),  # the change is stamped when it is seen
    (datetime(2020, 1, 1, tzinfo=timezone.utc), NOW.replace(day=20) + timedelta(seconds=1)),  # clock went back
])
def test_a_change_moves_updated_forward_never_back(now, expected):
    before = stored(item(1), updated=NOW.replace(day=20))
    [(after, fields)] = plan_for([item(1, title="New")], known=[before], now=now).updated
    assert fields == ("title",) and after.updated == expected and after.published == before.published
    assert after.first_seen == before.first_seen and after.changed_at == now


def test_an_approximate_date_never_moves_a_stored_one():
    before = stored(item(1, published=datetime(2026, 11, 25, 12, tzinfo=timezone.utc)))
    moved = item(1, published=datetime(2026, 11, 26, 12, tzinfo=timezone.utc), approximate=True)
    assert plan_for([moved], known=[before]).updated == ()  # "2 days ago" read a day later
    [(after, _)] = plan_for([replace(moved, title="Retitled")], known=[before]).updated
    assert after.published == before.published


@pytest.mark.parametrize("label, slug", [
    ("New ILO report", "new-ilo-report"),
    ("Publicación", "publicacion"),
    ("Joint ILO-UNICEF report", "joint-ilo-unicef-report"),
    ("Œuvre & travail – 2022", "uvre-travail-2022"),
    ("社会保障", "label"),
    ("  ", "label"),
])
def test_label_slugs_are_lower_case_ascii(label, slug):
    assert slugify(label) == slug


def test_slugs_never_collide_and_never_change():
    existing = {"Publicación": "publicacion"}
    assert new_slugs(existing, ["publicación", "Publicacion", "Publicación", "Report"]) == {
        "publicación": "publicacion-2", "Publicacion": "publicacion-3", "Report": "report"}


def test_first_seen_labels_and_kinds_get_slugs():
    plan = plan_for([item(1, label="Report", kind="Press release"), item(2, label="Report")],
                    slugs={"Report": "report"})
    assert plan.labels == {"Press release": "press-release"}


class _Scanned:
    """The reference: the first free second at or after the start (or its cursor), one by one."""

    def __init__(self, taken):
        from collections import Counter

        self.used, self.cursor = Counter(taken), {}

    def claim(self, moment, release=None):
        if release is not None and self.used[release] > 0:
            self.used[release] -= 1
        start = int(moment.timestamp())
        ts = max(start, self.cursor.get(start, start))
        while self.used[ts] > 0:
            ts += 1
        self.used[ts] += 1
        self.cursor[start] = ts
        return datetime.fromtimestamp(ts, moment.tzinfo)


def test_claimed_times_are_those_of_a_second_by_second_scan():
    import random

    from spfeed.decide import _Times

    chance = random.Random(5)
    base = int(NOW.timestamp())
    for _ in range(300):
        taken = [base + chance.randrange(40) for _ in range(chance.randrange(30))]
        fast, slow = _Times(taken), _Scanned(taken)
        for _ in range(chance.randrange(1, 40)):
            moment = datetime.fromtimestamp(base + chance.randrange(45), timezone.utc)
            release = base + chance.randrange(50) if chance.random() < 0.6 else None
            assert fast.claim(moment, release) == slow.claim(moment, release)


def test_items_changed_in_every_run_stay_linear():
    """Every item changes in every run: each is pushed just past its old time, which the items
    after it still hold. Such a run of 2,000 items looks at each second a few times at most."""
    from spfeed.decide import _Times

    count = 2000
    known = [stored(item(n), updated=NOW + timedelta(seconds=n)) for n in range(count)]
    for run in range(2):  # through decide: every time new, later than the item's own, unique
        plan = plan_for([item(n, title=f"Title {n}, run {run}") for n in range(count)], known=known,
                        taken=[int(s.updated.timestamp()) for s in known], now=NOW + timedelta(seconds=run))
        after = [s for s, _ in plan.updated]
        assert len({s.updated for s in after}) == count
        assert all(a.updated > b.updated for a, b in zip(after, known))
        known = after
    times = _Times(range(int(NOW.timestamp()), int(NOW.timestamp()) + count))
    for n in range(count):
        times.claim(NOW + timedelta(seconds=n + 1), release=int(NOW.timestamp()) + n)
    assert times.steps <= 3 * count, times.steps
