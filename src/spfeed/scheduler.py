"""`spfeed run`: a long-running process that runs `update` now and then on a schedule.

Runs never overlap (one job instance, plus the state lock against a cron-started run); a failed
or crashing run is logged and the next one still happens; SIGTERM or SIGINT stop the process
with exit 0 once the current run has stopped at its next safe point. It says one line when it
starts, a warning for each run it skips because the previous one overran, and after a run only
what `update` would print (nothing when nothing changed). APScheduler's own messages are for -vv.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime
from typing import TYPE_CHECKING

from spfeed.config import Config, parse_duration
from spfeed.errors import ConfigError, Interrupted, SpfeedError

if TYPE_CHECKING:
    from spfeed.store import KeptStore

log = logging.getLogger(__name__)

#: A log level between INFO and WARNING for what a service says unasked (its start, its stop):
#: shown by default, without "warning:".
NOTICE = 25


def trigger(config: Config):
    """The APScheduler trigger for ``schedule.every`` or ``schedule.cron`` (5 fields, local time)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if config.schedule_every:
        return IntervalTrigger(seconds=parse_duration(config.schedule_every))
    try:
        return CronTrigger.from_crontab(config.schedule_cron)
    except ValueError as e:
        raise ConfigError(
            f"{config.path}: schedule.cron: invalid cron expression {config.schedule_cron!r} "
            f"(expected 5 fields: minute hour day month weekday): {e}"
        ) from None


def describe_schedule(config: Config) -> str:
    """The schedule as the start line shows it: ``cron "17 */6 * * *"`` or ``every 6h``."""
    return f"every {config.schedule_every}" if config.schedule_every else f'cron "{config.schedule_cron}"'


def start_line(config: Config, next_update: datetime) -> str:
    """What `spfeed run` says when it starts: the feeds, when the update after the first one is
    due, and the schedule."""
    count = len(config.feeds)
    return (f"spfeed run: {count} feed{'s' if count != 1 else ''}; update now, then at "
            f"{next_update:%Y-%m-%d %H:%M} ({describe_schedule(config)})")


def skipped_line(due: datetime) -> str:
    """The warning for a run skipped because the previous one still runs; *due* in local time
    (to the second when the schedule is finer than minutes)."""
    moment = f"{due:%H:%M}" if due.second == 0 else f"{due:%H:%M:%S}"
    return f"an update was due at {moment} but the previous one is still running; skipped it"


def run(config: Config) -> int:
    """Block, running updates on schedule, until a signal; returns the exit code (0)."""
    from apscheduler.events import EVENT_JOB_MAX_INSTANCES
    from apscheduler.schedulers.blocking import BlockingScheduler

    from spfeed.extract import check_selectors
    from spfeed.store import KeptStore

    check_selectors(config)
    when = trigger(config)
    stop = threading.Event()
    scheduler = BlockingScheduler()
    kept = KeptStore(config.state_path)  # the state database, open from the first run to the stop

    def job() -> None:
        _run_once(config, stop, kept)

    def on_signal(signum: int, _frame) -> None:
        log.log(NOTICE, "spfeed run: received %s; stopping after the current run", signal.Signals(signum).name)
        stop.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)

    def on_skipped(event) -> None:
        log.warning("%s", skipped_line(event.scheduled_run_times[-1].astimezone()))

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    scheduler.add_listener(on_skipped, EVENT_JOB_MAX_INSTANCES)
    now = datetime.now().astimezone()
    scheduler.add_job(job, when, id="update", name="update", max_instances=1, coalesce=True,
                      misfire_grace_time=None, next_run_time=now)
    log.log(NOTICE, "%s", start_line(config, when.get_next_fire_time(None, now).astimezone()))
    scheduler.start()  # returns after shutdown; the executor's thread finishes the current run
    _close(config, kept)
    return 0


def _close(config: Config, kept: KeptStore) -> None:
    """Close the kept state database once the current run (which holds the run lock) is over."""
    from spfeed.lock import exclusive

    try:
        with exclusive(config.state_path, config.lock_timeout):
            kept.close()
    except SpfeedError as e:  # still running: the file stays as the run leaves it (consistent)
        log.info("left the state database open: %s", e)


def _run_once(config: Config, stop: threading.Event, kept: KeptStore | None = None) -> None:
    """One scheduled update; never raises, so the schedule goes on whatever happens. Its summary
    goes to stdout as `update` prints it; its warnings and errors are log lines (with the run's
    log format)."""
    from spfeed.output import print_outcome
    from spfeed.pipeline import update

    try:
        report = update(config, stop=stop, kept=kept)
    except Interrupted as e:
        log.warning("%s", e)
    except SpfeedError as e:
        log.error("update failed: %s", e)
    except Exception:
        log.exception("update crashed; the next run is still scheduled")
    else:
        print_outcome(report, log_to=log)
