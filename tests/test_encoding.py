"""Bytes to text as the WHATWG encoding standard reads a page: BOM, HTTP charset, <meta> prescan,
sniffing; encodings that are not ASCII-compatible are refused, and mislabelled pages read cleanly."""

import logging

import pytest

from conftest import fixture_bytes
from spfeed.encoding import decode_html, html_utf8, prescan, utf8_counts

CAFE = "<p>Caf\u00e9 \u2013 \u00e9t\u00e9</p>"


#: (body, HTTP charset, text, encoding) as decode_html reads them.
READINGS = [
    # sniffing, with nothing declared
    (CAFE.encode(), None, CAFE, "utf-8"),
    (CAFE.encode("cp1252"), None, CAFE, "windows-1252"),
    (b"<p>plain</p>", None, "<p>plain</p>", "utf-8"),
    # one bad byte in a UTF-8 page costs one character, not the page
    (CAFE.encode() + b"<p>\xff</p>", None, CAFE + "<p>\ufffd</p>", "utf-8"),
    (CAFE.encode() + b"<p>\xe9</p>", "utf-8", CAFE + "<p>\ufffd</p>", "utf-8"),
    (b"<p>\xe2\x80 x</p>" + CAFE.encode(), "utf-8", "<p>\ufffd x</p>" + CAFE, "utf-8"),  # a truncated sequence: one
    # a real U+FFFD on the page is not a bad byte
    ("<p>\ufffd \ufffd</p>".encode() + CAFE.encode(), None, "<p>\ufffd \ufffd</p>" + CAFE, "utf-8"),
    # <meta charset> and <meta http-equiv>, labels through the WHATWG table
    ('<meta charset="windows-1252"><p>\u2019</p>'.encode("cp1252"), None,
     '<meta charset="windows-1252"><p>\u2019</p>', "windows-1252"),
    ('<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"><p>\u2019</p>'.encode("cp1252"), None,
     '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"><p>\u2019</p>', "windows-1252"),
    ("<META CHARSET=latin1><p>\u00e9</p>".encode("cp1252"), None, "<META CHARSET=latin1><p>\u00e9</p>", "windows-1252"),
    ('<meta charset="koi8-r"><p>\u0416</p>'.encode("koi8-r"), None, '<meta charset="koi8-r"><p>\u0416</p>', "koi8-r"),
    ('<meta charset="shift_jis"><p>\u65e5\u672c</p>'.encode("shift_jis"), None,
     '<meta charset="shift_jis"><p>\u65e5\u672c</p>', "shift_jis"),
    # a <meta> in a comment or after the first 1024 bytes is not read
    ('<!-- <meta charset="koi8-r"> --><p>\u00e9</p>'.encode(), None, '<!-- <meta charset="koi8-r"> --><p>\u00e9</p>',
     "utf-8"),
    (b" " * 1024 + '<meta charset="koi8-r"><p>\u00e9</p>'.encode("cp1252"), None,
     " " * 1024 + '<meta charset="koi8-r"><p>\u00e9</p>', "windows-1252"),
    # the HTTP header wins over <meta>
    ("<p>\u00e9</p>".encode("cp1252"), "ISO-8859-1", "<p>\u00e9</p>", "windows-1252"),
    ('<meta charset="utf-8"><p>\u00e9</p>'.encode("cp1252"), "windows-1252", '<meta charset="utf-8"><p>\u00e9</p>',
     "windows-1252"),
    ("<p>\u0416</p>".encode("koi8-r"), '"KOI8-R"', "<p>\u0416</p>", "koi8-r"),
    # a wrong declaration: says UTF-8, and not one non-ASCII sequence is UTF-8
    ("<p>\u00e9t\u00e9 \u2013</p>".encode("cp1252"), "utf-8", "<p>\u00e9t\u00e9 \u2013</p>", "windows-1252"),
    # a wrong declaration: a single-byte charset on a clean UTF-8 body
    ("<p>\u00e9t\u00e9 \u2013</p>".encode(), "iso-8859-1", "<p>\u00e9t\u00e9 \u2013</p>", "utf-8"),
    ("<p>\u0416\u0443\u0440\u043d\u0430\u043b</p>".encode(), "koi8-r", "<p>\u0416\u0443\u0440\u043d\u0430\u043b</p>",
     "utf-8"),
    ('<meta charset="windows-1251"><p>\u00e9</p>'.encode(), None, '<meta charset="windows-1251"><p>\u00e9</p>', "utf-8"),
    # byte order marks win over everything, and are not part of the text
    ("\ufeff<p>\u00e9</p>".encode(), "iso-8859-1", "<p>\u00e9</p>", "utf-8"),
    (b"\xff\xfe" + "<p>\u00e9</p>".encode("utf-16-le"), "windows-1252", "<p>\u00e9</p>", "utf-16le"),
    (b"\xfe\xff" + "<p>\u00e9</p>".encode("utf-16-be"), None, "<p>\u00e9</p>", "utf-16be"),
    # unknown labels are no declaration
    (b"<p>x</p>", "no-such-charset", "<p>x</p>", "utf-8"),
    ('<meta charset="no-such-charset"><p>\u00e9</p>'.encode("cp1252"), None,
     '<meta charset="no-such-charset"><p>\u00e9</p>', "windows-1252"),
]


@pytest.mark.parametrize("body, header, text, codec", READINGS)
def test_decode_html(body, header, text, codec):
    assert decode_html(body, header) == (text, codec)


#: Declarations that are not followed: (body, HTTP charset, text, encoding).
REFUSED = [
    # UTF-7 would make "+ADw-b+AD4-" a live <b>: never decode as UTF-7, declared anywhere
    (b"<p>+ADw-b+AD4-bold</p>", "utf-7", "<p>+ADw-b+AD4-bold</p>", "utf-8"),
    (b'<meta charset="utf-7"><p>+ADw-script+AD4-</p>', None, '<meta charset="utf-7"><p>+ADw-script+AD4-</p>', "utf-8"),
    (b'<meta http-equiv="content-type" content="text/html;charset=UTF-7"><p>+ADw-b+AD4-</p>', None,
     '<meta http-equiv="content-type" content="text/html;charset=UTF-7"><p>+ADw-b+AD4-</p>', "utf-8"),
    # labels the standard maps to "replacement" (ISO-2022-KR, HZ) and ISO-2022-JP: refused too
    (b"<p>\x1b$)Cx</p>", "iso-2022-kr", "<p>\x1b$)Cx</p>", "utf-8"),
    (b"<p>~{x</p>", "hz-gb-2312", "<p>~{x</p>", "utf-8"),
    (b"<p>\x1b$B<b\x1b(B</p>", "iso-2022-jp", "<p>\x1b$B<b\x1b(B</p>", "utf-8"),
    # UTF-16 without a BOM: refused in the header; in a <meta> the standard says UTF-8
    (b"<p>ab</p>", "utf-16", "<p>ab</p>", "utf-8"),
    ('<meta charset="utf-16"><p>\u00e9</p>'.encode(), None, '<meta charset="utf-16"><p>\u00e9</p>', "utf-8"),
    # (which, as any declared UTF-8, gives way to windows-1252 when no non-ASCII byte of the body is UTF-8)
    ('<meta charset="utf-16le"><p>\u00e9</p>'.encode("cp1252"), None, '<meta charset="utf-16le"><p>\u00e9</p>',
     "windows-1252"),
    # x-user-defined in a <meta> means windows-1252
    ('<meta charset="x-user-defined"><p>\u00e9</p>'.encode("cp1252"), None,
     '<meta charset="x-user-defined"><p>\u00e9</p>', "windows-1252"),
]


@pytest.mark.parametrize("body, header, text, codec", REFUSED)
def test_encodings_that_are_not_ascii_compatible_are_refused(body, header, text, codec):
    assert decode_html(body, header) == (text, codec)


@pytest.mark.parametrize("body, header, text, codec", READINGS + REFUSED)
def test_the_parser_is_given_the_text_in_utf8(body, header, text, codec):
    assert html_utf8(body, header) == text.encode("utf-8")


@pytest.mark.parametrize("body, copied", [
    (CAFE.encode(), False),  # valid UTF-8: the body itself, however large the page
    (b"<p>plain</p>", False),
    ("\ufeff<p>\u00e9</p>".encode(), True),  # without its BOM
    (CAFE.encode() + b"<p>\xff</p>", True),  # the bad byte becomes U+FFFD
    (CAFE.encode("cp1252"), True),
])
def test_a_utf8_body_is_not_copied(body, copied):
    assert (html_utf8(body) is not body) == copied


@pytest.mark.parametrize("head, expected", [
    (b'<meta charset="utf-8">', "utf-8"),
    (b"<meta charset='Windows-1252'>", "windows-1252"),
    (b"<meta charset=iso-8859-15 />", "iso-8859-15"),
    (b'<meta name="x" content="charset=koi8-r">', None),  # not http-equiv: no declaration
    (b'<meta http-equiv="Content-Type" content="text/html; charset=\'koi8-r\'">', "koi8-r"),
    (b'<meta content="text/html; charset=gb2312" http-equiv="content-type">', "gbk"),
    (b'<meta http-equiv="refresh" content="0"><meta charset="euc-jp">', "euc-jp"),
    (b"<p>no meta</p>", None),
])
def test_prescan(head, expected):
    assert prescan(b"<html><head>" + head + b"</head>") == expected


@pytest.mark.parametrize("body, counts", [
    (b"plain", (0, 0)),
    ("\u00e9\u2013".encode(), (2, 0)),
    (b"\xe9t\xe9", (0, 2)),
    ("\ufffd".encode() + b"\xff", (1, 1)),
])
def test_utf8_counts(body, counts):
    assert utf8_counts(body) == counts


def test_a_disagreement_is_logged_at_info(caplog):
    with caplog.at_level(logging.INFO, logger="spfeed.encoding"):
        decode_html(CAFE.encode(), "koi8-r")
    assert "declares koi8-r in the HTTP header but its bytes are UTF-8; read it as utf-8" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="spfeed.encoding"):
        decode_html(CAFE.encode(), "koi8-r", log_disagreement=False)
        decode_html(CAFE.encode(), "utf-8")
    assert caplog.text == ""


def test_the_windows_1252_fixture_declared_only_by_meta():
    text, codec = decode_html(fixture_bytes("variants/fr-windows-1252.html"))
    assert codec == "windows-1252" and "\ufffd" not in text and "é" in text


def test_one_bad_byte_in_a_utf8_page_costs_one_character(tmp_path, site, capsys):
    """End to end: a page that gains one invalid byte updates the one item it sits in, with one
    U+FFFD, instead of every item turning to mojibake; the same page again changes nothing."""
    import json

    from conftest import parse_feed, write_config
    from pages import entry, listing
    from spfeed.cli import main

    entries = [entry(3, day="18 June 2022", title="Sécurité sociale – été", summary="Protection sociale universelle."),
               entry(2, day="17 June 2022", title="Protección social – año 2022"),
               entry(1, title="Social protection for all")]
    clean = listing(entries)
    marker = "universelle.".encode()
    bad = clean.replace(marker, b"universelle \xff.")  # one byte no UTF-8 sequence starts with
    assert bad.count(b"\xff") == 1
    config = write_config(tmp_path, site.page("/p", clean))

    def run() -> dict:
        assert main(["--config", str(config), "update", "--json"]) == 0
        out, err = capsys.readouterr()
        assert err == ""
        return json.loads(out)

    assert len(run()["new"]) == 3
    site.page("/p", bad)
    report = run()
    assert [(i["title"], i["changed"]) for i in report["updated"]] == [("Sécurité sociale – été", ["summary"])]
    atom = (tmp_path / "feeds" / "atom.xml").read_bytes().decode()
    assert atom.count("\ufffd") == 1 and "universelle \ufffd." in atom
    assert [e.title for e in parse_feed(atom.encode()).entries] == [e["title"] for e in entries]
    assert run()["updated"] == []  # the same page again
