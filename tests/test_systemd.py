"""The systemd units in contrib/systemd: what they promise (a oneshot update on a six-hourly timer,
a long-running `spfeed run`, the same hardening in both), checked with systemd's own tools where
they are installed: `systemd-analyze verify`, `calendar` and `security --offline`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

UNITS = REPO / "contrib" / "systemd"
INSTALLED_PATH = "/opt/spfeed/.venv/bin/spfeed"
SERVICES = ("spfeed.service", "spfeed-run.service")
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (Debian package systemd)")


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as systemd reads it: sections of keys, each with every value it was given."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in (UNITS / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        assert current is not None, f"{name}: {line!r} before any section"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def spfeed_executable() -> str:
    """The spfeed command of the environment running the tests (a real executable for verify)."""
    found = Path(sys.executable).with_name("spfeed")
    return str(found) if found.exists() else shutil.which("spfeed") or sys.executable


def installable_copy(folder: Path, name: str, text: str | None = None) -> Path:
    """*name* copied into *folder* with ExecStart pointing at a real executable: verify checks it exists."""
    text = (UNITS / name).read_text(encoding="utf-8") if text is None else text
    path = folder / name
    path.write_text(text.replace(INSTALLED_PATH, spfeed_executable()), encoding="utf-8")
    return path


def test_the_oneshot_update_and_its_timer():
    service, timer = unit("spfeed.service"), unit("spfeed.timer")
    assert service["Service"]["Type"] == ["oneshot"]
    assert service["Service"]["ExecStart"] == [f"{INSTALLED_PATH} --config /etc/spfeed/config.yaml update"]
    assert "Install" not in service, "the timer starts it; it is not enabled on its own"
    assert timer["Timer"]["OnCalendar"] == ["*-*-* 00/6:17:00"]
    assert timer["Timer"]["Persistent"] == ["true"] and timer["Timer"]["RandomizedDelaySec"]
    assert timer["Timer"]["Unit"] == ["spfeed.service"] and timer["Install"]["WantedBy"] == ["timers.target"]


def test_the_long_running_service():
    service = unit("spfeed-run.service")
    assert service["Service"]["Type"] == ["simple"] and service["Service"]["Restart"] == ["on-failure"]
    assert service["Service"]["ExecStart"] == [f"{INSTALLED_PATH} --config /etc/spfeed/config.yaml run"]
    assert service["Install"]["WantedBy"] == ["multi-user.target"]
    assert "spfeed.timer" in service["Unit"]["Conflicts"][0].split()


HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
    "PrivateDevices": "yes", "StateDirectory": "spfeed", "ReadWritePaths": "/srv/spfeed/feeds", "User": "spfeed",
    "CapabilityBoundingSet": "", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
}


@pytest.mark.parametrize("name", SERVICES)
def test_both_services_share_the_sandbox(name):
    service = unit(name)["Service"]
    assert {key: service.get(key, [None])[0] for key in HARDENING} == HARDENING
    sandbox = {k: v for k, v in service.items() if k not in ("Type", "ExecStart", "Restart", "RestartSec",
                                                             "RestartPreventExitStatus", "TimeoutStopSec",
                                                             "TimeoutStartSec")}
    assert sandbox == {k: v for k, v in unit("spfeed.service")["Service"].items()
                       if k not in ("Type", "ExecStart", "TimeoutStartSec")}


@needs_analyze
def test_systemd_analyze_verify(tmp_path):
    paths = [installable_copy(tmp_path, name) for name in (*SERVICES, "spfeed.timer")]
    result = subprocess.run([ANALYZE, "verify", "--man=no", *map(str, paths)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    complaints = [line for line in result.stderr.splitlines() if str(tmp_path) in line or "spfeed" in line]
    assert complaints == []


@needs_analyze
def test_verify_catches_a_mistyped_key(tmp_path):
    """The check above can fail: systemd-analyze names a misspelt directive."""
    text = (UNITS / "spfeed.service").read_text(encoding="utf-8").replace("NoNewPrivileges=", "NoNewPrivilege=")
    path = installable_copy(tmp_path, "spfeed.service", text)
    result = subprocess.run([ANALYZE, "verify", "--man=no", str(path)], capture_output=True, text=True, timeout=120)
    assert "Unknown key" in result.stderr and "NoNewPrivilege" in result.stderr


@needs_analyze
def test_the_timer_fires_at_17_past_every_sixth_hour():
    result = subprocess.run([ANALYZE, "calendar", "--iterations=5", unit("spfeed.timer")["Timer"]["OnCalendar"][0]],
                            capture_output=True, text=True, timeout=60, env={"TZ": "UTC", "LC_ALL": "C"})
    assert result.returncode == 0, result.stderr
    times = re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ [\d-]+ (\d\d:\d\d:\d\d) UTC", result.stdout)
    assert len(times) == 5 and set(times) <= {"00:17:00", "06:17:00", "12:17:00", "18:17:00"}, result.stdout


@needs_analyze
@pytest.mark.parametrize("name", SERVICES)
def test_the_sandbox_rates_ok(tmp_path, name):
    """systemd's own exposure score, offline from the file: 2.0 or lower (0 is a locked box, 10 none)."""
    path = installable_copy(tmp_path, name)
    result = subprocess.run([ANALYZE, "security", "--offline=true", "--threshold=20", "--no-pager", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
