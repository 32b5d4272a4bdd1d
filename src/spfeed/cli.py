"""The command line: parse arguments, run a command, turn its outcome into output and an exit code.

Quiet by default (cron mails whatever is printed): `update` prints nothing when nothing changed.
Errors are one line on stderr, ``spfeed: error: ...``, and an exit code from the README's table.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from spfeed import __version__
from spfeed.errors import SpfeedError

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


def build_parser() -> argparse.ArgumentParser:
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

    def command(name: str, summary: str, example: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, parents=[common], help=summary, description=summary, epilog=f"example:\n  {example}\n\n{EXIT_CODES}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    update = command("update", "Read the sources once, store what is new, and publish the feeds if they changed.",
                     "spfeed --config /etc/spfeed/config.yaml update")
    update.add_argument("--json", action="store_true",
                        help="print one JSON object: {new, updated, gone, unchanged, written, ...}")
    command("regenerate", "Rebuild the feed files from the stored history, with no network (after a config change).",
            "spfeed regenerate")
    command("run", "Run update now and then on schedule.cron (or schedule.every) until SIGTERM or Ctrl-C.",
            "spfeed --config config.yaml run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = getattr(args, "verbose", 0) or 0
    logging.basicConfig(
        level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING,
        format="spfeed: %(message)s", stream=sys.stderr,
    )
    if verbose < 2:
        logging.getLogger("urllib3").setLevel(logging.WARNING)
    as_json = getattr(args, "json", False)
    try:
        return _dispatch(args, as_json)
    except SpfeedError as e:
        _error(str(e))
        if as_json:
            _print_json({"error": str(e), "exit_code": e.exit_code})
        return e.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except Exception as e:  # a bug: one line for cron, the traceback with -v
        log.debug("traceback", exc_info=True)
        _error(f"internal error: {type(e).__name__}: {e} (run with -vv for the traceback)")
        if as_json:
            _print_json({"error": f"internal error: {type(e).__name__}: {e}", "exit_code": 1})
        return 1


def _dispatch(args: argparse.Namespace, as_json: bool) -> int:
    from spfeed import config as config_module

    config = config_module.load(config_module.config_path(getattr(args, "config", None)))
    if args.command == "update":
        from spfeed.pipeline import update

        report = update(config)
        print_outcome(report, as_json)
        return report.exit_code
    if args.command == "regenerate":
        from spfeed.pipeline import regenerate

        report = regenerate(config)
        if report.written:
            print(f"rebuilt {' and '.join(report.written)}")
        return 0
    if args.command == "run":
        from spfeed.scheduler import run

        return run(config)
    raise AssertionError(args.command)


def print_outcome(report, as_json: bool = False) -> None:
    """What an update did: the summary (or JSON) on stdout, warnings and failures on stderr."""
    _print_json(_json_report(report)) if as_json else _print_summary(report)
    sys.stdout.flush()
    for line in report.warnings:
        print(f"spfeed: warning: {line}", file=sys.stderr)
    for line in report.failures:
        _error(line)


def _error(message: str) -> None:
    print(f"spfeed: error: {message}", file=sys.stderr)


def _print_json(data: dict) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _item_json(item, changed: Sequence[str] | None = None) -> dict:
    data = {
        "id": item.id,
        "title": item.title,
        "link": item.link,
        "published": item.published.isoformat(),
        "updated": item.updated.isoformat(),
        "label": item.label,
        "kind": item.kind,
        "summary": item.summary,
        "dated": item.dated,
    }
    if changed is not None:
        data["changed"] = list(changed)
    return data


def _json_report(report) -> dict:
    return {
        "new": [_item_json(i) for i in report.new],
        "updated": [_item_json(i, fields) for i, fields in report.updated],
        "gone": [_item_json(i) for i in report.gone],
        "unchanged": report.unchanged,
        "written": list(report.written),
        "not_modified": report.not_modified,
        "warnings": list(report.warnings),
        "errors": list(report.failures),
    }


def _print_summary(report) -> None:
    """Nothing when nothing changed; else a count line and one line (plus link) per item."""
    counts = [f"{len(report.new)} new", f"{len(report.updated)} updated", f"{len(report.gone)} gone"]
    if report.new or report.updated or report.gone:
        written = f"; wrote {' and '.join(report.written)}" if report.written else ""
        print(", ".join(counts) + written)
        for item in report.new:
            print(f"+ {_line(item)}\n    {item.link}")
        for item, fields in report.updated:
            print(f"~ {_line(item)} (changed: {', '.join(fields)})\n    {item.link}")
        for item in report.gone:
            print(f"- {_line(item)} (no longer on the page; stays in the feed)")
    elif report.written:
        print(f"rebuilt {' and '.join(report.written)} from the history")


def _line(item) -> str:
    label = f"[{item.label}] " if item.label else ""
    return f"{item.published.date().isoformat() if item.dated else 'undated   '}  {label}{item.title}"
