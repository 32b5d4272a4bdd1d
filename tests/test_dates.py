"""Date lines as listing pages write them."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from spfeed.dates import DateLine, month_number, parse_date_line, parse_date_value

CASES = [
    # (date line, day, time, zone, kind)
    ("16 June 2022", date(2022, 6, 16), None, None, None),
    ("8 November 2021", date(2021, 11, 8), None, None, None),
    ("08 November 2021", date(2021, 11, 8), None, None, None),
    ("  07 October 2021 ", date(2021, 10, 7), None, None, None),
    ("Press release | 01 March 2023", date(2023, 3, 1), None, None, "Press release"),
    ("Video message  | 15 July 2020", date(2020, 7, 15), None, None, "Video message"),
    ("27-28 June 2023", date(2023, 6, 27), None, None, None),
    ("27 – 28 June 2023", date(2023, 6, 27), None, None, None),
    ("30 December 2023 - 2 January 2024", date(2023, 12, 30), None, None, None),
    ("30 December - 2 January 2024", date(2023, 12, 30), None, None, None),
    ("24 March 2023 at 09:00 (Europe/Zurich)", date(2023, 3, 24), time(9, 0), "Europe/Zurich", None),
    ("24 March 2023 at 9.30", date(2023, 3, 24), time(9, 30), None, None),
    ("12 May 2022, 14:00 (GMT)", date(2022, 5, 12), time(14, 0), "UTC", None),
    ("12 May 2022 at 2:30 pm UTC+2", date(2022, 5, 12), time(14, 30), "UTC+02:00", None),
    ("New York, 21 September 2016", date(2016, 9, 21), None, None, None),
    ("19 July 2022, Bangkok, Thailand", date(2022, 7, 19), None, None, None),
    ("29 November 2013, Geneva", date(2013, 11, 29), None, None, None),
    ("16 May 2016,", date(2016, 5, 16), None, None, None),
    ("25 septembre 2023", date(2023, 9, 25), None, None, None),
    ("1er mars 2023", date(2023, 3, 1), None, None, None),
    ("3 février 2021", date(2021, 2, 3), None, None, None),
    ("12 août 2020", date(2020, 8, 12), None, None, None),
    ("Communiqué de presse | 5 décembre 2022", date(2022, 12, 5), None, None, "Communiqué de presse"),
    ("24 mars 2023 à 10h30 (Europe/Paris)", date(2023, 3, 24), time(10, 30), "Europe/Paris", None),
    ("5 de mayo de 2022", date(2022, 5, 5), None, None, None),
    ("1 de septiembre de 2021", date(2021, 9, 1), None, None, None),
    ("Comunicado de prensa | 14 de diciembre de 2022", date(2022, 12, 14), None, None, "Comunicado de prensa"),
    ("June 16, 2022", date(2022, 6, 16), None, None, None),
    ("16 Jun 2022", date(2022, 6, 16), None, None, None),
    ("16 Sept. 2022", date(2022, 9, 16), None, None, None),
    ("2022-06-16", date(2022, 6, 16), None, None, None),
    ("16.06.2022", date(2022, 6, 16), None, None, None),
    ("Monday, 16 June 2022", date(2022, 6, 16), None, None, None),
    # unreadable: no date, or not a real one
    ("", None, None, None, None),
    ("Coming soon", None, None, None, None),
    ("31 February 2022", None, None, None, None),
    ("16 Juneteenth 2022", None, None, None, None),
    ("Press release |", None, None, None, "Press release"),
]


@pytest.mark.parametrize("text, day, clock, zone, kind", CASES, ids=[c[0] or "empty" for c in CASES])
def test_date_lines(text, day, clock, zone, kind):
    assert parse_date_line(text) == DateLine(day=day, time=clock, zone=zone, kind=kind)


def test_none_is_unreadable():
    assert parse_date_line(None) == DateLine(day=None)


@pytest.mark.parametrize("word, number", [
    ("January", 1), ("janv.", 1), ("FÉVRIER", 2), ("fevrier", 2), ("marzo", 3), ("Aug", 8), ("août", 8),
    ("setiembre", 9), ("Dic", 12), ("décembre", 12), ("monday", None), ("", None),
])
def test_month_names(word, number):
    assert month_number(word) == number


# -- machine-readable values (<time datetime>) ----------------------------------------------------

DATE_VALUES = [
    # (value, day, time, zone): zone None means local to the source
    ("2026-11-30T08:00:00+00:00", date(2026, 11, 30), time(8, 0), "UTC+00:00"),
    ("2026-11-30T08:00:00-03:30", date(2026, 11, 30), time(8, 0), "UTC-03:30"),
    ("2026-11-30T08:00:00+0530", date(2026, 11, 30), time(8, 0), "UTC+05:30"),
    ("2026-11-30T08:00:00Z", date(2026, 11, 30), time(8, 0), "UTC"),
    ("2026-11-30t08:00:00z", date(2026, 11, 30), time(8, 0), "UTC"),
    ("2026-11-30T08:00:15.123456Z", date(2026, 11, 30), time(8, 0, 15), "UTC"),  # fractions dropped
    ("2026-11-30T08:00", date(2026, 11, 30), time(8, 0), None),
    ("2026-11-30 08:00:00", date(2026, 11, 30), time(8, 0), None),
    ("2026-11-30", date(2026, 11, 30), None, None),
    ("  2026-11-30\n", date(2026, 11, 30), None, None),
]


@pytest.mark.parametrize("value, day, clock, zone", DATE_VALUES, ids=[c[0].strip() for c in DATE_VALUES])
def test_date_values(value, day, clock, zone):
    assert parse_date_value(value) == DateLine(day=day, time=clock, zone=zone)


@pytest.mark.parametrize("value", [
    None, "", "30 November 2026", "tomorrow", "2026-11-30T08:00:00+00:00 and more", "2026-11",
    "2026-13-01", "2023-02-29", "0001-01-01", "9999-12-31", "2026-11-31",
    "2026-11-30T24:00", "2026-11-30T08:60", "2026-11-30T08:00:61", "2026-11-30T08:00+24:00", "2026-11-30T8:00",
])
def test_unreadable_date_values(value):
    assert parse_date_value(value) is None


# -- relative dates, against the moment the item was seen -----------------------------------------

ZURICH = ZoneInfo("Europe/Zurich")
SEEN = datetime(2026, 11, 30, 9, 30, tzinfo=ZURICH)

RELATIVE_DAYS = [
    # (date line, days before SEEN's day)
    ("today", 0), ("Today", 0), ("yesterday", 1), ("Yesterday", 1),
    ("1 day ago", 1), ("a day ago", 1), ("3 days ago", 3), ("2 weeks ago", 14), ("a week ago", 7),
    ("1 week ago", 7), ("Posted 3 days ago", 3),
    ("aujourd'hui", 0), ("Aujourd’hui", 0), ("hier", 1), ("Hier", 1), ("il y a 3 jours", 3),
    ("il y a 1 jour", 1), ("il y a une semaine", 7), ("il y a 2 semaines", 14),
    ("hoy", 0), ("Hoy", 0), ("ayer", 1), ("hace 3 días", 3), ("hace 3 dias", 3), ("Hace un día", 1),
    ("hace una semana", 7), ("hace 2 semanas", 14),
]


@pytest.mark.parametrize("text, days", RELATIVE_DAYS, ids=[c[0] for c in RELATIVE_DAYS])
def test_relative_days(text, days):
    assert parse_date_line(text, seen=SEEN) == DateLine(day=date(2026, 11, 30) - timedelta(days=days),
                                                        approximate=True)


RELATIVE_MOMENTS = [
    # (date line, time before SEEN)
    ("5 hours ago", timedelta(hours=5)), ("an hour ago", timedelta(hours=1)), ("1 hour ago", timedelta(hours=1)),
    ("45 minutes ago", timedelta(minutes=45)), ("a minute ago", timedelta(minutes=1)),
    ("il y a 2 heures", timedelta(hours=2)), ("il y a une heure", timedelta(hours=1)),
    ("il y a 10 minutes", timedelta(minutes=10)),
    ("hace 2 horas", timedelta(hours=2)), ("hace una hora", timedelta(hours=1)), ("hace 5 minutos", timedelta(minutes=5)),
    ("11 hours ago", timedelta(hours=11)),  # the day before
]


@pytest.mark.parametrize("text, before", RELATIVE_MOMENTS, ids=[c[0] for c in RELATIVE_MOMENTS])
def test_relative_moments_are_exact(text, before):
    line = parse_date_line(text, seen=SEEN)
    assert line.approximate and line.at is not None and line.at.tzinfo is ZURICH
    assert line.at.astimezone(timezone.utc) == SEEN.astimezone(timezone.utc) - before
    assert (line.day, line.time) == (line.at.date(), line.at.time())


def test_hours_ago_count_real_hours_across_a_clock_change():
    seen = datetime(2026, 10, 25, 3, 30, tzinfo=ZURICH)  # an hour after the clocks went back at 3:00
    line = parse_date_line("2 hours ago", seen=seen)
    assert line.at.astimezone(timezone.utc) == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)
    assert line.at.isoformat() == "2026-10-25T02:30:00+02:00"


def test_relative_dates_keep_their_kind():
    assert parse_date_line("Press release | 2 days ago", seen=SEEN) == DateLine(
        day=date(2026, 11, 28), kind="Press release", approximate=True)


@pytest.mark.parametrize("text", ["today", "3 days ago", "hier", "hace 2 horas", "12 March", "Mar 12"])
def test_relative_and_year_less_dates_need_the_moment_seen(text):
    assert parse_date_line(text) == DateLine(day=None)


@pytest.mark.parametrize("text", [
    "3 days", "days ago", "ago", "Hierarchy of norms", "Ayerbe", "il y a", "hace", "2 months ago", "soon",
])
def test_not_relative_dates(text):
    assert parse_date_line(text, seen=SEEN).day is None


def test_a_full_date_wins_over_a_relative_one():
    assert parse_date_line("Updated today | 16 June 2022", seen=SEEN) == DateLine(
        day=date(2022, 6, 16), kind="Updated today")


# -- dates without a year: the latest such day not after the day seen -----------------------------

YEAR_LESS = [
    ("12 March", date(2026, 3, 12), None),
    ("30 November", date(2026, 11, 30), None),  # the day seen itself
    ("1 December", date(2025, 12, 1), None),  # not after the day seen: last year's
    ("Dec 24", date(2025, 12, 24), None),
    ("Mar 12", date(2026, 3, 12), None),
    ("March 12", date(2026, 3, 12), None),
    ("March 12th", date(2026, 3, 12), None),
    ("12 mars", date(2026, 3, 12), None),
    ("1er décembre", date(2025, 12, 1), None),
    ("12 de marzo", date(2026, 3, 12), None),
    ("27-28 June", date(2026, 6, 27), None),
    ("29 February", date(2024, 2, 29), None),  # the last leap year
    ("12 March at 09:00", date(2026, 3, 12), time(9, 0)),
    ("12 March, 14:00", date(2026, 3, 12), time(14, 0)),
    ("Geneva, 12 March", date(2026, 3, 12), None),
]


@pytest.mark.parametrize("text, day, clock", YEAR_LESS, ids=[c[0] for c in YEAR_LESS])
def test_dates_without_a_year(text, day, clock):
    assert parse_date_line(text, seen=SEEN) == DateLine(day=day, time=clock, approximate=True)


def test_year_less_dates_keep_their_kind():
    assert parse_date_line("Press release | 12 March", seen=SEEN) == DateLine(
        day=date(2026, 3, 12), kind="Press release", approximate=True)


# -- numeric dates and the source's date order -----------------------------------------------------

NUMERIC = [
    # (date line, date_order, day)
    ("28.11.2026", "DMY", date(2026, 11, 28)),
    ("28.11.2026", "MDY", date(2026, 11, 28)),  # dots are always day first
    ("03.04.2026", "MDY", date(2026, 4, 3)),
    ("2026-11-28", "MDY", date(2026, 11, 28)),
    ("03/04/2026", "DMY", date(2026, 4, 3)),
    ("03/04/2026", "MDY", date(2026, 3, 4)),
    ("03/04/2026", "YMD", date(2026, 4, 3)),  # the year last: day first, as DMY
    ("28/11/2026", "DMY", date(2026, 11, 28)),
    ("28/11/2026", "MDY", date(2026, 11, 28)),  # no month 28: the other order
    ("11/28/2026", "DMY", date(2026, 11, 28)),  # no month 28: the other order
    ("11/28/2026", "MDY", date(2026, 11, 28)),
    ("2026/11/28", "YMD", date(2026, 11, 28)),
    ("2026/11/28", "DMY", date(2026, 11, 28)),
    ("2026/4/3", "MDY", date(2026, 4, 3)),
    ("Press release | 11/28/2026", "DMY", date(2026, 11, 28)),
    ("11.28.2026", "DMY", None),  # dots: day first, and there is no month 28
    ("13/13/2026", "DMY", None),
    ("28/11.2026", "DMY", None),  # mixed separators
    ("2026/28/11", "YMD", None),
]


@pytest.mark.parametrize("text, order, day", NUMERIC, ids=[f"{c[0]} {c[1]}" for c in NUMERIC])
def test_numeric_dates(text, order, day):
    assert parse_date_line(text, date_order=order).day == day


def test_an_unknown_date_order_is_an_error():
    with pytest.raises(ValueError, match="date order"):
        parse_date_line("03/04/2026", date_order="DM")


# -- what stays unreadable, with or without the moment seen ---------------------------------------

@pytest.mark.parametrize("text", [
    "29 February 2023", "29/02/2023", "2023-02-29", "1 January 0001", "0001-01-01", "31 December 9999",
    "9999-12-31", "16 June 9999", "2026-13-01", "13.13.2026", "32 March 2023", "31 April", "0 March",
    "Month 13",
])
def test_impossible_dates_stay_unreadable(text):
    assert parse_date_line(text).day is None
    assert parse_date_line(text, seen=SEEN).day is None
