"""The command line: parse arguments, run a command, turn its outcome into output and an exit code.

Quiet by default (cron mails whatever is printed): `update` prints nothing when nothing changed.
Errors are one line on stderr, ``spfeed: error: ...``, and an exit code from the README's table.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from spfeed import __version__
from spfeed.errors import HealthError, SpfeedError

EXIT_CODES = """\
exit codes:
  0  success, including "nothing changed" and "not modified"
  1  the run failed: network, HTTP status, unreadable page, or an internal error
  2  usage or config error
  3  the page does not look like the listing (layout changed, no items): nothing published
  4  another spfeed run holds the lock
  5  the state database is corrupt, unreadable or from a newer spfeed
  6  the feed files could not be written (output folder read-only or full)
"""

log = logging.getLogger("spfeed")


#: Each command and its one-line summary, in the order `spfeed --help` lists them.
COMMANDS = {
    "update": "Read the sources once, store what is new, and publish the feeds if they changed.",
    "backfill": "Walk each source's whole listing once (following its next links) to fill the history, politely, "
                "then publish.",
    "regenerate": "Rebuild every file of every feed from the stored history, with no network (after a config "
                  "change).",
    "check": "Fetch a page and show, as a table, the items spfeed would publish and the fields it could not read; "
             "touches no state. For writing selectors for a new page.",
    "init": "Read a page and print a complete config.yaml for it, with the selectors that detection found (the "
            "same ones `check` prints); needs no config file.",
    "run": "Run update now and then on schedule.cron (or schedule.every) until SIGTERM or Ctrl-C.",
    "status": "Show each feed's and source's last reads, failures, validators, items and published files, and the "
              "last runs, from the state; no network, no lock (exit 1 when a source has failed "
              "notify.failures_after times in a row).",
    "validate": "Check the whole config (keys, types, selectors, cron, time zones, paths, hubs and notify targets) "
                "and print every error, one per line; nothing when it is clean. No network.",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser. With *only* (a command's name), that command's alone, which is
    all that parsing its arguments needs: the other commands show only in ``spfeed --help`` and in
    the error for an unknown command, and neither is asked for by a line naming a known command.
    Building every command's parser (argparse looks up its translations for each) costs a cron run
    a few milliseconds for nothing."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", metavar="PATH", default=argparse.SUPPRESS,
                        help="config file (default: $SPFEED_CONFIG, else ./config.yaml)")
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help="say more on stderr (-vv for debugging)")
    parser = argparse.ArgumentParser(
        prog="spfeed", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Publish the ILO Social Protection Department's news listing as RSS 2.0 and Atom feeds.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"spfeed {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    feed_option = argparse.ArgumentParser(add_help=False)
    feed_option.add_argument("--feed", action="append", default=[], metavar="NAME",
                             help="only this feed (a name from the config's feeds:); repeatable")
    for name, summary in COMMANDS.items():
        if only is None or name == only:
            _ADD_OPTIONS[name](commands, name, summary, common, feed_option)
    return parser


def _command(commands, name: str, summary: str, example: str, *parents: argparse.ArgumentParser):
    return commands.add_parser(
        name, parents=list(parents), help=summary, description=summary, epilog=f"example:\n  {example}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _update_options(commands, name, summary, common, feed_option) -> None:
    update = _command(commands, name, summary, "spfeed --config /etc/spfeed/config.yaml update", common, feed_option)
    update.add_argument("--json", action="store_true",
                        help="print one JSON object: {new, updated, gone, unchanged, written, ...}")


def _backfill_options(commands, name, summary, common, feed_option) -> None:
    backfill = _command(commands, name, summary, "spfeed backfill --max-pages 20", common, feed_option)
    backfill.add_argument("--max-pages", type=_positive, metavar="N", help="stop after N pages of each source")
    backfill.add_argument("--json", action="store_true", help="print one JSON object, as update --json does")


def _regenerate_options(commands, name, summary, common, feed_option) -> None:
    _command(commands, name, summary, "spfeed regenerate --feed ilo-secsoc", common, feed_option)


def _check_options(commands, name, summary, common, feed_option) -> None:
    check = _command(commands, name, summary,
                     "spfeed check https://www.ilo.org/global/about-the-ilo/newsroom/news/lang--en/index.htm "
                     "--select summary=p.teaser", common, feed_option)
    check.add_argument("url", nargs="?", metavar="URL",
                       help="the page (URL or saved file); default: every configured source")
    check.add_argument("--profile", metavar="NAME", help="start from this built-in profile's selectors (ilo)")
    check.add_argument("--select", action="append", default=[], metavar="KEY=CSS",
                       help="set one selector (item, title, link, label, date, summary, next); repeatable")
    check.add_argument("--base-url", metavar="URL", help="resolve the page's relative links against URL (for a saved page)")
    check.add_argument("--retries", type=_count, default=0, metavar="N",
                       help="try an unreachable host N more times (default 0: check is interactive)")


def _init_options(commands, name, summary, common, feed_option) -> None:
    init = _command(commands, name, summary,
                    "spfeed init https://www.ilo.org/topics-and-sectors/social-protection > config.yaml", common)
    init.add_argument("url", metavar="URL", help="the listing page (URL or saved file)")
    init.add_argument("--feed-title", metavar="TITLE", help="the feed's title (default: the page's <title>)")
    init.add_argument("--base-url", metavar="URL", help="resolve the page's relative links against URL (for a saved page)")
    init.add_argument("--retries", type=_count, default=0, metavar="N",
                      help="try an unreachable host N more times (default 0)")


def _run_options(commands, name, summary, common, feed_option) -> None:
    run = _command(commands, name, summary, "spfeed --config config.yaml run", common)
    run.add_argument("--log-format", choices=LOG_FORMATS, metavar="{plain,timestamps,json}",
                     help="how log lines on stderr look (default: timestamps when stderr is a pipe or a file, "
                          "plain on a terminal or in systemd's journal)")


def _status_options(commands, name, summary, common, feed_option) -> None:
    status = _command(commands, name, summary, "spfeed status --runs 5", common, feed_option)
    status.add_argument("--json", action="store_true", help="print one JSON object (keys in the README)")
    status.add_argument("--runs", type=_count_runs, default=10, metavar="N", help="show the last N runs (default 10)")


def _validate_options(commands, name, summary, common, feed_option) -> None:
    _command(commands, name, summary, "spfeed --config /etc/spfeed/config.yaml validate", common)


_ADD_OPTIONS = {
    "update": _update_options, "backfill": _backfill_options, "regenerate": _regenerate_options,
    "check": _check_options, "init": _init_options, "run": _run_options, "status": _status_options,
    "validate": _validate_options,
}


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command *argv* names, found as argparse will find it (the first word that is not an
    option or the value of ``-c``/``--config``); None when that is not plain (then every command's
    parser is built)."""
    words = iter(argv)
    for word in words:
        if word in ("-c", "--config"):
            next(words, None)
        elif word == "--" or not word.startswith("-"):
            return word if word in COMMANDS else None
        elif not word.startswith("--") and word[1:].strip("v"):  # combined short options (-vc PATH): not plain
            return None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(chosen_command(words)).parse_args(words)
    verbose = getattr(args, "verbose", 0) or 0
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogFormat(getattr(args, "log_format", None) or default_log_format(args.command)))
    logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else NOTICE,
                        handlers=[handler])
    if verbose < 2:
        logging.getLogger("urllib3").setLevel(logging.WARNING)
        logging.getLogger("apscheduler").setLevel(logging.ERROR)  # its internals (and its own skip warnings)
    as_json = getattr(args, "json", False)
    from spfeed.output import error, print_json

    try:
        return _dispatch(args, as_json)
    except SpfeedError as e:
        error(str(e))
        if as_json:
            print_json({"error": str(e), "exit_code": e.exit_code})
        return e.exit_code
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except BrokenPipeError as e:  # stdout's reader went away (`| head`) after the command's work was done
        from spfeed.output import stdout_closed

        try:
            sys.stdout.flush()
        except BrokenPipeError:
            stdout_closed()
            return 0
        error(f"internal error: {type(e).__name__}: {e} (run with -vv for the traceback)")
        return 1
    except Exception as e:  # a bug: one line for cron, the traceback with -v
        log.debug("traceback", exc_info=True)
        error(f"internal error: {type(e).__name__}: {e} (run with -vv for the traceback)")
        if as_json:
            print_json({"error": f"internal error: {type(e).__name__}: {e}", "exit_code": 1})
        return 1


def program() -> NoReturn:
    """The ``spfeed`` program (``python -m spfeed``): :func:`main`, then a prompt exit.

    Python's own teardown of what a run imported (requests and its stack most of all) takes
    longer than an unchanged page's whole update: about 75 ms of a 400 ms cron run, measured.
    Everything spfeed opens is closed when main returns (the state, its lock, written files), so
    once the exit handlers have run and the output is flushed the process may end at once. When
    another thread still runs (a `spfeed run` scheduler's workers), a profiler or tracer is on, or flushing fails (a reader that
    went away), it exits as Python does, which waits for threads and reports the failure."""
    code = main()
    # A profiler or tracer (cProfile, coverage) writes its data at teardown: exit as Python does then.
    alone = all(thread.daemon or thread is threading.current_thread() for thread in threading.enumerate())
    if alone and sys.getprofile() is None and sys.gettrace() is None:
        import atexit

        atexit._run_exitfuncs()  # logging's shutdown among them
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            raise SystemExit(code) from None
        os._exit(code)
    raise SystemExit(code)


#: Between INFO and WARNING: what `spfeed run` says unasked (spfeed.scheduler.NOTICE).
NOTICE = 25
LOG_FORMATS = ("plain", "timestamps", "json")


def default_log_format(command: str | None, env: Mapping[str, str] = os.environ) -> str:
    """`run` on a pipe or in a file gets timestamps; on a terminal, under systemd's journal (which
    stamps each line itself) and for every other command (cron mails them), plain lines."""
    if command == "run" and not sys.stderr.isatty() and "JOURNAL_STREAM" not in env:
        return "timestamps"
    return "plain"


class LogFormat(logging.Formatter):
    """Log lines as spfeed prints them: ``spfeed: warning: …``, ``spfeed: error: …``, ``spfeed: …``
    (a notice names its command itself: ``spfeed run: …``); with "timestamps", each line starts
    with its local ISO 8601 time; with "json", one object a line: time, level, logger, message."""

    def __init__(self, style: str = "plain") -> None:
        super().__init__()
        self.style = style

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        level = "error" if record.levelno >= logging.ERROR else "warning" if record.levelno >= logging.WARNING \
            else "notice" if record.levelno > logging.INFO else "info" if record.levelno == logging.INFO else "debug"
        moment = datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="seconds")
        if self.style == "json":
            import json

            return json.dumps({"time": moment, "level": level, "logger": record.name, "message": message},
                              ensure_ascii=False)
        if level == "notice" and message.startswith("spfeed"):
            line = message
        elif level in ("warning", "error") and not message.startswith(f"{level}: "):
            line = f"spfeed: {level}: {message}"
        else:
            line = f"spfeed: {message}"
        return f"{moment} {line}" if self.style == "timestamps" else line


def _paths(paths: Sequence[str]) -> str:
    """Written files for a summary line: two by name, more by count and folder."""
    from spfeed.output import describe_written

    return describe_written(paths)


def _common_folder(config, feeds) -> str:
    folders = {str(feed.output.dir) for feed in feeds}
    return folders.pop() if len(folders) == 1 else str(config.output.dir)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit() or int(text) > 10:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 10, got {text!r}")
    return int(text)


def _dispatch(args: argparse.Namespace, as_json: bool) -> int:
    from spfeed import config as config_module

    if args.command == "check":
        return _check(args)
    if args.command == "init":
        return _init(args)
    if args.command == "validate":
        return _validate(args)
    config = config_module.load(config_module.config_path(getattr(args, "config", None)))
    if args.command == "status":
        return _status(args, config)
    if args.command == "update":
        from spfeed.pipeline import update

        from spfeed.output import print_outcome

        report = update(config, feeds=args.feed)
        print_outcome(report, as_json)
        return report.exit_code
    if args.command == "backfill":
        from spfeed.output import print_outcome
        from spfeed.pipeline import backfill

        with _stop_on_signals() as stop:
            report = backfill(config, args.max_pages, progress=_progress() if sys.stderr.isatty() else None,
                              feeds=args.feed, stop=stop)
        print_outcome(report, as_json, list_items=False)
        return report.exit_code
    if args.command == "regenerate":
        from spfeed.pipeline import regenerate

        report = regenerate(config, feeds=args.feed)
        chosen = config.select(args.feed)
        if report.written:
            print(f"rebuilt {_paths(report.written)}")
        else:
            names = ", ".join(feed.name for feed in chosen if feed.name)
            print(f"the files of {names or 'the feed'} in {_common_folder(config, chosen)} were already up to date")
        return 0
    if args.command == "run":
        from spfeed.scheduler import run

        return run(config)
    raise AssertionError(args.command)


def _check(args: argparse.Namespace) -> int:
    """`spfeed check`: a table of what each page gives, and the selectors that gave it as a YAML
    `sources:` entry; exit 3 when one fails the health rules. Tries a host once unless --retries."""
    from dataclasses import replace

    from spfeed import config as config_module
    from spfeed.detect import date_order
    from spfeed.encoding import decode_html
    from spfeed.extract import read_listing
    from spfeed.output import print_checked
    from spfeed.pipeline import check

    explicit = getattr(args, "config", None) or os.environ.get("SPFEED_CONFIG")
    path = config_module.config_path(explicit)
    config = None
    if explicit or path.exists() or not args.url:
        config = config_module.load(path)
    if args.feed:
        if config is None:
            raise SpfeedError("--feed needs a config file") from None
        config = replace(config, feeds=config.select(args.feed))
    sources = config_module.sources_to_check(config, args.url, args.profile, args.select, Path.cwd(), args.base_url)
    http = replace(config.http if config else config_module.HttpSettings(), retries=args.retries)
    results = check(http, sources, str(path) if config else "--select")
    for i, result in enumerate(results):
        order = date_order(raw.date_text for raw in result.listing.items)
        if result.source.key == "check" and order and order != result.source.date_order and not _configured(
                config, result.source):  # a new page: read its dates in the order they show
            result = results[i] = check(http, (replace(result.source, date_order=order),), "--select")[0]
        text, _ = decode_html(result.page.body, result.page.charset, log_disagreement=False)  # read again
        _, used = read_listing(text, result.page.final_url, result.source.selectors, result.source.base_url,
                               detect=result.source.detect)
        print_checked(result, used)
    return max((HealthError.exit_code if r.problems else 0 for r in results), default=0)


def _configured(config, source) -> bool:
    """Whether *source* reads a page the config already has (its settings are then the config's)."""
    return config is not None and any(s.url == source.url for s in config.sources)


def _init(args: argparse.Namespace) -> int:
    """`spfeed init URL`: a complete, commented config.yaml for the page on stdout."""
    from dataclasses import replace

    from spfeed import config as config_module
    from spfeed.detect import date_order
    from spfeed.encoding import decode_html
    from spfeed.extract import check_source_selectors, read_listing
    from spfeed.fetch import fetch
    from spfeed.output import init_config

    [source] = config_module.sources_to_check(None, args.url, None, [], Path.cwd(), args.base_url)
    check_source_selectors(source, "init")
    page = fetch(source.url, config_module.HttpSettings(retries=args.retries))
    assert page is not None
    text, _ = decode_html(page.body, page.charset)
    listing, used = read_listing(text, page.final_url, source.selectors, source.base_url, detect=True)
    source = replace(source, date_order=date_order(raw.date_text for raw in listing.items) or source.date_order)
    if not listing.items:
        raise HealthError(f"{source.url}: found no listing on the page (no repeated blocks with a link and a date, "
                          "no structured data): try spfeed check URL --select item=CSS")
    print(init_config(source, page, text, listing, used, args.feed_title), end="")
    return 0


def _status(args: argparse.Namespace, config) -> int:
    """`spfeed status`: the state of each feed and source and the last runs; exit 1 when a source
    has failed notify.failures_after reads in a row. Reads the state only (no network, no lock)."""
    from spfeed.status import collect, render_json, render_text

    status = collect(config, config.select(args.feed), runs=args.runs)
    print(render_json(status) if args.json else render_text(status), end="\n" if args.json else "")
    return status.exit_code


def _validate(args: argparse.Namespace) -> int:
    """`spfeed validate`: every problem of the config, one per line on stdout; exit 2 if any."""
    from spfeed import config as config_module

    problems = config_module.validate(config_module.config_path(getattr(args, "config", None)))
    for line in problems:
        print(line)
    return 2 if problems else 0


def _count_runs(text: str) -> int:
    if not text.isdigit() or int(text) > 5000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 5000, got {text!r}")
    return int(text)


@contextlib.contextmanager
def _stop_on_signals():
    """An event that SIGTERM or SIGINT sets while the block runs, so that a long command stops at
    its next safe point and keeps what it did; a second signal acts as usual (ends it at once).
    The previous handlers come back afterwards."""
    import signal
    import threading

    stop = threading.Event()
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def on_signal(signum: int, _frame) -> None:
        log.warning("received %s; stopping after the current page", signal.Signals(signum).name)
        stop.set()
        for sig, handler in before.items():
            signal.signal(sig, handler)

    for sig in before:
        signal.signal(sig, on_signal)
    try:
        yield stop
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _progress():
    """A one-line progress display for a terminal: page count and items so far."""
    def show(source, page: int, items: int) -> None:
        print(f"\r\033[K{source.url}: page {page} read, items so far: {items}", end="", file=sys.stderr, flush=True)

    return show
