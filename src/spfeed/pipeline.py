"""The runs: `update` (fetch, extract, normalise, store, render, publish) and `regenerate`.

I/O lives in the stages it belongs to; this module decides what to do. The clock is passed in.
An unchanged page takes the cheap path: one conditional GET (or one hash of the body) and a
row in the runs table; nothing is parsed, rendered or written.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from spfeed import __version__
from spfeed.config import Config, Source
from spfeed.errors import FetchError, HealthError, Interrupted, SpfeedError
from spfeed.fetch import fetch
from spfeed.lock import exclusive
from spfeed.model import Item, Page, RunReport, StoredItem
from spfeed.store import SourceState, Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class _Reading:
    """A source whose page changed and was read this run."""

    source: Source
    items: list[Item]
    state: SourceState
    warnings: list[str] = field(default_factory=list)
    partial: bool = False  #: a later page could not be read: what was listed before is kept as listed


def fingerprint(source: Source) -> str:
    """What the extraction of *source* depends on besides the page: a changed setting or a new
    spfeed version reads an unchanged page again."""
    return hashlib.sha256(repr((replace(source, key=""), __version__)).encode()).hexdigest()[:16]


def render_key(config: Config) -> str:
    """What the feed files depend on besides the items: a changed setting renders them again."""
    return hashlib.sha256(repr((config.feed, config.max_items, __version__)).encode()).hexdigest()[:16]


def update(config: Config, now: Clock = utc_now, stop: threading.Event | None = None) -> RunReport:
    """One pass of the pipeline over every source; see the module docstring."""
    with exclusive(config.state_path, config.lock_timeout), Store.open(config.state_path) as store:
        return _recorded(store, "update", now, lambda run_http: _update(config, store, now, stop, run_http))


def regenerate(config: Config, now: Clock = utc_now) -> RunReport:
    """Rebuild the feed files from the history, with no network (after a change of feed settings)."""
    from spfeed.extract import check_selectors

    check_selectors(config)  # a maintainer's command: check the whole config
    with exclusive(config.state_path, config.lock_timeout), Store.open(config.state_path) as store:
        return _recorded(store, "regenerate", now, lambda run_http: RunReport(written=tuple(_publish(config, store))))


def _recorded(store: Store, command: str, now: Clock, work: Callable[[dict], RunReport]) -> RunReport:
    """Run *work* with a row in the runs table that says how it ended."""
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
    store.finish_run(
        run_id, now(), outcome, report.exit_code, new=len(report.new), updated=len(report.updated),
        gone=len(report.gone), unchanged=report.unchanged, message="; ".join(report.failures) or None, http=run_http,
    )
    return report


def _update(config: Config, store: Store, now: Clock, stop: threading.Event | None, run_http: dict) -> RunReport:
    started = now()
    readings: list[_Reading] = []
    failures: list[SpfeedError] = []
    not_modified = 0
    for source in config.sources:
        _check_stop(stop)
        try:
            reading = _read_source(config, source, store, started, stop, run_http)
        except (FetchError, HealthError) as e:
            log.info("%s", e)
            failures.append(e)
            continue
        if reading is None:
            not_modified += 1
        else:
            readings.append(reading)

    needs_render = _needs_render(config, store)
    warnings = [w for r in readings for w in r.warnings]
    all_not_modified = not_modified == len(config.sources)
    if not readings and not needs_render:
        listed = set().union(*_listed(config, store).values())
        return _report(failures, warnings, unchanged=len(listed), not_modified=all_not_modified)

    new: list[StoredItem] = []
    updated: tuple[tuple[StoredItem, tuple[str, ...]], ...] = ()
    gone: tuple[StoredItem, ...] = ()
    unchanged = len(set().union(*_listed(config, store).values()))
    if readings:
        new, updated, gone, unchanged = _record(config, store, readings, now())
    written = _publish(config, store, empty_ok=True)
    return _report(failures, warnings, new=tuple(new), updated=updated, gone=gone, unchanged=unchanged,
                   written=tuple(written), not_modified=all_not_modified)


def _report(failures: list[SpfeedError], warnings: list[str], **fields) -> RunReport:
    return RunReport(
        failures=tuple(str(e) for e in failures),
        exit_code=max((e.exit_code for e in failures), default=0),
        warnings=tuple(warnings),
        **fields,
    )


def _check_stop(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise Interrupted("stopped before the run finished; nothing was published")


def _read_source(config: Config, source: Source, store: Store, started: datetime, stop: threading.Event | None,
                 run_http: dict) -> _Reading | None:
    """Fetch *source*; None when its page is unchanged (304, or the same bytes as last time)."""
    known = store.source_state(source.url)
    key = fingerprint(source)
    conditional = known.validators if known.fingerprint == key else None
    page = fetch(source.url, config.http, conditional, stop)
    if page is None:
        run_http[source.url] = {"status": 304, "etag": known.validators.etag,
                                "last_modified": known.validators.last_modified}
        return None
    body_hash = hashlib.sha256(page.body).hexdigest()
    run_http[source.url] = {"status": 200, "final_url": page.final_url, "etag": page.validators.etag,
                            "last_modified": page.validators.last_modified}
    state = SourceState(page.validators, body_hash, key, page.final_url, known.lang)
    if body_hash == known.body_hash and key == known.fingerprint:
        log.info("%s: unchanged (same content as last time)", source.url)
        if page.validators != known.validators:
            store.save_source(source.url, state, started)
        return None
    return _extract_source(config, source, page, state, stop)


def _extract_source(config: Config, source: Source, first: Page, state: SourceState,
                    stop: threading.Event | None) -> _Reading:
    """The items of *source*'s listing, first page given, following pagination up to max_pages."""
    from spfeed.extract import check_selectors, decode_html, extract
    from spfeed.health import problems
    from spfeed.normalise import normalise

    check_selectors(config)
    items: list[Item] = []
    warnings: list[str] = []
    page: Page | None = first
    lang = None
    for number in range(1, source.max_pages + 1):
        assert page is not None
        text, codec = decode_html(page.body, page.charset)
        listing = extract(text, page.final_url, source.selectors, source.base_url)
        valid = [item for raw in listing.items if (item := normalise(raw, source.timezone)) is not None]
        if number == 1:
            lang = listing.lang
            trouble = problems(source, listing, valid)
            if trouble:
                raise HealthError(f"{source.url}: the page does not look like the listing: {'; '.join(trouble)}")
        skipped = len(listing.items) - len(valid)
        if skipped:
            warnings.append(f"{page.final_url}: skipped {skipped} of {len(listing.items)} items without a title or web link")
        items.extend(replace(item, position=len(items) + i) for i, item in enumerate(valid))
        if number == source.max_pages or not listing.next_url:
            break
        if stop is not None:
            if stop.wait(source.page_delay):
                raise Interrupted("stopped between two pages; nothing was published")
        else:
            import time

            time.sleep(source.page_delay)
        try:
            page = fetch(listing.next_url, config.http, None, stop)
        except FetchError as e:
            warnings.append(f"{e}; kept the {number} page(s) read")
            return _Reading(source, items, replace(state, lang=lang), warnings, partial=True)
        if page is None:
            break
    return _Reading(source, items, replace(state, lang=lang), warnings)


def _listed(config: Config, store: Store) -> dict[str, set[str]]:
    """For each configured source, the ids it listed at its last read."""
    presence = store.presence()
    return {s.url: presence.get(s.url, set()) for s in config.sources}


def _record(config: Config, store: Store, readings: list[_Reading], now: datetime):
    """Diff the readings against the history and store the result; returns what changed."""
    from spfeed.diff import diff, merge

    listed_before = _listed(config, store)
    priority = {s.url: i for i, s in enumerate(config.sources)}
    read = {r.source.url for r in readings}
    listed_now = {url: ids for url, ids in listed_before.items() if url not in read}
    for r in readings:
        listed_now[r.source.url] = {i.id for i in r.items} | (listed_before[r.source.url] if r.partial else set())
    # An item also listed by a higher-priority source that was not read this run keeps that
    # source's version: otherwise two differing versions would flip-flop as "updated".
    owner: dict[str, int] = {}
    for url, ids in listed_before.items():
        if url not in read:
            for item_id in ids:
                owner[item_id] = min(owner.get(item_id, priority[url]), priority[url])
    origin: dict[str, tuple[str, str]] = {}
    for r in readings:
        for item in r.items:
            origin.setdefault(item.id, (r.source.url, r.source.timezone))
    merged = [i for i in merge(r.items for r in readings) if owner.get(i.id, len(priority)) >= priority[origin[i.id][0]]]
    gone_ids = set().union(*listed_before.values()) - set().union(*listed_now.values())
    known = store.items([i.id for i in merged] + sorted(gone_ids))
    gone = sorted((known[g] for g in gone_ids if g in known), key=lambda s: (-s.published.timestamp(), s.position))
    result = diff(merged, known, gone)
    new, updated = store.apply(
        result.new, result.updated, merged, {url: sorted(listed_now[url]) for url in read}, origin,
        {r.source.url: r.state for r in readings}, now,
    )
    changes = tuple((stored, change.fields) for stored, change in zip(updated, result.updated))
    listed = set().union(*listed_now.values())
    return new, changes, result.gone, len(listed) - len(new) - len(updated)


def _needs_render(config: Config, store: Store) -> bool:
    """True when the feed files may not match the history: a run died before publishing, the
    feed settings changed, or a file is missing."""
    return (
        store.meta("render_pending") == "1"
        or store.meta("render_key") != render_key(config)
        or not config.rss_path.exists()
        or not config.atom_path.exists()
    )


def _publish(config: Config, store: Store, empty_ok: bool = False) -> list[str]:
    """Render the newest items and write the files whose bytes changed; returns their paths.

    An empty history publishes nothing: an error for `regenerate`, and for `update` (whose first
    run failed) the reason is already in its report.
    """
    from spfeed.publish import write_if_changed
    from spfeed.render import render

    items = store.newest(config.max_items)
    if not items:
        if empty_ok:
            return []
        raise SpfeedError(f"the history in {store.path} is empty: nothing to publish yet (run spfeed update)")
    language = config.feed.language or _page_language(config, store)
    rss, atom = render(config.feed, items, language)
    written = [str(path) for path, data in ((config.rss_path, rss), (config.atom_path, atom))
               if write_if_changed(path, data)]
    store.mark_rendered(render_key(config))
    return written


def _page_language(config: Config, store: Store) -> str | None:
    """The first source page's <html lang>, if it is a well-formed language tag."""
    import re

    for source in config.sources:
        lang = (store.source_state(source.url).lang or "").replace("_", "-")
        if re.fullmatch(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*", lang):
            return lang
    return None
