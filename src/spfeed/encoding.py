"""A page's bytes to text, as the WHATWG encoding standard reads them: BOM, then the HTTP charset,
then a ``<meta>`` prescan of the first 1024 bytes, then sniffing. Labels go through the standard's
table (``webencodings``). Pure; no network.

Two departures, both to protect subscribers: an encoding that is not ASCII-compatible (UTF-16
without a BOM, ISO-2022-JP, the "replacement" labels; UTF-7 is not in the table at all) is never
taken from a declaration, since it can turn harmless bytes into markup; and a body that is valid
UTF-8 is read as UTF-8 whatever single- or multi-byte charset it claims (a mislabelled page).
Bytes that fit nowhere become U+FFFD, one per bad sequence: one bad byte costs one character.
"""

from __future__ import annotations

import logging
import re

import webencodings

log = logging.getLogger(__name__)

#: Encodings a declaration may not choose: their bytes do not mean ASCII where ASCII is expected.
_REFUSED = frozenset({"utf-16le", "utf-16be", "iso-2022-jp", "replacement"})
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xfe\xff", "utf-16be"), (b"\xff\xfe", "utf-16le"))
_PRESCAN_BYTES = 1024
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_META = re.compile(rb"<meta[\s/]([^>]*)", re.IGNORECASE)
_ATTRIBUTE = re.compile(rb"""([^\s/>"'=][^\s/>=]*)\s*(?:=\s*(?:"([^"]*)"?|'([^']*)'?|([^\s>]*)))?""")
_CONTENT_CHARSET = re.compile(rb"""charset\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;"']+))""", re.IGNORECASE)


def decode_html(body: bytes, header_charset: str | None = None, log_disagreement: bool = True) -> tuple[str, str]:
    """The page's text and the WHATWG name of the encoding it was read in.

    *header_charset* is the HTTP Content-Type's charset label, if any. With *log_disagreement*, a
    declaration the body contradicts is logged at INFO (seen with -v).
    """
    name, start, _ = _reading(body, header_charset, log_disagreement)
    return _decode(body[start:] if start else body, name), name


def html_utf8(body: bytes, header_charset: str | None = None) -> bytes:
    """The page's text (as :func:`decode_html` reads it) in UTF-8, what the HTML parser is given:
    *body* itself when it is valid UTF-8 without a BOM, so that a large page is not copied twice."""
    name, start, bad = _reading(body, header_charset, True)
    if name == "utf-8" and not bad and not start:
        return body
    return _decode(body[start:] if start else body, name).encode("utf-8", "replace")


def _reading(body: bytes, header_charset: str | None, log_disagreement: bool) -> tuple[str, int, int]:
    """(the encoding *body* is read in, the length of its BOM, its bad UTF-8 sequences), as the
    module docstring says."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, len(bom), 0  # (bad sequences are not counted: the BOM is cut off anyway)
    declared, where = _usable(header_charset), "the HTTP header"
    if declared is None:
        declared, where = prescan(body), "a <meta> tag"
    wide, bad = utf8_counts(body)
    if declared is None:  # sniffing: UTF-8 if (most of) the non-ASCII text reads as UTF-8
        name = "utf-8" if bad == 0 or wide > bad else "windows-1252"
    elif declared == "utf-8":
        name = "windows-1252" if bad and wide <= bad else "utf-8"
    else:
        name = "utf-8" if bad == 0 and wide > 0 else declared
    if log_disagreement and declared is not None and name != declared:
        log.info("the page declares %s in %s but its bytes are %s; read it as %s", declared, where,
                 "UTF-8" if name == "utf-8" else "not UTF-8", name)
    return name, 0, bad


def prescan(body: bytes) -> str | None:
    """The encoding a ``<meta charset>`` or ``<meta http-equiv content="…charset=…">`` in the
    first 1024 bytes declares (outside comments), as the HTML standard's prescan adjusts it."""
    head = _COMMENT.sub(b"", body[:_PRESCAN_BYTES])
    for tag in _META.finditer(head):
        attrs: dict[bytes, bytes] = {}
        for m in _ATTRIBUTE.finditer(tag.group(1)):
            attrs.setdefault(m.group(1).lower(), next((v for v in m.group(2, 3, 4) if v is not None), b""))
        label = attrs.get(b"charset")
        if label is None and attrs.get(b"http-equiv", b"").strip().lower() == b"content-type":
            found = _CONTENT_CHARSET.search(attrs.get(b"content", b""))
            label = next((v for v in found.groups() if v is not None), None) if found else None
        if label is None:
            continue
        name = _name(label.decode("ascii", "replace"))
        if name in ("utf-16le", "utf-16be"):
            return "utf-8"  # a page that can be prescanned as ASCII is not UTF-16
        if name == "x-user-defined":
            return "windows-1252"
        return name if name not in _REFUSED else None
    return None


def utf8_counts(body: bytes) -> tuple[int, int]:
    """(characters beyond ASCII that read as UTF-8, bad UTF-8 sequences) in *body*."""
    text = body.decode("utf-8", "replace")
    bad = text.count("\ufffd") - body.count(b"\xef\xbf\xbd")  # a U+FFFD spelled in UTF-8 is no error
    return len(text) - len(text.encode("ascii", "ignore")) - bad, bad


def _usable(label: str | None) -> str | None:
    """The WHATWG name of an HTTP charset label, or None when unknown or refused."""
    name = _name(label)
    return name if name not in _REFUSED else None


def _name(label: str | None) -> str | None:
    encoding = webencodings.lookup(label.strip().strip("\"'")) if label else None
    return encoding.name if encoding is not None else None


def _decode(body: bytes, name: str) -> str:
    return webencodings.lookup(name).codec_info.decode(body, "replace")[0]
