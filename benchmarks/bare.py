"""The least a stateful conditional GET can cost in Python: read a YAML config, send one GET with
the stored ETag through http.client, and record the answer in SQLite. What an unchanged spfeed
update is compared with, besides the naive script.

    python benchmarks/bare.py CONFIG.yaml      (keys: url, state)
"""

from __future__ import annotations

import http.client
import sqlite3
import sys
from datetime import datetime, timezone
from urllib.parse import urlsplit

import yaml


def main(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    url = config["url"]
    conn = sqlite3.connect(config["state"], isolation_level=None)
    conn.execute("CREATE TABLE IF NOT EXISTS sources (url TEXT PRIMARY KEY, etag TEXT)")
    conn.execute("CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, at TEXT, status INTEGER)")
    row = conn.execute("SELECT etag FROM sources WHERE url = ?", (url,)).fetchone()
    parts = urlsplit(url)
    client = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    client.request("GET", parts.path or "/", headers={"If-None-Match": row[0]} if row and row[0] else {})
    response = client.getresponse()
    response.read()
    conn.execute("BEGIN IMMEDIATE")
    if response.status == 200:
        conn.execute("INSERT OR REPLACE INTO sources (url, etag) VALUES (?, ?)", (url, response.getheader("ETag")))
    conn.execute("INSERT INTO runs (at, status) VALUES (?, ?)", (datetime.now(timezone.utc).isoformat(), response.status))
    conn.execute("COMMIT")
    if response.status not in (200, 304):
        sys.exit(f"bare: HTTP {response.status}")


if __name__ == "__main__":
    main(sys.argv[1])
