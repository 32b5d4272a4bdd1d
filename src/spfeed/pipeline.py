"""The runs: `update`, `backfill`, `regenerate` and `check`, wiring fetch, extract, normalise,
store, render and publish.

I/O lives in the stages it belongs to; this module decides what to do. The clock is passed in.
An unchanged page takes the cheap path: one conditional GET (or one hash of the body) and a
row in the runs table; nothing is parsed, rendered or written.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from urllib.parse import urlsplit

from spfeed import __version__
from spfeed.config import LANGUAGE_TAG, Config, HttpSettings, Source
from spfeed.errors import FetchError, HealthError, Interrupted, SpfeedError, printable
from spfeed.fetch import fetch, host_of, may_follow, reachable_hosts
from spfeed.lock import exclusive
from spfeed.model import Item, Listing, Page, RawItem, RunReport, StoredItem
from spfeed.store import SourceState, Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
#: Called after each page a source's reading takes: (source, page number, items so far).
Progress = Callable[[Source, int, int], None]

#: `backfill` without --max-pages still stops somewhere (a listing that never ends is a bug).
BACKFILL_PAGE_LIMIT = 10_000


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class _Reading:
    """A source whose page changed and was read this run."""

    source: Source
    items: list[Item]  #: every item read, pages in order
    listed: set[str]  #: the ids that count as "on the page" (what `update` watches)
    state: SourceState
    warnings: list[str] = field(default_factory=list)
    partial: bool = False  #: a later page could not be read: what was listed before stays listed


def fingerprint(source: Source) -> str:
    """What the extraction of *source* depends on besides the page: a changed setting or a new
    spfeed version reads an unchanged page again."""
    return hashlib.sha256(repr((replace(source, key=""), __version__)).encode()).hexdigest()[:16]


def render_key(config: Config) -> str:
    """What the feed files depend on besides the items: a changed setting renders them again."""
    return hashlib.sha256(repr((config.feed, config.max_items, __version__)).encode()).hexdigest()[:16]


# -- commands ------------------------------------------------------------------------------------


def update(config: Config, now: Clock = utc_now, stop: threading.Event | None = None) -> RunReport:
    """One pass of the pipeline over every source; see the module docstring."""
    with exclusive(config.state_path, config.lock_timeout), Store.open(config.state_path) as store:
        return _recorded(store, "update", now, lambda run_http: _update(config, store, now, stop, run_http))


def backfill(config: Config, max_pages: int | None = None, now: Clock = utc_now, stop: threading.Event | None = None,
             progress: Progress | None = None) -> RunReport:
    """Walk each source's whole listing once (until there is no next page, or *max_pages*) to fill
    the history, then publish. What counts as "on the page" stays the first ``max_pages`` of the
    source's config, so the next `update` does not report the archive as gone."""
    limit = max_pages or BACKFILL_PAGE_LIMIT
    with exclusive(config.state_path, config.lock_timeout), Store.open(config.state_path) as store:
        def work(run_http: dict) -> RunReport:
            readings, failures = [], []
            for source in config.sources:
                _check_stop(stop)
                try:
                    page = fetch(source.url, config.http, None, stop)
                    assert page is not None  # no validators sent, so never a 304
                    run_http[source.url] = _http_record(page)
                    state = SourceState(page.validators, _hash(page), fingerprint(source), page.final_url)
                    readings.append(_read_pages(config, source, page, state, stop, limit, source.max_pages, progress))
                except (FetchError, HealthError) as e:
                    failures.append(e)
            return _finish(config, store, readings, failures, now, not_modified=False)

        return _recorded(store, "backfill", now, work)


def regenerate(config: Config, now: Clock = utc_now) -> RunReport:
    """Rebuild the feed files from the history, with no network (after a change of feed settings)."""
    from spfeed.extract import check_selectors

    check_selectors(config)  # a maintainer's command: check the whole config
    with exclusive(config.state_path, config.lock_timeout), Store.open(config.state_path) as store:
        return _recorded(store, "regenerate", now, lambda run_http: RunReport(written=tuple(_publish(config, store))))


@dataclass(frozen=True)
class Checked:
    """What `check` found on one page: the listing, each block's item (None when unusable), problems."""

    source: Source
    page: Page
    listing: Listing
    items: tuple[tuple[RawItem, Item | None], ...]
    problems: tuple[str, ...]


def check(http: HttpSettings, sources: tuple[Source, ...], where: str) -> list[Checked]:
    """Fetch and read the first page of each of *sources* as `update` would, touching no state and
    publishing nothing. *where* names the selectors' origin in messages (the config file)."""
    from spfeed.encoding import decode_html
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
        pairs = tuple((raw, normalise(raw, source.timezone)) for raw in listing.items)
        usable = [item for _, item in pairs if item is not None]
        results.append(Checked(source, page, listing, pairs, tuple(problems(source, listing, usable))))
    return results


# -- the runs' parts -----------------------------------------------------------------------------


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
    return _finish(config, store, readings, failures, now, not_modified=not_modified == len(config.sources))


def _finish(config: Config, store: Store, readings: list[_Reading], failures: list[SpfeedError], now: Clock,
            not_modified: bool) -> RunReport:
    """Record what was read and publish when the feeds may have changed."""
    warnings = tuple(w for r in readings for w in r.warnings)
    report = RunReport(
        failures=tuple(str(e) for e in failures),
        exit_code=max((e.exit_code for e in failures), default=0),
        warnings=warnings,
        not_modified=not_modified,
        unchanged=len(set().union(*_listed(config, store).values())),
    )
    if not readings and not _needs_render(config, store):
        return report
    if readings:
        report = _record(config, store, readings, now(), report)
    return replace(report, written=tuple(_publish(config, store, empty_ok=True)))


def _check_stop(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise Interrupted("stopped before the run finished; nothing was published")


def _hash(page: Page) -> str:
    return hashlib.sha256(page.body).hexdigest()


def _http_record(page: Page) -> dict:
    return {"status": 200, "final_url": page.final_url, "etag": page.validators.etag,
            "last_modified": page.validators.last_modified}


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
    run_http[source.url] = _http_record(page)
    state = SourceState(page.validators, _hash(page), key, page.final_url, known.lang)
    if state.body_hash == known.body_hash and key == known.fingerprint:
        log.info("%s: unchanged (same content as last time)", source.url)
        if page.validators != known.validators:
            store.save_source(source.url, state, started)
        return None
    return _read_pages(config, source, page, state, stop, source.max_pages, source.max_pages)


def _read_pages(config: Config, source: Source, first: Page, state: SourceState, stop: threading.Event | None,
                max_pages: int, listed_pages: int, progress: Progress | None = None) -> _Reading:
    """The items of *source*'s listing from its *first* page on, following the next link up to
    *max_pages*; items of the first *listed_pages* pages count as listed."""
    from spfeed.encoding import decode_html
    from spfeed.extract import check_source_selectors, extract
    from spfeed.health import problems
    from spfeed.normalise import normalise

    check_source_selectors(source, str(config.path))
    items: list[Item] = []
    listed: set[str] = set()
    warnings: list[str] = []
    visited = {first.url, first.final_url}
    page, lang = first, None
    for number in range(1, max_pages + 1):
        text, _ = decode_html(page.body, page.charset)
        listing = extract(text, page.final_url, source.selectors, source.base_url, detect=source.detect)
        valid = [item for raw in listing.items if (item := normalise(raw, source.timezone)) is not None]
        if number == 1:
            lang = listing.lang
            trouble = problems(source, listing, valid)
            if trouble:
                raise HealthError(f"{source.url}: the page does not look like the listing: {'; '.join(trouble)}")
            if listing.detected_as:
                warnings.append(
                    f"{source.url}: {source.key}.selectors.item {source.selectors.item!r} matched nothing; "
                    f"published {len(valid)} items found by generic detection (blocks like "
                    f"{listing.detected_as!r}): check the page and set {source.key}.selectors"
                )
        elif not valid:
            warnings.append(f"{page.final_url}: page {number} of the listing has no items; stopped there")
            break
        skipped = len(listing.items) - len(valid)
        if skipped:
            warnings.append(f"{page.final_url}: skipped {skipped} of {len(listing.items)} items without a title or web link")
        items.extend(replace(item, position=len(items) + i) for i, item in enumerate(valid))
        if number <= listed_pages:
            listed.update(item.id for item in valid)
        if progress is not None:
            progress(source, number, len(items))
        if number == max_pages or not listing.next_url or listing.next_url in visited:
            break
        reachable = reachable_hosts(source.url, first.final_url, source.base_url, source.allow_hosts)
        if not may_follow(listing.next_url, reachable):
            warnings.append(
                f"{printable(page.final_url)}: next page {printable(listing.next_url)} is on another host "
                f"({printable(host_of(listing.next_url) or urlsplit(listing.next_url).scheme)}); stopped there; "
                f"add it to {source.key}.allow_hosts to follow it"
            )
            break
        _pause(source.page_delay, stop)
        try:
            next_page = fetch(listing.next_url, config.http, None, stop, origin=source.url, hosts=reachable)
        except FetchError as e:
            warnings.append(f"{e}; kept the {number} page(s) read")
            return _Reading(source, items, listed, replace(state, lang=lang), warnings, partial=True)
        if next_page is None:
            break
        visited.update((next_page.url, next_page.final_url))
        page = next_page
    return _Reading(source, items, listed, replace(state, lang=lang), warnings)


def _pause(seconds: float, stop: threading.Event | None) -> None:
    """Wait between two pages of one listing; a stop request ends the wait (and the run)."""
    if stop is None:
        time.sleep(seconds)
    elif stop.wait(seconds):
        raise Interrupted("stopped between two pages; nothing was published")


def _listed(config: Config, store: Store) -> dict[str, set[str]]:
    """For each configured source, the ids it listed at its last read."""
    presence = store.presence()
    return {s.url: presence.get(s.url, set()) for s in config.sources}


def _record(config: Config, store: Store, readings: list[_Reading], now: datetime, report: RunReport) -> RunReport:
    """Diff the readings against the history, store the result, and say what changed."""
    from spfeed.diff import diff, merge

    listed_before = _listed(config, store)
    priority = {s.url: i for i, s in enumerate(config.sources)}
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
    merged = [i for i in merge(r.items for r in readings) if owner.get(i.id, len(priority)) >= priority[origin[i.id][0]]]
    listed = set().union(*listed_now.values())
    gone_ids = set().union(*listed_before.values()) - listed
    known = store.items([i.id for i in merged] + sorted(gone_ids))
    gone = sorted((known[g] for g in gone_ids if g in known), key=lambda s: (-s.published.timestamp(), s.position))
    result = diff(merged, known, gone)
    new, updated = store.apply(
        result.new, result.updated, merged, {url: sorted(listed_now[url]) for url in read}, origin,
        {r.source.url: r.state for r in readings}, now,
    )
    changed = {i.id for i in new} | {i.id for i in updated}
    return replace(report, new=tuple(new), updated=tuple((s, c.fields) for s, c in zip(updated, result.updated)),
                   gone=result.gone, unchanged=len(listed - changed))


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
    from spfeed.model import FeedMeta, Links
    from spfeed.publish import write_if_changed
    from spfeed.views import renderer

    items = store.newest(config.max_items)
    if not items:
        if empty_ok:
            return []
        raise SpfeedError(f"the history in {store.path} is empty: nothing to publish yet (run spfeed update)")
    language = config.feed.language or _page_language(config, store)
    feed = config.feed
    meta = FeedMeta(name="", title=feed.title, description=feed.description, link=feed.link, author=feed.author,
                    language=language)
    links = Links(base=feed.base_url, formats=("rss", "atom"))
    written = [str(path) for path, fmt in ((config.rss_path, "rss"), (config.atom_path, "atom"))
               if write_if_changed(path, renderer(fmt)(meta, items, links))]
    store.mark_rendered(render_key(config))
    return written


def language_tag(value: str | None) -> str | None:
    """*value* as a language tag (``en``, ``fr-CH``) if it is one (``en_US`` is mended), else None."""
    value = (value or "").strip().replace("_", "-")
    return value if LANGUAGE_TAG.fullmatch(value) else None


def _page_language(config: Config, store: Store) -> str | None:
    """The first source page's <html lang>, if it is a well-formed language tag."""
    for source in config.sources:
        lang = language_tag(store.source_state(source.url).lang)
        if lang:
            return lang
    return None
