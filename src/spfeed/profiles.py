"""Built-in selector profiles for known page templates.

A profile is plain data, so loading the config never compiles a selector; extraction does that.
"""

from __future__ import annotations

#: The template of ilo.org's listings before the 2024 rebuild (department pages, newsroom, regional
#: offices): ``div.items-list`` holds ``<ol>`` lists (in archives each after an ``h3.month``), each
#: entry an ``li.item`` with an optional image credit, a label, the linked title, a date line and a
#: teaser; pagination is ``aside.pagination`` with ``a.prev``/``a.next``.
ILO = {
    "item": "div.items-list li.item",
    "title": ".item-title",
    "link": ".item-title a[href]",
    "label": "p.label",
    "date": "p.date",
    "summary": "p.teaser",
    "next": "aside.pagination a.next[href]",
}

PROFILES: dict[str, dict[str, str]] = {"ilo": ILO}

#: The selector keys, in the order they are reported.
SELECTOR_KEYS = ("item", "title", "link", "label", "date", "summary", "next")
