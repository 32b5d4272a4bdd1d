"""The runs: `update`, `backfill`, `regenerate` and `check`, wiring fetch, read (extract and
normalise), decide, store, views and publish, for each feed of the config.

I/O lives in the stages it belongs to; this module decides what to do. The clock is passed in.
An unchanged page takes the cheap path: one conditional GET (or one hash of the body) and a
row in the runs table; nothing is parsed, rendered or written.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from spfeed import __version__
from spfeed.config import LANGUAGE_TAG, Config, FeedSpec, HttpSettings, Source
from spfeed.errors import FetchError, HealthError, Interrupted, PublishError, SpfeedError, StoreError
from spfeed.fetch import fetch
from spfeed.lock import exclusive
from spfeed.model import FILES, RunReport, SourceState
from spfeed.store import KeptStore, Store, http_key

if TYPE_CHECKING:  # the types of a run that reads or renders a page: not imported by an unchanged one
    from spfeed.items import FeedMeta, Item, Links, Page, StoredItem
    from spfeed.read import Checked, Reading

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
#: Called after each page a source's reading takes: (source, page number, items so far).
Progress = Callable[[Source, int, int], None]

#: A backfill's summary lists at most this many new (and updated, and gone) items and warnings,
#: and counts the rest: a walk over a long archive stays in bounded memory.
REPORT_CAP = 1000

#: `backfill` without --max-pages still stops somewhere (a listing that never ends is a bug).
BACKFILL_PAGE_LIMIT = 10_000


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@functools.lru_cache(maxsize=256)  # `spfeed run` fingerprints the same sources every few hours
def fingerprint(source: Source) -> str:
    """What the extraction of *source* depends on besides the page: a changed setting or a new
    spfeed version reads an unchanged page again."""
    return hashlib.sha256(repr((replace(source, key=""), __version__)).encode()).hexdigest()[:16]


def render_key(feed: FeedSpec) -> str:
    """What a feed's files depend on besides the items: a changed setting renders them again."""
    return _render_key(feed.settings, feed.output)


@functools.lru_cache(maxsize=256)
def _render_key(settings, output) -> str:
    return hashlib.sha256(repr((settings, output, __version__)).encode()).hexdigest()[:16]


# -- commands ------------------------------------------------------------------------------------


def update(config: Config, now: Clock = utc_now, stop: threading.Event | None = None,
           feeds: Sequence[str] | None = None, kept: KeptStore | None = None) -> RunReport:
    """One pass of the pipeline over every source of every feed (or of the *feeds* named).
    *kept*: the state database as `spfeed run` keeps it open between its runs."""
    chosen = config.select(feeds)
    with exclusive(config.state_path, config.lock_timeout):
        store = kept.open() if kept is not None else Store.open(config.state_path)
        try:
            def work(run_http: dict) -> RunReport:
                started = now()
                return _each_feed(config, store, chosen, now, run_http,
                                  lambda feed: _update(config, feed, store, started, now, stop, run_http))

            return _recorded(store, "update", now, work)
        except StoreError:
            if kept is not None:
                kept.forget()  # opened again by the next run
            raise
        finally:
            if kept is None:
                store.close()


def backfill(config: Config, max_pages: int | None = None, now: Clock = utc_now, stop: threading.Event | None = None,
             progress: Progress | None = None, feeds: Sequence[str] | None = None) -> RunReport:
    """Walk each source's whole listing once (until there is no next page, or *max_pages*) to fill
    the history, then publish. What counts as "on the page" stays the first ``max_pages`` of the
    source's config, so the next `update` does not report the archive as gone.

    The walk is stored as it goes, a transaction per page (the first ``max_pages`` pages in one),
    and holds no more than those pages in memory: a backfill that is stopped (*stop* set), fails or
    reaches its page cap keeps what it read, and publishes it."""
    limit = max_pages or BACKFILL_PAGE_LIMIT
    chosen = config.select(feeds)
    with exclusive(config.state_path, config.lock_timeout), Store.open(config.state_path) as store:
        def one(feed: FeedSpec, run_http: dict) -> RunReport:
            walked = _Backfilled()
            failures: list[str] = []
            exit_code = 0
            for source in feed.sources:
                if stop is not None and stop.is_set():
                    failures.append(f"{feed.label}: backfill stopped before {source.url} was read")
                    exit_code = Interrupted.exit_code
                    break
                try:
                    page = fetch(source.url, config.http, None, stop)
                    assert page is not None  # no validators sent, so never a 304
                    run_http[_http_key(feed, source)] = _http_record(feed, source, page)
                    state = SourceState(page.validators, _hash(page), fingerprint(source), page.final_url)
                    _backfill_source(config, feed, source, page, state, store, stop, limit, progress, now, walked)
                except (FetchError, HealthError) as e:
                    run_http[_http_key(feed, source)] = _failure_record(feed, source, e)
                    failures.append(str(e))
                    exit_code = max(exit_code, e.exit_code)
                except Interrupted:
                    failures.append(f"{source.url}: backfill stopped after {walked.pages.get(source.url, 0)} page(s); "
                                    "the items read are kept (run backfill again for the rest)")
                    exit_code = max(exit_code, Interrupted.exit_code)
                    break
            listed = set().union(*_listed(feed, store).values())
            changed = {s.id for s in walked.new} | {s.id for s, _ in walked.updated}
            report = RunReport(new=tuple(walked.new), updated=tuple(walked.updated), gone=tuple(walked.gone),
                               unchanged=len(listed - changed), warnings=tuple(walked.warnings),
                               failures=tuple(failures), exit_code=exit_code, left_out=tuple(walked.left_out))
            if not _needs_render(feed, store):
                return report
            return replace(report, written=tuple(_publish(feed, store, empty_ok=True)))

        return _recorded(store, "backfill", now,
                         lambda run_http: _each_feed(config, store, chosen, now, run_http,
                                                     lambda feed: one(feed, run_http)))


class _Backfilled:
    """What a feed's backfill has recorded so far: the summary's items, not the pages read."""

    def __init__(self) -> None:
        self.new: list[StoredItem] = []
        self.updated: list[tuple[StoredItem, tuple[str, ...]]] = []
        self.gone: list[StoredItem] = []
        self.warnings: list[str] = []
        self.recorded: set[str] = set()  #: ids stored this run: their first version wins
        self.pages: dict[str, int] = {}  #: pages read, by source URL
        self.left_out = [0, 0, 0]  #: new, updated, gone past REPORT_CAP

    def keep(self, done: RunReport) -> None:
        """Add one batch's items to the summary, up to REPORT_CAP of each kind; count the rest."""
        for i, (kept, found) in enumerate(((self.new, done.new), (self.updated, done.updated),
                                           (self.gone, done.gone))):
            room = max(0, REPORT_CAP - len(kept))
            kept.extend(found[:room])
            self.left_out[i] += max(0, len(found) - room)

    def warn(self, lines) -> None:
        """Keep a page's warnings, up to REPORT_CAP lines in all."""
        self.warnings.extend(lines[: max(0, REPORT_CAP - len(self.warnings))])


def _backfill_source(config: Config, feed: FeedSpec, source: Source, first: Page, state: SourceState, store: Store,
                     stop: threading.Event | None, limit: int, progress: Progress | None, now: Clock,
                     walked: _Backfilled) -> None:
    """Walk *source*'s listing and record it into *walked* as it goes: the first ``source.max_pages``
    pages together (they are what `update` watches, its presence), then each page on its own. An
    item already recorded this run (on an earlier page or source) keeps its first version, as a
    merged reading would. Whatever ends the walk, what was read before is stored."""
    from spfeed.read import Reading, Walk

    walk = Walk(config, source, first, stop, limit, now())
    batch: list[Item] = []
    listed: set[str] = set()
    watched_done = False  #: the first max_pages pages have been recorded
    read = 0

    def flush(partial: bool) -> None:
        nonlocal batch, listed, watched_done
        fresh = [item for item in batch if item.id not in walked.recorded]
        if fresh or not watched_done:
            reading = Reading(source, fresh, listed, replace(state, lang=walk.lang), partial=partial or watched_done)
            done = _record(feed, store, [reading], now(), RunReport(), first_position=len(walked.recorded))
            walked.keep(done)
            walked.recorded.update(item.id for item in fresh)
        batch, listed, watched_done = [], set(), True

    from spfeed.diff import placed

    try:
        for page in walk:
            walked.pages[source.url] = page.number
            walked.warn(page.warnings)
            batch.extend(placed(item, len(batch) + i) for i, item in enumerate(page.items))
            if page.number <= source.max_pages:
                listed.update(item.id for item in page.items)
            read += len(page.items)
            if page.number >= source.max_pages:
                flush(partial=False)
            if progress is not None:
                progress(source, page.number, read)
    except Interrupted:
        flush(partial=True)
        raise
    flush(partial=walk.partial)
    walked.warnings.extend(walk.notes)


def regenerate(config: Config, now: Clock = utc_now, feeds: Sequence[str] | None = None) -> RunReport:
    """Rebuild every file of every feed (or of the *feeds* named) from the history, with no network.
    It reads no page, so it compiles no selector (`spfeed validate` checks them)."""
    chosen = config.select(feeds)
    with exclusive(config.state_path, config.lock_timeout), Store.open(config.state_path) as store:
        def work(run_http: dict) -> RunReport:
            written: list[str] = []
            for feed in chosen:
                _adopt(store, feed)
                written += _publish(feed, store)
            written += _publish_top(config, store)
            return RunReport(written=tuple(written))

        return _recorded(store, "regenerate", now, work)


def check(http: HttpSettings, sources: tuple[Source, ...], where: str) -> list[Checked]:
    """Fetch and read the first page of each of *sources* as `update` would, touching no state and
    publishing nothing. *where* names the selectors' origin in messages (the config file)."""
    from spfeed.encoding import decode_html
    from spfeed.read import Checked
    from spfeed.extract import check_source_selectors, extract
    from spfeed.health import problems
    from spfeed.normalise import normalise

    results = []
    for source in sources:
        check_source_selectors(source, where)
        page = fetch(source.url, http)
        assert page is not None
        text, _ = decode_html(page.body, page.charset)
        listing = extract(text, page.final_url, source.selectors, source.base_url, detect=source.detect)
        seen = utc_now()
        pairs = tuple((raw, normalise(raw, source.timezone, seen=seen, date_order=source.date_order))
                      for raw in listing.items)
        usable = [item for _, item in pairs if item is not None]
        results.append(Checked(source, page, listing, pairs, tuple(problems(source, listing, usable))))
    return results


# -- the runs' parts -----------------------------------------------------------------------------


def _recorded(store: Store, command: str, now: Clock, work: Callable[[dict], RunReport]) -> RunReport:
    """Run *work* with a row in the runs table that says how it ended, and each source's outcome."""
    run_id = store.start_run(command, now())
    run_http: dict = {}
    try:
        report = work(run_http)
    except BaseException as e:
        code = e.exit_code if isinstance(e, SpfeedError) else 1
        try:
            store.finish_run(run_id, now(), "failed", code, message=str(e) or type(e).__name__, http=run_http)
        except SpfeedError:
            pass  # the store itself is the problem; the original error says more
        raise
    if report.failures:
        outcome = "failed"
    elif report.new or report.updated or report.gone or report.written:
        outcome = "changed"
    else:
        outcome = "not-modified" if report.not_modified else "unchanged"
    new, updated, gone = report.counts()
    store.finish_run(
        run_id, now(), outcome, report.exit_code, new=new, updated=updated,
        gone=gone, unchanged=report.unchanged, message="; ".join(report.failures) or None, http=run_http,
    )
    return report


def _each_feed(config: Config, store: Store, feeds: Sequence[FeedSpec], now: Clock, run_http: dict,
               one: Callable[[FeedSpec], RunReport]) -> RunReport:
    """Run *one* for each feed, publish the top-level files when a feed's files changed, then
    announce what changed. A feed that fails (its folder cannot be written, say) does not stop
    the others."""
    watched = config.notifies
    failures_before = {feed.name: store.failures(feed.name) for feed in feeds} if watched else {}
    reports = []
    for feed in feeds:
        _adopt(store, feed)
        try:
            reports.append(one(feed))
        except PublishError as e:
            reports.append(RunReport(failures=(str(e),), exit_code=e.exit_code))
    report = _combine(reports)
    if report.written or _top_missing(config):
        try:
            report = replace(report, written=report.written + tuple(_publish_top(config, store)))
        except PublishError as e:
            report = replace(report, failures=report.failures + (str(e),),
                             exit_code=max(report.exit_code, e.exit_code))
    if watched or any(feed.settings.hubs for feed in feeds):
        notes = _announce(config, store, list(zip(feeds, reports)), failures_before, run_http, now())
        report = replace(report, warnings=report.warnings + tuple(notes))
    return report


def _announce(config: Config, store: Store, done: Sequence[tuple[FeedSpec, RunReport]],
              failures_before: dict[str, dict[str, int]], run_http: dict, now: datetime) -> list[str]:
    """Tell the configured channels (and WebSub hubs) what each feed's run changed, and retry what
    failed before. A failed delivery is a warning and stays pending; it never fails the run.
    Imports nothing under announce/ when there is nothing to say."""
    pending = store.pending()
    announcements = [a for feed, report in done if (a := _announcement(config, feed, report, failures_before,
                                                                      run_http)) is not None]
    if not announcements and not pending:
        return []
    import json

    from spfeed.announce import Announcement, deliver, deliver_one

    agent = config.http.user_agent
    notes, failed, retried = [], [], []
    for row_id, channel, data, attempts in pending:
        announcement = Announcement.from_dict(json.loads(data))
        failure = deliver_one(config.notify, channel, announcement, user_agent=agent)
        if failure is not None and "no such channel" in failure.reason:
            log.info("dropped a pending announcement for %s: the channel is no longer configured", channel)
            failure = None
        retried.append((row_id, None if failure is None else failure.reason))
        if failure is not None:
            notes.append(f"announce: {announcement.feed or 'the feed'}: {failure} (attempt {attempts + 1}; "
                         "retried on the next run)")
    for announcement in announcements:
        for failure in deliver(config.notify, announcement, user_agent=agent):
            failed.append((failure.channel, json.dumps(announcement.to_dict(), sort_keys=True), failure.reason))
            notes.append(f"announce: {announcement.feed or 'the feed'}: {failure} (kept; retried on the next run)")
    store.save_pending(failed, retried, now)
    return notes


def _announcement(config: Config, feed: FeedSpec, report: RunReport, failures_before: dict[str, dict[str, int]],
                  run_http: dict):
    """What to announce of one feed's run, or None: its item events, each source's failure or
    recovery (once, after notify.failures_after failed reads in a row), and its changed feed files."""
    events = {name for name, items in (("new", report.new), ("updated", report.updated), ("gone", report.gone))
              if items}
    if feed.name in failures_before:
        before = failures_before[feed.name]
        after = config.notify.failures_after
        for source in feed.sources:
            record = run_http.get(_http_key(feed, source))
            if record is None:
                continue
            failed = record.get("status") == "failed"
            previous = before.get(source.url, 0)
            if failed and previous + 1 == after:
                events.add("failure")
            elif not failed and previous >= after:
                events.add("recovery")
    changed = _self_urls(feed, report.written) if feed.settings.hubs else ()
    if not events and not changed:
        return None
    from spfeed.announce import Announcement, document

    return Announcement(feed=feed.name, events=frozenset(events), document=document(report, feed.name),
                        changed_urls=changed, hubs=feed.settings.hubs)


def _self_urls(feed: FeedSpec, written: Sequence[str]) -> tuple[str, ...]:
    """The URLs of the feed documents (RSS, Atom, JSON Feed; label feeds too) among *written*."""
    urls = []
    for path in map(Path, written):
        if path.name in (FILES["rss"], FILES["atom"], FILES["json"]):
            try:
                relative = path.relative_to(feed.output.dir)
            except ValueError:
                continue
            urls.append(feed.settings.base_url + relative.as_posix())
    return tuple(urls)


def _combine(reports: Sequence[RunReport]) -> RunReport:
    """One report for the run from the feeds' reports."""
    if len(reports) == 1:
        return reports[0]
    return RunReport(
        new=tuple(i for r in reports for i in r.new),
        updated=tuple(u for r in reports for u in r.updated),
        gone=tuple(g for r in reports for g in r.gone),
        unchanged=sum(r.unchanged for r in reports),
        written=tuple(w for r in reports for w in r.written),
        not_modified=all(r.not_modified for r in reports),
        warnings=tuple(w for r in reports for w in r.warnings),
        failures=tuple(f for r in reports for f in r.failures),
        exit_code=max((r.exit_code for r in reports), default=0),
        left_out=tuple(sum(r.left_out[i] for r in reports) for i in range(3)),  # type: ignore[arg-type]
    )


def _adopt(store: Store, feed: FeedSpec) -> None:
    if feed.name and store.adopt(feed.name, [s.url for s in feed.sources]):
        log.warning("%s: took over the history of the single feed this state held before (same sources)", feed.name)


def _update(config: Config, feed: FeedSpec, store: Store, started: datetime, now: Clock,
            stop: threading.Event | None, run_http: dict) -> RunReport:
    readings: list[Reading] = []
    failures: list[SpfeedError] = []
    not_modified = 0
    for source in feed.sources:
        _check_stop(stop)
        try:
            reading = _read_source(config, feed, source, store, started, stop, run_http)
        except (FetchError, HealthError) as e:
            log.info("%s", e)
            run_http[_http_key(feed, source)] = _failure_record(feed, source, e)
            failures.append(e)
            continue
        if reading is None:
            not_modified += 1
        else:
            readings.append(reading)
    return _finish(feed, store, readings, failures, now, not_modified=not_modified == len(feed.sources))


def _finish(feed: FeedSpec, store: Store, readings: list[Reading], failures: list[SpfeedError], now: Clock,
            not_modified: bool) -> RunReport:
    """Record what was read and publish when the feed may have changed."""
    warnings = tuple(w for r in readings for w in r.warnings)
    report = RunReport(
        failures=tuple(str(e) for e in failures),
        exit_code=max((e.exit_code for e in failures), default=0),
        warnings=warnings,
        not_modified=not_modified,
        unchanged=len(set().union(*_listed(feed, store).values())),
    )
    if not readings and not _needs_render(feed, store):
        return report
    if readings:
        report = _record(feed, store, readings, now(), report)
    return replace(report, written=tuple(_publish(feed, store, empty_ok=True)))


def _check_stop(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise Interrupted("stopped before the run finished; nothing was published")


def _hash(page: Page) -> str:
    return hashlib.sha256(page.body).hexdigest()


def _http_key(feed: FeedSpec, source: Source) -> str:
    """The key of a source in the runs table's ``http`` record."""
    return http_key(feed.name, source.url)


def _http_record(feed: FeedSpec, source: Source, page: Page) -> dict:
    return {"feed": feed.name, "url": source.url, "status": 200, "final_url": page.final_url,
            "etag": page.validators.etag, "last_modified": page.validators.last_modified}


def _failure_record(feed: FeedSpec, source: Source, error: SpfeedError) -> dict:
    return {"feed": feed.name, "url": source.url, "status": "failed", "message": str(error)}


def _read_source(config: Config, feed: FeedSpec, source: Source, store: Store, started: datetime,
                 stop: threading.Event | None, run_http: dict) -> Reading | None:
    """Fetch *source*; None when its page is unchanged (304, or the same bytes as last time)."""
    known = store.source_state(feed.name, source.url)
    key = fingerprint(source)
    conditional = known.validators if known.fingerprint == key else None
    page = fetch(source.url, config.http, conditional, stop)
    if page is None:
        run_http[_http_key(feed, source)] = {"feed": feed.name, "url": source.url, "status": 304,
                                             "etag": known.validators.etag,
                                             "last_modified": known.validators.last_modified}
        return None
    run_http[_http_key(feed, source)] = _http_record(feed, source, page)
    state = SourceState(page.validators, _hash(page), key, page.final_url, known.lang)
    if state.body_hash == known.body_hash and key == known.fingerprint:
        log.info("%s: unchanged (same content as last time)", source.url)
        if page.validators != known.validators:
            store.save_source(feed.name, source.url, state, started)
        return None
    from spfeed.read import read_pages

    reading = read_pages(config, source, page, state, stop, source.max_pages, source.max_pages, seen=started)
    run_http[_http_key(feed, source)]["warnings"] = list(reading.warnings)  # for `spfeed status`
    return reading


def _listed(feed: FeedSpec, store: Store) -> dict[str, set[str]]:
    """For each source of *feed*, the ids it listed at its last read."""
    presence = store.presence(feed.name)
    return {s.url: presence.get(s.url, set()) for s in feed.sources}


def _record(feed: FeedSpec, store: Store, readings: list[Reading], now: datetime, report: RunReport,
            first_position: int = 0) -> RunReport:
    """Decide what the readings do to the feed's history, save it, and say what changed.
    *first_position* is the merged position of the readings' first item (a backfill records its
    walk in parts)."""
    from spfeed.decide import decide
    from spfeed.diff import merge, placed

    listed_before = _listed(feed, store)
    priority = {s.url: i for i, s in enumerate(feed.sources)}
    read = {r.source.url for r in readings}
    listed_now = {url: ids for url, ids in listed_before.items() if url not in read}
    for r in readings:
        listed_now[r.source.url] = r.listed | (listed_before[r.source.url] if r.partial else set())
    # An item also listed by a higher-priority source that was not read this run keeps that
    # source's version: otherwise two differing versions would flip-flop as "updated".
    owner: dict[str, int] = {}
    for url, ids in listed_before.items():
        if url not in read:
            for item_id in ids:
                owner[item_id] = min(owner.get(item_id, priority[url]), priority[url])
    origin: dict[str, tuple[str, str, str | None]] = {}
    for r in readings:
        for item in r.items:
            origin.setdefault(item.id, (r.source.url, r.source.timezone, language_tag(r.state.lang)))
    merged = [placed(i, first_position + i.position) for i in merge(r.items for r in readings)
              if owner.get(i.id, len(priority)) >= priority[origin[i.id][0]]]
    listed = set().union(*listed_now.values())
    gone_ids = set().union(*listed_before.values()) - listed
    known = store.items(feed.name, [i.id for i in merged] + sorted(gone_ids))
    gone = sorted((known[g] for g in gone_ids if g in known), key=lambda s: (-s.published.timestamp(), s.position))
    earliest = min((int(i.published.timestamp()) for i in merged if i.published is not None), default=0)
    earliest = min(earliest, int(now.timestamp()))
    plan = decide(feed.name, merged, known, gone, origin, store.taken_times(feed.name, earliest),
                  store.labels(feed.name), now, presence={url: tuple(sorted(listed_now[url])) for url in read},
                  sources={r.source.url: r.state for r in readings})
    store.save(plan, now, {s.url: s.timezone for s in feed.sources})
    changed = {s.id for s in plan.new} | {s.id for s, _ in plan.updated}
    return replace(report, new=plan.new, updated=plan.updated, gone=plan.gone, unchanged=len(listed - changed))


def _needs_render(feed: FeedSpec, store: Store) -> bool:
    """True when the feed's files may not match the history: a run died before publishing, the
    feed's settings changed, or a file is missing."""
    meta = store.metas(f"render_pending:{feed.name}", f"render_key:{feed.name}")
    return (
        meta.get(f"render_pending:{feed.name}") == "1"
        or meta.get(f"render_key:{feed.name}") != render_key(feed)
        or any(not feed.path(fmt).exists() for fmt in _feed_formats(feed))
    )


def _feed_formats(feed: FeedSpec) -> tuple[str, ...]:
    """The formats written in a feed's own folder: OPML is written once, at the top."""
    return tuple(fmt for fmt in feed.output.formats if fmt != "opml")


def _publish(feed: FeedSpec, store: Store, empty_ok: bool = False) -> list[str]:
    """Render the feed's newest items in every format (and each label feed), and write the files
    whose bytes changed; returns their paths.

    An empty history publishes nothing: an error for `regenerate`, and for `update` (whose first
    run failed) the reason is already in its report.
    """
    from spfeed.publish import sync_folders, write_if_changed

    items = store.newest(feed.name, feed.output.max_items)
    if not items:
        if empty_ok:
            return []
        raise SpfeedError(f"the history of {feed.label} in {store.path} is empty: nothing to publish yet "
                          "(run spfeed update)")
    files = _render_feed(feed, store, items)
    written = [str(path) for path, data in files.items() if write_if_changed(path, data, sync_folder=False)]
    sync_folders(written)  # before the history says they are written
    for fmt, name in FILES.items():
        if fmt != "opml" and fmt not in feed.output.formats and feed.path(fmt).exists():
            log.info("%s: left in place, no longer written (%s is not in output.formats)", feed.path(fmt), fmt)
    store.mark_rendered(feed.name, render_key(feed))
    return written


def _render_feed(feed: FeedSpec, store: Store, items: Sequence[StoredItem]) -> dict[Path, bytes]:
    """Every file of *feed* (and of its label feeds) as bytes, by path. Pure but for reading the store."""
    from spfeed.views import renderer

    labels = store.labels(feed.name) if feed.output.by_label else {}
    meta, links = _feed_meta(feed, store), _feed_links(feed, labels)
    formats = _feed_formats(feed)
    files = {feed.path(fmt): renderer(fmt)(meta, items, links) for fmt in formats}
    for label, slug in labels.items():
        entries = store.newest(feed.name, feed.output.max_items, label=label)
        if not entries:
            continue
        label_meta, label_links = _label_feed(meta, links, label, slug)
        folder = feed.output.dir / "labels" / slug
        files.update({folder / FILES[fmt]: renderer(fmt)(label_meta, entries, label_links) for fmt in formats})
    return files


def _label_feed(meta: FeedMeta, links: Links, label: str, slug: str) -> tuple[FeedMeta, Links]:
    """What a feed's label feed says about itself, and where it is published."""
    from spfeed.items import Links

    return (replace(meta, title=f"{meta.title}: {label}", label=label),
            Links(base=f"{links.base}labels/{slug}/", formats=links.formats, parent=links.base))


def _feed_meta(feed: FeedSpec, store: Store) -> FeedMeta:
    from spfeed.items import FeedMeta

    settings = feed.settings
    return FeedMeta(name=feed.name, title=settings.title, description=settings.description, link=settings.link,
                    author=settings.author, language=settings.language or _page_language(feed, store),
                    hubs=settings.hubs)


def _feed_links(feed: FeedSpec, labels: dict[str, str]) -> Links:
    """Where *feed*'s files are published; *labels* are its label feeds' slugs (none without by_label)."""
    from spfeed.items import Links

    base = feed.settings.base_url
    return Links(base=base, formats=_feed_formats(feed),
                 labels=tuple((label, f"{base}labels/{slug}/") for label, slug in labels.items()))


def _top_files(config: Config) -> dict[str, Path]:
    """The files at the top of output.dir, by format: the OPML list, and an index page when the
    feeds' own pages are elsewhere (several feeds, each in its folder)."""
    files = {}
    if "opml" in config.output.formats:
        files["opml"] = config.output.dir / FILES["opml"]
    if "html" in config.output.formats and all(f.output.dir != config.output.dir for f in config.feeds):
        files["html"] = config.output.dir / FILES["html"]
    return files


def _top_missing(config: Config) -> bool:
    return any(not path.exists() for path in _top_files(config).values())


def _publish_top(config: Config, store: Store) -> list[str]:
    """Write the OPML list and the index page of every feed, when their bytes changed."""
    from spfeed.items import Listed
    from spfeed.publish import write_if_changed

    top = _top_files(config)
    if not top:
        return []
    listed = []
    for feed in config.feeds:
        if not store.has_items(feed.name):
            continue  # nothing published yet: not listed
        slugs = store.labels(feed.name) if feed.output.by_label else {}
        meta, links = _feed_meta(feed, store), _feed_links(feed, slugs)
        listed.append(Listed(meta, links, tuple(Listed(*_label_feed(meta, links, label, slug))
                                                for label, slug in slugs.items())))
    if not listed:
        return []
    title = _top_title(config)
    written = []
    if "opml" in top:
        from spfeed.views.opml import render as opml

        if write_if_changed(top["opml"], opml(title, listed)):
            written.append(str(top["opml"]))
    if "html" in top:
        from spfeed.views.html import render_index

        if write_if_changed(top["html"], render_index(title, listed, config.base_url)):
            written.append(str(top["html"]))
    return written


def _top_title(config: Config) -> str:
    """The title of the top-level list: the feeds' author, when they share one."""
    authors = {feed.settings.author.name for feed in config.feeds}
    return f"{authors.pop()}: feeds" if len(authors) == 1 else "Feeds"


def language_tag(value: str | None) -> str | None:
    """*value* as a language tag (``en``, ``fr-CH``) if it is one (``en_US`` is mended), else None."""
    value = (value or "").strip().replace("_", "-")
    return value if LANGUAGE_TAG.fullmatch(value) else None


def _page_language(feed: FeedSpec, store: Store) -> str | None:
    """The first source page's <html lang>, if it is a well-formed language tag."""
    for source in feed.sources:
        lang = language_tag(store.source_state(feed.name, source.url).lang)
        if lang:
            return lang
    return None
