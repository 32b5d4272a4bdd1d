"""Everything spfeed prints: run summaries for people (and cron's mail), JSON for scripts, and the
table of `spfeed check`."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from spfeed.errors import printable

if TYPE_CHECKING:
    from spfeed.config import Selectors, Source
    from spfeed.model import Listing, Page, RunReport, StoredItem
    from spfeed.read import Checked


def stdout_closed() -> None:
    """After a BrokenPipeError (``spfeed update | head -1``): point stdout at /dev/null, as the
    Python docs advise, so that later output and the interpreter's final flush go nowhere quietly
    instead of failing a run that succeeded."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def _to_stdout(write: Callable[..., None]) -> Callable[..., None]:
    """*write* (something that prints on stdout), made harmless when the reader has gone away."""
    @functools.wraps(write)
    def wrapper(*args, **kwargs) -> None:
        try:
            write(*args, **kwargs)
            sys.stdout.flush()
        except BrokenPipeError:
            stdout_closed()

    return wrapper


#: The longest line spfeed prints about one problem (a health message names several selectors).
_LINE = 2000


def error(message: str) -> None:
    """One line on stderr: what cron mails and a person reads first. Whatever it quotes (server
    text, an exception's words), it stays one line of plain text."""
    print(f"spfeed: error: {printable(message, _LINE)}", file=sys.stderr)


@_to_stdout
def print_json(data: dict) -> None:
    """*data* as JSON; <, > and & are written as \\u escapes, so that no page text is ever markup,
    even in a script that pastes the output into HTML."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    print(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def print_outcome(report: RunReport, as_json: bool = False, list_items: bool = True,
                  log_to: logging.Logger | None = None) -> None:
    """What an update did: the summary (or JSON) on stdout, warnings and failures on stderr (or
    as warnings and errors of the logger *log_to*: `spfeed run`'s log lines)."""
    if sys.stderr.isatty() and log_to is None:
        print("\r\033[K", end="", file=sys.stderr)
    print_json(_json_report(report)) if as_json else _to_stdout(_print_summary)(report, list_items)
    for line in report.warnings:
        line = printable(line, _LINE)
        log_to.warning("%s", line) if log_to else print(f"spfeed: warning: {line}", file=sys.stderr)
    for line in report.failures:
        log_to.error("%s", line) if log_to else error(line)


def describe_written(paths: Sequence[str]) -> str:
    """Written files for a summary line: up to two by name, more as a count in their common folder."""
    if len(paths) <= 2:
        return " and ".join(paths)
    import os.path

    return f"{len(paths)} files in {os.path.commonpath(paths)}"


def _item_json(item: StoredItem, changed: Sequence[str] | None = None) -> dict:
    data = {
        "id": item.id,
        "title": item.title,
        "link": item.link,
        "published": item.published.isoformat(),
        "updated": item.updated.isoformat(),
        "label": item.label,
        "kind": item.kind,
        "summary": item.summary,
        "dated": item.dated,
        "feed": item.feed,
    }
    if changed is not None:
        data["changed"] = list(changed)
    return data


def _json_report(report: RunReport) -> dict:
    data = {
        "new": [_item_json(i) for i in report.new],
        "updated": [_item_json(i, fields) for i, fields in report.updated],
        "gone": [_item_json(i) for i in report.gone],
        "unchanged": report.unchanged,
        "written": list(report.written),
        "not_modified": report.not_modified,
        "warnings": list(report.warnings),
        "errors": list(report.failures),
    }
    if any(report.left_out):  # a long backfill lists only the first items of each kind
        data["left_out"] = dict(zip(("new", "updated", "gone"), report.left_out))
    return data


def _print_summary(report: RunReport, list_items: bool = True) -> None:
    """Nothing when nothing changed; else a count line and one line (plus link) per item."""
    new, updated, gone = report.counts()
    counts = [f"{new} new", f"{updated} updated", f"{gone} gone"]
    if any(report.counts()):
        written = f"; wrote {describe_written(report.written)}" if report.written else ""
        print(", ".join(counts) + written)
        if not list_items:
            return
        feeds = list(dict.fromkeys(i.feed for i in (*report.new, *(u for u, _ in report.updated), *report.gone)))
        for feed in feeds:
            if feed or len(feeds) > 1:
                print(f"{feed or '(unnamed feed)'}:")
            for item in report.new:
                if item.feed == feed:
                    print(f"+ {_line(item)}\n    {item.link}")
            for item, fields in report.updated:
                if item.feed == feed:
                    print(f"~ {_line(item)} (changed: {', '.join(fields)})\n    {item.link}")
            for item in report.gone:
                if item.feed == feed:
                    print(f"- {_line(item)} (no longer on the page; stays in the feed)")
    elif report.written:
        print(f"rebuilt {describe_written(report.written)} from the history")


def _line(item: StoredItem) -> str:
    label = f"[{item.label}] " if item.label else ""
    return f"{item.published.date().isoformat() if item.dated else 'undated   '}  {label}{item.title}"


#: RawItem's field names as `check` shows them.
_FIELD_NAMES = {"title": "title", "summary": "summary", "label": "label", "date_value": "date"}


@_to_stdout
def print_checked(result: Checked, selectors: Selectors | None = None) -> None:
    """`spfeed check`'s report on one page: a row per block, the fields it could not read (and those
    taken from structured data), health, then the *selectors* that read it as a config entry."""
    import shutil

    listing, page = result.listing, result.page
    width = max(80, shutil.get_terminal_size((120, 24)).columns)
    usable = sum(1 for _, item in result.items if item is not None)
    where = page.url if page.final_url == page.url else f"{page.url} (redirected to {page.final_url})"
    print(f"{where}: {usable} items{f' (lang {listing.lang})' if listing.lang else ''}")
    if listing.detected_as:
        given = result.source.selectors.item
        why = (f"{result.source.key}.selectors.item {given!r} matched nothing" if given
               else "no item selector given")
        print(f"  found by generic detection: blocks like {listing.detected_as!r} ({why})")
    title_width = max(20, width - 2 - 3 - 2 - 10 - 2 - 24 - 2 - 20)
    print(f"  {'#':>3}  {'date':10}  {'label / kind':24}  {'title':{title_width}}  missing")
    for number, (raw, item) in enumerate(result.items, 1):
        missing = [name for name, value in (("title", raw.title), ("link", raw.link), ("date", item and item.published),
                                             ("label", raw.label), ("summary", raw.summary)) if not value]
        date = item.published.date().isoformat() if item and item.published else "?"
        labels = " | ".join(item.categories) if item else (raw.label or "")
        note = ", ".join(missing) + (" (skipped)" if item is None else "")
        print(f"  {number:>3}  {date:10}  {_cut(labels, 24):24}  {_cut(raw.title or '—', title_width):{title_width}}  {note}")
        structured = ", ".join(_FIELD_NAMES.get(f, f) for f in raw.from_structured)
        print(f"  {'':3}  {raw.link or '(no link)'}{f'  [from structured data: {structured}]' if structured else ''}")
    counts = " · ".join(f"{key} {count}" for key, count in listing.selector_report)
    print(f"  selectors matched: {counts} · next page: {listing.next_url or 'none'}")
    if result.problems:
        for problem in result.problems:
            print(f"  health: FAILS: {problem}")
    else:
        print("  health: ok")
    if selectors is not None and selectors.item:
        print("  the selectors that gave this table, for config.yaml:")
        for line in source_entry(result.source, selectors, needs_base_url(listing)).splitlines():
            print(f"    {line}")


def needs_base_url(listing: Listing) -> bool:
    """Whether the page was read from a file and some of its links could not be made web links:
    root-relative links in a saved page need the source's base_url."""
    return listing.base_url.startswith("file:") and any(raw.link is None for raw in listing.items)


def source_entry(source: Source, selectors: Selectors, base_url_needed: bool = False) -> str:
    """A ready-to-paste YAML ``sources:`` list with one entry: url, selectors, timezone, base_url."""
    import yaml

    entry: dict = {"url": source.url,
                   "selectors": {k: v for k, v in vars(selectors).items() if v is not None}}
    entry["timezone"] = source.timezone
    if source.date_order != "DMY":
        entry["date_order"] = source.date_order
    if source.base_url:
        entry["base_url"] = source.base_url
    text = yaml.safe_dump({"sources": [entry]}, sort_keys=False, allow_unicode=True, width=1000)
    if base_url_needed and not source.base_url:
        text += ("  # the saved page's links are relative: set base_url to the page's web address\n"
                 "  # base_url: https://www.example.org/the/page/\n")
    return text


def init_config(source: Source, page: Page, text: str, listing: Listing, selectors: Selectors,
                feed_title: str | None = None) -> str:
    """A complete, commented config.yaml for the page *text* read from *page* (what `spfeed init`
    prints): the feed's title, link and author from the page, the source with *selectors*."""
    from urllib.parse import urlsplit

    import yaml

    from spfeed.extract import parse
    from spfeed.html import attribute, text_of

    root = parse(text)

    def meta(key: str, value: str):  # the first <meta> whose attribute *key* is *value*
        return next((el for el in root.iter("meta") if el.get(key) == value), None)

    title = feed_title or text_of(next(root.iter("title"), None)) or urlsplit(page.final_url).hostname or "News"
    site = (attribute(meta("property", "og:site_name"), "content")
            or attribute(meta("name", "application-name"), "content"))
    link = page.final_url if page.final_url.startswith(("http://", "https://")) else (
        source.base_url or (listing.base_url if listing.base_url.startswith(("http://", "https://"))
                            else "https://www.example.org/"))
    author = site or urlsplit(link).hostname or "unknown"

    def scalar(value: str) -> str:
        return yaml.safe_dump(value, allow_unicode=True, width=1000).removesuffix("\n...\n").strip()

    lines = [
        f"# spfeed's configuration for {page.final_url}",
        "# written by `spfeed init`; relative paths resolve against this file's folder. See README.md for every key.",
        "feed:",
        f"  title: {scalar(title)}",
        "  # the page the feed is about",
        f"  link: {scalar(link)}",
    ]
    if listing.lang:
        lines.append(f"  language: {scalar(listing.lang)}")
    lines += [
        "  author:",
        f"    name: {scalar(author)}",
        "  # The URL of the folder where rss.xml and atom.xml are published: edit it to yours.",
        "  base_url: https://feeds.example.org/spfeed/",
        "",
        "# the selectors below are what generic detection found; `spfeed check` shows what they read",
    ]
    lines += source_entry(source, selectors, needs_base_url(listing)).rstrip("\n").splitlines()
    lines += [
        "",
        "output:",
        "  dir: feeds",
        "  max_items: 50",
        "",
        "state:",
        "  path: state/spfeed.sqlite",
        "",
        "schedule:",
        '  cron: "0 */6 * * *"',
        "",
        "http:",
        "  timeout: 30",
        "  retries: 3",
        "  max_bytes: 5000000",
    ]
    return "\n".join(lines) + "\n"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
