"""`spfeed run`: the long-running scheduler, as a real process with real signals."""

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import Reply, write_config
from pages import entry, listing
from spfeed.config import load
from spfeed.scheduler import trigger


def start(config, *args) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "SPFEED_CONFIG"}
    return subprocess.Popen([sys.executable, "-m", "spfeed", "--config", str(config), *args, "run"],
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
