"""Date lines as listing pages write them."""

from datetime import date, time

import pytest

from spfeed.dates import DateLine, month_number, parse_date_line

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
