"""`spfeed status`: what the state database says about each feed and source, and the last runs.

For monitoring (Nagios, cron): no network, the database opened read-only (it works while a run
holds the lock), no file created. Exit 1 when a source has failed ``notify.failures_after`` reads
in a row, else 0 (fewer failures are a warning in the output). Imports no HTTP client.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from spfeed.config import Config, FeedSpec
from spfeed.errors import printable
from spfeed.model import FILES
from spfeed.store import http_key, open_readonly

#: What a source's health is called in the output: read fine, read with warnings or failing
#: fewer times than notify.failures_after, failing that often (exit 1), or never read yet.
HEALTH = ("ok", "warning", "failing", "unread")


@dataclass(frozen=True)
class SourceStatus:
    url: str
    health: str  #: one of HEALTH
    checked_at: str | None  #: UTC, ISO 8601: the last successful read (200 or 304)
    http_status: int | None  #: the last successful answer: 200, or 304 (not modified)
    etag: str | None
    last_modified: str | None
    final_url: str | None
    failed_at: str | None  #: UTC: the last failed read
    failure: str | None  #: its one-line message
    failures: int  #: failed reads in a row (0 after a success)
    on_page: int  #: items the source listed at its last successful read
    warnings: tuple[str, ...]  #: what the last reading of its page warned about
    warnings_at: str | None  #: when that reading was (the run's start, UTC)

    @property
    def not_modified(self) -> bool | None:
        return None if self.http_status is None else self.http_status == 304


@dataclass(frozen=True)
class FileStatus:
    format: str
    path: str
    published: str | None  #: the file's mtime (UTC), None when it does not exist


@dataclass(frozen=True)
class FeedStatus:
    name: str  #: "" for the single feed of a config without feeds:
    items: int  #: in the history
    newest: str | None  #: the newest item's published time
    files: tuple[FileStatus, ...]
    label_feeds: int  #: label feeds whose files exist
    label_feeds_published: str | None  #: the newest mtime among them
    sources: tuple[SourceStatus, ...]


@dataclass(frozen=True)
class RunStatus:
    id: int
    command: str
    started: str
    finished: str | None
    outcome: str | None  #: changed, unchanged, not-modified, failed, died; None while it runs
    exit_code: int | None
    new: int
    updated: int
    gone: int
    unchanged: int
    message: str | None


@dataclass(frozen=True)
class Status:
    state: str  #: the state database's path
    state_exists: bool
    failures_after: int
    feeds: tuple[FeedStatus, ...]
    runs: tuple[RunStatus, ...]

    @property
    def exit_code(self) -> int:
        """1 when a source has failed notify.failures_after reads in a row, else 0."""
        return 1 if any(s.health == "failing" for f in self.feeds for s in f.sources) else 0

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` object (its keys are documented in the README)."""
        data = asdict(self)
        data["exit_code"] = self.exit_code
        for feed, feed_status in zip(data["feeds"], self.feeds):
            feed["label_feeds"] = {"count": feed_status.label_feeds, "published": feed_status.label_feeds_published}
            del feed["label_feeds_published"]
            for source, source_status in zip(feed["sources"], feed_status.sources):
                source["not_modified"] = source_status.not_modified
                source["warnings"] = list(source_status.warnings)
        return data


def collect(config: Config, feeds: tuple[FeedSpec, ...], runs: int = 10) -> Status:
    """The status of *feeds* and the last *runs* runs, from the state database and the files."""
    store = open_readonly(config.state_path)
    after = config.notify.failures_after
    if store is None:
        return Status(str(config.state_path), False, after,
                      tuple(_feed(feed, {}, 0, None, {}, {}, {}, after) for feed in feeds), ())
    with store:
        keys = {(feed.name, s.url): http_key(feed.name, s.url) for feed in feeds for s in feed.sources}
        readings = store.last_readings(keys.values())
        feed_list = []
        for feed in feeds:
            rows = store.source_rows(feed.name)
            warnings = {s.url: readings.get(keys[feed.name, s.url]) for s in feed.sources}
            feed_list.append(_feed(feed, rows, store.item_count(feed.name), store.newest_published(feed.name),
                                   store.presence_counts(feed.name), warnings, store.labels(feed.name), after))
        recent = tuple(RunStatus(**row) for row in store.recent_runs(runs))
    return Status(str(config.state_path), True, after, tuple(feed_list), recent)


def _feed(feed: FeedSpec, rows: dict[str, dict], items: int, newest: str | None, presence: dict[str, int],
          readings: dict, labels: dict[str, str], after: int) -> FeedStatus:
    sources = tuple(_source(s.url, rows.get(s.url), presence.get(s.url, 0), readings.get(s.url), after)
                    for s in feed.sources)
    files = tuple(FileStatus(fmt, str(feed.path(fmt)), _mtime(feed.path(fmt)))
                  for fmt in feed.output.formats if fmt != "opml")
    label_times = [_mtime(feed.output.dir / "labels" / slug / FILES[fmt])
                   for slug in labels.values() for fmt in feed.output.formats if fmt != "opml"]
    label_feeds = sum(1 for slug in labels.values() if any(
        (feed.output.dir / "labels" / slug / FILES[fmt]).is_file() for fmt in feed.output.formats))
    times = [t for t in label_times if t]
    return FeedStatus(feed.name, items, newest, files, label_feeds, max(times) if times else None, sources)


def _source(url: str, row: dict | None, on_page: int, reading: tuple[str, list[str]] | None,
            after: int) -> SourceStatus:
    row = row or {}
    failures = int(row.get("failures") or 0)
    warnings = tuple(reading[1]) if reading else ()
    if failures >= after:
        health = "failing"
    elif failures or warnings:
        health = "warning"
    elif row.get("checked_at") is None:
        health = "unread"
    else:
        health = "ok"
    return SourceStatus(
        url=url, health=health, checked_at=row.get("checked_at"), http_status=row.get("status"),
        etag=row.get("etag"), last_modified=row.get("last_modified"), final_url=row.get("final_url"),
        failed_at=row.get("failed_at"), failure=row.get("failure"), failures=failures, on_page=on_page,
        warnings=warnings, warnings_at=reading[0] if reading else None,
    )


def _mtime(path: Path) -> str | None:
    try:
        seconds = path.stat().st_mtime
    except OSError:
        return None
    return datetime.fromtimestamp(int(seconds), timezone.utc).isoformat()


# -- output --------------------------------------------------------------------------------------


def render_json(status: Status) -> str:
    return json.dumps(status.to_dict(), ensure_ascii=True, sort_keys=True)


def render_text(status: Status) -> str:
    """A compact table per feed, then the runs; times in UTC."""
    out: list[str] = []
    if not status.state_exists:
        out.append(f"no runs yet ({status.state} does not exist)")
    for feed in status.feeds:
        published = [f for f in feed.files if f.published]
        when = max(f.published for f in published) if published else None
        head = (f"{feed.name or 'feed'}: {feed.items} item{'s' if feed.items != 1 else ''} in the history"
                f"{f', newest {_day(feed.newest)}' if feed.newest else ''}; "
                + (f"files published {_time(when)} ({', '.join(f.format for f in published)})" if when
                   else "no files published yet"))
        if feed.label_feeds:
            head += f"; {feed.label_feeds} label feed{'s' if feed.label_feeds != 1 else ''}"
        out.append(head)
        rows = [("health", "last read", "http", "failures", "on page", "validators", "source")]
        for s in feed.sources:
            validators = ", ".join(name for name, value in (("etag", s.etag), ("last-modified", s.last_modified))
                                   if value) or "-"
            rows.append((s.health, _time(s.checked_at), str(s.http_status or "-"), str(s.failures), str(s.on_page),
                         validators, s.url))
        out.extend("  " + line for line in _table(rows))
        for s in feed.sources:
            if s.failure and s.failures:
                out.append(f"  {s.url}: failed {_time(s.failed_at)} ({s.failures} in a row"
                           f"{'; alerting' if s.health == 'failing' else ''}): {printable(s.failure, 300)}")
            for warning in s.warnings:
                out.append(f"  {s.url}: warning ({_time(s.warnings_at)}): {printable(warning, 300)}")
    if status.runs:
        out.append(f"last {len(status.runs)} run{'s' if len(status.runs) != 1 else ''}:")
        rows = [("started", "command", "outcome", "exit", "new", "upd", "gone", "same", "message")]
        for r in status.runs:
            rows.append((_time(r.started), r.command, r.outcome or "running", "-" if r.exit_code is None else
                         str(r.exit_code), str(r.new), str(r.updated), str(r.gone), str(r.unchanged),
                         printable(r.message or "", 300)))
        out.extend("  " + line for line in _table(rows))
    elif status.state_exists:
        out.append("no runs yet")
    return "\n".join(out) + "\n"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def _time(iso: str | None) -> str:
    """An ISO time as ``2026-11-27 08:00 UTC``; "-" for none."""
    if not iso:
        return "-"
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _day(iso: str) -> str:
    """An item's published date, in its own zone (the day the page gave)."""
    return datetime.fromisoformat(iso).date().isoformat()
