"""The history: one SQLite file with every item ever seen (per feed), every run, and each source's
HTTP state.

The only module that speaks SQL. Each write is one transaction, so a run killed at any moment
leaves the previous state or the new one, never a mix. It decides nothing: the times it saves
come from :mod:`spfeed.decide`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, TypeVar

from spfeed.errors import StoreError
from spfeed.fsutil import NotAFile, make_folders, open_file, refuse_unless_regular
from spfeed.model import SourceState, Validators

__all__ = ["SCHEMA_VERSION", "SourceState", "Store", "content_hash"]

if TYPE_CHECKING:
    from spfeed.decide import Plan
    from spfeed.items import Item, StoredItem

SCHEMA_VERSION = 2

_SCHEMA_V1 = """
CREATE TABLE items (
    id           TEXT PRIMARY KEY,
    link         TEXT NOT NULL,
    title        TEXT NOT NULL,
    summary      TEXT,
    label        TEXT,
    kind         TEXT,
    published    TEXT NOT NULL,
    published_ts INTEGER NOT NULL,
    dated        INTEGER NOT NULL,
    updated      TEXT NOT NULL,
    updated_ts   INTEGER NOT NULL,
    zone         TEXT NOT NULL,
    lang         TEXT,
    content_hash TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    changed_at   TEXT,
    position     INTEGER NOT NULL,
    source       TEXT NOT NULL
);
CREATE INDEX items_newest ON items (published_ts DESC, position, id);
CREATE INDEX items_updated ON items (updated_ts);
CREATE TABLE presence (
    source  TEXT NOT NULL,
    item_id TEXT NOT NULL,
    PRIMARY KEY (source, item_id)
) WITHOUT ROWID;
CREATE TABLE sources (
    url           TEXT PRIMARY KEY,
    etag          TEXT,
    last_modified TEXT,
    body_hash     TEXT,
    fingerprint   TEXT,
    final_url     TEXT,
    lang          TEXT,
    checked_at    TEXT
);
CREATE TABLE runs (
    id        INTEGER PRIMARY KEY,
    command   TEXT NOT NULL,
    started   TEXT NOT NULL,
    finished  TEXT,
    outcome   TEXT,
    exit_code INTEGER,
    new       INTEGER NOT NULL DEFAULT 0,
    updated   INTEGER NOT NULL DEFAULT 0,
    gone      INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    message   TEXT,
    http      TEXT
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

#: Version 2: every item, presence row and source belongs to a feed; label feeds' slugs are kept.
_SCHEMA_V2 = """
CREATE TABLE items2 (
    feed         TEXT NOT NULL,     -- the feed's name ("" for the single feed of a config without feeds:)
    id           TEXT NOT NULL,     -- canonical absolute link; never changes
    link         TEXT NOT NULL,     -- the link as the page gives it (absolute)
    title        TEXT NOT NULL,
    summary      TEXT,              -- plain text, NULL when the page has none
    label        TEXT,              -- the page's label ("New ILO report"), a category
    kind         TEXT,              -- the word(s) before a bar on the date line, a category
    published    TEXT NOT NULL,     -- ISO 8601 with offset: the page's date, else first_seen
    published_ts INTEGER NOT NULL,  -- the same as Unix seconds, for ordering
    dated        INTEGER NOT NULL,  -- 1 when published comes from the page
    updated      TEXT NOT NULL,     -- ISO 8601: max(published, changed_at), unique within the feed
    updated_ts   INTEGER NOT NULL,
    zone         TEXT NOT NULL,     -- the source's time zone, for writing times of this item
    lang         TEXT,              -- the language of the page it was read from (<html lang>)
    content_hash TEXT NOT NULL,     -- sha256 of the fields a subscriber sees
    first_seen   TEXT NOT NULL,     -- UTC, ISO 8601
    last_seen    TEXT NOT NULL,     -- UTC: the last run that read it on its page
    changed_at   TEXT,              -- UTC: the last run that saw its text change upstream
    position     INTEGER NOT NULL,  -- its place in the listing when last seen (ties sort by it)
    source       TEXT NOT NULL,     -- the source URL it was last read from
    PRIMARY KEY (feed, id)
);
INSERT INTO items2 SELECT '', * FROM items;
DROP TABLE items;
ALTER TABLE items2 RENAME TO items;
CREATE INDEX items_newest ON items (feed, published_ts DESC, position, id);
CREATE INDEX items_updated ON items (feed, updated_ts);
CREATE INDEX items_label ON items (feed, label, published_ts DESC);
CREATE INDEX items_kind ON items (feed, kind, published_ts DESC);

CREATE TABLE presence2 (            -- which items each source of a feed listed at its last successful read
    feed    TEXT NOT NULL,
    source  TEXT NOT NULL,
    item_id TEXT NOT NULL,
    PRIMARY KEY (feed, source, item_id)
) WITHOUT ROWID;
INSERT INTO presence2 SELECT '', source, item_id FROM presence;
DROP TABLE presence;
ALTER TABLE presence2 RENAME TO presence;

CREATE TABLE sources2 (
    feed          TEXT NOT NULL,
    url           TEXT NOT NULL,
    etag          TEXT,             -- validators for conditional GET
    last_modified TEXT,
    body_hash     TEXT,             -- sha256 of the last body read: an unchanged page skips extraction
    fingerprint   TEXT,             -- what the extraction settings were when body_hash was taken
    final_url     TEXT,             -- after redirects
    lang          TEXT,             -- the page's <html lang>
    checked_at    TEXT,             -- UTC: the last successful fetch (200 or 304)
    status        INTEGER,          -- the last successful answer: 200 or 304
    failed_at     TEXT,             -- UTC: the last failed read
    failure       TEXT,             -- its one-line message
    failures      INTEGER NOT NULL DEFAULT 0,  -- failed reads in a row (0 after a success)
    PRIMARY KEY (feed, url)
);
INSERT INTO sources2 (feed, url, etag, last_modified, body_hash, fingerprint, final_url, lang, checked_at)
    SELECT '', url, etag, last_modified, body_hash, fingerprint, final_url, lang, checked_at FROM sources;
DROP TABLE sources;
ALTER TABLE sources2 RENAME TO sources;

CREATE TABLE labels (               -- each feed's labels and kinds, and the slug of their label feed
    feed  TEXT NOT NULL,
    label TEXT NOT NULL,
    slug  TEXT NOT NULL,            -- never changes once given
    PRIMARY KEY (feed, label),
    UNIQUE (feed, slug)
) WITHOUT ROWID;

CREATE TABLE pending (             -- announcements that failed, retried on the next runs
    id           INTEGER PRIMARY KEY,
    channel      TEXT NOT NULL,     -- "webhooks[0]", "email", "hubs[1]"...
    announcement TEXT NOT NULL,     -- JSON: what to send
    created      TEXT NOT NULL,     -- UTC
    attempts     INTEGER NOT NULL DEFAULT 1,
    reason       TEXT               -- why the last attempt failed
);

UPDATE meta SET key = key || ':' WHERE key IN ('render_pending', 'render_key')
"""


def _migrate_to_v2(conn: sqlite3.Connection) -> None:
    _run_script(conn, _SCHEMA_V2)
    from spfeed.decide import new_slugs

    rows = conn.execute(
        "SELECT label, kind FROM items WHERE feed = '' ORDER BY first_seen, position, id").fetchall()
    slugs = new_slugs({}, (c for row in rows for c in row if c))
    conn.executemany("INSERT INTO labels (feed, label, slug) VALUES ('', ?, ?)", slugs.items())


#: Migrations keyed by the version they start from; each brings the file one version up.
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    0: lambda conn: _run_script(conn, _SCHEMA_V1),
    1: _migrate_to_v2,
}


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run DDL statement by statement inside the caller's transaction (executescript would commit)."""
    for statement in script.split(";\n"):
        if statement.strip():
            conn.execute(statement)

_KEEP_RUNS = 5000  # older rows of the runs table are pruned

_ITEM_COLUMNS = (
    "id, link, title, summary, label, kind, published, dated, updated, zone, first_seen, last_seen, "
    "changed_at, position, source, lang, feed"
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


def http_key(feed: str, url: str) -> str:
    """The key of a feed's source in the runs table's ``http`` record."""
    return f"{feed} {url}" if feed else url


def content_hash(item: Item | StoredItem) -> str:
    """sha256 over the fields a subscriber sees; volatile ones (times seen, position) stay out."""
    published = item.published.isoformat() if item.published else ""
    fields = [item.link, item.title, item.summary or "", item.label or "", item.kind or "", published]
    return hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=256)  # a run's items share their moments (first seen, last seen)
def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


class Store:
    """An open state database. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.kept = False  #: opened to be kept between runs, in WAL mode (see :class:`KeptStore`)
        self.identity: tuple[int, int] | None = None  #: (device, inode) of the file opened

    @classmethod
    def open(cls, path: Path, *, kept: bool = False) -> Store:
        """Open (creating or migrating) the state file at *path*; never overwrites one it cannot read.

        Neither the file nor its side files (``-journal``, ``-wal``, ``-shm``) may be symbolic links
        or anything but regular files; a new file is created 0600, whatever the umask. *kept*: for
        :class:`KeptStore` (WAL mode, commits that do not wait for the disk but the plan's).
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
            # a kept store serves runs that the scheduler may start on different threads, one at a time
            conn = sqlite3.connect(path, isolation_level=None, timeout=5.0, check_same_thread=not kept)
        except sqlite3.Error as e:
            os.close(fd)
            raise StoreError(f"state database {path}: {e}") from e
        # SQLite opened the file by name: make sure it is the one just checked, not a link swapped
        # in meanwhile. Our descriptor is closed before SQLite takes any lock (closing one drops
        # all of the process's POSIX locks on the file).
        store = cls(conn, path)
        try:
            mine = os.fstat(fd)
            store.identity = (mine.st_dev, mine.st_ino)
        except OSError:
            pass
        finally:
            os.close(fd)
        if not store.is_at(path):
            conn.close()
            raise StoreError(f"state database {path} was replaced while it was being opened; refusing it")
        try:
            store._prepare(kept)
        except BaseException:
            conn.close()
            raise
        return store

    @_guard
    def _prepare(self, kept: bool = False) -> None:
        if kept:  # WAL needs a moment alone with the file: a reader (`status`) may have it; then not
            try:
                self.kept = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
            except sqlite3.OperationalError:
                self.kept = False
        self.conn.execute("PRAGMA synchronous = NORMAL" if self.kept else "PRAGMA synchronous = FULL")
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
        if self.kept:  # back to the rollback journal that one-off runs and `status` expect
            try:
                self.conn.execute("PRAGMA journal_mode = DELETE")
            except sqlite3.Error:
                pass  # another connection has the file: it stays in WAL mode, which works as well
        self.conn.close()

    def is_at(self, path: Path) -> bool:
        """Whether *path* still names the file this store has open (not moved, replaced or deleted)."""
        try:
            named = os.lstat(path)
        except OSError:
            return False
        return (named.st_dev, named.st_ino) == self.identity

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

    @contextmanager
    def _durable(self) -> Iterator[None]:
        """A kept store's transaction that waits for the disk, as every one of a one-off run does:
        what follows it (the feed files published, announcements sent) must never show what the
        history could lose."""
        if not self.kept:
            yield
            return
        self.conn.execute("PRAGMA synchronous = FULL")
        try:
            yield
        finally:
            self.conn.execute("PRAGMA synchronous = NORMAL")

    # -- reading ------------------------------------------------------------------------------------

    @_guard
    def source_state(self, feed: str, url: str) -> SourceState:
        row = self.conn.execute(
            "SELECT etag, last_modified, body_hash, fingerprint, final_url, lang FROM sources WHERE feed = ? AND url = ?",
            (feed, url),
        ).fetchone()
        if row is None:
            return SourceState()
        return SourceState(Validators(row[0], row[1]), row[2], row[3], row[4], row[5])

    @_guard
    def presence(self, feed: str) -> dict[str, set[str]]:
        """For each source of *feed*, the ids it listed at its last successful read."""
        found: dict[str, set[str]] = {}
        for source, item_id in self.conn.execute("SELECT source, item_id FROM presence WHERE feed = ?", (feed,)):
            found.setdefault(source, set()).add(item_id)
        return found

    @_guard
    def items(self, feed: str, ids: Iterable[str]) -> dict[str, StoredItem]:
        """The stored items of *feed* among *ids*."""
        ids = list(ids)
        found: dict[str, StoredItem] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE feed = ? AND id IN ({marks})",
                                     [feed, *chunk])
            for row in rows:
                found[row[0]] = _stored(row)
        return found

    @_guard
    def newest(self, feed: str, limit: int, label: str | None = None) -> list[StoredItem]:
        """The newest *limit* items of *feed* (with *label* as label or kind, when given), newest
        first, ties in page order. Reads only those rows, whatever the size of the history."""
        order = "ORDER BY published_ts DESC, position, id LIMIT ?"
        if label is None:
            rows = self.conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE feed = ? {order}", (feed, limit))
        else:
            rows = self.conn.execute(
                f"SELECT {_ITEM_COLUMNS} FROM items WHERE feed = ? AND (label = ? OR kind = ?) {order}",
                (feed, label, label, limit),
            )
        return [_stored(row) for row in rows]

    @_guard
    def taken_times(self, feed: str, since: int) -> list[int]:
        """The ``updated`` times (Unix seconds) of *feed*'s items from *since* on: what a new time
        must not collide with. One query, however many items the run brings."""
        return [row[0] for row in self.conn.execute(
            "SELECT updated_ts FROM items WHERE feed = ? AND updated_ts >= ?", (feed, since))]

    @_guard
    def labels(self, feed: str) -> dict[str, str]:
        """*feed*'s labels (and kinds) and their slugs."""
        return dict(self.conn.execute("SELECT label, slug FROM labels WHERE feed = ? ORDER BY slug", (feed,)))

    @_guard
    def has_items(self, feed: str) -> bool:
        return self.conn.execute("SELECT 1 FROM items WHERE feed = ? LIMIT 1", (feed,)).fetchone() is not None

    @_guard
    def failures(self, feed: str) -> dict[str, int]:
        """For each source of *feed*: how many reads in a row have failed."""
        return dict(self.conn.execute("SELECT url, failures FROM sources WHERE feed = ?", (feed,)))

    @_guard
    def pending(self) -> list[tuple[int, str, str, int]]:
        """Announcements still to deliver: (id, channel, announcement JSON, attempts so far)."""
        return self.conn.execute("SELECT id, channel, announcement, attempts FROM pending ORDER BY id").fetchall()

    @_guard
    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @_guard
    def metas(self, *keys: str) -> dict[str, str]:
        """The meta values of those of *keys* that are set, in one query."""
        marks = ",".join("?" * len(keys))
        return dict(self.conn.execute(f"SELECT key, value FROM meta WHERE key IN ({marks})", keys))

    # -- writing ------------------------------------------------------------------------------------

    @_guard
    def adopt(self, feed: str, urls: Iterable[str]) -> bool:
        """Give the history of the unnamed single feed to *feed*, when *feed* has none yet and reads
        one of the same *urls*: a config moved from ``feed:`` to ``feeds:`` keeps its history."""
        urls = list(urls)
        marks = ",".join("?" * len(urls))
        if not feed or self.has_items(feed) or not self.conn.execute(
                f"SELECT 1 FROM sources WHERE feed = '' AND url IN ({marks}) LIMIT 1", urls).fetchone():
            return False
        with self.transaction():
            for table in ("items", "presence", "sources", "labels"):
                self.conn.execute(f"UPDATE {table} SET feed = ? WHERE feed = ''", (feed,))
            for key in ("render_pending", "render_key"):
                self.conn.execute("UPDATE meta SET key = ? WHERE key = ?", (f"{key}:{feed}", f"{key}:"))
        return True

    @_guard
    def save_pending(self, failed: Iterable[tuple[str, str, str]], retried: Iterable[tuple[int, str | None]],
                     now: datetime) -> None:
        """Keep new failed deliveries ((channel, announcement JSON, reason)), and settle retried
        ones ((id, None) delivered: removed; (id, reason) failed again). Durable, as a plan is: an
        announcement must be neither lost nor sent twice."""
        with self._durable(), self.transaction():
            self.conn.executemany(
                "INSERT INTO pending (channel, announcement, created, reason) VALUES (?, ?, ?, ?)",
                [(channel, data, _iso_utc(now), reason) for channel, data, reason in failed])
            for row_id, reason in retried:
                if reason is None:
                    self.conn.execute("DELETE FROM pending WHERE id = ?", (row_id,))
                else:
                    self.conn.execute("UPDATE pending SET attempts = attempts + 1, reason = ? WHERE id = ?",
                                      (reason, row_id))

    @_guard
    def mark_rendered(self, feed: str, key: str) -> None:
        """*feed*'s files now match the history, rendered with settings *key*."""
        with self.transaction():
            self._set_meta(f"render_pending:{feed}", None)
            self._set_meta(f"render_key:{feed}", key)

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
            for record in (http or {}).values():
                self._note_source(record, finished)

    def _note_source(self, record: dict, at: datetime) -> None:
        """What a run's fetch of one source said, for `status`: a 304, or a failure in a row."""
        feed, url, status = record.get("feed"), record.get("url"), record.get("status")
        if feed is None or url is None:
            return
        if status == "failed":
            self.conn.execute(
                "INSERT INTO sources (feed, url, failed_at, failure, failures) VALUES (?, ?, ?, ?, 1) "
                "ON CONFLICT (feed, url) DO UPDATE SET failed_at = excluded.failed_at, failure = excluded.failure, "
                "failures = failures + 1", (feed, url, _iso_utc(at), record.get("message")))
        else:
            self.conn.execute(
                "INSERT INTO sources (feed, url, checked_at, status, failures) VALUES (?, ?, ?, ?, 0) "
                "ON CONFLICT (feed, url) DO UPDATE SET checked_at = excluded.checked_at, status = excluded.status, "
                "failures = 0", (feed, url, _iso_utc(at), status))

    @_guard
    def save_source(self, feed: str, url: str, state: SourceState, checked_at: datetime, status: int = 200) -> None:
        """Remember a source's validators and body hash after a successful fetch (200 or 304)."""
        with self.transaction():
            self._save_source(feed, url, state, checked_at, status)

    def _save_source(self, feed: str, url: str, state: SourceState, checked_at: datetime, status: int) -> None:
        self.conn.execute(
            "INSERT INTO sources (feed, url, etag, last_modified, body_hash, fingerprint, final_url, lang, checked_at, "
            "status, failures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT (feed, url) DO UPDATE SET "
            "etag = excluded.etag, last_modified = excluded.last_modified, body_hash = excluded.body_hash, "
            "fingerprint = excluded.fingerprint, final_url = excluded.final_url, lang = excluded.lang, "
            "checked_at = excluded.checked_at, status = excluded.status, failures = 0",
            (feed, url, state.validators.etag, state.validators.last_modified, state.body_hash, state.fingerprint,
             state.final_url, state.lang, _iso_utc(checked_at), status),
        )

    @_guard
    def save(self, plan: Plan, now: datetime, zones: dict[str, str]) -> None:
        """Save one feed's decided *plan* in one transaction and mark the feed as due for rendering.

        *zones* maps each source URL to its time zone's name (kept with the item for writing its times).
        """
        feed = plan.feed
        written = (*plan.new, *(u for u, _ in plan.updated))
        with self._durable(), self.transaction():
            self.conn.executemany(
                f"INSERT OR REPLACE INTO items ({_WRITE_COLUMNS}) VALUES ({','.join('?' * _WRITE_COUNT)})",
                [_row(s, zones[s.source]) for s in written],
            )
            fresh = {s.id for s in written}  # written just now with this run's sighting
            self.conn.executemany(
                "UPDATE items SET last_seen = ?, position = ?, source = ? WHERE feed = ? AND id = ?",
                [(_iso_utc(now), position, url, feed, item_id) for item_id, position, url in plan.seen
                 if item_id not in fresh],
            )
            for url, ids in plan.presence.items():
                self.conn.execute("DELETE FROM presence WHERE feed = ? AND source = ?", (feed, url))
                self.conn.executemany(
                    "INSERT OR IGNORE INTO presence (feed, source, item_id) VALUES (?, ?, ?)",
                    [(feed, url, i) for i in ids],
                )
            for url, state in plan.sources.items():
                self._save_source(feed, url, state, now, 200)
            self.conn.executemany("INSERT OR IGNORE INTO labels (feed, label, slug) VALUES (?, ?, ?)",
                                  [(feed, label, slug) for label, slug in plan.labels.items()])
            self._set_meta(f"render_pending:{feed}", "1")


    # -- read-only queries, for `spfeed status` (they work on a connection from open_readonly) ----------

    @_guard
    def read_version(self) -> int:
        """``PRAGMA user_version``; reading it also proves the file is an SQLite database."""
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    @_guard
    def source_rows(self, feed: str) -> dict[str, dict]:
        """Every column of *feed*'s rows in the sources table, by URL."""
        cur = self.conn.execute("SELECT * FROM sources WHERE feed = ?", (feed,))
        names = [d[0] for d in cur.description]
        return {row[names.index("url")]: dict(zip(names, row)) for row in cur}

    @_guard
    def item_count(self, feed: str) -> int:
        return int(self.conn.execute("SELECT count(*) FROM items WHERE feed = ?", (feed,)).fetchone()[0])

    @_guard
    def newest_published(self, feed: str) -> str | None:
        """The ``published`` time (ISO 8601) of *feed*'s newest item, or None when it has none."""
        row = self.conn.execute("SELECT published FROM items WHERE feed = ? ORDER BY published_ts DESC, position, id "
                                "LIMIT 1", (feed,)).fetchone()
        return row[0] if row else None

    @_guard
    def presence_counts(self, feed: str) -> dict[str, int]:
        """For each source of *feed*: how many items it listed at its last successful read."""
        return dict(self.conn.execute("SELECT source, count(*) FROM presence WHERE feed = ? GROUP BY source", (feed,)))

    @_guard
    def recent_runs(self, limit: int) -> list[dict]:
        """The last *limit* rows of the runs table, newest first, every column but ``http``."""
        cur = self.conn.execute("SELECT id, command, started, finished, outcome, exit_code, new, updated, gone, "
                                "unchanged, message FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur]

    @_guard
    def last_readings(self, keys: Iterable[str], scan: int = 1000) -> dict[str, tuple[str, list[str]]]:
        """For each source key (as the runs' ``http`` records name them), the start time of the last
        run that read its page (not a 304 or an unchanged body) and the warnings that reading gave.
        Looks back at most *scan* runs."""
        wanted, found = set(keys), {}
        cur = self.conn.execute("SELECT started, http FROM runs WHERE http IS NOT NULL ORDER BY id DESC LIMIT ?", (scan,))
        for started, text in cur:
            try:
                records = json.loads(text)
            except ValueError:
                continue
            for key in wanted - found.keys():
                record = records.get(key) if isinstance(records, dict) else None
                if isinstance(record, dict) and isinstance(record.get("warnings"), list):
                    found[key] = (started, [str(w) for w in record["warnings"]])
            if found.keys() >= wanted:
                break
        return found


_WRITE_COLUMNS = (
    "feed, id, link, title, summary, label, kind, published, published_ts, dated, updated, updated_ts, zone, lang, "
    "content_hash, first_seen, last_seen, changed_at, position, source"
)
_WRITE_COUNT = _WRITE_COLUMNS.count(",") + 1


def _row(s: StoredItem, zone_name: str) -> tuple:
    return (s.feed, s.id, s.link, s.title, s.summary, s.label, s.kind, s.published.isoformat(),
            int(s.published.timestamp()), int(s.dated), s.updated.isoformat(), int(s.updated.timestamp()), zone_name,
            s.lang, content_hash(s), _iso_utc(s.first_seen), _iso_utc(s.last_seen),
            _iso_utc(s.changed_at) if s.changed_at else None, s.position, s.source)


def _stored(row: tuple) -> StoredItem:
    from spfeed.items import StoredItem

    parse = datetime.fromisoformat
    return StoredItem(
        id=row[0], link=row[1], title=row[2], summary=row[3], label=row[4], kind=row[5],
        published=parse(row[6]), dated=bool(row[7]), updated=parse(row[8]),
        first_seen=parse(row[10]), last_seen=parse(row[11]), changed_at=parse(row[12]) if row[12] else None,
        position=row[13], source=row[14], lang=row[15], feed=row[16],
    )


class KeptStore:
    """The state database of a long-running process (`spfeed run`), opened once and kept between
    its runs, in WAL mode with ``synchronous=NORMAL``: a run's commits then cost no wait for the
    disk, but those that save a feed's new history (before its files are published) and the
    announcements still to deliver. A power cut may lose the bookkeeping of the last run (its row
    in the runs table, a source's validators), which the next run redoes; never an item a
    published file shows. See the README's "Durability of the state database".

    :meth:`open` is called with the run lock held, which keeps the runs (on whichever thread) one
    at a time. The file is opened again when *path* no longer names it (moved or replaced), and
    after a run that failed on the store.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: Store | None = None

    def open(self) -> Store:
        store = self._store
        if store is not None and (store.conn.in_transaction or not store.is_at(self.path)):
            self.forget()
            store = None
        if store is None:
            store = self._store = Store.open(self.path, kept=True)
        return store

    def forget(self) -> None:
        """Close the store (after an error on it): the next :meth:`open` opens the file again."""
        store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except sqlite3.Error:
                pass

    close = forget


# -- read-only queries for `spfeed status` ----------------------------------------------------------


def open_readonly(path: Path) -> Store | None:
    """The state database at *path* opened read-only (SQLite's ``mode=ro``), or None when there is
    no such file. Creates nothing, takes no lock file and migrates nothing, so it works while a run
    holds the lock; a file from another schema version is a StoreError."""
    from urllib.parse import quote

    if not path.exists():
        return None
    try:
        refuse_unless_regular(path)
        conn = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True, timeout=5.0)
    except NotAFile as e:
        raise StoreError(str(e)) from None
    except sqlite3.Error as e:
        raise StoreError(f"state database {path}: {e}") from None
    store = Store(conn, path)
    try:
        version = store.read_version()
    except BaseException:
        conn.close()
        raise
    if version != SCHEMA_VERSION:
        conn.close()
        if version > SCHEMA_VERSION:
            raise StoreError(f"state database {path} has schema version {version}, newer than this spfeed knows "
                             f"({SCHEMA_VERSION}); upgrade spfeed")
        raise StoreError(f"state database {path} has schema version {version}, from an older spfeed; the next "
                         "`spfeed update` migrates it")
    return store
