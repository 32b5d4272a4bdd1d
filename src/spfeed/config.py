"""Read ``config.yaml`` into typed, frozen settings; every key is checked when the file is loaded.

Errors name the file and the key (``config.yaml: http.timeout: expected a number``) and carry exit
code 2. Selectors are only checked for syntax by :func:`spfeed.extract.check_selectors`, which the
commands that need them call: compiling CSS is kept off the cheap path of an unchanged page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from spfeed import __version__
from spfeed.errors import kind_of as _kind
from spfeed.errors import ConfigError
from spfeed.model import FILES, Author
from spfeed.profiles import PROFILES, SELECTOR_KEYS

if TYPE_CHECKING:  # spfeed.announce is imported only by a config that announces (notify: or hubs)
    from spfeed.announce.settings import NotifySettings

DEFAULT_USER_AGENT = f"spfeed/{__version__} (RSS/Atom feeds of ILO news listings; python-requests)"
DEFAULT_CRON = "0 */6 * * *"
#: Every format spfeed writes, in the order of model.FILES: the default of ``output.formats``.
ALL_FORMATS = tuple(FILES)
# The patterns here are strings, compiled by re when first used: most are for keys a config seldom
# has, and compiling them all cost every run about 3 ms.
#: A feed's name: a slug of letters, digits and "-".
FEED_NAME = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"


@dataclass(frozen=True)
class Selectors:
    """CSS selectors for one listing; ``item`` finds the entry blocks, the rest work inside one."""

    item: str
    title: str | None = None  #: default: the link's text
    link: str | None = None  #: default: the first ``a[href]`` of the title, else of the block
    label: str | None = None
    date: str | None = None
    summary: str | None = None
    next: str | None = None  #: pagination: the link to the next (older) page


@dataclass(frozen=True)
class FeedSettings:
    """What a feed says about itself (the config's ``feed:`` block, or one entry of ``feeds:``)."""

    title: str
    link: str
    base_url: str  #: URL of the folder the feed's files are published in; ends with "/"
    author: Author
    description: str
    language: str | None = None
    hubs: tuple[str, ...] = ()  #: WebSub hubs to announce changes to

    @property
    def rss_url(self) -> str:
        return self.base_url + "rss.xml"

    @property
    def atom_url(self) -> str:
        return self.base_url + "atom.xml"


@dataclass(frozen=True)
class Source:
    key: str  #: where it stands in the config, for messages: "sources[0]"
    url: str  #: http(s) URL, or a file: URL for a saved page
    selectors: Selectors
    profile: str | None = None
    timezone: str = "Europe/Zurich"
    base_url: str | None = None  #: what relative links resolve against, when set
    max_pages: int = 1  #: pages of the listing `update` reads, following the next link
    min_items: int = 1  #: health: fewer items than this and the run does not publish
    min_dated_share: float = 0.5  #: health: at least this share of items must have a date
    page_delay: float = 2.0  #: seconds between two pages of one listing (politeness)
    detect: bool = True  #: try generic detection when the selectors find nothing
    date_order: str = "DMY"  #: how slashed dates read: DMY (03/04 is 3 April), MDY (4 March) or YMD
    allow_hosts: tuple[str, ...] = ()  #: other hosts its next links and redirects may reach


@dataclass(frozen=True)
class HttpSettings:
    timeout: float = 30.0  #: per attempt: connect, each read, and the whole response
    retries: int = 3  #: extra attempts after connection errors, 5xx and 429
    max_bytes: int = 5_000_000  #: cap on the (decompressed) body
    user_agent: str = DEFAULT_USER_AGENT
    backoff: float = 1.0  #: first retry delay in seconds; doubles each time
    allow_private: bool = False  #: may connect to private, loopback and link-local addresses


@dataclass(frozen=True)
class OutputSettings:
    """Where and what a feed publishes (``output:``, or a feed's own ``output:`` over it)."""

    dir: Path  #: the folder of the feed's files
    max_items: int = 50  #: the newest N items of the history go in the files
    formats: tuple[str, ...] = ALL_FORMATS  #: in FILES order
    by_label: bool = False  #: also one feed per label (and kind) under <dir>/labels/<slug>/


@dataclass(frozen=True)
class FeedSpec:
    """One feed: its name, what it says about itself, where it reads and where it publishes."""

    name: str  #: a slug; "" for the single feed of a config without ``feeds:``
    key: str  #: where it stands in the config, for messages: "feed" or "feeds[1]"
    settings: FeedSettings
    sources: tuple[Source, ...]
    output: OutputSettings

    def path(self, fmt: str) -> Path:
        """The file of format *fmt* in the feed's folder."""
        return self.output.dir / FILES[fmt]

    @property
    def label(self) -> str:
        """How messages name the feed."""
        return self.name or "the feed"


@dataclass(frozen=True)
class Config:
    path: Path
    feeds: tuple[FeedSpec, ...]
    output: OutputSettings  #: the top-level output block: output.dir holds the OPML and index page
    base_url: str  #: the URL of output.dir
    state_path: Path
    lock_timeout: float
    schedule_cron: str
    schedule_every: str | None
    http: HttpSettings = field(default_factory=HttpSettings)
    #: the ``notify:`` block, None when the config has none (read it as :attr:`notify`)
    notify_settings: NotifySettings | None = None

    @property
    def notify(self) -> NotifySettings:
        """The ``notify:`` settings: the defaults (no channels) when the config has no such block."""
        if self.notify_settings is None:
            from spfeed.announce.settings import NotifySettings

            return NotifySettings()
        return self.notify_settings

    @property
    def notifies(self) -> bool:
        """Whether the config has channels to notify; known without importing :mod:`spfeed.announce`,
        which a run on an unchanged page of a config without them never needs."""
        return self.notify_settings is not None and bool(self.notify_settings.channels)

    @property
    def sources(self) -> tuple[Source, ...]:
        """Every feed's sources, feeds in config order."""
        return tuple(source for feed in self.feeds for source in feed.sources)

    def select(self, names: Sequence[str] | None) -> tuple[FeedSpec, ...]:
        """The feeds named (``--feed NAME``, repeatable), in config order; all when *names* is empty."""
        if not names:
            return self.feeds
        known = {feed.name for feed in self.feeds}
        for name in names:
            if name not in known:
                listed = ", ".join(sorted(n for n in known if n)) or "none: this config has a single unnamed feed"
                raise ConfigError(f"--feed: unknown feed {name!r} (known: {listed})")
        return tuple(feed for feed in self.feeds if feed.name in names)


def config_path(explicit: str | None) -> Path:
    """The config file to use: ``--config``, else ``$SPFEED_CONFIG``, else ``./config.yaml``."""
    return Path(explicit or os.environ.get("SPFEED_CONFIG") or "config.yaml")


def load(path: Path) -> Config:
    """Read and check the config file at *path*."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (use --config PATH or $SPFEED_CONFIG)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read config file: {e}") from None
    return parse(text, path)


def parse(text: str, path: Path) -> Config:
    """Check the YAML *text* of the config file at *path* (relative paths resolve against its folder)."""
    return _Reader(path).config(_load_yaml(text, path))


def validate(path: Path) -> list[str]:
    """Every problem of the config file at *path*, one line each (``config.yaml:12: feed.titel:
    unknown key; did you mean feed.title?``), in line order; empty when it is clean.

    Checks what loading does for every command, and more that is kept off their cheap path: every
    source's selectors compiled, and ``schedule.cron`` as APScheduler reads it. No network."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [f"{path}: config file not found (use --config PATH or $SPFEED_CONFIG)"]
    except (OSError, UnicodeDecodeError) as e:
        return [f"{path}: cannot read config file: {e}"]
    try:
        data = _load_yaml(text, path)
    except ConfigError as e:
        return [str(e)]
    reader = _Reader(path, collect=True)
    assert reader.errors is not None
    try:
        config: Config | None = reader.config(data)
    except ConfigError as e:
        reader.errors.append(e)
        config = None
    errors = reader.errors
    if config is not None:
        from spfeed.extract import check_source_selectors
        from spfeed.scheduler import trigger

        for source in config.sources:
            try:
                check_source_selectors(source, str(path))
            except ConfigError as e:
                errors.append(e)
        if not any(str(e).startswith(f"{path}: schedule") for e in errors):
            try:
                trigger(config)
            except ConfigError as e:
                errors.append(e)
    return _with_lines([str(e) for e in errors], text, path)


def _load_yaml(text: str, path: Path) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: YAML syntax error: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: YAML error: {e}") from None


def _with_lines(messages: list[str], text: str, path: Path) -> list[str]:
    """*messages* (``{path}: {key}: …``) as ``{path}:{line}: {key}: …``, sorted by line, each once.
    A key the file does not have (a missing one) takes the line of the nearest key above it in the
    tree; a message without a key keeps no line."""
    lines = key_lines(text)
    prefix = f"{path}: "
    located: list[tuple[int, str]] = []
    for message in dict.fromkeys(messages):
        line = None
        if message.startswith(prefix):
            key = message[len(prefix):].partition(": ")[0]
            while key and line is None:
                line = lines.get(key)
                key = re.sub(_PARENT, "", key)
        if line is None:
            located.append((0, message))
        else:
            located.append((line, f"{path}:{line}: {message[len(prefix):]}"))
    return [message for _, message in sorted(located, key=lambda pair: pair[0])]


_PARENT = r"(?:^|\.)[^.\[]*$|\[\d+\]$"


def key_lines(text: str) -> dict[str, int]:
    """Each key path of the YAML *text* (``feed.title``, ``sources[0].selectors.item``) and the
    line (from 1) it stands on, from PyYAML's node tree: the values are read as before."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        root = yaml.compose(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}

    def walk(node: Any, key: str, depth: int) -> None:
        if depth > 50:
            return
        if isinstance(node, yaml.MappingNode):
            for name, value in node.value:
                where = f"{key}.{name.value}" if key else str(name.value)
                lines.setdefault(where, name.start_mark.line + 1)
                walk(value, where, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                where = f"{key}[{i}]"
                lines.setdefault(where, value.start_mark.line + 1)
                walk(value, where, depth + 1)

    walk(root, "", 0)
    return lines


#: A BCP 47 language tag as feeds use them: "en", "fr-CH".
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*")
#: The keys a feed's own settings have, in ``feed:`` and in each entry of ``feeds:``.
FEED_KEYS = ("title", "description", "link", "language", "author", "hubs")
#: The keys of an ``output`` block (top level, or a feed's own).
OUTPUT_KEYS = ("dir", "max_items", "formats", "by_label")
#: Characters XML 1.0 cannot hold, which no feed could carry.
_NOT_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]"
#: How a source's slashed dates read (as spfeed.dates.DATE_ORDERS, kept here off the cheap path).
DATE_ORDERS = ("DMY", "MDY", "YMD")
#: A host name or an IP address as allow_hosts lists them (IPv6 in brackets or bare).
_HOST = r"[A-Za-z0-9._-]+\.?|\[?[0-9A-Fa-f:.]+\]?"
#: An unknown key's message, as _Reader.table and announce.settings write it.
_KNOWN_KEYS = r"unknown key \(known keys: ([^()]*)\)"
_DURATION = r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$"


def parse_duration(text: str) -> float:
    """Seconds in "90s", "30m", "6h" or "1d"; ValueError otherwise."""
    m = re.match(_DURATION, text)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(text)
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


class _Skipped(ConfigError):
    """A part whose errors were kept (collecting mode): left out, the rest still checked."""


#: What stands for a URL that could not be read, in collecting mode.
_PLACEHOLDER_URL = "https://invalid.invalid/"


class _Reader:
    """Walks the parsed YAML, checking every key and type, and builds the settings."""

    def __init__(self, path: Path, collect: bool = False) -> None:
        self.path = path
        self.folder = path.resolve().parent
        #: In collecting mode (`spfeed validate`) every error found, in reading order; else None.
        self.errors: list[ConfigError] | None = [] if collect else None

    def fail(self, key: str, message: str) -> ConfigError:
        """The error for *key*; an unknown key's message gains "did you mean …?" when one is close."""
        known = re.fullmatch(_KNOWN_KEYS, message)
        if known:
            from difflib import get_close_matches

            parent, _, name = key.rpartition(".")
            close = get_close_matches(name, known.group(1).split(", "), n=1)
            if close:
                message += f"; did you mean {parent + '.' if parent else ''}{close[0]}?"
        return ConfigError(f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}")

    def report(self, error: ConfigError) -> None:
        """An error that does not stop the reading: raised at once, or kept in collecting mode."""
        if self.errors is None:
            raise error
        self.errors.append(error)

    def attempt(self, default: Any, read: Callable[[], Any]) -> Any:
        """*read()*; in collecting mode an error in it is kept and *default* stands for its value,
        so that the rest of the file is still checked."""
        try:
            return read()
        except _Skipped:
            return default
        except ConfigError as e:
            if self.errors is None:
                raise
            self.errors.append(e)
            return default

    def table(self, value: Any, key: str, known: tuple[str, ...]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping of {', '.join(known)}, got {_kind(value)}")
        for name in value:
            if name not in known:
                where = f"{key}.{name}" if key else str(name)
                self.report(self.fail(where, f"unknown key (known keys: {', '.join(known)})"))
        return value

    def string(self, table: dict, name: str, key: str, default: str | None = None,
               required: bool = False) -> str | None:
        value = table.get(name)
        where = f"{key}.{name}" if key else name
        if value is None:
            if required:
                raise self.fail(where, "missing (required)")
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"expected a non-empty string, got {_kind(value)}")
        bad = None if value.isascii() and value.isprintable() else re.search(_NOT_XML, value)
        if bad:
            raise self.fail(where, f"contains U+{ord(bad.group()):04X}, a character XML cannot hold")
        return value.strip()

    def number(self, table: dict, name: str, key: str, default: float, *, integer: bool = False,
               minimum: float = 0, maximum: float | None = None) -> Any:
        value = table.get(name)
        where = f"{key}.{name}"
        if value is None:
            return default
        ok_types = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_types):
            raise self.fail(where, f"expected {'a whole number' if integer else 'a number'}, got {_kind(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
            raise self.fail(where, f"expected a number {bound}, got {value}")
        return value

    def boolean(self, table: dict, name: str, key: str, default: bool) -> bool:
        value = table.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(f"{key}.{name}", f"expected true or false, got {_kind(value)}")
        return value

    def url(self, table: dict, name: str, key: str, required: bool = False) -> str | None:
        value = self.string(table, name, key, required=required)
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise self.fail(f"{key}.{name}", f"expected an absolute http(s) URL, got {value!r}")
        return value

    def path_value(self, table: dict, name: str, key: str, default: str) -> Path:
        value = self.string(table, name, key, default=default)
        assert value is not None
        # resolve the folder, never the file itself: a symbolic link there is refused, not followed
        full = self.folder / Path(value).expanduser()
        if full.name in ("", ".", ".."):
            return full.resolve()
        return full.parent.resolve() / full.name

    # -- sections -------------------------------------------------------------------------------

    def config(self, data: Any) -> Config:
        if data is None:
            raise self.fail("", "the config file is empty")
        a = self.attempt
        top = self.table(data, "", ("feed", "sources", "feeds", "output", "state", "schedule", "http", "notify"))
        state = a({}, lambda: self.table(top.get("state"), "state", ("path", "lock_timeout")))
        schedule = a({}, lambda: self.table(top.get("schedule"), "schedule", ("cron", "every")))
        every = a(None, lambda: self.every(schedule))
        cron = a(DEFAULT_CRON, lambda: self.cron(schedule))
        output_table = a({}, lambda: self.table(top.get("output"), "output", OUTPUT_KEYS + ("base_url",)))
        default_output = OutputSettings(dir=self.folder / "feeds")
        output = a(default_output, lambda: self.output(output_table, "output", default_output))
        if "feeds" in top:
            for old in ("feed", "sources"):
                if old in top:
                    self.report(self.fail(old, "give either feeds (several feeds) or feed and sources (one feed), "
                                               "not both"))
            base_url = a(_PLACEHOLDER_URL, lambda: self.folder_url(output_table, "output", required=True))
            feeds = a((), lambda: self.feeds(top["feeds"], output, base_url))
        else:
            if "feed" not in top:
                raise self.fail("feed", "missing (required; or give feeds: for several feeds)")
            if "sources" not in top:
                raise self.fail("sources", "missing (required)")
            if "base_url" in output_table:
                self.report(self.fail("output.base_url", "goes with feeds:; a single feed gives feed.base_url"))
            feed_url = a(_PLACEHOLDER_URL, lambda: self.folder_url(top["feed"], "feed", required=True))
            settings = a(None, lambda: self.feed(top["feed"], "feed", feed_url))
            sources = a((), lambda: self.sources(top["sources"], "sources"))
            feeds = (FeedSpec("", "feed", settings, sources, output),) if settings is not None else ()
            base_url = feed_url
        a(None, lambda: self.check_paths(feeds))
        state_path = a(self.folder / "state/spfeed.sqlite",
                       lambda: self.path_value(state, "path", "state", "state/spfeed.sqlite"))
        a(None, lambda: self.check_files(feeds, output, state_path))
        return Config(
            path=self.path,
            feeds=feeds,
            output=output,
            base_url=base_url,
            state_path=state_path,
            lock_timeout=a(10.0, lambda: self.number(state, "lock_timeout", "state", 10.0, maximum=3600)),
            schedule_cron=cron,
            schedule_every=every,
            http=a(HttpSettings(), lambda: self.http(top.get("http"))),
            notify_settings=a(None, lambda: self.notify(top.get("notify"))),
        )

    def notify(self, value: Any) -> NotifySettings | None:
        """The ``notify:`` block's settings; None when there is none."""
        if value is None:
            return None
        from spfeed.announce.settings import parse_notify

        return parse_notify(value, self.fail, self.attempt)

    def hubs(self, feed: dict, key: str) -> tuple[str, ...]:
        """A feed's WebSub hubs (none when it lists none)."""
        if feed.get("hubs") is None:
            return ()
        from spfeed.announce.settings import parse_hubs

        return parse_hubs(feed["hubs"], self.fail, f"{key}.hubs")

    def every(self, schedule: dict) -> str | None:
        every = self.string(schedule, "every", "schedule")
        if every is not None:
            if "cron" in schedule:
                raise self.fail("schedule", "give either cron or every, not both")
            try:
                parse_duration(every)
            except ValueError:
                raise self.fail("schedule.every", f"expected a duration such as 90s, 30m or 6h, got {every!r}") from None
        return every

    def cron(self, schedule: dict) -> str:
        """``schedule.cron``, checked by :func:`cron_problem` (APScheduler's own check is left to
        `run` and `validate`, off the cheap path)."""
        cron = self.string(schedule, "cron", "schedule", default=DEFAULT_CRON) or DEFAULT_CRON
        problem = cron_problem(cron)
        if problem:
            raise self.fail("schedule.cron", f"invalid cron expression {cron!r} (expected 5 fields: minute hour "
                                             f"day month weekday): {problem}")
        return cron

    def output(self, table: dict, key: str, base: OutputSettings) -> OutputSettings:
        """The ``output`` block at *key* over the settings it defaults to."""
        formats = base.formats
        if "formats" in table:
            value = table["formats"]
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                raise self.fail(f"{key}.formats", f"expected a non-empty list of format names ({', '.join(FILES)}), "
                                f"got {_kind(value)}")
            for name in value:
                if name not in FILES:
                    raise self.fail(f"{key}.formats", f"unknown format {name!r} (known: {', '.join(FILES)})")
            formats = tuple(name for name in FILES if name in value)
        folder = self.path_value(table, "dir", key, "") if "dir" in table else base.dir
        return OutputSettings(
            dir=folder,
            max_items=self.number(table, "max_items", key, base.max_items, integer=True, minimum=1),
            formats=formats,
            by_label=self.boolean(table, "by_label", key, base.by_label),
        )

    def folder_url(self, table: Any, key: str, required: bool = False) -> str | None:
        """The ``base_url`` at *key*: the URL of a published folder, ending with "/"."""
        if not isinstance(table, dict):
            if required:
                raise self.fail(f"{key}.base_url", "missing (required)")
            return None
        value = self.url(table, "base_url", key, required=required)
        if value is not None and not value.endswith("/"):
            value += "/"
        return value

    def feeds(self, value: Any, output: OutputSettings, base_url: str) -> tuple[FeedSpec, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("feeds", f"expected a non-empty list of feeds, got {_kind(value)}")
        feeds = []
        names: set[str] = set()
        for i, entry in enumerate(value):
            feed = self.attempt(None, lambda: self.feed_entry(entry, f"feeds[{i}]", output, base_url, names))
            if feed is not None:
                feeds.append(feed)
        return tuple(feeds)

    def feed_entry(self, entry: Any, key: str, output: OutputSettings, base_url: str, names: set[str]) -> FeedSpec:
        """One entry of ``feeds:``; *names* are the names of the entries before it."""
        a = self.attempt
        table = self.table(entry, key, FEED_KEYS + ("name", "sources", "output"))
        name = self.string(table, "name", key, required=True)
        assert name is not None
        if not re.fullmatch(FEED_NAME, name):
            raise self.fail(f"{key}.name", f"expected a slug of letters, digits and -, got {name!r}")
        if name in names:
            raise self.fail(f"{key}.name", f"two feeds are named {name!r}")
        names.add(name)
        if "sources" not in table:
            self.report(self.fail(f"{key}.sources", "missing (required)"))
        own = a({}, lambda: self.table(table.get("output"), f"{key}.output", OUTPUT_KEYS + ("base_url",)))
        default = replace(output, dir=output.dir / name)
        feed_output = a(default, lambda: self.output(own, f"{key}.output", default))
        feed_url = a(_PLACEHOLDER_URL, lambda: self.folder_url(own, f"{key}.output"))
        if feed_url is None:
            try:
                relative = feed_output.dir.relative_to(output.dir)
            except ValueError:
                raise self.fail(f"{key}.output.dir", "is outside output.dir: give the feed its own "
                                f"{key}.output.base_url (the URL it is served at)") from None
            feed_url = base_url + "".join(f"{part}/" for part in relative.parts)
        settings = a(None, lambda: self.feed(table, key, feed_url))
        sources = a((), lambda: self.sources(table["sources"], f"{key}.sources")) if "sources" in table else ()
        if settings is None:
            raise _Skipped()
        return FeedSpec(name, key, settings, sources, feed_output)

    def check_paths(self, feeds: Sequence[FeedSpec]) -> None:
        """Two feeds never publish in one folder."""
        folders: dict[Path, str] = {}
        for feed in feeds:
            other = folders.get(feed.output.dir)
            if other is not None:
                raise self.fail(f"{feed.key}.output.dir", f"{feed.output.dir} is also {other}'s folder")
            folders[feed.output.dir] = feed.key

    def check_files(self, feeds: Sequence[FeedSpec], output: OutputSettings, state_path: Path) -> None:
        """The state file and its lock are neither an output file nor an output folder: a path
        collision would overwrite the history with a feed, or a feed with the history."""
        taken: dict[Path, str] = {output.dir: "output.dir"}
        for name in ("opml", "html"):
            taken.setdefault(output.dir / FILES[name], f"the {FILES[name]} in output.dir")
        for feed in feeds:
            taken.setdefault(feed.output.dir, f"the folder of {feed.label}")
            for fmt in feed.output.formats:
                taken.setdefault(feed.path(fmt), f"the {FILES[fmt]} of {feed.label}")
        lock = state_path.with_name(state_path.name + ".lock")
        for path, what in ((state_path, "the state file"), (lock, "the state file's lock")):
            other = taken.get(path)
            if other is not None:
                raise self.fail("state.path", f"{what} {path} is also {other}; give the state its own path")
        if state_path == self.path.resolve():
            raise self.fail("state.path", f"the state file {state_path} is the config file itself")

    def feed(self, value: Any, key: str, base_url: str | None) -> FeedSettings:
        """A feed's own settings: the ``feed:`` block, or the same keys in an entry of ``feeds:``."""
        known = FEED_KEYS + (("base_url",) if key == "feed" else ("name", "sources", "output"))
        a = self.attempt
        feed = self.table(value, key, known)
        title = a("?", lambda: self.string(feed, "title", key, required=True))
        assert title is not None and base_url is not None
        return FeedSettings(
            title=title,
            link=a("", lambda: self.url(feed, "link", key, required=True) or ""),
            base_url=base_url,
            author=a(Author(name="?"), lambda: self.author(feed.get("author"), f"{key}.author")),
            description=a(title, lambda: self.string(feed, "description", key, default=title) or title),
            language=a(None, lambda: self.language(feed, key)),
            hubs=a((), lambda: self.hubs(feed, key)),
        )

    def language(self, feed: dict, key: str) -> str | None:
        language = self.string(feed, "language", key)
        if language is not None and not LANGUAGE_TAG.fullmatch(language):
            raise self.fail(f"{key}.language", f"expected a language tag such as en or fr-CH, got {language!r}")
        return language

    def author(self, value: Any, key: str) -> Author:
        if value is None:
            raise self.fail(key, "missing (required: Atom feeds need an author; a name will do)")
        if isinstance(value, str) and value.strip():
            return Author(name=self.string({"author": value}, "author", key.rpartition(".")[0]) or "")
        author = self.table(value, key, ("name", "email", "uri"))
        name = self.string(author, "name", key, required=True)
        email = self.string(author, "email", key)
        if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise self.fail(f"{key}.email", f"expected an e-mail address, got {email!r}")
        assert name is not None
        return Author(name=name, email=email, uri=self.url(author, "uri", key))

    def sources(self, value: Any, key: str) -> tuple[Source, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, f"expected a non-empty list of sources, got {_kind(value)}")
        read = (self.attempt(None, lambda: self.source(item, f"{key}[{i}]")) for i, item in enumerate(value))
        sources = tuple(source for source in read if source is not None)
        seen: set[str] = set()
        for source in sources:
            if source.url in seen:
                self.report(self.fail(f"{source.key}.url", f"listed twice: {source.url}"))
            seen.add(source.url)
        return sources

    def source(self, value: Any, key: str) -> Source:
        src = self.table(value, key, (
            "url", "profile", "selectors", "timezone", "base_url", "max_pages", "min_items",
            "min_dated_share", "page_delay", "detect", "date_order", "allow_hosts",
        ))
        a = self.attempt
        url = a(None, lambda: self.string(src, "url", key, required=True))
        url = a(None, lambda: self.source_url(url, f"{key}.url")) if url is not None else None
        profile = a(None, lambda: self.profile(src, key))
        chosen = dict(PROFILES[profile]) if profile else {}
        given = a({}, lambda: self.table(src.get("selectors"), f"{key}.selectors", SELECTOR_KEYS))
        for name in given:
            if name in SELECTOR_KEYS:
                chosen[name] = a(None, lambda: self.string(given, name, f"{key}.selectors"))
        if not chosen.get("item") and (profile is not None or "profile" not in src):  # a bad profile says enough
            self.report(self.fail(key, "needs a profile (e.g. profile: ilo) or selectors with at least an item "
                                       "selector"))
        source = Source(
            key=key,
            url=url or "",
            selectors=Selectors(**{**chosen, "item": chosen.get("item") or ""}),
            profile=profile,
            timezone=a("Europe/Zurich", lambda: self.timezone(src, key)),
            base_url=a(None, lambda: self.url(src, "base_url", key)),
            max_pages=a(1, lambda: self.number(src, "max_pages", key, 1, integer=True, minimum=1, maximum=1000)),
            min_items=a(1, lambda: self.number(src, "min_items", key, 1, integer=True, minimum=1)),
            min_dated_share=float(a(0.5, lambda: self.number(src, "min_dated_share", key, 0.5, maximum=1))),
            page_delay=float(a(2.0, lambda: self.number(src, "page_delay", key, 2.0, maximum=600))),
            detect=a(True, lambda: self.boolean(src, "detect", key, True)),
            date_order=a("DMY", lambda: self.date_order(src, key)),
            allow_hosts=a((), lambda: self.hosts(src, "allow_hosts", key)),
        )
        if url is None or not chosen.get("item"):
            raise _Skipped()  # reported above; in collecting mode the others are checked all the same
        return source

    def profile(self, src: dict, key: str) -> str | None:
        profile = self.string(src, "profile", key)
        if profile is not None and profile not in PROFILES:
            raise self.fail(f"{key}.profile", f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
        return profile

    def timezone(self, src: dict, key: str) -> str:
        timezone = self.string(src, "timezone", key, default="Europe/Zurich") or "Europe/Zurich"
        _check_timezone(timezone, lambda msg: self.fail(f"{key}.timezone", msg))
        return timezone

    def date_order(self, src: dict, key: str) -> str:
        date_order = self.string(src, "date_order", key, default="DMY") or "DMY"
        if date_order not in DATE_ORDERS:
            raise self.fail(f"{key}.date_order", f"expected one of {', '.join(DATE_ORDERS)}, got {date_order!r}")
        return date_order

    def hosts(self, table: dict, name: str, key: str) -> tuple[str, ...]:
        """A list of host names (``www.ilo.org``, ``127.0.0.2``), lower-case, without a trailing dot."""
        value = table.get(name)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(f"{key}.{name}", f"expected a list of host names, got {_kind(value)}")
        hosts = []
        for i, host in enumerate(value):
            where = f"{key}.{name}[{i}]"
            if not isinstance(host, str) or not re.fullmatch(_HOST, host.strip()):
                raise self.fail(where, f"expected a host name such as www.ilo.org (no scheme, port or path), "
                                       f"got {_kind(host)}")
            hosts.append(host.strip().lower().rstrip(".").strip("[]"))
        return tuple(hosts)

    def source_url(self, value: str, key: str) -> str:
        """An http(s) URL as is; a file: URL or a local path becomes an absolute file: URL."""
        parts = urlsplit(value)
        if parts.scheme in ("http", "https"):
            if not parts.netloc:
                raise self.fail(key, f"expected an absolute URL, got {value!r}")
            return value
        if parts.scheme == "file":
            from urllib.request import url2pathname

            local = Path(url2pathname(parts.path))
        elif parts.scheme and len(parts.scheme) > 1:
            raise self.fail(key, f"unsupported URL scheme {parts.scheme!r} (use http, https, file or a path)")
        else:
            local = Path(value).expanduser()
        return (self.folder / local).resolve().as_uri()

    def http(self, value: Any) -> HttpSettings:
        a = self.attempt
        http = self.table(value, "http", ("timeout", "retries", "max_bytes", "user_agent", "backoff", "allow_private"))
        return HttpSettings(
            timeout=float(a(30.0, lambda: self.number(http, "timeout", "http", 30.0, minimum=0.1, maximum=600))),
            retries=a(3, lambda: self.number(http, "retries", "http", 3, integer=True, maximum=10)),
            max_bytes=a(5_000_000, lambda: self.number(http, "max_bytes", "http", 5_000_000, integer=True,
                                                       minimum=1024)),
            user_agent=a(DEFAULT_USER_AGENT, lambda: self.string(http, "user_agent", "http",
                                                                 default=DEFAULT_USER_AGENT) or DEFAULT_USER_AGENT),
            backoff=float(a(1.0, lambda: self.number(http, "backoff", "http", 1.0, maximum=300))),
            allow_private=a(False, lambda: self.boolean(http, "allow_private", "http", False)),
        )


def sources_to_check(config: Config | None, url: str | None, profile: str | None, selects: list[str],
                     folder: Path, base_url: str | None = None) -> tuple[Source, ...]:
    """The sources `spfeed check` reads: the configured ones, or *url* with the selectors of the
    configured source of that URL, then *profile*, ``KEY=CSS`` *selects* and *base_url* on top.

    A URL that no configured source reads starts from no selectors at all (an empty item
    selector): generic detection and structured data find the listing, and *selects* replace the
    selectors it finds for their keys (an ``item`` among them turns detection off as a fallback
    only). A local path resolves against *folder*."""
    if base_url is not None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"--base-url: expected an absolute http(s) URL, got {base_url!r}")
    if url is None and not (profile or selects or base_url):
        assert config is not None
        return config.sources
    wanted = _Reader(folder / "URL").source_url(url, "URL") if url else None  # relative to the working folder
    base: Source | None = None
    if config is not None:
        if wanted is not None:
            base = next((s for s in config.sources if s.url == wanted), None)
        else:
            base = config.sources[0]
    chosen: dict[str, str | None] = dict(vars(base.selectors)) if base else {"item": ""}
    if profile is not None:
        if profile not in PROFILES:
            raise ConfigError(f"--profile: unknown profile {profile!r} (known: {', '.join(PROFILES)})")
        chosen = dict(PROFILES[profile])
    for select in selects:
        key, sep, css = select.partition("=")
        key = key.strip()
        if not sep or key not in SELECTOR_KEYS or not css.strip():
            raise ConfigError(f"--select: expected KEY=CSS with KEY one of {', '.join(SELECTOR_KEYS)}, got {select!r}")
        chosen[key] = css.strip()
    source = base or Source(key="check", url="", selectors=Selectors(item=""))
    return (replace(source, key="check", url=wanted or source.url, selectors=Selectors(**chosen),
                    profile=profile or source.profile,
                    base_url=base_url or source.base_url),)


#: The fields of a cron expression: name, lowest and highest value, names allowed (for month and weekday).
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("weekday", 0, 6, ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
)
_CRON_NUMBERS = r"(\*|\d+)(?:-(\d+))?(?:/(\d+))?"
_CRON_NAMES = r"([a-z]+)(?:-([a-z]+))?"


def cron_problem(expression: str) -> str | None:
    """What is wrong with a 5-field cron *expression*, or None. A syntax check that accepts only
    what APScheduler's CronTrigger.from_crontab accepts (numbers, ranges, steps, lists; month and
    weekday names, without steps), so that loading a config need not import APScheduler."""
    fields = expression.split()
    if len(fields) != 5:
        return f"got {len(fields)} field{'s' if len(fields) != 1 else ''}"
    for text, (name, low, high, names) in zip(fields, _CRON_FIELDS):
        for item in text.lower().split(","):
            problem = _cron_item(item, name, low, high, names)
            if problem:
                return problem
    return None


def _cron_item(item: str, name: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    """What is wrong with one item of a cron field (``*/15``, ``1-5``, ``mon-fri``), or None."""
    m = re.fullmatch(_CRON_NAMES, item) if names else None
    if m:
        if any(v is not None and v not in names for v in m.groups()):
            return f"{name} {item!r}: expected names such as {names[0]}"
        first, last = (names.index(v) if v else None for v in m.groups())
        if last is not None and first > last:
            return f"{name} range {item!r} goes backwards"
        return None
    m = re.fullmatch(_CRON_NUMBERS, item)
    if not m or (m.group(1) == "*" and m.group(2) is not None):
        return f"{name} {item!r} is not a number, a range, a step or a list"
    star = m.group(1) == "*"
    first = low if star else int(m.group(1))
    last = None if m.group(2) is None else int(m.group(2))
    step = None if m.group(3) is None else int(m.group(3))
    if first < low or (not star and last is None and step is None and first > high) or (
            last is not None and last > high):
        return f"{name} {item!r} is out of range ({low}-{high})"
    if last is not None and first > last:
        return f"{name} range {item!r} goes backwards"
    if step == 0:
        return f"{name} step in {item!r} is 0"
    if step and step > (last or high) - first:
        return f"{name} step in {item!r} is larger than its range"
    return None


def _check_timezone(name: str, fail) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(f"unknown time zone {name!r} (use an IANA name such as Europe/Zurich)") from None
