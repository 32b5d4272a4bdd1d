"""spfeed's performance goals, measured: paired timings of spfeed against the naive script it
replaces (and other references), with medians, ratios and each row's goal in one table.

    .venv/bin/python benchmarks/bench.py            # the full run, about 7 minutes
    .venv/bin/python benchmarks/bench.py --quick    # about a minute: fewer rounds, shorter loops

How it measures (the machine may be shared and noisy, so every figure is paired):

- Each row compares a case A with its reference B (and sometimes C). They run interleaved,
  A B A B …, after one warm-up round that is not counted; the ratio is the median of the per-round
  ratios A/B, so a slow spell of the machine hits both sides of a pair alike.
- Whole-process cases run this interpreter (the venv's own ``sys.executable``, never a shim) as
  ``python -m spfeed …``. Each measurement is a fresh process started by a tiny launcher, which
  times its one child and reads ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``: with a single
  child that is exactly the child's peak RSS (no deltas to read), and the launcher's own start is
  not in the time. The figure has the launcher's size (about 9 MiB) as its floor.
- In-process cases (``inproc.py``) call ``pipeline.update(config)`` in a loop in one fresh
  interpreter, as `spfeed run`'s job does, and report the median of one call after a warm-up.
- Children cache bytecode under the run's own folder (PYTHONPYCACHEPREFIX), whatever
  PYTHONDONTWRITEBYTECODE says: the warm-up round compiles, as an installed spfeed has .pyc files.
- Every page comes from an http.server on 127.0.0.1 in a thread of this process, with ETags.

Setup that a row needs (first runs, histories) is done before its rounds and is not timed.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FIXTURE = (REPO / "tests" / "fixtures" / "ilo" / "secsoc-home.html").read_bytes()
PY = sys.executable
SPFEED = (PY, "-m", "spfeed")
ALL_FORMATS = ("rss", "atom", "json", "html", "opml")
NAIVE_FORMATS = ("rss", "atom")
#: The children's environment. Bytecode is cached (in a folder of the run, never in the
#: repository) even where PYTHONDONTWRITEBYTECODE is set: an installed spfeed has its .pyc files,
#: and compiling its modules from source on every run would be timed as spfeed's cost otherwise.
CHILD_ENV = {k: v for k, v in os.environ.items() if k not in ("SPFEED_CONFIG", "PYTHONDONTWRITEBYTECODE")}
MONTHS = "January February March April May June July August September October November December".split()


def _load_pages():
    """tests/pages.py (listing() and entry()), imported by path: tests/ is not a package."""
    spec = importlib.util.spec_from_file_location("spfeed_test_pages", REPO / "tests" / "pages.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


pages = _load_pages()

# -- pages and the server ------------------------------------------------------------------------


def english(day: date) -> str:
    """A date line as the ILO page writes it ('16 June 2022'), whatever the locale."""
    return f"{day.day:02d} {MONTHS[day.month - 1]} {day.year}"


def big_page(count: int, dates: int | None, version: int = 0) -> bytes:
    """A listing of *count* items on *dates* distinct days (None: one day each); *version* changes
    every summary, so two versions differ in every item."""
    start = date(2022, 6, 16)
    spread = dates or count
    entries = [pages.entry(n, day=english(start - timedelta(days=n % spread)),
                           summary=f"Summary of report {n}, revision {version}.")
               for n in range(count)]
    return pages.listing(entries)


def retitled(page: bytes, version: int) -> bytes:
    """The fixture with every item's title changed: all six items read as updated."""
    return page.replace(b"</a></h5>", f" (revision {version})</a></h5>".encode())


def cards(blocks: int) -> bytes:
    """A page of *blocks* cards that the ilo selectors do not match: generic detection finds them."""
    body = "".join(
        f'<div class="card"><h3 class="title"><a href="/news/{i}">News item number {i}</a></h3>'
        f'<span class="date">{english(date(2022, 6, 1 + i % 28))}</span>'
        f'<p class="summary">Summary of item {i}, long enough to count.</p></div>'
        for i in range(blocks))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>News</title></head><body>'
            f'<nav><a href="/">Home</a></nav><div class="list">{body}</div></body></html>').encode()


class Server:
    """A threaded http.server on 127.0.0.1 serving fixed pages, and pages that alternate between
    versions on each request (a page that changed since the last run, every run)."""

    def __init__(self) -> None:
        self.fixed: dict[str, bytes] = {}
        self.alternating: dict[str, tuple[list[bytes], list[int]]] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                body = server.body(self.path)
                if body is None:
                    self.send_error(404)
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Threaded(ThreadingHTTPServer):
            daemon_threads = True

        self.httpd = Threaded(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def body(self, path: str) -> bytes | None:
        with self.lock:
            if path in self.alternating:
                versions, counter = self.alternating[path]
                counter[0] += 1
                return versions[counter[0] % len(versions)]
            return self.fixed.get(path)

    def page(self, path: str, body: bytes) -> str:
        self.fixed[path] = body
        return self.url(path)

    def changing(self, path: str, *versions: bytes) -> str:
        self.alternating[path] = (list(versions), [0])
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def stop(self) -> None:
        self.httpd.shutdown()


# -- measuring -----------------------------------------------------------------------------------

_LAUNCHER = r"""
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
wall = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, of our only child
out = done.stdout.decode(errors="replace").strip().splitlines()
print(json.dumps({"wall": wall, "kib": peak, "rc": done.returncode, "last": out[-1] if out else "",
                  "stderr": done.stderr.decode(errors="replace")[-2000:]}))
"""


@dataclass(frozen=True)
class Sample:
    seconds: float
    mib: float


@dataclass(frozen=True)
class Case:
    """One thing to time: a command, run as a fresh process. *inner*: the command prints the
    seconds to report (an in-process loop's median) instead of its wall time. *before* runs,
    untimed, before each measurement. *repeat*: one measurement is the median of that many runs
    (for a short reference paired with a long loop)."""

    name: str
    argv: tuple[str, ...]
    before: Callable[[], None] | None = None
    inner: bool = False
    cwd: Path | None = None
    repeat: int = 1

    def measure(self) -> Sample:
        if self.repeat > 1:
            runs = [Case(self.name, self.argv, self.before, self.inner, self.cwd).measure() for _ in range(self.repeat)]
            return Sample(statistics.median(r.seconds for r in runs), max(r.mib for r in runs))
        if self.before is not None:
            self.before()
        done = subprocess.run([PY, "-c", _LAUNCHER, *self.argv], capture_output=True, text=True, check=True,
                              cwd=self.cwd, env=CHILD_ENV)
        result = json.loads(done.stdout)
        if result["rc"] != 0:
            raise SystemExit(f"bench: {self.name}: {' '.join(self.argv)} exited {result['rc']}:\n{result['stderr']}")
        seconds = float(result["last"]) if self.inner else result["wall"]
        return Sample(seconds, result["kib"] / 1024)


@dataclass(frozen=True)
class Row:
    """A figure and its goal: ``metric(A) / metric(B) <= limit`` (seconds, or peak MiB with *memory*).
    *others* are extra references timed in the same rounds, whose ratios are shown too."""

    name: str
    a: Case
    b: Case
    limit: float | None
    goal: str
    others: tuple[Case, ...] = ()
    memory: bool = False


@dataclass
class Result:
    row: Row
    a: list[Sample] = field(default_factory=list)
    b: list[Sample] = field(default_factory=list)
    others: list[list[Sample]] = field(default_factory=list)

    def metric(self, samples: Sequence[Sample]) -> list[float]:
        return [s.mib if self.row.memory else s.seconds for s in samples]

    def ratio(self, refs: Sequence[Sample] | None = None) -> float:
        """The median of the per-round ratios A/B: the paired estimate."""
        a, b = self.metric(self.a), self.metric(self.b if refs is None else refs)
        return statistics.median(x / y for x, y in zip(a, b))

    def verdict(self) -> str:
        if self.row.limit is None:
            return "info"
        return "ok" if self.ratio() <= self.row.limit else "FAIL"


def run_rows(rows: Sequence[Row], rounds: int, warm_up: int = 1) -> list[Result]:
    """Measure *rows* together: each round runs every distinct case once, in order (A B C A B C …);
    the first *warm_up* rounds are not counted. A case shared by rows is measured once a round."""
    cases: list[Case] = []
    for row in rows:
        for case in (row.a, row.b, *row.others):
            if all(case is not c for c in cases):
                cases.append(case)
    kept: dict[int, list[Sample]] = {id(c): [] for c in cases}
    for n in range(warm_up + rounds):
        for case in cases:
            sample = case.measure()
            if n >= warm_up:
                kept[id(case)].append(sample)
    return [Result(row, kept[id(row.a)], kept[id(row.b)], [kept[id(c)] for c in row.others]) for row in rows]


def run_row(row: Row, rounds: int, warm_up: int = 1) -> Result:
    """Interleave A, B (and the other references): *warm_up* uncounted rounds, then *rounds*."""
    return run_rows([row], rounds, warm_up)[0]


def memory_row(result: Result, name: str, limit: float, goal: str) -> Result:
    """The peak memory of an already measured row, as a row of its own."""
    row = Row(name, result.row.a, result.row.b, limit, goal, memory=True)
    return Result(row, result.a, result.b)


# -- setups --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """A feed's folder: its config, state database and output."""

    folder: Path

    @property
    def config(self) -> Path:
        return self.folder / "config.yaml"

    @property
    def state(self) -> Path:
        return self.folder / "state" / "spfeed.sqlite"

    @property
    def output(self) -> Path:
        return self.folder / "feeds"

    def spfeed(self, *args: str) -> tuple[str, ...]:
        return (*SPFEED, "--config", str(self.config), *args)

    def run(self, *args: str) -> None:
        """Run spfeed once, untimed (to prepare a state)."""
        subprocess.run(self.spfeed(*args), check=True, stdout=subprocess.DEVNULL, env=CHILD_ENV)

    def reset(self) -> None:
        """Forget the history and the files: the next update is a first update."""
        shutil.rmtree(self.state.parent, ignore_errors=True)
        shutil.rmtree(self.output, ignore_errors=True)


def setup(root: Path, name: str, url: str, formats: Sequence[str]) -> Setup:
    folder = root / name
    folder.mkdir(parents=True)
    s = Setup(folder)
    s.config.write_text(json.dumps({  # JSON is YAML
        "feed": {"title": "Bench", "link": url, "author": "ILO", "base_url": "https://feeds.example.org/"},
        "sources": [{"url": url, "profile": "ilo", "base_url": "https://www.ilo.org/secsoc/lang--en/index.htm"}],
        "output": {"dir": str(s.output), "formats": list(formats)},
        "state": {"path": str(s.state)},
    }, indent=1))
    return s


def fill_history(state: Path, total: int) -> None:
    """Bring a history made by spfeed to *total* items with old rows inserted by SQL (schema v2, the
    single feed ""), as years of runs would leave: each an hour older than the last, all before
    the page's items, so the newest 50 are the same for any *total* over 56."""
    conn = sqlite3.connect(state)
    have = conn.execute("SELECT count(*) FROM items WHERE feed = ''").fetchone()[0]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2, "store.py's schema changed: update fill_history"
    start = datetime(2015, 1, 1, 11, tzinfo=timezone.utc)
    rows = []
    for n in range(total - have):
        moment = start - timedelta(hours=n)
        iso, ts = moment.isoformat(), int(moment.timestamp())
        link = f"https://www.ilo.org/global/old/WCMS_{n}/lang--en/index.htm"
        rows.append(("", link, link, f"Old item {n}", f"Summary of old item {n}.", "Old label", None, iso, ts, 1, iso,
                     ts, "Europe/Zurich", "en", hashlib.sha256(link.encode()).hexdigest(), iso, iso, None, 1000 + n,
                     "https://www.ilo.org/secsoc/lang--en/index.htm"))
    with conn:
        conn.executemany(
            "INSERT INTO items (feed, id, link, title, summary, label, kind, published, published_ts, dated, updated, "
            "updated_ts, zone, lang, content_hash, first_seen, last_seen, changed_at, position, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("INSERT OR IGNORE INTO labels (feed, label, slug) VALUES ('', 'Old label', 'old-label')")
    conn.close()


# -- the rows ------------------------------------------------------------------------------------


def build_rows(server: Server, root: Path, quick: bool) -> list[tuple[str, Callable[[], list[Result]]]]:
    """Every row of the table, each as a function that prepares and measures it."""
    loops = 50 if quick else 200
    rounds = 3 if quick else 15
    heavy_rounds = 2 if quick else 9  # rows whose runs take seconds each
    heavy_warm_up = 0 if quick else 1
    scale = 8 if quick else 1  # --quick: the large pages at an eighth of their size
    naive_out = root / "naive-out"
    fixture_url = server.page("/secsoc-home", FIXTURE)

    def naive(url: str, label: str = "naive script") -> Case:
        return Case(label, (PY, str(HERE / "naive.py"), url, str(naive_out)))

    python_pass = Case("python -c pass", (PY, "-c", "pass"), repeat=9)
    rows: list[tuple[str, Callable[[], list[Result]]]] = []

    def changed_update(formats: Sequence[str], name: str, limit: float | None, goal: str) -> Callable[[], list[Result]]:
        def measure() -> list[Result]:
            url = server.changing(f"/changed-{len(formats)}", retitled(FIXTURE, 1), retitled(FIXTURE, 2))
            s = setup(root, f"changed-{len(formats)}", url, formats)
            s.run("update")
            return [run_row(Row(name, Case("spfeed update", s.spfeed("update")), naive(fixture_url), limit, goal),
                            rounds)]
        return measure

    rows.append(("changed", changed_update(
        NAIVE_FORMATS, "`update`, changed 6-item page, whole process [rss, atom]", 0.6, "≤ 0.6× naive")))
    rows.append(("changed5", changed_update(
        ALL_FORMATS, "`update`, changed 6-item page, whole process [all five formats]", None,
        "(for reference; naive writes 2)")))

    def unchanged() -> list[Result]:
        s = setup(root, "unchanged", fixture_url, NAIVE_FORMATS)
        s.run("update")
        bare_config = root / "bare.yaml"
        bare_config.write_text(json.dumps({"url": fixture_url, "state": str(root / "bare.sqlite")}))
        bare = Case("bare conditional GET", (PY, str(HERE / "bare.py"), str(bare_config)))
        bare.measure()  # stores the ETag: from now on it gets 304s
        return [run_row(Row("`update`, unchanged page (304), whole process [rss, atom]",
                            Case("spfeed update", s.spfeed("update")), naive(fixture_url), 0.45, "≤ 0.45× naive",
                            others=(bare,)), rounds)]

    rows.append(("unchanged", unchanged))

    def regenerate() -> list[Result]:
        s = setup(root, "regenerate", fixture_url, NAIVE_FORMATS)
        s.run("update")
        return [run_row(Row("`regenerate`, 6 items [rss, atom]", Case("spfeed regenerate", s.spfeed("regenerate")),
                            naive(fixture_url), 0.45, "≤ 0.45× naive"), rounds)]

    rows.append(("regenerate", regenerate))

    def first_update() -> list[Result]:
        big, small = 8000 // scale, 1000 // scale
        many = server.page("/big-on-6", big_page(big, 6))
        distinct = server.page("/big-distinct", big_page(big, None))
        thousand = server.page("/small-distinct", big_page(small, None))
        s6 = setup(root, "first-big-on-6", many, NAIVE_FORMATS)
        sb = setup(root, "first-big", distinct, NAIVE_FORMATS)
        s1 = setup(root, "first-small", thousand, NAIVE_FORMATS)
        a6 = Case(f"{big:,} items, 6 dates", s6.spfeed("update"), before=s6.reset)
        ab = Case(f"{big:,} items, distinct dates", sb.spfeed("update"), before=sb.reset)
        a1 = Case(f"{small:,} items, distinct dates", s1.spfeed("update"), before=s1.reset)
        rows_ = [
            Row(f"first `update`, {big:,} items on 6 dates vs on distinct dates", a6, ab, 1.1, "≤ 1.1×"),
            Row(f"first `update`, {big:,} vs {small:,} items (distinct dates)", ab, a1, 9.0, "≤ 9×"),
            Row(f"first `update`, {big:,} items on distinct dates [rss, atom]", ab,
                naive(distinct, "naive script, same page"), 0.35, "≤ 0.35× naive"),
        ]
        done = run_rows(rows_, heavy_rounds, heavy_warm_up)
        return [*done, memory_row(done[2], f"peak memory, first `update` of the {big:,}-item page", 0.5,
                                  "≤ 0.5× naive's")]

    rows.append(("first", first_update))

    def all_change() -> list[Result]:
        cases = []
        for count in (1000 // scale, 4000 // scale):
            url = server.changing(f"/all-{count}", big_page(count, None, 1), big_page(count, None, 2))
            s = setup(root, f"all-{count}", url, NAIVE_FORMATS)
            s.run("update")
            cases.append(Case(f"{count:,} items all changed", s.spfeed("update")))
        return [run_row(Row(f"`update`, all N items changed: {4000 // scale:,} vs {1000 // scale:,}", cases[1],
                            cases[0], 4.4, "≤ 4.4× (linear)"), heavy_rounds, heavy_warm_up)]

    rows.append(("allchange", all_change))

    def check() -> list[Result]:
        where = root / "check-cwd"  # no config.yaml here: check reads the URL alone, with detection
        where.mkdir()
        count = "2" if quick else "3"
        few, many = 200 // scale, 2000 // scale
        inproc = (PY, str(HERE / "inproc.py"), "check")
        small = Case(f"check, {few:,} blocks", (*inproc, server.page("/cards-few", cards(few)), count),
                     inner=True, cwd=where)
        large = Case(f"check, {many:,} blocks", (*inproc, server.page("/cards-many", cards(many)), count),
                     inner=True, cwd=where)
        return [run_row(Row(f"`check` with generic detection, {many:,} vs {few:,} blocks (in-process)", large, small,
                            10.0, "≤ 10×"), heavy_rounds, heavy_warm_up)]

    rows.append(("check", check))

    def inside_run() -> list[Result]:
        s304 = setup(root, "run-304", fixture_url, NAIVE_FORMATS)
        s304.run("update")
        url = server.changing("/run-changed", retitled(FIXTURE, 1), retitled(FIXTURE, 2))
        s6 = setup(root, "run-changed", url, NAIVE_FORMATS)
        s6.run("update")
        loop = (PY, str(HERE / "inproc.py"), "update")
        return run_rows([
            Row(f"inside `spfeed run`: one update, 304 (median of {loops} in a loop)",
                        Case("update in-process, 304", (*loop, str(s304.config), str(loops)), inner=True),
                        python_pass, 0.15, "≤ 0.15× `python -c pass`"),
            Row(f"inside `spfeed run`: one update, 6 items changed (median of {loops})",
                        Case("update in-process, 6 changed", (*loop, str(s6.config), str(loops)), inner=True),
                        python_pass, 0.6, "≤ 0.6× `python -c pass`"),
        ], heavy_rounds, heavy_warm_up)

    rows.append(("run", inside_run))

    def history() -> list[Result]:
        made = {}
        for total in (100, 100_000):
            s = setup(root, f"history-{total}", fixture_url, NAIVE_FORMATS)
            s.run("update")
            fill_history(s.state, total)
            s.run("regenerate")
            s.run("update")
            made[total] = s
        big, small = made[100_000], made[100]
        return run_rows([
            Row("history of 100,000 vs 100 items: unchanged `update` (304)",
                        Case("update, 100,000", big.spfeed("update")), Case("update, 100", small.spfeed("update")),
                1.1, "≤ 1.1×"),
            Row("history of 100,000 vs 100 items: `regenerate`",
                        Case("regenerate, 100,000", big.spfeed("regenerate")),
                Case("regenerate, 100", small.spfeed("regenerate")), 1.1, "≤ 1.1×"),
        ], rounds)

    rows.append(("history", history))
    return rows


# -- the report ----------------------------------------------------------------------------------


def _figure(result: Result, samples: Sequence[Sample]) -> str:
    values = result.metric(samples)
    median = statistics.median(values)
    return f"{median:.1f} MiB" if result.row.memory else (f"{median * 1000:.1f} ms" if median < 1 else f"{median:.2f} s")


def _peak(samples: Sequence[Sample]) -> str:
    return f"{max(s.mib for s in samples):.0f}"


def table(results: Sequence[Result]) -> list[str]:
    lines = ["| run | spfeed | reference | ratio | goal | verdict | peak MiB (A / ref) |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        ref = f"{r.row.b.name}: {_figure(r, r.b)}"
        ratio = f"{r.ratio():.2f}×"
        for case, samples in zip(r.row.others, r.others):
            ref += f"; {case.name}: {_figure(r, samples)}"
            ratio += f" ({r.ratio(samples):.2f}× {case.name})"
        peaks = "" if r.row.memory else f"{_peak(r.a)} / {_peak(r.b)}"
        lines.append(f"| {r.row.name} | {r.row.a.name}: {_figure(r, r.a)} | {ref} | {ratio} | {r.row.goal} | "
                     f"{r.verdict()} | {peaks} |")
    return lines


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), {model}, Python {platform.python_version()}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a run of about a minute (fewer rounds, shorter loops)")
    parser.add_argument("--only", action="append", metavar="ROW",
                        help="measure only these rows (changed, changed5, unchanged, regenerate, first, allchange, "
                             "check, run, history); repeatable")
    args = parser.parse_args(argv)
    if sys.prefix == sys.base_prefix:
        print("bench: warning: not a venv's interpreter; run it as .venv/bin/python benchmarks/bench.py",
              file=sys.stderr)
    started = time.monotonic()
    server = Server()
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory(prefix="spfeed-bench-") as tmp:
            CHILD_ENV["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
            for key, measure in build_rows(server, Path(tmp), args.quick):
                if args.only and key not in args.only:
                    continue
                began = time.monotonic()
                done = measure()
                results.extend(done)
                for line in table(done)[2:]:
                    print(line, f"  [{time.monotonic() - began:.0f} s]", file=sys.stderr, flush=True)
    finally:
        server.stop()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nspfeed benchmarks ({'--quick' if args.quick else 'full run'}, {time.monotonic() - started:.0f} s), "
          f"{when}, {machine()}\n")
    print("\n".join(table(results)))
    print("\nratio: the median of per-round ratios A/B (interleaved A B A B, one warm-up round). Whole-process "
          "times include the interpreter's start; peak memory is each process's ru_maxrss.")
    failing = [r.row.name for r in results if r.verdict() == "FAIL"]
    print(f"\n{len(failing)} of {sum(r.row.limit is not None for r in results)} goals not met"
          + (": " + "; ".join(failing) if failing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
