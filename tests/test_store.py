"""The history in SQLite: schema versions, refusing what it cannot read, and the times it keeps."""

import sqlite3
from datetime import datetime, timezone

import pytest

from conftest import journal_mode
from spfeed.decide import decide
from spfeed.errors import StoreError
from spfeed.model import Item, SourceState
from spfeed.store import SCHEMA_VERSION, KeptStore, Store, _MIGRATIONS

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
SRC = "https://www.ilo.org/secsoc/lang--en/index.htm"


def item(n: int, day: str | None = "2022-06-16", position: int | None = None, **fields) -> Item:
    published = datetime.fromisoformat(f"{day}T12:00:00+02:00") if day else None
    values = dict(id=f"https://www.ilo.org/{n}", link=f"https://www.ilo.org/{n}", title=f"Title {n}", summary=f"Sum {n}",
                  label="Report", kind=None, published=published, position=n if position is None else position)
    values.update(fields)
    return Item(**values)


def apply(store: Store, items: list[Item], now=NOW, feed: str = "", state: SourceState | None = None):
    """Decide and save one reading of *items* as the pipeline does; returns (new, updated) as stored."""
    origin = {i.id: (SRC, "Europe/Zurich", "en") for i in items}
    known = store.items(feed, [i.id for i in items])
    plan = decide(feed, items, known, (), origin, store.taken_times(feed, 0), store.labels(feed), now,
                  presence={SRC: tuple(i.id for i in items)}, sources={SRC: state or SourceState()})
    store.save(plan, now, {SRC: "Europe/Zurich"})
    return list(plan.new), [u for u, _ in plan.updated]


apply_new = apply


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
        assert [s.id for s in store.newest("", 3)] == ["https://www.ilo.org/1", "https://www.ilo.org/2", "https://www.ilo.org/0"]


def test_no_two_items_share_an_updated_time(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        new, _ = apply_new(store, [item(n) for n in range(4)])
        later, _ = apply_new(store, [item(9, position=0)], NOW.replace(hour=9))
        stored = store.newest("", 10)
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
        [before], _ = apply(store, [item(1)])
        _, [after] = apply(store, [item(1, summary="New summary")], later)
        [again] = store.newest("", 1)
    assert after == again
    assert (after.published, after.first_seen, after.changed_at, after.summary) == (
        before.published, NOW, later, "New summary")
    assert after.updated == later and after.updated.utcoffset().total_seconds() == 3600


def test_an_unreadable_date_keeps_the_stored_one(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        [before], _ = apply(store, [item(1)])
        _, [after] = apply(store, [item(1, day=None, title="Retitled")])
    assert after.published == before.published and after.dated


def test_presence_sources_and_render_marks_are_kept_per_feed(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        state = SourceState(body_hash="abc", fingerprint="f", final_url=SRC, lang="en")
        apply(store, [item(1)], feed="a", state=state)
        assert store.presence("a") == {SRC: {item(1).id}} and store.presence("b") == {}
        assert store.source_state("a", SRC) == state
        assert store.source_state("b", SRC) == SourceState()
        assert store.source_state("a", "https://other/") == SourceState()
        assert store.meta("render_pending:a") == "1"
        store.mark_rendered("a", "key")
        assert (store.meta("render_pending:a"), store.meta("render_key:a")) == (None, "key")


def test_the_same_link_in_two_feeds_is_two_items(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        [a], _ = apply(store, [item(1)], feed="a")
        [b], _ = apply(store, [item(1, title="Other title")], feed="b", now=NOW.replace(hour=9))
        _, [a2] = apply(store, [item(1, title="Retitled")], feed="a", now=NOW.replace(hour=10))
        assert [s.title for s in store.newest("a", 5)] == ["Retitled"]
        assert [s.title for s in store.newest("b", 5)] == ["Other title"]
    assert a.id == b.id == a2.id and (a.feed, b.feed) == ("a", "b")


def test_label_feeds_read_only_their_items_and_keep_their_slugs(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        apply(store, [item(1, label="Publicación"), item(2, label="Report", kind="Press release"), item(3, label=None)])
        assert store.labels("") == {"Publicación": "publicacion", "Press release": "press-release", "Report": "report"}
        assert [s.id for s in store.newest("", 10, label="Report")] == [item(2).id]
        assert [s.id for s in store.newest("", 10, label="Press release")] == [item(2).id]
        apply(store, [item(4, label="publicación")], NOW.replace(hour=9))  # slugifies the same: a new slug
        assert store.labels("")["publicación"] == "publicacion-2"
        assert store.labels("")["Publicación"] == "publicacion"  # never changes


def test_runs_are_recorded(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        run = store.start_run("update", NOW)
        store.finish_run(run, NOW, "failed", 3, message="no items", http={SRC: {"status": 200}})
        row = store.conn.execute("SELECT command, outcome, exit_code, message, http FROM runs").fetchone()
    assert row == ("update", "failed", 3, "no items", '{"' + SRC + '": {"status": 200}}')


# -- the store `spfeed run` keeps open between its runs ----------------------------------------------


def test_a_kept_store_is_in_wal_mode_until_it_is_closed(tmp_path):
    path = tmp_path / "state.sqlite"
    kept = KeptStore(path)
    store = kept.open()
    assert kept.open() is store  # one connection for every run
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    apply(store, [item(1)])
    other = sqlite3.connect(path)  # another connection (a cron run's, a `status`) reads what it committed
    assert other.execute("SELECT id FROM items").fetchall() == [("https://www.ilo.org/1",)]
    other.close()
    kept.close()
    assert journal_mode(path) == "delete"
    assert not (tmp_path / "state.sqlite-wal").exists()


def test_a_kept_store_waits_for_the_disk_before_a_feed_is_published(tmp_path):
    """Its bookkeeping commits do not wait (synchronous=NORMAL); saving the plan, which the feed
    files published next show, does (FULL): a power cut cannot leave a feed ahead of the history."""
    store = KeptStore(tmp_path / "state.sqlite").open()
    said: list[str] = []
    store.conn.set_trace_callback(said.append)
    apply(store, [item(1)])
    store.conn.set_trace_callback(None)
    begin = said.index("BEGIN IMMEDIATE")
    assert said[begin - 1] == "PRAGMA synchronous = FULL"
    assert said[said.index("COMMIT", begin) + 1] == "PRAGMA synchronous = NORMAL"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    said.clear()
    store.conn.set_trace_callback(said.append)
    store.save_pending([("webhook", "{}", "HTTP 500")], [], NOW)  # an announcement still to deliver
    store.conn.set_trace_callback(None)
    assert said[said.index("BEGIN IMMEDIATE") - 1] == "PRAGMA synchronous = FULL"
    store.close()


def test_a_kept_store_follows_its_path_when_the_file_is_replaced(tmp_path):
    path = tmp_path / "state.sqlite"
    with Store.open(tmp_path / "backup.sqlite") as backup:
        apply(backup, [item(7)])
    kept = KeptStore(path)
    first = kept.open()
    apply(first, [item(1)])
    (tmp_path / "backup.sqlite").replace(path)  # an operator restores a backup while `spfeed run` runs
    again = kept.open()
    assert again is not first
    assert [s.id for s in again.newest("", 10)] == ["https://www.ilo.org/7"]
    kept.forget()  # after an error on it: the next run opens the file again
    third = kept.open()
    assert third is not again
    third.conn.execute("BEGIN")  # a run that stopped inside a transaction
    assert kept.open() is not third
    kept.close()


def test_a_kept_store_serves_runs_on_any_thread(tmp_path):
    """The scheduler may start each run on another of its threads (one at a time)."""
    import threading

    path = tmp_path / "state.sqlite"
    kept = KeptStore(path)
    opened = threading.Thread(target=lambda: apply(kept.open(), [item(1)]))
    opened.start()
    opened.join()
    apply(kept.open(), [item(2)])
    kept.close()
    assert journal_mode(path) == "delete"
    with Store.open(path) as store:
        assert store.item_count("") == 2
