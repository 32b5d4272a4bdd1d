"""`spfeed run`: the long-running scheduler, as a real process with real signals."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import Reply, journal_mode, write_config
from pages import entry, listing
from spfeed.config import load
from spfeed.scheduler import trigger


def start(config, *args, after=()) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("SPFEED_CONFIG", "JOURNAL_STREAM")}
    return subprocess.Popen([sys.executable, "-m", "spfeed", "--config", str(config), *args, "run", *after],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def stop(process: subprocess.Popen, sig=signal.SIGTERM) -> tuple[int, str, str]:
    process.send_signal(sig)
    out, err = process.communicate(timeout=20)
    return process.returncode, out, err


def test_runs_at_start_then_on_schedule_and_stops_cleanly(tmp_path, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])), schedule={"every": "1s"})
    process = start(config)
    try:
        wait_for(lambda: len(site.hits("/p")) >= 3)
    finally:
        code, out, err = stop(process)
    assert code == 0, err
    assert out.startswith("1 new, 0 updated, 0 gone")  # the first run; the later ones had nothing to say
    assert "Traceback" not in err


def test_runs_never_overlap(tmp_path, site):
    """Every second, but each run waits 1.5 s for the server: the next starts only after it ends."""
    url = site.route("/p", Reply(body=listing([entry(1)]), delay=1.5))
    config = write_config(tmp_path, url, schedule={"every": "1s"})
    process = start(config)
    try:
        wait_for(lambda: len(site.hits("/p")) >= 3, timeout=20)
    finally:
        code, _, err = stop(process)
    arrivals = [hit.at for hit in site.hits("/p")]
    assert code == 0, err
    assert all(later - earlier >= 1.5 for earlier, later in zip(arrivals, arrivals[1:])), arrivals
    assert "holds" not in err  # the scheduler itself never started a second run (the state lock did not have to)
    # each run it skipped is one warning, in spfeed's words; APScheduler's own stays at -vv
    skipped = [line for line in err.splitlines() if "skipped" in line]
    assert skipped and len(skipped) == len(set(skipped)), err
    assert all(re.search(r"spfeed: warning: an update was due at \d\d:\d\d:\d\d but the previous one is still "
                         r"running; skipped it$", line) for line in skipped), skipped
    assert "maximum number of running instances" not in err


def test_a_failed_run_is_logged_and_the_next_one_happens(tmp_path, site):
    url = site.route("/p", Reply(status=404, body=b"no"), Reply(body=listing([entry(1)])))
    config = write_config(tmp_path, url, schedule={"every": "1s"})
    process = start(config)
    try:
        wait_for(lambda: (tmp_path / "feeds" / "atom.xml").exists())
    finally:
        code, out, err = stop(process, signal.SIGINT)
    assert code == 0
    assert f"spfeed: error: {url}: HTTP 404 Not Found" in err
    assert "1 new" in out


def test_sigterm_during_a_run_exits_0_and_leaves_no_half_state(tmp_path, site):
    url = site.route("/p", Reply(body=listing([entry(1)]), delay=1.5))
    config = write_config(tmp_path, url)
    process = start(config)
    wait_for(lambda: site.hits("/p"))
    code, out, err = stop(process)
    assert code == 0 and "Traceback" not in err
    # the run either finished or published nothing; either way the next update works
    from conftest import run_cli

    site.route("/p", Reply(body=listing([entry(1)])))
    result = run_cli("--config", str(config), "update", "--json")
    assert result.returncode == 0, result.stderr


def test_the_state_stays_open_between_runs_and_is_shared_with_other_commands(tmp_path, site):
    """`spfeed run` keeps the state open (WAL) from its first run to its stop; `status` and a
    cron `update` alongside read and write it; at the stop it is a plain rollback-journal file again."""
    from conftest import run_cli

    url = site.route("/p", Reply(body=listing([entry(1)])), Reply(body=listing([entry(2), entry(1)])),
                     Reply(body=listing([entry(3), entry(2), entry(1)])))
    config = write_config(tmp_path, url, schedule={"every": "1s"}, state={"lock_timeout": 10})
    state = tmp_path / "state" / "spfeed.sqlite"
    process = start(config)
    try:
        wait_for(lambda: (tmp_path / "feeds" / "atom.xml").exists())
        assert journal_mode(state) == "wal"
        status = run_cli("--config", str(config), "status", "--json")
        assert status.returncode == 0, status.stderr
        beside = run_cli("--config", str(config), "update", "--json")  # a cron run, between two of its runs
        assert beside.returncode == 0, beside.stderr
        wait_for(lambda: len(site.hits("/p")) >= 4)
    finally:
        code, out, err = stop(process)
    assert code == 0, err
    assert journal_mode(state) == "delete" and not state.with_name(state.name + "-wal").exists(), err
    ids = sorted(i["id"] for i in json.loads(beside.stdout)["new"])
    # every item once: what the cron run added, the run saw as known, and the other way round
    announced = re.findall(r"WCMS_\d+", out) + re.findall(r"WCMS_\d+", " ".join(ids))
    assert len(announced) == len(set(announced)) == 3, (out, ids)


def test_a_killed_run_keeps_what_it_published(tmp_path, site):
    """SIGKILL leaves the state in WAL mode with its log beside it; the next command reads both,
    and an item the killed process published is not new again."""
    from conftest import run_cli

    url = site.page("/p", listing([entry(1), entry(2)]))
    config = write_config(tmp_path, url, schedule={"every": "1h"})
    process = start(config)
    try:
        wait_for(lambda: (tmp_path / "feeds" / "atom.xml").exists())
        wait_for(lambda: "2 new" in (process.stdout.readline() or ""))
    finally:
        code, _, _ = stop(process, signal.SIGKILL)
    assert code == -signal.SIGKILL
    state = tmp_path / "state" / "spfeed.sqlite"
    assert journal_mode(state) == "wal"
    site.page("/p", listing([entry(3), entry(1), entry(2)]))
    result = run_cli("--config", str(config), "update", "--json")
    assert result.returncode == 0, result.stderr
    assert [re.search(r"WCMS_\d+", i["id"]).group() for i in json.loads(result.stdout)["new"]] == ["WCMS_100003"]


def test_a_bad_cron_expression_is_a_config_error(tmp_path):
    config = write_config(tmp_path, "https://127.0.0.1:9/", schedule={"cron": "61 * * * *"})
    from conftest import run_cli

    result = run_cli("--config", str(config), "run", timeout=30)
    assert result.returncode == 2
    assert "schedule.cron: invalid cron expression '61 * * * *'" in result.stderr


@pytest.mark.parametrize("cron, minutes", [("0 */6 * * *", {0}), ("*/15 * * * *", {0, 15, 30, 45})])
def test_cron_triggers(tmp_path, cron, minutes):
    from datetime import datetime, timezone

    config = load(write_config(tmp_path, "https://127.0.0.1:9/", schedule={"cron": cron}))
    when = trigger(config)
    moment = datetime(2026, 11, 27, 1, 7, tzinfo=timezone.utc)
    fires = []
    for _ in range(8):
        moment = when.get_next_fire_time(None, moment)
        fires.append(moment)
        moment = moment.replace(second=1)
    assert {f.minute for f in fires} == minutes


STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d "  #: a log line's local time, on a pipe


def test_says_one_line_at_start_and_after_runs_only_what_update_prints(tmp_path, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])), schedule={"cron": "17 */6 * * *"})
    process = start(config)
    try:
        wait_for(lambda: (tmp_path / "feeds" / "atom.xml").exists())
        time.sleep(0.3)  # let the first run print its summary
    finally:
        code, out, err = stop(process)
    assert code == 0, err
    first, *rest = err.splitlines()
    match = re.fullmatch(STAMP + r'spfeed run: 1 feed; update now, then at \d{4}-\d\d-\d\d (\d\d):17 '
                         r'\(cron "17 \*/6 \* \* \*"\)', first)
    assert match and int(match.group(1)) % 6 == 0, first
    assert [re.sub(STAMP, "", line) for line in rest] == ["spfeed run: received SIGTERM; stopping after the current run"]
    assert out.startswith("1 new, 0 updated, 0 gone; wrote ")


def test_an_unchanged_run_says_nothing(tmp_path, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])), schedule={"every": "1s"})
    process = start(config)
    try:
        wait_for(lambda: len(site.hits("/p")) >= 3)
    finally:
        code, out, err = stop(process)
    assert code == 0 and out.count("new, 0 updated") == 1  # the first run only
    assert len(err.splitlines()) == 2 and "update now, then at " in err and "(every 1s)" in err, err


@pytest.mark.parametrize("verbosity, internals", [([], False), (["-v"], False), (["-vv"], True)])
def test_scheduler_internals_only_at_vv(tmp_path, site, verbosity, internals):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])), schedule={"every": "1h"})
    process = start(config, *verbosity)
    try:
        wait_for(lambda: (tmp_path / "feeds" / "atom.xml").exists())
        time.sleep(0.3)
    finally:
        code, _, err = stop(process)
    assert code == 0, err
    assert ('Added job "update" to job store "default"' in err) is internals, err
    assert ("Scheduler started" in err) is internals
    assert ("spfeed: " in err and "/p" in err) is bool(verbosity)  # -v says what spfeed does (it fetched /p)


@pytest.mark.parametrize("chosen, shape", [
    ([], STAMP + r"spfeed run: "),  # stderr is a pipe here: timestamps by default
    (["--log-format", "timestamps"], STAMP + r"spfeed run: "),
    (["--log-format", "plain"], r"spfeed run: "),
    (["--log-format", "json"], r'\{"time": "'),
])
def test_log_formats(tmp_path, site, chosen, shape):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])), schedule={"every": "1h"})
    process = start(config, after=chosen)
    try:
        wait_for(lambda: (tmp_path / "feeds" / "atom.xml").exists())
    finally:
        code, _, err = stop(process)
    lines = err.splitlines()
    assert code == 0 and len(lines) == 2 and all(re.match(shape, line) for line in lines), err
    if "json" in chosen:
        records = [json.loads(line) for line in lines]
        assert [r["level"] for r in records] == ["notice", "notice"]
        assert records[0]["message"].startswith("spfeed run: 1 feed; update now, then at ")


@pytest.mark.parametrize("schedule, feeds, line", [
    ({"cron": "17 */6 * * *"}, 3, 'spfeed run: 3 feeds; update now, then at 2026-12-01 18:17 (cron "17 */6 * * *")'),
    ({"every": "6h"}, 1, "spfeed run: 1 feed; update now, then at 2026-12-01 18:17 (every 6h)"),
])
def test_the_start_line(tmp_path, schedule, feeds, line):
    from dataclasses import replace
    from datetime import datetime

    from spfeed.scheduler import start_line

    config = load(write_config(tmp_path, "https://127.0.0.1:9/", schedule=schedule))
    config = replace(config, feeds=config.feeds * feeds)
    assert start_line(config, datetime(2026, 12, 1, 18, 17)) == line


@pytest.mark.parametrize("due, said", [((12, 17, 0), "due at 12:17 but"), ((12, 17, 5), "due at 12:17:05 but")])
def test_the_skipped_line(due, said):
    from datetime import datetime

    from spfeed.scheduler import skipped_line

    assert said in skipped_line(datetime(2026, 12, 1, *due))
