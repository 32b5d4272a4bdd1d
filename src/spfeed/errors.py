"""The exception tree; every error carries the exit code and a one-line message for the CLI."""

from __future__ import annotations

import re

# C0 and C1 controls (ESC starts terminal escape sequences, BEL ends OSC ones) and bidi controls.
# Patterns, compiled by re on first use: printable ASCII (most text) needs neither.
_ESCAPE = r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # CSI and OSC sequences, whole
_UNPRINTABLE = "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"


def printable(text: str, limit: int = 200) -> str:
    """*text* from the network made safe for a message: controls and bidi marks removed (tabs and
    line breaks become spaces, so a message stays one line) and capped near *limit* with "…"."""
    text = str(text)
    if not (text.isascii() and text.isprintable()):  # printable ASCII holds no control and no bidi mark
        text = re.sub(_UNPRINTABLE, lambda m: " " if m.group() in "\t\n\r\x0b\x0c" else "", re.sub(_ESCAPE, "", text))
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def kind_of(value: object) -> str:
    """What a config value is, for messages: 'a string ('soon')', 'a list', 'nothing'."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return {list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)



class SpfeedError(Exception):
    """Base of every error spfeed reports to its user (exit code 1 unless a subclass says otherwise)."""

    exit_code = 1


class ConfigError(SpfeedError):
    """The config file is missing, unreadable or invalid; the message names the file and the key."""

    exit_code = 2


class FetchError(SpfeedError):
    """The source could not be read (network, HTTP status, size, type)."""

    exit_code = 1


class HealthError(SpfeedError):
    """The page was read but does not look like the listing we expect (layout changed, no items)."""

    exit_code = 3


class LockError(SpfeedError):
    """Another spfeed run holds the state lock."""

    exit_code = 4


class StoreError(SpfeedError):
    """The state database is corrupt, unreadable, or from a newer spfeed."""

    exit_code = 5


class PublishError(SpfeedError):
    """The feed files could not be written (missing, read-only or full output folder)."""

    exit_code = 6


class Interrupted(SpfeedError):
    """The run was asked to stop (SIGTERM/SIGINT) before it finished; nothing was published."""

    exit_code = 1
