"""`spfeed run`: a long-running process that runs `update` now and then on a schedule.

Runs never overlap (one job instance, plus the state lock against a cron-started run); a failed
or crashing run is logged and the next one still happens; SIGTERM or SIGINT stop the process
with exit 0 once the current run has stopped at its next safe point.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime

from spfeed.config import Config, parse_duration
from spfeed.errors import ConfigError, Interrupted, SpfeedError

log = logging.getLogger(__name__)


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


def run(config: Config) -> int:
    """Block, running updates on schedule, until a signal; returns the exit code (0)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from spfeed.extract import check_selectors

    check_selectors(config)
    when = trigger(config)
    stop = threading.Event()
    scheduler = BlockingScheduler()

    def job() -> None:
        _run_once(config, stop)

    def on_signal(signum: int, _frame) -> None:
        log.warning("received %s; stopping after the current run", signal.Signals(signum).name)
        stop.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    scheduler.add_job(job, when, id="update", max_instances=1, coalesce=True, misfire_grace_time=None,
                      next_run_time=datetime.now().astimezone())
    log.info("running update now and on %s", f"every {config.schedule_every}" if config.schedule_every
             else f"cron {config.schedule_cron!r}")
    scheduler.start()  # returns after shutdown; the executor's thread finishes the current run
    return 0


def _run_once(config: Config, stop: threading.Event) -> None:
    """One scheduled update; never raises, so the schedule goes on whatever happens."""
    from spfeed.output import print_outcome
    from spfeed.pipeline import update

    try:
        report = update(config, stop=stop)
    except Interrupted as e:
        log.warning("%s", e)
    except SpfeedError as e:
        log.error("update failed: %s", e)
    except Exception:
        log.exception("update crashed; the next run is still scheduled")
    else:
        print_outcome(report)
