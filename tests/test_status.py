"""`spfeed status`: what monitoring sees. Real local servers and real state files; the CLI in-process
(spfeed.cli.main) except where a second process matters (the lock, a writer, the imports)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO, Reply, write_config
from pages import entry, listing
from spfeed.cli import main


def status(capsys, config, *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), "status", *args])
    out, err = capsys.readouterr()
    return code, out, err


def update(capsys, config) -> int:
    code = main(["--config", str(config), "update"])
    capsys.readouterr()
    return code


def as_json(capsys, config, *args: str) -> tuple[int, dict]:
    code, out, err = status(capsys, config, "--json", *args)
    assert err == ""
    return code, json.loads(out)


def test_no_state_yet_is_no_runs_and_creates_nothing(tmp_path, capsys, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])))
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = status(capsys, config)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"no runs yet ({tmp_path / 'state' / 'spfeed.sqlite'} does not exist)"
    assert "unread" in out
    code, data = as_json(capsys, config)
    assert (code, data["state_exists"], data["runs"]) == (0, False, [])
    assert data["feeds"][0]["sources"][0]["health"] == "unread"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no state folder, no lock file
    assert site.hits("/p") == []  # no network


def test_after_updates_each_source_shows_its_reads_items_and_files(tmp_path, capsys, site):
    url = site.page("/p", listing([entry(1, day="16 June 2022"), entry(2, day="3 May 2021")]))
    config = write_config(tmp_path, url)
    assert update(capsys, config) == 0
    code, data = as_json(capsys, config)
    assert code == 0 and data["exit_code"] == 0 and data["state_exists"] is True
    [feed] = data["feeds"]
    assert (feed["name"], feed["items"], feed["newest"]) == ("", 2, "2022-06-16T12:00:00+02:00")
    assert [f["format"] for f in feed["files"]] == ["rss", "atom", "json", "html"]
    assert all(f["published"] for f in feed["files"])
    [source] = feed["sources"]
    assert (source["url"], source["health"], source["http_status"], source["not_modified"]) == (url, "ok", 200, False)
    assert (source["on_page"], source["failures"], source["failure"], source["warnings"]) == (2, 0, None, [])
    assert source["etag"] and source["last_modified"] == "Wed, 01 Jun 2022 10:00:00 GMT"
    assert update(capsys, config) == 0  # the server now answers 304
    code, data = as_json(capsys, config)
    source = data["feeds"][0]["sources"][0]
    assert (source["http_status"], source["not_modified"], source["on_page"]) == (304, True, 2)
    assert [(r["command"], r["outcome"], r["new"], r["unchanged"]) for r in data["runs"]] == [
        ("update", "not-modified", 0, 2), ("update", "changed", 2, 0)]


def test_the_human_table(tmp_path, capsys, site):
    url = site.page("/p", listing([entry(1, day="16 June 2022")]))
    config = write_config(tmp_path, url)
    update(capsys, config)
    code, out, err = status(capsys, config)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("feed: 1 item in the history, newest 2022-06-16; files published ")
    assert lines[0].endswith(" UTC (rss, atom, json, html)")
    assert lines[1].split() == ["health", "last", "read", "http", "failures", "on", "page", "validators", "source"]
    assert lines[2].split()[0] == "ok" and lines[2].split()[-1] == url
    assert "etag, last-modified" in lines[2]
    assert lines[3] == "last 1 run:"
    assert lines[5].split()[3:9] == ["update", "changed", "0", "1", "0", "0"]


@pytest.mark.parametrize("failed, after, code, health", [
    # (failed reads in a row, notify.failures_after, exit code, health)
    (1, 3, 0, "warning"),
    (2, 3, 0, "warning"),
    (3, 3, 1, "failing"),
    (1, 1, 1, "failing"),
])
def test_failures_in_a_row_against_notify_failures_after(tmp_path, capsys, site, failed, after, code, health):
    good = Reply(body=listing([entry(1)]))
    bad = Reply(status=404, body=b"gone", content_type="text/plain")
    url = site.route("/p", good, *[bad] * failed, good)
    config = write_config(tmp_path, url, notify={"failures_after": after})
    assert update(capsys, config) == 0
    for _ in range(failed):
        assert update(capsys, config) == 1
    got, data = as_json(capsys, config)
    source = data["feeds"][0]["sources"][0]
    assert (got, data["exit_code"], source["health"], source["failures"]) == (code, code, health, failed)
    assert source["failure"] == f"{url}: HTTP 404 Not Found" and source["failed_at"]
    assert source["checked_at"] and source["on_page"] == 1  # the last good read stays
    _, out, _ = status(capsys, config)
    assert f"{url}: failed " in out and f"({failed} in a row" in out and out.count("HTTP 404 Not Found") >= 1
    assert ("alerting" in out) == (code == 1)
    assert update(capsys, config) == 0  # it recovers
    got, data = as_json(capsys, config)
    assert (got, data["feeds"][0]["sources"][0]["health"], data["feeds"][0]["sources"][0]["failures"]) == (0, "ok", 0)


def test_a_reading_s_warnings_stay_shown_while_the_page_is_unchanged(tmp_path, capsys, site):
    entries = [entry(1), entry(2), entry(3), {**entry(4), "href": "javascript:void(0)"}]
    url = site.page("/p", listing(entries))
    config = write_config(tmp_path, url)
    update(capsys, config)
    update(capsys, config)  # a 304: nothing read, the warnings of the last reading stand
    code, data = as_json(capsys, config)
    source = data["feeds"][0]["sources"][0]
    assert (code, source["health"], source["http_status"]) == (0, "warning", 304)
    assert len(source["warnings"]) == 1 and "skipped 1 of 4 items" in source["warnings"][0]
    assert source["warnings_at"] == data["runs"][1]["started"]
    _, out, _ = status(capsys, config)
    assert f"{url}: warning (" in out and "skipped 1 of 4 items" in out
    site.page("/p", listing(entries[:3]))  # fixed upstream
    update(capsys, config)
    _, data = as_json(capsys, config)
    assert data["feeds"][0]["sources"][0]["warnings"] == [] and data["feeds"][0]["sources"][0]["health"] == "ok"


def several(tmp_path, site, by_label: bool = False):
    """A config with two feeds: "one" (two labels) and "two" (Atom only)."""
    import yaml

    a = site.page("/a", listing([entry(1, label="Press release"), entry(2, label="New ILO report")]))
    b = site.page("/b", listing([entry(3)]))
    feed = {"title": "T", "link": "https://www.ilo.org/", "author": "ILO"}
    data = {
        "feeds": [
            {"name": "one", **feed, "sources": [{"url": a, "profile": "ilo", "page_delay": 0}],
             "output": {"by_label": by_label}},
            {"name": "two", **feed, "sources": [{"url": b, "profile": "ilo", "page_delay": 0}],
             "output": {"formats": ["atom"]}},
        ],
        "output": {"dir": "feeds", "base_url": "https://feeds.example.org/"},
        "state": {"path": "state/spfeed.sqlite", "lock_timeout": 1},
        "http": {"timeout": 5, "retries": 0},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_several_feeds_label_feeds_and_feed_option(tmp_path, capsys, site):
    config = several(tmp_path, site, by_label=True)
    update(capsys, config)
    code, data = as_json(capsys, config)
    assert code == 0 and [f["name"] for f in data["feeds"]] == ["one", "two"]
    one, two = data["feeds"]
    assert (one["items"], one["label_feeds"]["count"], bool(one["label_feeds"]["published"])) == (2, 2, True)
    assert [f["format"] for f in two["files"]] == ["atom"] and two["label_feeds"] == {"count": 0, "published": None}
    assert two["files"][0]["path"] == str(tmp_path / "feeds" / "two" / "atom.xml")
    code, data = as_json(capsys, config, "--feed", "two")
    assert [f["name"] for f in data["feeds"]] == ["two"]
    _, out, _ = status(capsys, config)
    assert out.splitlines()[0].endswith("; 2 label feeds") and out.splitlines()[0].startswith("one: 2 items")
    code, out, err = status(capsys, config, "--feed", "three")
    assert code == 2 and "--feed: unknown feed 'three' (known: one, two)" in err


def test_runs_option_and_a_run_that_died(tmp_path, capsys, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])))
    for _ in range(3):
        update(capsys, config)
    with sqlite3.connect(tmp_path / "state" / "spfeed.sqlite") as db:  # a run killed half-way
        db.execute("INSERT INTO runs (command, started) VALUES ('update', '2026-11-27T08:00:00+00:00')")
    _, data = as_json(capsys, config, "--runs", "2")
    assert [(r["outcome"], r["finished"]) for r in data["runs"]][0] == (None, None)
    assert len(data["runs"]) == 2
    _, out, _ = status(capsys, config, "--runs", "1")
    assert out.splitlines()[-1].split()[3:6] == ["update", "running", "-"]
    with pytest.raises(SystemExit) as usage:
        main(["--config", str(config), "status", "--runs", "x"])
    assert usage.value.code == 2 and "--runs: expected a whole number from 0 to 5000" in capsys.readouterr().err


def test_status_reads_only(tmp_path, capsys, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])))
    update(capsys, config)
    state = tmp_path / "state"
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in state.iterdir()}
    hits = len(site.hits("/p"))
    os.chmod(state / "spfeed.sqlite", 0o400)  # even a file it could not write
    try:
        assert status(capsys, config)[0] == 0
    finally:
        os.chmod(state / "spfeed.sqlite", 0o600)
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in state.iterdir()} == before
    assert len(site.hits("/p")) == hits


@pytest.mark.parametrize("content, message", [
    (b"this is not a database, just text" * 100, "file is not a database"),
    (None, "newer than this spfeed knows"),
])
def test_a_state_it_cannot_read_is_exit_5(tmp_path, capsys, site, content, message):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])))
    path = tmp_path / "state" / "spfeed.sqlite"
    path.parent.mkdir()
    if content is None:
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA user_version = 99")
    else:
        path.write_bytes(content)
    code, out, err = status(capsys, config)
    assert code == 5 and message in err and err.count("\n") == 1 and out == ""


HOLDER = textwrap.dedent("""\
    import sqlite3, sys, time
    from pathlib import Path
    from spfeed.lock import exclusive
    state = Path(sys.argv[1])
    with exclusive(state, 0):
        db = sqlite3.connect(state, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")  # a run in the middle of its write transaction
        db.execute("UPDATE sources SET failures = 7")
        print("holding", flush=True)
        sys.stdin.read()
""")


def test_status_works_while_another_run_holds_the_lock_and_writes(tmp_path, capsys, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])))
    update(capsys, config)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "state" / "spfeed.sqlite")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "holding\n"
        assert main(["--config", str(config), "update"]) == 4  # the lock is really held
        capsys.readouterr()
        code, data = as_json(capsys, config)
        assert code == 0  # it sees the last committed state, not the write in progress
        assert data["feeds"][0]["sources"][0]["failures"] == 0
    finally:
        holder.communicate("", timeout=30)
    assert holder.returncode == 0


def test_status_never_imports_requests(tmp_path, capsys, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])))
    update(capsys, config)
    probe = ("import sys\nfrom spfeed.cli import main\ncode = main(['--config', sys.argv[1], 'status', '--json'])\n"
             "heavy = sorted(m for m in ('requests', 'urllib3', 'apscheduler', 'cssselect', 'lxml') "
             "if m in sys.modules)\nprint(code, heavy, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe, str(config)], capture_output=True, text=True, timeout=60)
    assert result.stderr.strip() == "0 []"
    assert json.loads(result.stdout)["exit_code"] == 0


def test_the_readme_documents_every_json_key(tmp_path, capsys, site):
    config = several(tmp_path, site, by_label=True)
    update(capsys, config)
    _, data = as_json(capsys, config)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### `spfeed status --json`"):]
    section = section[:section.index("\n## ", 1) if "\n## " in section else None]

    def keys(value, where):
        if isinstance(value, dict):
            for key, inner in value.items():
                yield f"{where}.{key}" if where else key, key
                yield from keys(inner, f"{where}.{key}" if where else key)
        elif isinstance(value, list) and value:
            yield from keys(value[0], f"{where}[]")

    for path, key in keys(data, ""):
        assert f"`{key}`" in section, f"the README's status --json section does not document {path}"
