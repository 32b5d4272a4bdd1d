"""A real feed reader (newsboat) subscribed to both feeds across runs: each item once, the right date.

Skipped where newsboat is not installed (`apt-get install newsboat`; .ci/run tries to).
"""

import shutil
import sqlite3
import subprocess
from datetime import datetime, timezone

import pytest

from conftest import write_config
from pages import entry, listing
from spfeed.config import load
from spfeed.pipeline import update

pytestmark = pytest.mark.skipif(shutil.which("newsboat") is None, reason="newsboat is not installed")


def reader_items(folder, feed_path) -> list[tuple]:
    """Reload *feed_path* in a newsboat with its own cache; returns (title, url, pubDate) of every item."""
    folder.mkdir(exist_ok=True)
    (folder / "urls").write_text(feed_path.as_uri() + "\n")
    subprocess.run(["newsboat", "-u", str(folder / "urls"), "-c", str(folder / "cache.db"), "-C", "/dev/null",
                    "-x", "reload"], check=True, capture_output=True, timeout=60)
    with sqlite3.connect(folder / "cache.db") as db:
        return db.execute("SELECT title, url, pubDate FROM rss_item ORDER BY pubDate DESC, title").fetchall()


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_newsboat_sees_each_item_once_with_its_date(tmp_path, site, clock, fmt):
    config = load(write_config(tmp_path, site.page("/p", listing([entry(2, day="18 May 2022"), entry(1)]))))
    feed = config.feeds[0].path("rss") if fmt == "rss" else config.feeds[0].path("atom")
    update(config, now=clock)
    first = reader_items(tmp_path / "reader", feed)
    noon_16_june = int(datetime(2022, 6, 16, 10, tzinfo=timezone.utc).timestamp())  # 12:00 in Geneva
    assert first == [("Report number 1", site.url(entry(1)["href"]), noon_16_june),
                     ("Report number 2", site.url(entry(2)["href"]), noon_16_june - 29 * 86400)]

    # a new item, an edited one, and one that leaves the page
    clock.advance(hours=6)
    site.page("/p", listing([entry(3, day="20 June 2022"), entry(2, day="18 May 2022", title="Report number 2, revised")]))
    update(config, now=clock)
    second = reader_items(tmp_path / "reader", feed)
    titles = [t for t, _, _ in second]
    assert titles.count("Report number 3") == 1 and "Report number 1" in titles
    assert len({url for _, url, _ in second}) == len(second) == 3  # nothing repeated
    assert "Report number 2, revised" in titles
