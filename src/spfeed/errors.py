"""The exception tree; every error carries the exit code and a one-line message for the CLI."""

from __future__ import annotations


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
