"""Peak memory of `spfeed backfill` over a listing that never ends, for several page caps.

    python benchmarks/backfill_memory.py [--pages 50 500 2000]

A local server makes /list/N on demand (ten new items, a link to /list/N+1); each cap runs
`spfeed backfill --max-pages N` as its own process (with a fresh state) and prints its peak RSS.
The walk is stored page by page, so the peak should barely move with the cap; what grows is the
run's summary (the items it reports as new) and the ids it has stored. Figures, not verdicts.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from pages import entry, listing  # noqa: E402


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        number = int(re.fullmatch(r"/list/(\d+)", self.path).group(1))
        body = listing([entry(number * 10 + i, day=f"{1 + (number + i) % 28} May 2022") for i in range(10)],
                       next_href=f"/list/{number + 1}")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def peak_rss_mib(url: str, pages: int) -> float:
    """Run one backfill in a child that reports its own peak RSS (ru_maxrss of RUSAGE_SELF)."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.yaml"
        config.write_text(yaml.safe_dump({
            "feed": {"title": "t", "link": "https://www.ilo.org/", "author": "a", "base_url": "https://x.example/"},
            "sources": [{"url": url, "profile": "ilo", "page_delay": 0}],
            "output": {"dir": "feeds"}, "state": {"path": "state/spfeed.sqlite"},
            "http": {"allow_private": True},
        }))
        probe = ("import resource, sys; from spfeed.cli import main; code = main(sys.argv[1:]); "
                 "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(code)")
        result = subprocess.run([sys.executable, "-c", probe, "--config", str(config), "backfill", "--max-pages",
                                 str(pages)], capture_output=True, text=True, env={**os.environ, "SPFEED_CONFIG": ""})
        if result.returncode != 0:
            raise SystemExit(result.stderr)
        return int(result.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[50, 500, 2000])
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/list/1"
    print(f"{'pages':>6}  {'items':>6}  peak RSS")
    for pages in args.pages:
        print(f"{pages:>6}  {pages * 10:>6}  {peak_rss_mib(url, pages):.0f} MiB", flush=True)
    server.shutdown()


if __name__ == "__main__":
    main()
