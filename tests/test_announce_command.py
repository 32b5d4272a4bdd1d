"""Commands as real processes: the JSON document on stdin, no shell, a timeout that kills the whole
process group, and a non-zero exit reported as a failure."""

from __future__ import annotations

import json
import os
import shlex
import sys
import time

import pytest

from spfeed.announce import Failure, deliver
from spfeed.announce.settings import Command, NotifySettings
from test_announce_webhook import UA, announcement

PY = shlex.quote(sys.executable)


def command(run: str, **kwargs) -> NotifySettings:
    return NotifySettings(commands=(Command(argv=tuple(shlex.split(run)), **kwargs),))


def test_the_command_reads_the_json_document_on_stdin(tmp_path):
    out = tmp_path / "got.json"
    script = ("import os, sys, pathlib; pathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read()); "
              "pathlib.Path(sys.argv[1] + '.env').write_text(os.environ['SPFEED_FEED'] + ' ' + os.environ['SPFEED_EVENTS'])")
    settings = command(f"{PY} -c {shlex.quote(script)} {shlex.quote(str(out))}")
    assert deliver(settings, announcement(("new", "gone")), user_agent=UA) == []
    data = json.loads(out.read_bytes())
    assert data["feed"] == "ilo-secsoc" and data["events"] == ["new", "gone"]
    assert [i["link"] for i in data["new"]][0].endswith("WCMS_16/lang--en/index.htm") and len(data["gone"]) == 1
    assert (tmp_path / "got.json.env").read_text() == "ilo-secsoc new,gone"


def test_no_shell_interprets_the_command_line(tmp_path):
    out = tmp_path / "argv.json"
    script = "import json, sys; open(sys.argv[1], 'w').write(json.dumps(sys.argv[2:]))"
    settings = command(f"{PY} -c {shlex.quote(script)} {shlex.quote(str(out))} '$HOME' '; touch pwned' `id`")
    assert deliver(settings, announcement(), user_agent=UA) == []
    assert json.loads(out.read_text()) == ["$HOME", "; touch pwned", "`id`"]


@pytest.mark.parametrize("script, reason", [
    ("import sys; sys.stdin.read(); print('disk full', file=sys.stderr); sys.exit(3)",
     "exited with status 3: disk full"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", "was killed by signal 15"),
])
def test_a_failing_command_is_a_failure(script, reason):
    settings = command(f"{PY} -c {shlex.quote(script)}")
    assert deliver(settings, announcement(), user_agent=UA) == [Failure("commands[0]", f"{sys.executable!r} {reason}")]


def test_a_missing_program_is_a_failure():
    (failure,) = deliver(command("/nonexistent/notify-me --now"), announcement(), user_agent=UA)
    assert failure.channel == "commands[0]"
    assert failure.reason.startswith("cannot run '/nonexistent/notify-me': No such file or directory")


def test_a_command_over_its_timeout_is_killed_with_its_children(tmp_path):
    pids = tmp_path / "pids"
    # the command starts a grandchild, records both pids, then both sleep far past the timeout
    script = ("import os, subprocess, sys, time; "
              f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
              f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}'); time.sleep(120)")
    settings = command(f"{PY} -c {shlex.quote(script)}", timeout=2)
    assert deliver(settings, announcement(), user_agent=UA) == [
        Failure("commands[0]", f"{sys.executable!r} did not finish within 2 s (killed)")]
    for pid in map(int, pids.read_text().split()):
        assert not _alive(pid), f"process {pid} outlived the timeout"


def _alive(pid: int) -> bool:
    """Whether *pid* still runs (a zombie waiting for its parent to reap it counts as gone)."""
    for _ in range(50):  # the grandchild is reparented and reaped by init; give it a moment
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return False
        except FileNotFoundError:
            if os.path.isdir("/proc"):
                return False
        time.sleep(0.1)
    return True


def test_a_command_only_runs_for_its_events(tmp_path):
    out = tmp_path / "ran"
    script = f"import sys; sys.stdin.read(); open({str(out)!r}, 'a').write('x')"
    settings = command(f"{PY} -c {shlex.quote(script)}", on=frozenset({"failure"}))
    assert deliver(settings, announcement(("new",)), user_agent=UA) == []
    assert not out.exists()
    assert deliver(settings, announcement(("failure",)), user_agent=UA) == []
    assert out.read_text() == "x"
