"""Commands: run a program with the run's JSON document on stdin.

``run`` is split into words like a shell would (shlex) but executed without one, so nothing in the
config or the feed is ever interpreted by a shell (write ``sh -c '…'`` to get one on purpose).
The program runs in its own process group, killed as a whole on timeout.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess

from spfeed.announce import Announcement, DeliveryError
from spfeed.announce.settings import EVENTS, Command
from spfeed.announce.webhook import body

log = logging.getLogger(__name__)


def run(command: Command, announcement: Announcement) -> None:
    """Run *command* with the payload on stdin and ``SPFEED_FEED``/``SPFEED_EVENTS`` set; DeliveryError
    when it cannot start, exits non-zero or outlives its timeout."""
    name = command.argv[0]
    env = {**os.environ, "SPFEED_FEED": announcement.feed,
           "SPFEED_EVENTS": ",".join(e for e in EVENTS if e in announcement.events)}
    try:
        process = subprocess.Popen(command.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env, start_new_session=True)
    except OSError as e:
        raise DeliveryError(f"cannot run {name!r}: {e.strerror or e}") from None
    try:
        out, err = process.communicate(body(announcement.payload()), timeout=command.timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise DeliveryError(f"{name!r} did not finish within {command.timeout:g} s (killed)") from None
    if out.strip():
        log.debug("%s printed: %s", name, out.decode("utf-8", "replace").strip())
    if process.returncode != 0:
        last = (err.decode("utf-8", "replace").strip().splitlines() or [""])[-1][:200]
        how = (f"was killed by signal {-process.returncode}" if process.returncode < 0
               else f"exited with status {process.returncode}")
        raise DeliveryError(f"{name!r} {how}" + (f": {last}" if last else ""))


def _kill_group(process: subprocess.Popen) -> None:
    """Kill *process* and everything it started (its session's process group), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        process.kill()
    process.communicate()
