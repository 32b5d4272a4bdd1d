"""Health rules: a page that no longer looks like the listing never replaces a good feed."""

import pytest

from conftest import FIXTURES, run_cli, write_config
from pages import entry, listing
from spfeed.config import Selectors, Source, load
from spfeed.health import problems
from spfeed.model import Item, Listing, RawItem
from spfeed.profiles import ILO
from spfeed.pipeline import update

SOURCE = Source(key="sources[0]", url="https://www.ilo.org/x", selectors=Selectors(**ILO))


def raws(n: int, **fields) -> tuple[RawItem, ...]:
    return tuple(RawItem(position=i, title=f"T{i}", link=f"https://x/{i}", date_text="1 May 2022", **fields) for i in range(n))


def items(n: int, dated: int | None = None) -> list[Item]:
    from datetime import datetime, timezone

    dated = n if dated is None else dated
    return [Item(id=f"https://x/{i}", link=f"https://x/{i}", title=f"T{i}", summary=None, label=None, kind=None,
                 published=datetime(2022, 5, 1, tzinfo=timezone.utc) if i < dated else None) for i in range(n)]


def report(**counts):
    return tuple({"item": 6, "title": 6, "link": 6, "label": 6, "date": 6, "summary": 6, **counts}.items())


@pytest.mark.parametrize("listing_, valid, source, expected", [
    (Listing(raws(6), "u", selector_report=report()), items(6), SOURCE, []),
    (Listing((), "u", selector_report=report(item=0)), [], SOURCE,
     ["sources[0].selectors.item 'div.items-list li.item' matched nothing; generic detection found no repeated "
      "blocks with a link and a date either"]),
    (Listing(raws(6), "u", selector_report=report(link=0)), [], SOURCE,
     ["6 blocks found by sources[0].selectors.item 'div.items-list li.item', but only 0 usable items (expected at "
      "least 1): sources[0].selectors.link '.item-title a[href]' matched nothing in them"]),
    (Listing(raws(3), "u", selector_report=report(item=3)), items(3), Source(**{**vars(SOURCE), "min_items": 5}),
     ["3 blocks found by sources[0].selectors.item 'div.items-list li.item', but only 3 usable items (expected at "
      "least 5): they lack a title or a web link"]),
    (Listing(raws(6), "u", selector_report=report()), items(2), SOURCE,
     ["4 of 6 blocks found by sources[0].selectors.item 'div.items-list li.item' lack a title or a web link "
      "(expected most to have both)"]),
    (Listing(raws(6), "u", selector_report=report(date=1)), items(6, dated=1), SOURCE,
     ["only 1 of 6 items found by sources[0].selectors.item 'div.items-list li.item' have a readable date, expected "
      "at least 50%; sources[0].selectors.date 'p.date' matched 1"]),
    (Listing(raws(6), "u", selector_report=report(), detected_as="article.card"), items(6, dated=0), SOURCE,
     ["only 0 of 6 items found by generic detection (blocks like 'article.card', as sources[0].selectors.item "
      "'div.items-list li.item' matched nothing) have a readable date, expected at least 50%"]),
])
def test_problems(listing_, valid, source, expected):
    assert problems(source, listing_, valid) == expected


def test_undated_listings_can_be_allowed():
    source = Source(**{**vars(SOURCE), "min_dated_share": 0})
    assert problems(source, Listing(raws(6), "u", selector_report=report(date=0)), items(6, dated=0)) == []


def test_a_redesigned_page_fails_with_exit_3_and_keeps_the_feeds(tmp_path, site):
    url = site.page("/p", listing([entry(1), entry(2)]))
    config = write_config(tmp_path, [{"url": url, "detect": False}])
    assert run_cli("--config", str(config), "update").returncode == 0
    before = (tmp_path / "feeds" / "atom.xml").read_bytes()
    site.page("/p", (FIXTURES / "variants" / "generic.html").read_bytes())
    result = run_cli("--config", str(config), "update")
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr == (f"spfeed: error: {url}: the page does not look like the listing: sources[0].selectors.item "
                             "'div.items-list li.item' matched nothing\n")
    assert (tmp_path / "feeds" / "atom.xml").read_bytes() == before


def test_generic_detection_publishes_loudly_when_healthy(tmp_path, site):
    url = site.page("/p", (FIXTURES / "variants" / "generic.html").read_bytes())
    config = write_config(tmp_path, [{"url": url}])
    result = run_cli("--config", str(config), "update")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("3 new, 0 updated, 0 gone")
    assert result.stderr == (
        f"spfeed: warning: {url}: sources[0].selectors.item 'div.items-list li.item' matched nothing; published 3 "
        "items found by generic detection (blocks like 'article.card'): check the page and set sources[0].selectors\n")


def test_generic_detection_that_fails_the_rules_publishes_nothing(tmp_path, site, clock):
    page = listing([entry(1, day=None), entry(2, day=None), entry(3), entry(4, day=None), entry(5)])
    url = site.page("/p", page.replace(b"items-list", b"news-list"))
    config = load(write_config(tmp_path, [{"url": url}]))
    result = update(config, now=clock)
    assert result.exit_code == 3 and not result.written
    assert "only 2 of 5 items found by generic detection (blocks like 'li.item'" in result.failures[0]


def test_most_items_broken_fails(tmp_path, site, clock):
    page = listing([entry(1), entry(2), entry(3)]).replace(b'<a href="/global/publications/WCMS_100002', b'<a name="x" data-href="').replace(
        b'<a href="/global/publications/WCMS_100003', b'<a data-href="')
    url = site.page("/p", page)
    report = update(load(write_config(tmp_path, [{"url": url}])), now=clock)
    assert report.exit_code == 3 and "2 of 3 blocks found by" in report.failures[0]


def test_a_few_broken_items_are_skipped_and_reported(tmp_path, site, clock):
    page = listing([entry(1), entry(2), entry(3)]).replace(b'<a href="/global/publications/WCMS_100002/lang--en/index.htm">', b"<a>")
    url = site.page("/p", page)
    report = update(load(write_config(tmp_path, [{"url": url}])), now=clock)
    assert report.exit_code == 0 and len(report.new) == 2
    assert report.warnings == (f"{url}: skipped 1 of 3 items without a title or web link",)
