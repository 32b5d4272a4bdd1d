"""In-process loops, run by bench.py in a fresh interpreter: prints the median seconds of one call
after a warm-up (the first calls import and fill caches; a long-running `spfeed run` has paid that).

    python benchmarks/inproc.py update CONFIG.yaml N   # pipeline.update as the scheduler's job calls it
    python benchmarks/inproc.py check URL N            # `spfeed check URL`, in-process, output discarded
"""

from __future__ import annotations

import contextlib
import io
import statistics
import sys
import time
from pathlib import Path

WARM_UP = {"update": 3, "check": 1}


def _update(config_path: str):
    from spfeed import config as config_module
    from spfeed.pipeline import update
    from spfeed.store import KeptStore

    config = config_module.load(Path(config_path))
    kept = KeptStore(config.state_path)  # as `spfeed run` keeps it, from its first run on

    def once() -> None:
        report = update(config, kept=kept)
        if report.exit_code:
            raise SystemExit(f"inproc: update failed: {report.failures}")

    return once


def _check(url: str):
    from spfeed.cli import main

    def once() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["check", url])
        if code:
            raise SystemExit(f"inproc: check exited {code}")

    return once


def main(kind: str, target: str, count: int) -> None:
    once = {"update": _update, "check": _check}[kind](target)
    for _ in range(WARM_UP[kind]):
        once()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        once()
        times.append(time.perf_counter() - started)
    print(statistics.median(times))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
