"""The history in SQLite: schema versions, refusing what it cannot read, and the times it keeps."""

import sqlite3
from datetime import datetime, timezone

import pytest

from spfeed.errors import StoreError
from spfeed.model import Change, Item
from spfeed.store import SCHEMA_VERSION, SourceState, Store, _MIGRATIONS

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
SRC = "https://www.ilo.org/secsoc/lang--en/index.htm"


def item(n: int, day: str | None = "2022-06-16", position: int | None = None, **fields) -> Item:
    published = datetime.fromisoformat(f"{day}T12:00:00+02:00") if day else None
    values = dict(id=f"https://www.ilo.org/{n}", link=f"https://www.ilo.org/{n}", title=f"Title {n}", summary=f"Sum {n}",
                  label="Report", kind=None, published=published, position=n if position is None else position)
    values.update(fields)
    return Item(**values)


def apply_new(store: Store, items: list[Item], now=NOW):
    origin = {i.id: (SRC, "Europe/Zurich", "en") for i in items}
    return store.apply(items, [], items, {SRC: [i.id for i in items]}, origin, {SRC: SourceState()}, now)


def test_a_new_file_gets_the_current_schema(tmp_path):
    path = tmp_path / "deep" / "state.sqlite"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"items", "runs", "sources", "presence", "meta"} <= tables


def test_every_version_has_a_migration_to_the_next():
    assert sorted(_MIGRATIONS) == list(range(SCHEMA_VERSION))


def test_a_newer_schema_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "state.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer than this spfeed knows"):
        Store.open(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", [b"this is not a database" * 100, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_corrupt_file_is_refused_and_left_alone(tmp_path, content):
    path = tmp_path / "state.sqlite"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="state database .*(corrupt|not a database|malformed)"):
        Store.open(path)
    assert path.read_bytes() == content


def test_a_foreign_database_is_left_alone(tmp_path):
    path = tmp_path / "state.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE mine (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="no spfeed schema version"):
        Store.open(path)


def test_newest_first_ties_in_page_order_and_a_limit(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        apply_new(store, [item(0, "2022-05-18"), item(1, "2022-06-16"), item(2, "2022-06-16"), item(3, "2021-01-01")])
        assert [s.id for s in store.newest(3)] == ["https://www.ilo.org/1", "https://www.ilo.org/2", "https://www.ilo.org/0"]


def test_no_two_items_share_an_updated_time(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        new, _ = apply_new(store, [item(n) for n in range(4)])
        later, _ = apply_new(store, [item(9, position=0)], NOW.replace(hour=9))
        stored = store.newest(10)
    assert len({s.updated for s in stored}) == 5
    # the published day stays as the page says; the top of the page gets the latest updated time
    assert {s.published.isoformat() for s in stored} == {"2022-06-16T12:00:00+02:00"}
    by_id = {s.id: s for s in stored}
    assert by_id["https://www.ilo.org/0"].updated > by_id["https://www.ilo.org/3"].updated
    # an item seen later never moves the times of the earlier ones
    assert [s.updated for s in new] == [by_id[s.id].updated for s in new]


def test_an_undated_item_is_published_when_first_seen(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        [stored], _ = apply_new(store, [item(1, None)])
    assert stored.published == NOW and not stored.dated
    assert stored.published.utcoffset().total_seconds() == 3600  # written in the source's zone


def test_an_update_moves_updated_not_published_and_keeps_first_seen(tmp_path):
    later = NOW.replace(day=28)
    with Store.open(tmp_path / "s.sqlite") as store:
        [before], _ = apply_new(store, [item(1)])
        changed = item(1, summary="New summary")
        origin = {changed.id: (SRC, "Europe/Zurich", "en")}
        _, [after] = store.apply([], [Change(changed, before, ("summary",))], [changed], {SRC: [changed.id]}, origin,
                                 {}, later)
        [again] = store.newest(1)
    assert after == again
    assert (after.published, after.first_seen, after.changed_at, after.summary) == (
        before.published, NOW, later, "New summary")
    assert after.updated == later and after.updated.utcoffset().total_seconds() == 3600


def test_an_unreadable_date_keeps_the_stored_one(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        [before], _ = apply_new(store, [item(1)])
        changed = item(1, day=None, title="Retitled")
        origin = {changed.id: (SRC, "Europe/Zurich", "en")}
        _, [after] = store.apply([], [Change(changed, before, ("title",))], [changed], {}, origin, {}, NOW)
    assert after.published == before.published and after.dated


def test_presence_and_sources(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        state = SourceState(body_hash="abc", fingerprint="f", final_url=SRC, lang="en")
        store.apply([item(1)], [], [item(1)], {SRC: [item(1).id]}, {item(1).id: (SRC, "UTC", None)}, {SRC: state}, NOW)
        assert store.presence() == {SRC: {item(1).id}}
        assert store.source_state(SRC) == state
        assert store.source_state("https://other/") == SourceState()
        assert store.meta("render_pending") == "1"
        store.mark_rendered("key")
        assert (store.meta("render_pending"), store.meta("render_key")) == (None, "key")


def test_runs_are_recorded(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        run = store.start_run("update", NOW)
        store.finish_run(run, NOW, "failed", 3, message="no items", http={SRC: {"status": 200}})
        row = store.conn.execute("SELECT command, outcome, exit_code, message, http FROM runs").fetchone()
    assert row == ("update", "failed", 3, "no items", '{"' + SRC + '": {"status": 200}}')
