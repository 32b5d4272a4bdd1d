"""Normalisation: ids, clean text, dates at noon in the source's zone."""

from datetime import timedelta, timezone

import pytest

from spfeed.model import RawItem
from spfeed.normalise import MAX_TITLE, canonical_id, clean_text, normalise, published_at


@pytest.mark.parametrize("link, expected", [
    ("https://www.ilo.org/global/a/index.htm", "https://www.ilo.org/global/a/index.htm"),
    ("HTTPS://WWW.ILO.ORG/Global/A/index.htm", "https://www.ilo.org/Global/A/index.htm"),
    ("https://www.ilo.org/a/index.htm#section", "https://www.ilo.org/a/index.htm"),
    ("https://www.ilo.org:443/a", "https://www.ilo.org/a"),
    ("http://www.ilo.org:80/a", "http://www.ilo.org/a"),
    ("http://www.ilo.org:8080/a?x=1&y=2", "http://www.ilo.org:8080/a?x=1&y=2"),
    ("https://www.ilo.org", "https://www.ilo.org/"),
])
def test_canonical_id(link, expected):
    assert canonical_id(link) == expected


@pytest.mark.parametrize("text, expected", [
    ("  a \n\t b  ", "a b"),
    ("a\u00a0b\u2003c", "a b c"),  # no-break and em spaces
    ("in\u200bvis\u200dible\ufeff", "invisible"),  # zero-width characters
    ("bell\x07 and\x00 nul", "bell and nul"),  # characters XML forbids
    ("   ", None),
    (None, None),
])
def test_clean_text(text, expected):
    assert clean_text(text) == expected


def test_long_fields_are_capped():
    raw = RawItem(position=0, title="x" * 10_000, link="https://www.ilo.org/a", summary="y" * 100_000)
    item = normalise(raw, "UTC")
    assert len(item.title) == MAX_TITLE and item.title.endswith("…")
    assert len(item.summary) < 10_000


@pytest.mark.parametrize("line, iso", [
    ("16 June 2022", "2022-06-16T12:00:00+02:00"),  # summer time in Geneva
    ("8 November 2021", "2021-11-08T12:00:00+01:00"),  # winter time
    ("24 March 2023 at 09:00 (Europe/Zurich)", "2023-03-24T09:00:00+01:00"),
    ("24 March 2023 at 09:00 (Asia/Bangkok)", "2023-03-24T09:00:00+07:00"),
    ("24 March 2023 at 09:00 (Mars/Olympus)", "2023-03-24T09:00:00+01:00"),  # unknown zone: the source's
    ("12 May 2022 at 2:30 pm UTC+2", "2022-05-12T14:30:00+02:00"),
])
def test_dates_are_noon_in_the_source_zone_unless_the_line_says(line, iso):
    published, _ = published_at(line, "Europe/Zurich")
    assert published.isoformat() == iso


@pytest.mark.parametrize("line", ["16 June 2022", "16 December 2022"])
def test_noon_keeps_the_day_from_hawaii_to_new_zealand(line):
    published, _ = published_at(line, "Europe/Zurich")
    for hours in range(-10, 13):
        assert published.astimezone(timezone(timedelta(hours=hours))).day == 16, hours


def test_item_fields():
    raw = RawItem(position=3, title=" A  title ", link="https://WWW.ilo.org/a#x", label="New ILO report",
                  date_text="Press release | 01 March 2023", summary="Sum")
    item = normalise(raw, "Europe/Zurich")
    assert (item.id, item.link, item.title, item.label, item.kind, item.summary, item.position) == (
        "https://www.ilo.org/a", "https://WWW.ilo.org/a#x", "A title", "New ILO report", "Press release", "Sum", 3)
    assert item.published.isoformat() == "2023-03-01T12:00:00+01:00"
    assert item.categories == ("New ILO report", "Press release")


@pytest.mark.parametrize("raw", [
    RawItem(position=0, title=None, link="https://www.ilo.org/a"),
    RawItem(position=0, title="  ", link="https://www.ilo.org/a"),
    RawItem(position=0, title="T", link=None),
    RawItem(position=0, title="T", link="ftp://www.ilo.org/a"),
    RawItem(position=0, title="T", link="https:///nohost"),
])
def test_items_without_title_or_web_link_are_dropped(raw):
    assert normalise(raw, "UTC") is None


def test_undated_items_have_no_date_yet():
    item = normalise(RawItem(position=0, title="T", link="https://www.ilo.org/a", date_text="soon"), "UTC")
    assert item.published is None


@pytest.mark.parametrize("link, expected", [
    ("https://www.ilo.org/a b/ç.htm", "https://www.ilo.org/a%20b/%C3%A7.htm"),
    ("https://www.ilo.org/a%20b?x=1&y=é#top", "https://www.ilo.org/a%20b?x=1&y=%C3%A9#top"),
    ("https://www.ilo.org/global/WCMS_1/lang--en/index.htm", "https://www.ilo.org/global/WCMS_1/lang--en/index.htm"),
])
def test_links_are_percent_encoded_once(link, expected):
    from spfeed.normalise import web_link

    assert web_link(link) == expected
    assert web_link(expected) == expected
