"""Whole-process timings of spfeed's runs against a naive script doing the same job.

    python benchmarks/bench.py [--runs 7] [--history 100000]

Serves the seed page from a local HTTP server (with ETag/Last-Modified), then times, as separate
processes of this interpreter:

- ``spfeed update`` on an unchanged page (the cron case: one conditional GET, a 304);
- ``spfeed update`` on a page that changed (parse, diff, render, write);
- ``spfeed regenerate`` with a small history and with ``--history`` items in it;
- ``naive``: a plain script that fetches, parses with BeautifulSoup and renders with feedgen every
  time, with no state (what spfeed replaces).

Prints the median and the range of wall-clock seconds (each including a small launcher's start,
about as long as the last row), and the largest peak RSS, of each. Figures,
not verdicts: run it on a quiet machine and compare medians.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED = (REPO / "examples" / "secsoc-home.html").read_bytes()

NAIVE = r'''
import sys, requests
from bs4 import BeautifulSoup
from feedgen.feed import FeedGenerator
from datetime import datetime
from zoneinfo import ZoneInfo
url, out = sys.argv[1], sys.argv[2]
soup = BeautifulSoup(requests.get(url, timeout=30).text, "lxml")
fg = FeedGenerator()
fg.id(url); fg.title("naive"); fg.link(href=url); fg.description("naive"); fg.author({"name": "x"})
for li in soup.select("div.items-list li.item"):
    a = li.select_one(".item-title a[href]")
    fe = fg.add_entry(order="append")
    fe.id(a["href"]); fe.title(a.get_text(" ", strip=True)); fe.link(href=a["href"])
    day = datetime.strptime(li.select_one("p.date").get_text(strip=True), "%d %B %Y")
    fe.published(day.replace(hour=12, tzinfo=ZoneInfo("Europe/Zurich")))
fg.rss_file(out + "/rss.xml"); fg.atom_file(out + "/atom.xml")
'''


class _Handler(BaseHTTPRequestHandler):
    body = SEED
    changing = False
    counter = 0

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        body = self.body
        if self.path == "/changing":
            type(self).counter += 1
            body = body.replace(b"16 June 2022", f"{1 + self.counter % 28} June 2022".encode())
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


def _config(folder: Path, url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(f"""
feed: {{title: Bench, link: "{url}", author: ILO, base_url: "https://feeds.example.org/"}}
sources: [{{url: "{url}", profile: ilo, base_url: "https://www.ilo.org/secsoc/lang--en/index.htm"}}]
state: {{path: state.sqlite}}
""")
    return path


def _fill(state: Path, count: int) -> None:
    """Add *count* old items to a history, as years of runs would."""
    conn = sqlite3.connect(state)
    start = datetime(2000, 1, 1, 12, tzinfo=timezone.utc)
    rows = []
    for n in range(count):
        moment = start + timedelta(hours=n)
        iso, ts = moment.isoformat(), int(moment.timestamp())
        rows.append((f"https://www.ilo.org/old/{n}", f"https://www.ilo.org/old/{n}", f"Old item {n}", "Summary",
                     "Label", iso, ts, iso, ts, "UTC", "h", iso, iso, n, "bench"))
    conn.executemany(
        "INSERT INTO items (id, link, title, summary, label, published, published_ts, dated, updated, updated_ts, "
        "zone, content_hash, first_seen, last_seen, position, source) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()


def _time(command: list[str], runs: int) -> tuple[list[float], float]:
    """Wall-clock seconds of each run, and the largest peak RSS (MB) of one run."""
    walls, peaks = [], []
    for _ in range(runs):
        started = time.perf_counter()
        # A small launcher reports its child's peak RSS: a child forked from this (larger) process
        # would report this process's size as its own peak.
        result = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - started)
        peaks.append(float(result.stdout.strip().splitlines()[-1]))
    return walls, max(peaks)


_LAUNCHER = """
import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(os.wait4(p.pid, 0)[2].ru_maxrss / 1024)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--history", type=int, default=100_000)
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    spfeed = [sys.executable, "-m", "spfeed", "--config"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cases = []
        steady = _config(root / "steady", base + "/page")
        subprocess.run(spfeed + [str(steady), "update"], check=True, stdout=subprocess.DEVNULL)
        cases.append(("update, unchanged page (304)", spfeed + [str(steady), "update"]))
        changing = _config(root / "changing", base + "/changing")
        cases.append(("update, changed page", spfeed + [str(changing), "update"]))
        cases.append(("regenerate, 6 items in history", spfeed + [str(steady), "regenerate"]))
        big = _config(root / "big", base + "/page")
        subprocess.run(spfeed + [str(big), "update"], check=True, stdout=subprocess.DEVNULL)
        _fill(root / "big" / "state.sqlite", args.history)
        cases.append((f"update, unchanged page, {args.history} items", spfeed + [str(big), "update"]))
        cases.append((f"regenerate, {args.history} items in history", spfeed + [str(big), "regenerate"]))
        (root / "naive").mkdir()
        cases.append(("naive script (fetch, parse, render)", [sys.executable, "-c", NAIVE, base + "/page", str(root / "naive")]))
        cases.append(("python -c pass (interpreter start)", [sys.executable, "-c", "pass"]))

        print(f"{'case':45} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MB':>12}")
        for name, command in cases:
            walls, peak = _time(command, args.runs)
            print(f"{name:45} {statistics.median(walls):9.3f} {min(walls):7.3f} {max(walls):7.3f} {peak:12.1f}")
    server.shutdown()


if __name__ == "__main__":
    main()
