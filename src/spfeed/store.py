"""The history: one SQLite file with every item ever seen, every run, and each source's HTTP state.

The only module that speaks SQL. Each write is one transaction, so a run killed at any moment
leaves the previous state or the new one, never a mix.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

from spfeed.errors import StoreError
from spfeed.fsutil import NotAFile, make_folders, open_file, refuse_unless_regular
from spfeed.model import Change, Item, StoredItem, Validators

SCHEMA_VERSION = 1

_SCHEMA_V1 = """
CREATE TABLE items (
    id           TEXT PRIMARY KEY,  -- canonical absolute link; never changes
    link         TEXT NOT NULL,     -- the link as the page gives it (absolute)
    title        TEXT NOT NULL,
    summary      TEXT,              -- plain text, NULL when the page has none
    label        TEXT,              -- the page's label ("New ILO report"), a category
    kind         TEXT,              -- the word(s) before a bar on the date line, a category
    published    TEXT NOT NULL,     -- ISO 8601 with offset: the page's date, else first_seen
    published_ts INTEGER NOT NULL,  -- the same as Unix seconds, for ordering
    dated        INTEGER NOT NULL,  -- 1 when published comes from the page
    updated      TEXT NOT NULL,     -- ISO 8601: max(published, changed_at), unique across items
    updated_ts   INTEGER NOT NULL,
    zone         TEXT NOT NULL,     -- the source's time zone, for writing times of this item
    lang         TEXT,              -- the language of the page it was read from (<html lang>)
    content_hash TEXT NOT NULL,     -- sha256 of the fields a subscriber sees
    first_seen   TEXT NOT NULL,     -- UTC, ISO 8601
    last_seen    TEXT NOT NULL,     -- UTC: the last run that read it on its page
    changed_at   TEXT,              -- UTC: the last run that saw its text change upstream
    position     INTEGER NOT NULL,  -- its place in the listing when last seen (ties sort by it)
    source       TEXT NOT NULL      -- the source URL it was last read from
);
CREATE INDEX items_newest ON items (published_ts DESC, position, id);
CREATE INDEX items_updated ON items (updated_ts);

CREATE TABLE presence (             -- which items each source listed at its last successful read
    source  TEXT NOT NULL,
    item_id TEXT NOT NULL,
    PRIMARY KEY (source, item_id)
) WITHOUT ROWID;

CREATE TABLE sources (
    url           TEXT PRIMARY KEY,
    etag          TEXT,             -- validators for conditional GET
    last_modified TEXT,
    body_hash     TEXT,             -- sha256 of the last body read: an unchanged page skips extraction
    fingerprint   TEXT,             -- what the extraction settings were when body_hash was taken
    final_url     TEXT,             -- after redirects
    lang          TEXT,             -- the page's <html lang>
    checked_at    TEXT              -- UTC: the last successful fetch (200 or 304)
);

CREATE TABLE runs (
    id        INTEGER PRIMARY KEY,
    command   TEXT NOT NULL,        -- update, regenerate, backfill
    started   TEXT NOT NULL,        -- UTC
    finished  TEXT,                 -- NULL while running, or when the process died
    outcome   TEXT,                 -- changed, unchanged, not-modified, failed, died
    exit_code INTEGER,
    new       INTEGER NOT NULL DEFAULT 0,
    updated   INTEGER NOT NULL DEFAULT 0,
    gone      INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    message   TEXT,                 -- the one-line reason of a failure
    http      TEXT                  -- JSON: per source URL, status and validators
);

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);  -- render_pending, render_key
"""

#: Migrations keyed by the version they start from; each brings the file one version up.
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    0: lambda conn: _run_script(conn, _SCHEMA_V1),
}


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run DDL statement by statement inside the caller's transaction (executescript would commit)."""
    for statement in script.split(";\n"):
        if statement.strip():
            conn.execute(statement)

_KEEP_RUNS = 5000  # older rows of the runs table are pruned

_ITEM_COLUMNS = (
    "id, link, title, summary, label, kind, published, dated, updated, zone, first_seen, last_seen, "
    "changed_at, position, source, lang"
)

T = TypeVar("T")


def _guard(method: Callable[..., T]) -> Callable[..., T]:
    """Turn SQLite's errors into a StoreError naming the file."""

    @functools.wraps(method)
    def wrapper(self: Store, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"state database {self.path}: {_describe(e, self.path)}") from e

    return wrapper


def _describe(e: sqlite3.DatabaseError, path: Path | None = None) -> str:
    text = str(e)
    if path is not None and not path.exists():  # e.g. SQLITE_READONLY_DBMOVED, "attempt to write a readonly database"
        if not path.parent.is_dir():
            return f"the state folder {path.parent} disappeared during the run"
        return "the file disappeared during the run (deleted or moved)"
    if "not a database" in text or "malformed" in text:
        return f"{text} (the file is corrupt or not spfeed's; move it aside to start a new history)"
    return text


@dataclass(frozen=True)
class SourceState:
    """What the store remembers of one source between runs."""

    validators: Validators = Validators()
    body_hash: str | None = None
    fingerprint: str | None = None
    final_url: str | None = None
    lang: str | None = None


def content_hash(item: Item | StoredItem) -> str:
    """sha256 over the fields a subscriber sees; volatile ones (times seen, position) stay out."""
    published = item.published.isoformat() if item.published else ""
    fields = [item.link, item.title, item.summary or "", item.label or "", item.kind or "", published]
    return hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


class Store:
    """An open state database. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating or migrating) the state file at *path*; never overwrites one it cannot read.

        Neither the file nor its side files (``-journal``, ``-wal``, ``-shm``) may be symbolic links
        or anything but regular files; a new file is created 0600, whatever the umask.
        """
        try:
            make_folders(path.parent)
        except OSError as e:
            raise StoreError(f"state folder {path.parent}: {e.strerror or e}") from e
        try:
            for suffix in ("-journal", "-wal", "-shm"):
                refuse_unless_regular(path.with_name(path.name + suffix))
            fd = open_file(path, os.O_RDONLY, 0o600, create=True)
        except NotAFile as e:
            raise StoreError(str(e)) from None
        except OSError as e:
            raise StoreError(f"state database {path}: {e.strerror or e}") from None
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=5.0)
        except sqlite3.Error as e:
            os.close(fd)
            raise StoreError(f"state database {path}: {e}") from e
        # SQLite opened the file by name: make sure it is the one just checked, not a link swapped
        # in meanwhile. Our descriptor is closed before SQLite takes any lock (closing one drops
        # all of the process's POSIX locks on the file).
        try:
            mine, named = os.fstat(fd), os.lstat(path)
        except OSError:
            named = None
        finally:
            os.close(fd)
        if named is None or (named.st_dev, named.st_ino) != (mine.st_dev, mine.st_ino):
            conn.close()
            raise StoreError(f"state database {path} was replaced while it was being opened; refusing it")
        store = cls(conn, path)
        try:
            store._prepare()
        except BaseException:
            conn.close()
            raise
        return store

    @_guard
    def _prepare(self) -> None:
        self.conn.execute("PRAGMA synchronous = FULL")
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"state database {self.path} has schema version {version}, newer than this spfeed knows "
                f"({SCHEMA_VERSION}); upgrade spfeed or point state.path elsewhere"
            )
        if version == SCHEMA_VERSION:
            return
        with self.transaction():
            # Another process may have migrated while we waited for the write lock.
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise StoreError(f"state database {self.path} holds tables but no spfeed schema version; not touching it")
            while version < SCHEMA_VERSION:
                _MIGRATIONS[version](self.conn)
                version += 1
                self.conn.execute(f"PRAGMA user_version = {version}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction; taken at once (IMMEDIATE) so that readers never see half of it."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- reading ------------------------------------------------------------------------------------

    @_guard
    def source_state(self, url: str) -> SourceState:
        row = self.conn.execute(
            "SELECT etag, last_modified, body_hash, fingerprint, final_url, lang FROM sources WHERE url = ?", (url,)
        ).fetchone()
        if row is None:
            return SourceState()
        return SourceState(Validators(row[0], row[1]), row[2], row[3], row[4], row[5])

    @_guard
    def presence(self) -> dict[str, set[str]]:
        """For each source, the ids it listed at its last successful read."""
        found: dict[str, set[str]] = {}
        for source, item_id in self.conn.execute("SELECT source, item_id FROM presence"):
            found.setdefault(source, set()).add(item_id)
        return found

    @_guard
    def items(self, ids: Iterable[str]) -> dict[str, StoredItem]:
        """The stored items among *ids*."""
        ids = list(ids)
        found: dict[str, StoredItem] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE id IN ({marks})", chunk):
                found[row[0]] = _stored(row)
        return found

    @_guard
    def newest(self, limit: int) -> list[StoredItem]:
        """The newest *limit* items of the history, newest first (ties in page order)."""
        rows = self.conn.execute(
            f"SELECT {_ITEM_COLUMNS} FROM items ORDER BY published_ts DESC, position, id LIMIT ?", (limit,)
        )
        return [_stored(row) for row in rows]

    @_guard
    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # -- writing ------------------------------------------------------------------------------------

    @_guard
    def mark_rendered(self, key: str) -> None:
        """The feed files now match the history, rendered with settings *key*."""
        with self.transaction():
            self._set_meta("render_pending", None)
            self._set_meta("render_key", key)

    def _set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self.conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @_guard
    def start_run(self, command: str, started: datetime) -> int:
        """A new row in the runs table. Rows left unfinished are runs that died (the caller holds
        the lock, so none is still going): they are marked so."""
        with self.transaction():
            self.conn.execute(
                "UPDATE runs SET outcome = 'died', message = 'the process ended before the run finished' "
                "WHERE finished IS NULL AND outcome IS NULL"
            )
            cur = self.conn.execute("INSERT INTO runs (command, started) VALUES (?, ?)", (command, _iso_utc(started)))
            self.conn.execute(
                "DELETE FROM runs WHERE id <= (SELECT max(id) FROM runs) - ?", (_KEEP_RUNS,)
            )
        return int(cur.lastrowid)

    @_guard
    def finish_run(self, run_id: int, finished: datetime, outcome: str, exit_code: int, *, new: int = 0,
                   updated: int = 0, gone: int = 0, unchanged: int = 0, message: str | None = None,
                   http: dict | None = None) -> None:
        with self.transaction():
            self.conn.execute(
                "UPDATE runs SET finished = ?, outcome = ?, exit_code = ?, new = ?, updated = ?, gone = ?, "
                "unchanged = ?, message = ?, http = ? WHERE id = ?",
                (_iso_utc(finished), outcome, exit_code, new, updated, gone, unchanged, message,
                 json.dumps(http, sort_keys=True) if http else None, run_id),
            )

    @_guard
    def save_source(self, url: str, state: SourceState, checked_at: datetime) -> None:
        """Remember a source's validators and body hash after a successful fetch (200 or 304)."""
        with self.transaction():
            self._save_source(url, state, checked_at)

    def _save_source(self, url: str, state: SourceState, checked_at: datetime) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO sources (url, etag, last_modified, body_hash, fingerprint, final_url, lang, "
            "checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (url, state.validators.etag, state.validators.last_modified, state.body_hash, state.fingerprint,
             state.final_url, state.lang, _iso_utc(checked_at)),
        )

    @_guard
    def apply(self, new: Iterable[Item], updated: Iterable[Change], seen: Iterable[Item],
              presence: dict[str, list[str]], sources: dict[str, tuple[str, str, str | None]],
              source_states: dict[str, SourceState], now: datetime) -> tuple[list[StoredItem], list[StoredItem]]:
        """Record one run's reading in one transaction and mark the feeds as due for rendering.

        *new* and *updated* are written with their times; every item of *seen* (all read this run)
        gets its last_seen and position; *presence* replaces the listed sources' presence;
        *sources* maps each item id to (source URL, source zone, page language). Returns the stored
        new and updated items.
        """
        with self.transaction():
            stored_new = []
            # Bottom of the page first, so that when two items share a time the one above is later.
            for item in sorted(new, key=lambda i: -i.position):
                stored_new.append(self._insert(item, *sources[item.id], now))
            stored_updated = []
            for change in updated:
                stored_updated.append(self._update(change, *sources[change.item.id], now))
            self.conn.executemany(
                "UPDATE items SET last_seen = ?, position = ?, source = ? WHERE id = ?",
                [(_iso_utc(now), item.position, sources[item.id][0], item.id) for item in seen],
            )
            for url, ids in presence.items():
                self.conn.execute("DELETE FROM presence WHERE source = ?", (url,))
                self.conn.executemany(
                    "INSERT OR IGNORE INTO presence (source, item_id) VALUES (?, ?)", [(url, i) for i in ids]
                )
            for url, state in source_states.items():
                self._save_source(url, state, now)
            self._set_meta("render_pending", "1")
        stored_new.sort(key=lambda s: s.position)
        return stored_new, stored_updated

    def _free_updated(self, moment: datetime, item_id: str) -> datetime:
        """*moment*, moved on by whole seconds until no other item has it as its updated time
        (feed readers and validators expect every entry's updated to differ)."""
        ts = int(moment.timestamp())
        while self.conn.execute("SELECT 1 FROM items WHERE updated_ts = ? AND id <> ? LIMIT 1", (ts, item_id)).fetchone():
            ts += 1
        return datetime.fromtimestamp(ts, moment.tzinfo)

    def _insert(self, item: Item, url: str, zone_name: str, lang: str | None, now: datetime) -> StoredItem:
        from spfeed.normalise import zone

        tz = zone(zone_name)
        published = item.published or now.astimezone(tz)
        updated = self._free_updated(published.astimezone(tz), item.id)
        stored = StoredItem(
            id=item.id, link=item.link, title=item.title, summary=item.summary, label=item.label, kind=item.kind,
            published=published, dated=item.published is not None, updated=updated, first_seen=now, last_seen=now,
            changed_at=None, position=item.position, source=url, lang=lang,
        )
        self.conn.execute(
            "INSERT INTO items (id, link, title, summary, label, kind, published, published_ts, dated, updated, "
            "updated_ts, zone, lang, content_hash, first_seen, last_seen, changed_at, position, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            (stored.id, stored.link, stored.title, stored.summary, stored.label, stored.kind,
             published.isoformat(), int(published.timestamp()), int(stored.dated), updated.isoformat(),
             int(updated.timestamp()), zone_name, lang, content_hash(stored), _iso_utc(now), _iso_utc(now),
             stored.position, url),
        )
        return stored

    def _update(self, change: Change, url: str, zone_name: str, lang: str | None, now: datetime) -> StoredItem:
        from spfeed.normalise import zone

        item, before = change.item, change.before
        tz = zone(zone_name)
        published = item.published or before.published
        dated = item.published is not None or before.dated
        updated = self._free_updated(max(published, now).astimezone(tz), item.id)
        stored = StoredItem(
            id=item.id, link=item.link, title=item.title, summary=item.summary, label=item.label, kind=item.kind,
            published=published, dated=dated, updated=updated, first_seen=before.first_seen, last_seen=now,
            changed_at=now, position=item.position, source=url, lang=lang,
        )
        self.conn.execute(
            "UPDATE items SET link = ?, title = ?, summary = ?, label = ?, kind = ?, published = ?, published_ts = ?, "
            "dated = ?, updated = ?, updated_ts = ?, zone = ?, lang = ?, content_hash = ?, last_seen = ?, "
            "changed_at = ?, position = ?, source = ? WHERE id = ?",
            (stored.link, stored.title, stored.summary, stored.label, stored.kind, published.isoformat(),
             int(published.timestamp()), int(dated), updated.isoformat(), int(updated.timestamp()), zone_name, lang,
             content_hash(stored), _iso_utc(now), _iso_utc(now), stored.position, url, stored.id),
        )
        return stored


def _stored(row: tuple) -> StoredItem:
    parse = datetime.fromisoformat
    return StoredItem(
        id=row[0], link=row[1], title=row[2], summary=row[3], label=row[4], kind=row[5],
        published=parse(row[6]), dated=bool(row[7]), updated=parse(row[8]),
        first_seen=parse(row[10]), last_seen=parse(row[11]), changed_at=parse(row[12]) if row[12] else None,
        position=row[13], source=row[14], lang=row[15],
    )
