"""The pages for people: a feed's ``index.html`` and the index of every feed at the top of output.dir.

Pure and byte-stable. One self-contained HTML5 file each: inline CSS, no script, no external
resources (a Content-Security-Policy says so to the browser too). All text is escaped, every
attribute quoted, and only absolute http(s) URLs become links.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from spfeed.model import FILES, MEDIA_TYPES, FeedMeta, Links, Listed, StoredItem

#: How each format is named on the page, in the order the subscribe links are shown.
FORMAT_NAMES: dict[str, str] = {"rss": "RSS 2.0", "atom": "Atom", "json": "JSON Feed"}

#: The formats readers discover from ``<link rel="alternate">``.
DISCOVERABLE = ("rss", "atom", "json")

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

_CSS = """\
:root{--fg:#1b1b1b;--bg:#fdfdfc;--muted:#5c5c5c;--link:#0b57a4;--line:#dcdcdc;--box:#f1f3f5}
@media (prefers-color-scheme:dark){:root{--fg:#e8e8e8;--bg:#161718;--muted:#a8a8a8;--link:#8ab8f0;--line:#3a3b3d;--box:#222427}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:46rem;padding:1rem;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--link)}
h1{font-size:1.6rem;line-height:1.25;margin:.5rem 0}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:0 0 .2rem}
h3 a{text-decoration:none}
h3 a:hover,h3 a:focus{text-decoration:underline}
ul,ol{padding:0;list-style:none}
.formats li{margin:.3rem 0}
code{font:.85rem/1.4 ui-monospace,Menlo,Consolas,monospace;background:var(--box);padding:.1rem .3rem;border-radius:3px;overflow-wrap:anywhere;user-select:all}
.entries>li{padding:.7rem 0;border-bottom:1px solid var(--line)}
.meta,.note,footer{color:var(--muted);font-size:.9rem}
.meta{margin:0}
.entries p{margin:.2rem 0}
.feed{margin-bottom:1.5rem}
footer{margin-top:2rem}"""


def render(meta: FeedMeta, entries: Sequence[StoredItem], links: Links) -> bytes:
    """The page of one feed: what it is, how to subscribe, its label feeds, and its *entries*."""
    if not entries:
        raise ValueError("a feed needs at least one item")
    head = [_alternate(fmt, links.url(fmt), f"{meta.title} ({FORMAT_NAMES[fmt]})")
            for fmt in DISCOVERABLE if fmt in links.formats]
    ui = _ui_lang(meta.language)
    body = [f"<header>\n<h1>{_e(meta.title)}</h1>"]
    if meta.description and meta.description != meta.title:
        body.append(f"<p>{_e(meta.description)}</p>")
    body.append(f"<p{ui}>Items from {_a(meta.link, meta.link)}</p>")
    if links.parent:
        body.append(f'<p{ui}>Part of {_a(links.parent + FILES["html"], "all the items of this feed")}</p>')
    body.append("</header>")
    body.append(f'<section id="subscribe"{ui}>\n<h2>Subscribe</h2>')
    body.append(_format_list(links))
    body.append("</section>")
    if links.labels:
        body.append(f'<section id="labels"{ui}>\n<h2>Feeds by label</h2>\n<ul>')
        body.extend(f"<li>{_a(base + FILES['html'], label)}</li>" for label, base in links.labels)
        body.append("</ul>\n</section>")
    body.append(f'<main>\n<h2{ui}>Latest items</h2>\n<ol class="entries">')
    body.extend(_entry(entry, meta.language) for entry in entries)
    body.append("</ol>\n</main>")
    body.append(f"<footer{ui}>Published by spfeed. Dates are the source page’s; "
                "“first seen” marks items the page gives no date for.</footer>")
    return _page(meta.language, meta.title, meta.description, head, body)


def render_index(title: str, feeds: Sequence[Listed], links_base: str, opml: bool = True) -> bytes:
    """The top page of output.dir: every feed with its page, formats and label feeds.

    Readers can discover each main feed (its Atom, else its RSS, else its JSON Feed), so they can
    offer a choice; label feeds are listed on the page only. With *opml*, links ``feeds.opml``.
    """
    head = []
    for listed in feeds:
        fmt = next((f for f in ("atom", "rss", "json") if f in listed.links.formats), None)
        if fmt:
            head.append(_alternate(fmt, listed.links.url(fmt), listed.meta.title))
    language = "en"  # the index's own words; each feed's section says its language where it differs
    body = [f"<header>\n<h1>{_e(title)}</h1>"]
    if opml:
        url = links_base + FILES["opml"]
        body.append(f'<p>Every feed at once: {_a(url, "OPML", MEDIA_TYPES["opml"])} '
                    f"<code>{_e(url)}</code></p>")
    body.append("</header>\n<main>")
    for listed in feeds:
        meta, links = listed.meta, listed.links
        lang = f' lang="{_e(meta.language)}"' if _ui_lang(meta.language) else ""
        body.append(f'<section class="feed"{lang}>\n<h2>{_page_link(listed)}</h2>')
        if meta.description and meta.description != meta.title:
            body.append(f"<p>{_e(meta.description)}</p>")
        body.append(_format_list(links))
        if listed.labels:
            body.append(f'<p class="note"{_ui_lang(meta.language)}>By label:</p>\n<ul>')
            for sub in listed.labels:
                formats = " ".join(_a(sub.links.url(f), FORMAT_NAMES[f], MEDIA_TYPES[f])
                                   for f in FORMAT_NAMES if f in sub.links.formats)
                body.append(f"<li>{_page_link(sub)} <span class=\"meta\">{formats}</span></li>")
            body.append("</ul>")
        body.append("</section>")
    body.append("</main>")
    body.append("<footer>Published by spfeed.</footer>")
    return _page(language, title, None, head, body)


def _page(language: str | None, title: str, description: str | None, head: Iterable[str],
          body: Iterable[str]) -> bytes:
    lang = f' lang="{_e(language)}"' if language else ""
    parts = [
        "<!DOCTYPE html>",
        f"<html{lang}>",
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        # Nothing on the page may run or load anything, whatever text came from the source.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{_e(title)}</title>",
    ]
    if description:
        parts.append(f'<meta name="description" content="{_e(description)}">')
    parts.append('<meta name="generator" content="spfeed">')
    parts.extend(line for line in head if line)
    parts += [f"<style>\n{_CSS}\n</style>", "</head>", "<body>", *body, "</body>", "</html>", ""]
    return "\n".join(parts).encode("utf-8")


def _entry(entry: StoredItem, feed_language: str | None) -> str:
    lang = f' lang="{_e(entry.lang)}"' if entry.lang and entry.lang != feed_language else ""
    # The day in the source's own zone; an undated item shows when spfeed first saw it, and says so.
    day = entry.published.date().isoformat()
    when = f'<time datetime="{_e(entry.published.isoformat())}">{day}</time>'
    if not entry.dated:
        when = f'<span class="undated" lang="en">first seen {when}</span>'
    meta = " · ".join([when, *(_e(c) for c in dict.fromkeys(entry.categories))])
    summary = f"\n<p>{_e(entry.summary)}</p>" if entry.summary else ""
    return (f"<li{lang}><article>\n<h3>{_a(entry.link, entry.title)}</h3>\n"
            f'<p class="meta">{meta}</p>{summary}\n</article></li>')


def _format_list(links: Links) -> str:
    """Subscribe links to every published format but the page itself, each URL shown to copy."""
    rows = [f"<li>{_a(links.url(fmt), FORMAT_NAMES[fmt], MEDIA_TYPES[fmt])} <code>{_e(links.url(fmt))}</code></li>"
            for fmt in links.formats if fmt in FORMAT_NAMES]
    return '<ul class="formats">\n' + "\n".join(rows) + "\n</ul>"


def _page_link(listed: Listed) -> str:
    """A feed's title, linked to its page (its index.html, else the source page)."""
    links = listed.links
    target = links.url("html") if "html" in links.formats else listed.meta.link
    return _a(target, listed.meta.title)


def _alternate(fmt: str, url: str, title: str) -> str:
    if not _safe_url(url):
        return ""
    return f'<link rel="alternate" type="{MEDIA_TYPES[fmt]}" href="{_e(url)}" title="{_e(title)}">'


def _a(url: str, text: str, media_type: str | None = None) -> str:
    """A link to *url*, or just the text when *url* is not an absolute http(s) URL."""
    if not _safe_url(url):
        return _e(text)
    kind = f' type="{media_type}"' if media_type else ""
    return f'<a href="{_e(url)}"{kind}>{_e(text)}</a>'


def _safe_url(url: str | None) -> bool:
    if not url or _CONTROL.search(url) or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _ui_lang(language: str | None) -> str:
    """The page's own words are English: say so where the feed's language is another."""
    return "" if not language or language.lower().split("-")[0] == "en" else ' lang="en"'


def _e(text: str) -> str:
    """Text as HTML: escaped (quotes too), without the control characters HTML forbids."""
    return html.escape(_CONTROL.sub("", text), quote=True)
