"""Listing pages in the ILO template, built from data, for tests that change a page between runs."""

from __future__ import annotations

import html


def entry(n: int, day: str | None = "16 June 2022", label: str | None = "New ILO report", summary: str | None = None,
          title: str | None = None, href: str | None = None) -> dict:
    return {
        "href": href or f"/global/publications/WCMS_{100000 + n}/lang--en/index.htm",
        "title": title or f"Report number {n}",
        "label": label,
        "date": day,
        "summary": summary if summary is not None else f"Summary of report {n}.",
    }


def listing(entries: list[dict], lang: str = "en", next_href: str | None = None, charset: str = "utf-8",
            raw: bool = False) -> bytes:
    """A page with *entries* (dicts as made by :func:`entry`) as ``li.item`` blocks.

    With *raw*, titles and summaries are inserted as markup, not escaped.
    """
    esc = (lambda s: s) if raw else html.escape
    blocks = []
    for e in entries:
        parts = ['<li class="item"><div class="text">']
        if e.get("label"):
            parts.append(f'<p class="label">{esc(e["label"])}</p>')
        parts.append(f'<h5 class="item-title"><a href="{html.escape(e["href"])}">{esc(e["title"])}</a></h5>')
        if e.get("date"):
            parts.append(f'<p class="date">{esc(e["date"])}</p>')
        if e.get("summary"):
            parts.append(f'<p class="teaser">{esc(e["summary"])}</p>')
        parts.append("</div></li>")
        blocks.append("".join(parts))
    pagination = f'<aside class="pagination"><a class="next" href="{next_href}">Next</a></aside>' if next_href else ""
    page = f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="{charset}"><title>Listing</title></head>
<body><nav><a href="/global/lang--en/index.htm">ILO</a></nav>
<div class="intro"><p>Intro text, 16 June 2022, not an item.</p></div>
<section class="listing"><div class="items-list"><ol>
{chr(10).join(blocks)}
</ol></div>{pagination}</section>
<aside class="quote"><blockquote>A quote.</blockquote></aside>
</body></html>"""
    return page.encode(charset, "xmlcharrefreplace")
