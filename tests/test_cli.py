"""The command line as cron and maintainers use it: real processes, real exit codes and output."""

import json
import sqlite3
import subprocess
import sys

import pytest

from conftest import REPO, Reply, parse_feed, run_cli, write_config
from pages import entry, listing
from spfeed import __version__
from spfeed.cli import EXIT_CODES


def test_version():
    result = run_cli("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"spfeed {__version__}")


@pytest.mark.parametrize("command", [[], ["update"], ["regenerate"], ["run"], ["backfill"], ["check"]])
def test_help_on_every_command(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0 and "usage: spfeed" in result.stdout and "exit codes:" in result.stdout


def test_no_command_is_a_usage_error():
    result = run_cli()
    assert result.returncode == 2 and "usage:" in result.stderr


def test_update_is_quiet_when_nothing_changed_and_says_what_is_new(tmp_path, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1), entry(2)])))
    first = run_cli("--config", str(config), "update")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0].startswith("2 new, 0 updated, 0 gone; wrote ")
    assert "+ 2022-06-16  [New ILO report] Report number 1" in first.stdout
    assert site.url(entry(1)["href"]) in first.stdout and first.stderr == ""
    again = run_cli("--config", str(config), "update")
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


def test_update_json(tmp_path, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1, day="8 November 2021")])))
    result = run_cli("update", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"new", "updated", "gone", "unchanged", "written"}
    [item] = data["new"]
    assert item["id"] == item["link"] == site.url(entry(1)["href"])
    assert (item["title"], item["label"], item["published"]) == (
        "Report number 1", "New ILO report", "2021-11-08T12:00:00+01:00")
    assert data["written"] == [str(tmp_path / "feeds" / name)
                               for name in ("rss.xml", "atom.xml", "feed.json", "index.html", "feeds.opml")]
    assert item["feed"] == ""  # the single feed of a config without feeds: has no name
    again = json.loads(run_cli("update", "--json", "--config", str(config)).stdout)
    assert (again["new"], again["written"], again["unchanged"]) == ([], [], 1)


def test_the_config_comes_from_the_environment_or_the_working_folder(tmp_path, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])))
    assert run_cli("update", env={"SPFEED_CONFIG": str(config)}).returncode == 0
    assert run_cli("update", cwd=tmp_path).returncode == 0  # ./config.yaml
    result = run_cli("update", cwd=tmp_path / "feeds")
    assert result.returncode == 2 and "config.yaml: config file not found" in result.stderr


def test_config_errors_exit_2_with_one_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("feed:\n  title: [unclosed\n")
    result = run_cli("--config", str(path), "update")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"spfeed: error: {path}:3:1: YAML syntax error") and result.stderr.count("\n") == 1


def test_a_bad_selector_exits_2_naming_the_key(tmp_path, site):
    """`update` and `validate` say so; `regenerate` reads no page and compiles no selector."""
    config = write_config(tmp_path, [{"url": site.page("/p", listing([entry(1)])), "selectors": {"date": "p..date"}}])
    for command in ("update", "validate"):
        result = run_cli("--config", str(config), command)
        assert result.returncode == 2, result.stderr
        assert "sources[0].selectors.date: invalid CSS selector 'p..date'" in result.stderr + result.stdout
        assert "Traceback" not in result.stderr


def test_a_failed_fetch_exits_1_and_keeps_the_feeds(tmp_path, site):
    url = site.page("/p", listing([entry(1)]))
    config = write_config(tmp_path, url)
    assert run_cli("--config", str(config), "update").returncode == 0
    before = (tmp_path / "feeds" / "rss.xml").read_bytes()
    site.route("/p", Reply(status=404, body=b"gone"))
    result = run_cli("--config", str(config), "update")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"spfeed: error: {url}: HTTP 404 Not Found\n"
    assert (tmp_path / "feeds" / "rss.xml").read_bytes() == before


def test_a_page_without_items_exits_3_naming_url_and_selector(tmp_path, site):
    url = site.page("/p", b"<html><body><p>Maintenance</p></body></html>")
    config = write_config(tmp_path, url)
    result = run_cli("--config", str(config), "update", "--json")
    assert result.returncode == 3
    assert url in result.stderr and "'div.items-list li.item' matched nothing" in result.stderr
    assert json.loads(result.stdout)["errors"] == [result.stderr.removeprefix("spfeed: error: ").strip()]
    assert not (tmp_path / "feeds" / "rss.xml").exists()


def test_regenerate_without_network(tmp_path, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1), entry(2)])))
    assert run_cli("--config", str(config), "update").returncode == 0
    site.stop()
    (tmp_path / "feeds" / "rss.xml").unlink()
    result = run_cli("--config", str(config), "regenerate")
    assert result.returncode == 0 and result.stdout == f"rebuilt {tmp_path / 'feeds' / 'rss.xml'}\n"
    assert len(parse_feed((tmp_path / "feeds" / "rss.xml").read_bytes()).entries) == 2
    again = run_cli("--config", str(config), "regenerate")
    assert again.returncode == 0 and again.stdout == f"the files of the feed in {tmp_path / 'feeds'} were already up to date\n"


def test_regenerate_with_no_history_says_so(tmp_path):
    config = write_config(tmp_path, "https://127.0.0.1:9/never")
    result = run_cli("--config", str(config), "regenerate")
    assert result.returncode == 1 and "is empty: nothing to publish yet (run spfeed update)" in result.stderr


def test_verbose_says_more(tmp_path, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])))
    run_cli("--config", str(config), "update")
    result = run_cli("--config", str(config), "-v", "update")
    assert result.returncode == 0 and result.stdout == ""
    assert "304 Not Modified" in result.stderr


def test_an_unchanged_page_imports_no_parser_and_no_renderer(tmp_path, site):
    """The cheap path: a cron run on an unchanged page loads neither the parser (lxml, cssselect) nor
    a renderer, nor the types and stages of a run that reads or renders a page."""
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])))
    assert run_cli("--config", str(config), "update").returncode == 0
    probe = (
        "import sys\nfrom spfeed.cli import main\ncode = main(['--config', sys.argv[1], 'update'])\n"
        "heavy = sorted(m for m in ('lxml', 'cssselect', 'spfeed.css', 'feedgen', 'apscheduler', 'spfeed.items',\n"
        "               'spfeed.views', 'spfeed.extract', 'spfeed.read', 'spfeed.decide', 'spfeed.announce') if m in sys.modules)\n"
        "print(code, heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(config)], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "0 []", result.stderr


def test_every_run_is_recorded(tmp_path, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])))
    run_cli("--config", str(config), "update")
    run_cli("--config", str(config), "update")
    rows = sqlite3.connect(tmp_path / "state" / "spfeed.sqlite").execute(
        "SELECT command, outcome, exit_code, new, unchanged, http FROM runs ORDER BY id").fetchall()
    assert [r[:5] for r in rows] == [("update", "changed", 0, 1, 0), ("update", "not-modified", 0, 0, 1)]
    assert json.loads(rows[1][5])[site.url("/p")]["status"] == 304


def test_check_a_page_without_any_config(tmp_path, site):
    from conftest import fixture_bytes

    url = site.page("/secsoc/lang--en/index.htm", fixture_bytes("ilo/secsoc-home.html"))
    result = run_cli("check", url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{url}: 6 items (lang en)"
    flagship = next(i for i, line in enumerate(lines) if "Flagship Programme" in line)
    assert lines[flagship].rstrip().endswith("summary")  # the field it could not read
    assert lines[flagship + 1].strip() == site.url("/global/publications/WCMS_995465/lang--en/index.htm")
    assert "2021-10-07" in lines[flagship]
    assert "  health: ok" in lines and "        item: li.item" in lines  # then the selectors it found
    assert list(tmp_path.iterdir()) == []  # no state, no feeds


def test_check_with_selectors_on_the_command_line(tmp_path, site):
    url = site.page("/p", listing([entry(1), entry(2)]))
    result = run_cli("check", url, "--select", "date=p.nothing", "--select", "label=h5", cwd=tmp_path)
    assert result.returncode == 3
    assert "  1  ?           Report number 1" in result.stdout
    assert "date (" not in result.stdout and "health: FAILS: only 0 of 2 items" in result.stdout
    bad = run_cli("check", url, "--select", "colour=red", cwd=tmp_path)
    assert bad.returncode == 2 and "--select: expected KEY=CSS" in bad.stderr
    bad = run_cli("check", url, "--select", "item=li..x", cwd=tmp_path)
    assert bad.returncode == 2 and "invalid CSS selector 'li..x'" in bad.stderr


def test_check_every_configured_source(tmp_path, site):
    config = write_config(tmp_path, [{"url": site.page("/a", listing([entry(1)]))},
                                     {"url": site.page("/b", listing([entry(2)]))}])
    result = run_cli("--config", str(config), "check")
    assert result.returncode == 0
    assert result.stdout.count("health: ok") == 2 and not (tmp_path / "state").exists()


def test_check_a_saved_page_with_relative_links(tmp_path):
    from conftest import FIXTURES

    page = FIXTURES / "ilo" / "asia-news.html"
    result = run_cli("check", str(page), cwd=tmp_path)
    assert result.returncode == 3 and "a saved page with relative links needs the source's base_url" in result.stdout
    result = run_cli("check", str(page), "--base-url", "https://www.ilo.org/asia/", cwd=tmp_path)
    assert result.returncode == 0 and "https://www.ilo.org/global/about-the-ilo/newsroom/news/WCMS_172467/" in result.stdout


def test_backfill_from_the_command_line(tmp_path, site):
    url = site.page("/a", listing([entry(1), entry(2)], next_href="/b"))
    site.page("/b", listing([entry(3)], next_href="/c"))
    site.page("/c", listing([entry(4)]))
    config = write_config(tmp_path, [{"url": url}])
    result = run_cli("--config", str(config), "backfill", "--max-pages", "2")
    assert result.returncode == 0 and result.stderr == ""  # no progress display when stderr is not a terminal
    assert result.stdout.startswith("3 new, 0 updated, 0 gone; wrote ") and result.stdout.count("\n") == 1
    assert not site.hits("/c")
    data = json.loads(run_cli("--config", str(config), "backfill", "--json").stdout)
    assert [i["title"] for i in data["new"]] == ["Report number 4"]
    usage = run_cli("--config", str(config), "backfill", "--max-pages", "0")
    assert usage.returncode == 2 and "expected a whole number of at least 1" in usage.stderr


def test_the_readme_documents_every_exit_code_and_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for line in EXIT_CODES.splitlines()[1:]:
        code = line.split()[0]
        assert f"| {code} |" in readme, f"exit code {code} is not in the README's table"
    import argparse

    from spfeed.cli import build_parser

    [commands] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    for name, sub in commands.choices.items():
        assert f"spfeed {name}" in readme, f"the README does not show spfeed {name}"
        for action in sub._actions:
            for option in action.option_strings:
                if option.startswith("--"):
                    assert option in readme, f"the README does not mention {name} {option}"


def test_backfill_shows_its_progress_on_a_terminal(tmp_path, site):
    import os
    import pty
    import subprocess
    import sys

    url = site.page("/a", listing([entry(1)], next_href="/b"))
    site.page("/b", listing([entry(2)]))
    config = write_config(tmp_path, [{"url": url}])
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "SPFEED_CONFIG"}
    result = subprocess.run([sys.executable, "-m", "spfeed", "--config", str(config), "backfill"], stderr=terminal,
                            stdout=subprocess.PIPE, text=True, timeout=60, env=env)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert result.returncode == 0 and result.stdout.startswith("2 new")
    assert f"{url}: page 1 read, items so far: 1".encode() in shown
    assert f"{url}: page 2 read, items so far: 2".encode() in shown


def test_json_output_never_carries_markup(tmp_path, site):
    url = site.page("/p", listing([entry(1, title="<b>Bold</b> & <script>x</script>")]))
    result = run_cli("--config", str(write_config(tmp_path, url)), "update", "--json")
    assert "<" not in result.stdout and ">" not in result.stdout and "&" not in result.stdout
    assert json.loads(result.stdout)["new"][0]["title"] == "<b>Bold</b> & <script>x</script>"


def test_check_with_a_profile_on_the_command_line(tmp_path, site):
    url = site.page("/p", listing([entry(1)]))
    config = write_config(tmp_path, [{"url": url, "selectors": {"item": "li.nothing"}, "detect": False}])
    assert run_cli("--config", str(config), "check").returncode == 3  # the config's selectors find nothing
    result = run_cli("--config", str(config), "check", url, "--profile", "ilo")
    assert result.returncode == 0 and "Report number 1" in result.stdout
    bad = run_cli("check", url, "--profile", "bbc", cwd=tmp_path)
    assert bad.returncode == 2 and "--profile: unknown profile 'bbc'" in bad.stderr


def test_an_internal_error_quoting_terminal_escapes_stays_one_plain_line(tmp_path, capsys, monkeypatch):
    """Whatever an error quotes (here an exception's text with an OSC title sequence and line
    breaks), stderr gets one line without control characters."""
    from spfeed import cli

    def broken(*args, **kwargs):
        raise RuntimeError("boom\x1b]0;PWNED\x07\nsecond line\r\x9b31m")

    monkeypatch.setattr(cli, "_dispatch", broken)
    assert cli.main(["update"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\x07" not in err and "\x9b" not in err
    assert err.startswith("spfeed: error: internal error: RuntimeError: boom") and "second line" in err


def test_regenerate_reads_no_page_so_it_imports_no_parser_and_no_http_client(tmp_path, site):
    config = write_config(tmp_path, site.page("/p", listing([entry(1)])))
    assert run_cli("--config", str(config), "update").returncode == 0
    probe = ("import sys; sys.argv = ['spfeed', '--config', sys.argv[1], 'regenerate']\n"
             "from spfeed.cli import main\nassert main() == 0\n"
             "print(sorted(m for m in ('requests', 'lxml.html', 'cssselect', 'spfeed.css', 'apscheduler') "
             "if m in sys.modules))")
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", probe, str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize("argv, command", [
    (["update"], "update"),
    (["--config", "update", "status", "--json"], "status"),  # the value of --config is not the command
    (["-c", "x.yaml", "-vv", "regenerate", "--feed", "a"], "regenerate"),
    (["--config=x.yaml", "-v", "check", "https://example.org/"], "check"),
    (["-vc", "x.yaml", "update"], None),  # combined short options: every parser is built
    (["--", "update"], None),
    (["--help"], None),
    ([], None),
    (["nonsense"], None),
])
def test_only_the_chosen_commands_parser_is_built(argv, command, capsys):
    from spfeed.cli import build_parser, chosen_command

    assert chosen_command(argv) == command
    if command is None:
        return
    # the lean parser reads the arguments as the full one does, and refuses a wrong one in the same words
    assert vars(build_parser(command).parse_args(argv)) == vars(build_parser().parse_args(argv))
    refusals = []
    for parser in (build_parser(command), build_parser()):
        with pytest.raises(SystemExit) as refused:
            parser.parse_args([*argv, "--no-such-option"])
        refusals.append((refused.value.code, capsys.readouterr().err))
    assert refusals[0] == refusals[1] and refusals[0][0] == 2 and "--no-such-option" in refusals[0][1]


def test_the_prompt_exit_still_lets_a_profiler_write_its_data(tmp_path):
    """spfeed ends its process without Python's teardown, except under a profiler or tracer,
    whose data is written at teardown: a profile of the run is there."""
    config = write_config(tmp_path, "https://www.ilo.org/secsoc/lang--en/index.htm")
    out = tmp_path / "profile.out"
    result = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "spfeed",
                             "--config", str(config), "validate"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0
