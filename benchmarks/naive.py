"""The naive script spfeed is measured against: no state, every run fetches the page, parses it
with BeautifulSoup's html.parser and the ``ilo`` profile's selectors, and writes every item it
found to rss.xml and atom.xml with feedgen.

    python benchmarks/naive.py URL OUT_DIR
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import requests
from bs4 import BeautifulSoup
from feedgen.feed import FeedGenerator

# English month names, so the script reads dates the same way in any locale (strptime's %B does not).
MONTHS = {name: n for n, name in enumerate(
    "January February March April May June July August September October November December".split(), 1)}
GENEVA = ZoneInfo("Europe/Zurich")


def published(text: str) -> datetime | None:
    """'16 June 2022' as noon in Geneva; None when the line is not a date."""
    try:
        day, month, year = text.split()
        return datetime(int(year), MONTHS[month], int(day), 12, tzinfo=GENEVA)
    except (ValueError, KeyError):
        return None


def main(url: str, out: str) -> None:
    response = requests.get(url, timeout=30)
    response.raise_for_status()
    soup = BeautifulSoup(response.text, "html.parser")
    fg = FeedGenerator()
    fg.id(url)
    fg.title("Naive feed")
    fg.link(href=url, rel="alternate")
    fg.description("The naive script's feed")
    fg.author({"name": "ILO"})
    for li in soup.select("div.items-list li.item"):
        a = li.select_one(".item-title a[href]")
        if a is None:
            continue
        link = urljoin(url, a["href"])
        fe = fg.add_entry(order="append")
        fe.id(link)
        fe.title(li.select_one(".item-title").get_text(" ", strip=True))
        fe.link(href=link)
        label = li.select_one("p.label")
        if label is not None:
            fe.category(term=label.get_text(" ", strip=True))
        teaser = li.select_one("p.teaser")
        fe.description(teaser.get_text(" ", strip=True) if teaser is not None else fe.title())
        date = li.select_one("p.date")
        moment = published(date.get_text(" ", strip=True)) if date is not None else None
        if moment is not None:
            fe.published(moment)
            fe.updated(moment)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    fg.rss_file(str(folder / "rss.xml"))
    fg.atom_file(str(folder / "atom.xml"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
