"""Normalisation: ids, clean text, dates at noon in the source's zone."""

import logging
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from spfeed.model import RawItem
from spfeed.normalise import (
    MAX_LINK, MAX_TITLE, SKIP_LONG_LINK, SKIP_NO_LINK, SKIP_NO_TITLE, Normalised, canonical_id, clean_text,
    normalise, normalise_or_reason, published_at, warnings_for,
)


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


def test_clean_text_takes_text_already_clean_as_it_is():
    """The shortcut for clean ASCII text gives what the full cleaning gives, on every string of up
    to four characters from an alphabet of the cases that matter (and on the first 128 characters)."""
    from itertools import product

    from spfeed.normalise import _clean_ascii, _scrub

    alphabet = [" ", "a", "B", ".", "\t", "\n", "\x1c", "\x07", "\x7f", "\xa0", "\u200b", "\u0301", "\x85"]
    taken = 0
    for n in range(5):
        for chars in product(alphabet, repeat=n):
            text = "".join(chars)
            if _clean_ascii(text):
                taken += 1
                assert _scrub(text) == text, repr(text)
    assert taken > 100  # the shortcut is taken (and so checked) on many of them
    for c in map(chr, range(128)):
        if _clean_ascii(f"a{c}b"):
            assert _scrub(f"a{c}b") == f"a{c}b", repr(c)


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


# -- text: controls that reorder or hide text, stacked marks ---------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("\u202eevil\u202c.exe", "evil.exe"),  # right-to-left override and its end
    ("a\u202ab\u202bc\u202dd", "abcd"),  # embeddings and overrides
    ("x\u2066y\u2067z\u2068w\u2069", "xyzw"),  # isolates
    ("Report\U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065\U000e007f", "Report"),  # tag characters
    ("Z" + "\u0301" * 200 + "algo", "Z" + "\u0301" * 4 + "algo"),
    ("a" + "\u0300\u0316\u0489" * 5 + "b" + "\u0352" * 9, "a" + "\u0300\u0316\u0489\u0300" + "b" + "\u0352" * 4),
    ("Tie\u0302\u0301ng Vie\u0323\u0302t", "Tie\u0302\u0301ng Vie\u0323\u0302t"),  # real text keeps its marks
    ("שָׁלוֹם", "שָׁלוֹם"),
    ("عربي \u200f", "عربي \u200f"),  # the right-to-left mark is not an override
])
def test_clean_text_drops_bidi_controls_and_caps_combining_marks(text, expected):
    assert clean_text(text) == expected


def test_a_zalgo_title_keeps_four_marks():
    raw = RawItem(position=0, title="Z" + "\u0336" * 200 + " title", link="https://www.ilo.org/a")
    assert normalise(raw, "UTC").title == "Z" + "\u0336" * 4 + " title"


# -- links: never cut, no user-info -----------------------------------------------------------------

def long_link(length: int, prefix: str = "https://www.ilo.org/a?q=") -> str:
    return prefix + "x" * (length - len(prefix))


def test_a_link_of_the_maximum_length_is_kept_whole():
    link = long_link(MAX_LINK)
    item = normalise(RawItem(position=0, title="T", link=link), "UTC")
    assert item.link == link and item.id == link


@pytest.mark.parametrize("link", [
    long_link(MAX_LINK + 1),
    long_link(10_000),
    "https://www.ilo.org/" + "é" * 400,  # 421 characters, 2,420 once percent-encoded
])
def test_an_over_long_link_skips_its_item_with_a_reason(link):
    result = normalise_or_reason(RawItem(position=0, title="T", link=link), "UTC")
    assert result == Normalised(None, SKIP_LONG_LINK)
    assert normalise(RawItem(position=0, title="T", link=link), "UTC") is None


def test_two_long_links_with_one_prefix_are_not_merged_into_one_item():
    first, second = long_link(3000) + "1", long_link(3000) + "2"
    results = [normalise_or_reason(RawItem(position=i, title="T", link=link), "UTC")
               for i, link in enumerate((first, second, "https://www.ilo.org/ok"))]
    assert [r.skipped for r in results] == [SKIP_LONG_LINK, SKIP_LONG_LINK, None]
    assert warnings_for(results, "https://www.ilo.org/list") == [
        "https://www.ilo.org/list: skipped 2 items whose links are longer than 2048 characters"]
    assert warnings_for(results[:1], "https://www.ilo.org/list") == [
        "https://www.ilo.org/list: skipped 1 item whose link is longer than 2048 characters"]


@pytest.mark.parametrize("raw, reason", [
    (RawItem(position=0, title=None, link="https://www.ilo.org/a"), SKIP_NO_TITLE),
    (RawItem(position=0, title="T", link="ftp://www.ilo.org/a"), SKIP_NO_LINK),
    (RawItem(position=0, title="T", link=None), SKIP_NO_LINK),
])
def test_other_skips_say_why_and_are_left_to_the_health_check(raw, reason):
    result = normalise_or_reason(raw, "UTC")
    assert (result.item, result.skipped) == (None, reason)
    assert warnings_for([result], "https://www.ilo.org/list") == []


@pytest.mark.parametrize("link, published, item_id", [
    ("http://user:pass@www.ilo.org/x", "http://www.ilo.org/x", "http://www.ilo.org/x"),
    ("https://user@WWW.ilo.org:443/a#f", "https://WWW.ilo.org:443/a#f", "https://www.ilo.org/a"),
    ("https://:secret@www.ilo.org/a", "https://www.ilo.org/a", "https://www.ilo.org/a"),
    ("http://www.ilo.org@evil.example/", "http://evil.example/", "http://evil.example/"),
    ("https://www.ilo.org:443@evil.example/x?y=1", "https://evil.example/x?y=1", "https://evil.example/x?y=1"),
    ("https://a@www.ilo.org@evil.example/", "https://evil.example/", "https://evil.example/"),
])
def test_links_are_published_without_user_info(link, published, item_id):
    item = normalise(RawItem(position=0, title="T", link=link), "UTC")
    assert (item.link, item.id) == (published, item_id)


def test_a_host_disguised_by_user_info_is_logged(caplog):
    caplog.set_level(logging.INFO, logger="spfeed.normalise")
    normalise(RawItem(position=0, title="T", link="http://www.ilo.org@evil.example/"), "UTC")
    [record] = [r for r in caplog.records if r.levelno == logging.INFO]
    assert "evil.example" in record.getMessage() and "www.ilo.org" in record.getMessage()


@pytest.mark.parametrize("link, expected", [
    ("http://user:pass@www.ilo.org/x", "http://www.ilo.org/x"),
    ("https://u@www.ilo.org:8443/x", "https://www.ilo.org:8443/x"),
    ("http://[2001:db8::1]:8080/a", "http://[2001:db8::1]:8080/a"),
])
def test_canonical_ids_drop_user_info(link, expected):
    assert canonical_id(link) == expected


# -- dates: machine-readable values, the moment seen --------------------------------------------------

SEEN = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)  # 09:00 in Geneva


@pytest.mark.parametrize("value, text, iso, kind", [
    ("2026-11-30T08:00:00+00:00", "Press release | 1 March 2023", "2026-11-30T08:00:00+00:00", "Press release"),
    ("2026-11-30T08:00:00Z", None, "2026-11-30T08:00:00+00:00", None),
    ("2026-11-30T08:00:00.250-05:00", None, "2026-11-30T08:00:00-05:00", None),
    ("2026-11-30T08:00", "1 March 2023", "2026-11-30T08:00:00+01:00", None),  # local to the source
    ("2026-11-30 08:00:00", None, "2026-11-30T08:00:00+01:00", None),
    ("2026-06-30", None, "2026-06-30T12:00:00+02:00", None),  # noon, as dates without a time
    ("soon", "Press release | 16 June 2022", "2022-06-16T12:00:00+02:00", "Press release"),  # unreadable: the text
    ("2023-02-29", "16 June 2022", "2022-06-16T12:00:00+02:00", None),
])
def test_a_machine_readable_date_wins_over_the_date_line(value, text, iso, kind):
    raw = RawItem(position=0, title="T", link="https://www.ilo.org/a", date_text=text, date_value=value)
    item = normalise(raw, "Europe/Zurich")
    assert (item.published.isoformat(), item.kind, item.approximate) == (iso, kind, False)


@pytest.mark.parametrize("text, iso", [
    ("3 hours ago", "2026-11-30T06:00:00+01:00"),
    ("il y a 20 minutes", "2026-11-30T08:40:00+01:00"),
    ("yesterday", "2026-11-29T12:00:00+01:00"),
    ("hace 3 días", "2026-11-27T12:00:00+01:00"),
    ("today", "2026-11-30T12:00:00+01:00"),
    ("12 March", "2026-03-12T12:00:00+01:00"),
    ("12 December", "2025-12-12T12:00:00+01:00"),
])
def test_relative_and_year_less_dates_are_read_against_the_moment_seen(text, iso):
    raw = RawItem(position=0, title="T", link="https://www.ilo.org/a", date_text=text)
    item = normalise(raw, "Europe/Zurich", seen=SEEN)
    assert (item.published.isoformat(), item.approximate) == (iso, True)
    plain = normalise(raw, "Europe/Zurich")  # without the moment seen: not read
    assert (plain.published, plain.approximate) == (None, False)


def test_today_is_the_source_zones_day():
    raw = RawItem(position=0, title="T", link="https://www.ilo.org/a", date_text="today")
    seen = datetime(2026, 11, 30, 23, 0, tzinfo=timezone.utc)  # 1 December in Kiritimati
    assert normalise(raw, "Pacific/Kiritimati", seen=seen).published.isoformat() == "2026-12-01T12:00:00+14:00"
    assert normalise(raw, "Pacific/Honolulu", seen=seen).published.isoformat() == "2026-11-30T12:00:00-10:00"
    year_less = replace(raw, date_text="1 December")
    assert normalise(year_less, "Pacific/Kiritimati", seen=seen).published.year == 2026
    assert normalise(year_less, "Pacific/Honolulu", seen=seen).published.year == 2025


def test_the_date_order_reads_slashed_dates():
    raw = RawItem(position=0, title="T", link="https://www.ilo.org/a", date_text="03/04/2026")
    assert normalise(raw, "UTC").published.date().isoformat() == "2026-04-03"
    assert normalise(raw, "UTC", date_order="MDY").published.date().isoformat() == "2026-03-04"
    assert published_at("03/04/2026", "UTC", date_order="MDY")[0].date().isoformat() == "2026-03-04"


@pytest.mark.parametrize("text, value, kept", [
    ("2 December 2026", None, True),  # two days after the day seen
    ("3 December 2026", None, False),
    ("1 January 2100", None, False),
    ("2 December 2026 at 07:59 (UTC)", None, True),  # 47:59 after seen
    ("2 December 2026 at 08:01 (UTC)", None, False),
    (None, "2026-12-02T08:00:00Z", True),
    (None, "2027-01-01T00:00:00Z", False),
    (None, "2026-12-03", False),
])
def test_dates_far_ahead_of_the_moment_seen_are_set_aside(text, value, kept):
    raw = RawItem(position=0, title="T", link="https://www.ilo.org/a", date_text=text, date_value=value)
    result = normalise_or_reason(raw, "Europe/Zurich", seen=SEEN)
    assert result.item is not None and result.skipped is None
    assert (result.item.published is not None) == kept
    assert (result.future is None) == kept
    if not kept:
        assert result.future > SEEN + timedelta(days=2)
        assert warnings_for([result], "https://www.ilo.org/list") == [
            f"https://www.ilo.org/list: 1 item is dated more than 2 days ahead ({result.future.date().isoformat()}): "
            "published when first seen"]
    # without the moment seen there is nothing to compare with: the date stands
    assert normalise(raw, "Europe/Zurich").published is not None


def test_naive_moments_are_refused():
    raw = RawItem(position=0, title="T", link="https://www.ilo.org/a", date_text="today")
    with pytest.raises(ValueError, match="aware"):
        normalise(raw, "UTC", seen=datetime(2026, 11, 30, 8, 0))
